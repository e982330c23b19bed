/**
 * `syncproof sync A B …` and `syncproof sync --all`: one SyncDatasetsStateMachine execution (each
 * dataset a child SyncStateMachine execution, `maxConcurrentDatasets` at once), on the local
 * runtime or (`--stack`) a deployed stack; a report per dataset and the worst exit code of them.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SyncproofConfig } from '../lambdas/core/config';
import { childExecutionName } from '../lambdas/core/dataset-batch';
import { startCommandRuntime, untilInterrupted } from './local-runtime';
import type { ExecutionSummary } from '../local/runtime-options';
import { CliError } from './errors';
import type { CommandOutcome } from './program';
import { executionReport, formatSyncReport, interruptedMessage, syncExitCode, type SyncReport } from './sync-command';
import { syncDatasetsOnStack } from './sync-stack';
import { progressFromExecutions, startProgress } from './progress';
import { failureText } from './sync-report';

/** What `syncproof sync A B …` reports (also written with --json). */
export interface SyncDatasetsReport {
  /** The SyncDatasetsStateMachine execution. */
  readonly execution: string;
  readonly executionStatus: ExecutionSummary['status'];
  readonly error?: string;
  readonly datasets: readonly SyncReport[];
  /** The worst of the datasets' exit codes; 3 when the execution failed before any dataset ran. */
  readonly exitCode: number;
}

export interface SyncDatasetsOptions {
  readonly config: SyncproofConfig;
  readonly datasets: readonly string[];
  readonly all?: boolean;
  readonly dataDir?: string;
  readonly warehouse?: string;
  readonly mode?: string;
  readonly limit?: number;
  readonly maxChunks?: number;
  readonly json?: string;
  readonly stack?: string;
  readonly region?: string;
}

/** The datasets a `sync` of several names: the ones given, or with `--all` every dataset with a source. */
export function selectDatasets(config: SyncproofConfig, names: readonly string[], all: boolean | undefined): string[] {
  if (all && names.length > 0) throw new CliError('give dataset names or --all, not both');
  if (!all) return [...names];
  const sourced = config.datasets.filter((d) => d.source).map((d) => d.name);
  if (sourced.length === 0) throw new CliError('--all syncs every dataset with a source, and the configuration has none');
  return sourced;
}

/** Exit code of several datasets: the worst of theirs (0 passed, 1 warnings, 2 failed, 3 error). */
export function datasetsExitCode(reports: readonly SyncReport[], executionStatus: ExecutionSummary['status']): number {
  if (reports.length === 0) return executionStatus === 'SUCCEEDED' ? 0 : 3;
  return Math.max(...reports.map((r) => (r.status === 'ERROR' ? 3 : syncExitCode(r))));
}

/** Runs the SyncDatasetsStateMachine for `options.datasets`, prints a report per dataset and sets the exit code. */
export async function syncDatasets(options: SyncDatasetsOptions, outcome: CommandOutcome): Promise<void> {
  const datasets = selectDatasets(options.config, options.datasets, options.all);
  const input = {
    datasets,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
    ...(options.maxChunks ? { maxChunks: options.maxChunks } : {}),
  };
  const name = `sync-datasets-${Date.now()}`;
  const report = options.stack ? await syncDatasetsOnStack({ stack: options.stack, region: options.region, input, name }) : await syncDatasetsLocally(options, input, name);
  process.stdout.write(`${formatSyncDatasetsReport(report)}\n`);
  if (options.json) await writeFile(resolve(options.json), `${JSON.stringify(report, null, 2)}\n`);
  outcome.exitCode = report.exitCode;
}

async function syncDatasetsLocally(options: SyncDatasetsOptions, input: { readonly datasets: readonly string[] } & Record<string, unknown>, name: string): Promise<SyncDatasetsReport> {
  const progress = startProgress({ label: `sync ${options.all ? '--all' : input.datasets.join(' ')}` });
  const runtime = await startCommandRuntime(options.config, options, `syncproof sync ${options.all ? '--all' : input.datasets.join(' ')}`, progressFromExecutions(progress)).catch((error: unknown) => {
    progress.stop();
    throw error;
  });
  try {
    const parent = await untilInterrupted(
      runtime,
      (left, dataDir) => interruptedMessage(options.all ? ['--all'] : input.datasets, left, dataDir),
      () => runtime.startExecution(input, name, 'datasets'),
    );
    const children = new Map(runtime.executions().map((e) => [e.name, e]));
    const reports: SyncReport[] = [];
    for (const dataset of input.datasets) {
      const child = children.get(childExecutionName(name, dataset));
      reports.push(child ? await executionReport(runtime, dataset, child) : notRun(dataset, childExecutionName(name, dataset), parent));
    }
    // A parent that failed before its Map (bad input) ran no dataset: every report is ERROR.
    return {
      execution: name,
      executionStatus: parent.status,
      ...(parent.error ? { error: failureText(parent.error, parent.cause) } : {}),
      datasets: reports,
      exitCode: datasetsExitCode(reports, parent.status),
    };
  } finally {
    await runtime.stop();
    progress.stop();
  }
}


function notRun(dataset: string, execution: string, parent: ExecutionSummary): SyncReport {
  return { dataset, execution, executionStatus: 'FAILED', status: 'ERROR', error: `not run: ${failureText(parent.error, parent.cause)}` };
}

/** The human summary: each dataset's, then the execution's. */
export function formatSyncDatasetsReport(r: SyncDatasetsReport): string {
  const lines = r.datasets.map((d) => formatSyncReport(d));
  const failed = r.datasets.filter((d) => d.executionStatus === 'FAILED').map((d) => d.dataset);
  lines.push(
    `sync of ${r.datasets.length} datasets: execution ${r.execution} ${r.executionStatus}${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''} (exit ${r.exitCode})`,
  );
  if (r.error && failed.length === 0) lines.push(`  error: ${r.error}`);
  return lines.join('\n');
}
