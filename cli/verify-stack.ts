/**
 * `syncproof verify DATASET --stack NAME`: one VerifyStateMachine execution on a deployed stack,
 * started with StartExecution and waited for with DescribeExecution (./sync-stack.ts); the run
 * record Record wrote is then read back from the stack's runs table.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDocumentClient } from '../lambdas/adapters/clients';
import { DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import type { VerificationStatus } from '../lambdas/core/verification';
import { readStackOutputs, stackRegion } from './state-target';
import { startAndWait } from './sync-stack';
import { failureText } from './sync-report';

export interface VerifyOnStackOptions {
  readonly stack: string;
  readonly region?: string;
  /** The execution input: `{"dataset", "tier"}`. */
  readonly input: { readonly dataset: string; readonly tier: string };
  readonly name: string;
  /** Between DescribeExecution calls. @default 5000 */
  readonly pollMs?: number;
}

/** What a verification on the stack reports (also written with --json). */
export interface VerifyOnStackResult {
  readonly dataset: string;
  readonly execution: string;
  readonly executionStatus: 'SUCCEEDED' | 'FAILED';
  readonly status: VerificationStatus;
  /** The run record's stage outputs (inventory, checksum, counts: verdicts and report URIs). */
  readonly stages?: unknown;
  readonly error?: string;
  /** The human summary. */
  readonly lines: readonly string[];
}

/**
 * Starts the execution, waits until it ends, and reads back its run record. A failed execution
 * whose record says FAILED is a FAILED verdict (exit 2); one that failed with no verdict recorded
 * is FAILED too, with the error.
 */
export async function verifyOnStack(options: VerifyOnStackOptions): Promise<VerifyOnStackResult> {
  const region = stackRegion(options.region);
  const outputs = await readStackOutputs(options.stack, region, [STACK_OUTPUTS.verifyStateMachine, STACK_OUTPUTS.runsTable]);
  const sfn = new SFNClient({ region });
  const ddb = createDocumentClient({ region });
  try {
    const described = await startAndWait(sfn, outputs[STACK_OUTPUTS.verifyStateMachine]!, options, `starting a verification of '${options.input.dataset}' on stack '${options.stack}'`, 'the VerifyStateMachine', region);
    const run = await new DynamoDbRunStore(ddb, outputs[STACK_OUTPUTS.runsTable]).get(options.name);
    const succeeded = described.status === 'SUCCEEDED';
    const recorded = run?.status;
    const status: VerificationStatus =
      recorded === 'PASSED' || recorded === 'PASSED_WITH_WARNINGS' || recorded === 'PASSED_PARTIAL' || recorded === 'FAILED' ? recorded : succeeded ? 'PASSED' : 'FAILED';
    const error = succeeded ? undefined : failureText(described.error ?? described.status ?? 'FAILED', described.cause);
    const lines = [`verify ${options.input.dataset} (${options.input.tier}) on stack ${options.stack}: ${status} (execution ${options.name} ${succeeded ? 'SUCCEEDED' : 'FAILED'})`];
    if (error) lines.push(`  ${error}`);
    return { dataset: options.input.dataset, execution: options.name, executionStatus: succeeded ? 'SUCCEEDED' : 'FAILED', status, ...(run?.stages ? { stages: run.stages } : {}), ...(error ? { error } : {}), lines };
  } finally {
    sfn.destroy();
    ddb.destroy();
  }
}
