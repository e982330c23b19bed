/**
 * `syncproof sync DATASET --stack NAME`: one SyncStateMachine execution on a deployed stack,
 * started with StartExecution and waited for with DescribeExecution; the run record and the
 * watermark are then read back from the stack's tables.
 */
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { createDocumentClient } from '../lambdas/adapters/clients';
import { DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { runTotals } from './format';
import { runUsageAndCost } from '../lambdas/core/cost';
import { DEFAULT_PRICES, type Prices } from '../lambdas/core/prices';
import { CliError } from './errors';
import { awsFailure, readStackOutputs, stackRegion } from './state-target';
import { childExecutionName } from '../lambdas/core/dataset-batch';
import { followAttached } from './attached-run';
import type { SyncReport } from './sync-command';
import { failureText, runWarnings } from './sync-report';
import { datasetsExitCode, type SyncDatasetsReport } from './sync-datasets';

export interface SyncOnStackOptions {
  readonly stack: string;
  readonly region?: string;
  /** The execution input (`{dataset, mode?, limit?, maxChunks?}`). */
  readonly input: { readonly dataset: string } & Record<string, unknown>;
  readonly name: string;
  /** Between DescribeExecution calls. @default 5000 */
  readonly pollMs?: number;
  /** Prices the run's usage at these (the configuration's `pricesOf`). @default the us-east-1 list prices */
  readonly prices?: Prices;
}

/** Starts an execution named `options.name` and polls DescribeExecution until it has ended (also `verify --stack`). */
export async function startAndWait(
  sfn: SFNClient,
  stateMachineArn: string,
  options: { readonly name: string; readonly input: unknown; readonly pollMs?: number },
  doing: string,
  machine: string,
  region: string,
): Promise<DescribeExecutionCommandOutput> {
  let executionArn: string;
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: options.name, input: JSON.stringify(options.input) }));
    executionArn = started.executionArn!;
  } catch (error) {
    throw new CliError(awsFailure(error, doing, `states:StartExecution on ${machine}`, region));
  }
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') return described;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
  }
}

/** Starts the execution, waits until it ends, and reads back its run record and the dataset's watermark. */
export async function syncOnStack(options: SyncOnStackOptions): Promise<SyncReport> {
  const region = stackRegion(options.region);
  const outputs = await readStackOutputs(options.stack, region, [STACK_OUTPUTS.syncStateMachine, STACK_OUTPUTS.runsTable, STACK_OUTPUTS.watermarksTable]);
  const sfn = new SFNClient({ region });
  const ddb = createDocumentClient({ region });
  try {
    const described = await startAndWait(sfn, outputs[STACK_OUTPUTS.syncStateMachine]!, options, `starting a sync of '${options.input.dataset}' on stack '${options.stack}'`, 'the SyncStateMachine', region);
    const runs = new DynamoDbRunStore(ddb, outputs[STACK_OUTPUTS.runsTable]);
    const own = await runs.get(options.name);
    // Attached to a live run of the dataset: that run's record tells what was done.
    const { attachedTo, run } = await followAttached(own, runs);
    const watermark = await new DynamoDbWatermarkStore(ddb, outputs[STACK_OUTPUTS.watermarksTable]).get(options.input.dataset);
    const succeeded = described.status === 'SUCCEEDED';
    return {
      dataset: options.input.dataset,
      execution: options.name,
      executionStatus: succeeded ? 'SUCCEEDED' : 'FAILED',
      ...(attachedTo ? { attachedTo } : {}),
      status: own?.status ?? (succeeded ? 'NO_WORK' : 'FAILED'),
      ...(succeeded ? {} : { error: failureText(described.error ?? described.status ?? 'FAILED', described.cause) }),
      warnings: runWarnings(options.input.dataset, run),
      extract: run?.stages?.extract,
      commit: run?.stages?.commit,
      loaded: runTotals(run),
      watermark,
      ...(run?.usage ? runUsageAndCost(run, options.prices ?? DEFAULT_PRICES) : {}),
    };
  } finally {
    sfn.destroy();
    ddb.destroy();
  }
}

export interface SyncDatasetsOnStackOptions {
  readonly stack: string;
  readonly region?: string;
  /** The SyncDatasetsStateMachine input (`{datasets, mode?, limit?, maxChunks?}`). */
  readonly input: { readonly datasets: readonly string[] } & Record<string, unknown>;
  readonly name: string;
  /** Between DescribeExecution calls. @default 5000 */
  readonly pollMs?: number;
}

/**
 * Starts a SyncDatasetsStateMachine execution on the stack (its SyncDatasetsStateMachineArn
 * output), waits until it ends, and reads back each dataset's run record (the child execution's,
 * named by `childExecutionName`) and watermark.
 */
export async function syncDatasetsOnStack(options: SyncDatasetsOnStackOptions): Promise<SyncDatasetsReport> {
  const region = stackRegion(options.region);
  const outputs = await readStackOutputs(options.stack, region, [STACK_OUTPUTS.syncDatasetsStateMachine, STACK_OUTPUTS.runsTable, STACK_OUTPUTS.watermarksTable]);
  const sfn = new SFNClient({ region });
  const ddb = createDocumentClient({ region });
  try {
    const described = await startAndWait(sfn, outputs[STACK_OUTPUTS.syncDatasetsStateMachine]!, options, `starting a sync of ${options.input.datasets.join(', ')} on stack '${options.stack}'`, 'the SyncDatasetsStateMachine', region);
    const runs = new DynamoDbRunStore(ddb, outputs[STACK_OUTPUTS.runsTable]);
    const watermarks = new DynamoDbWatermarkStore(ddb, outputs[STACK_OUTPUTS.watermarksTable]);
    const reports: SyncReport[] = [];
    for (const dataset of options.input.datasets) {
      const execution = childExecutionName(options.name, dataset);
      const own = await runs.get(execution);
      if (!own) {
        reports.push({ dataset, execution, executionStatus: 'FAILED', status: 'ERROR', error: `not run: ${failureText(described.error ?? described.status ?? 'FAILED', described.cause)}` });
        continue;
      }
      const { attachedTo, run = own } = await followAttached(own, runs);
      reports.push({
        dataset,
        execution,
        executionStatus: own.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED',
        ...(attachedTo ? { attachedTo } : {}),
        status: own.status,
        ...(own.error ? { error: failureText(undefined, own.error) } : {}),
        warnings: runWarnings(dataset, run),
        extract: run.stages?.extract,
        commit: run.stages?.commit,
        loaded: runTotals(run),
        watermark: await watermarks.get(dataset),
      });
    }
    const succeeded = described.status === 'SUCCEEDED';
    return {
      execution: options.name,
      executionStatus: succeeded ? 'SUCCEEDED' : 'FAILED',
      ...(succeeded ? {} : { error: failureText(described.error ?? described.status ?? 'FAILED', described.cause) }),
      datasets: reports,
      exitCode: datasetsExitCode(reports, succeeded ? 'SUCCEEDED' : 'FAILED'),
    };
  } finally {
    sfn.destroy();
    ddb.destroy();
  }
}
