/**
 * `syncproof runs [DATASET]`: runs as jobs (mode, status, start, duration, rows, files, cost,
 * report), newest first; `syncproof runs show RUN_ID`: one run's stages and their evidence.
 * Exit codes: 0 ok, 3 error (unknown run or dataset, bad filter).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import type { SyncproofConfig } from '../lambdas/core/config';
import type { RunRecord, RunStatus } from '../lambdas/core/ports';
import { summarizeRun, type RunSummary } from '../lambdas/core/status';
import { loadCliConfig } from './config-file';
import { CliError } from './errors';
import { positiveInt } from './program';
import { openStateTables, stateFailure, whereText, type StateTargetDescription } from './state-target';
import { commandClock, withStateFlags, type StateFlags } from './status-command';
import { formatRuns } from './status-format';
import { formatRunShow } from './runs-show-format';

/** The statuses `--status` accepts. */
export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'PASSED', 'PASSED_PARTIAL', 'PASSED_WITH_WARNINGS', 'NO_WORK', 'FAILED'];

function runStatus(value: string): RunStatus {
  const upper = value.toUpperCase() as RunStatus;
  if (!RUN_STATUSES.includes(upper)) throw new InvalidArgumentError(`--status must be one of ${RUN_STATUSES.join(', ')}, got '${value}'`);
  return upper;
}

const SINCE_UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO-8601 instant, or a duration back from now ('30m', '6h', '2d'). */
export function sinceInstant(text: string, now: Date): string {
  const ago = /^(\d+)([mhd])$/.exec(text.trim());
  if (ago) return new Date(now.getTime() - Number(ago[1]) * SINCE_UNIT_MS[ago[2]]).toISOString();
  const at = new Date(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim()) && !Number.isNaN(at.getTime())) return at.toISOString();
  throw new CliError(`--since must be an ISO-8601 instant ('2026-12-07T00:00:00Z') or a duration back from now ('30m', '6h', '2d'), got '${text}'`);
}

/** Opens the runs table of the target, runs `work`, closes it. */
async function onRuns<T>(flags: StateFlags, owner: string, work: (store: DynamoDbRunStore, where: StateTargetDescription) => Promise<T>): Promise<T> {
  const opened = await openStateTables({ dataDir: flags.dataDir, endpoint: flags.endpoint, stack: flags.stack, region: flags.region }, ['runs'], owner);
  try {
    return await work(new DynamoDbRunStore(opened.client, opened.tables.runs), opened.description);
  } catch (error) {
    throw stateFailure(error, opened.description, 'runs');
  } finally {
    await opened.close();
  }
}

/** Filters of `syncproof runs`. */
export interface RunsFilter {
  readonly status?: RunStatus;
  /** ISO-8601. */
  readonly since?: string;
  readonly limit: number;
}

/**
 * The newest runs of `datasets` matching `filter`, newest first across datasets: each dataset's
 * runs are read newest first and only as far as the limit needs.
 */
export async function listRuns(store: { listByDataset: DynamoDbRunStore['listByDataset'] }, datasets: readonly string[], filter: RunsFilter): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (const dataset of datasets) {
    let taken = 0;
    for await (const record of store.listByDataset(dataset, filter.since ? { since: filter.since } : {})) {
      if (filter.status !== undefined && record.status !== filter.status) continue;
      out.push(summarizeRun(record));
      if (++taken >= filter.limit) break;
    }
  }
  return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0)).slice(0, filter.limit);
}

interface RunsFlags extends StateFlags {
  readonly config?: string;
  readonly status?: RunStatus;
  readonly since?: string;
  readonly limit: number;
  readonly json?: boolean;
}

function datasetsOf(dataset: string | undefined, config: SyncproofConfig | undefined): string[] {
  if (dataset !== undefined) return [dataset];
  if (config) return config.datasets.map((d) => d.name);
  throw new CliError('name a dataset (`syncproof runs DATASET`), or pass --config FILE to list the runs of all its datasets');
}

function showCommand(): Command {
  return withStateFlags(
    new Command('show')
      .description("one run's stages and their evidence (counts, URIs, verdicts), its error and report")
      .argument('<run-id>', 'the run id (`syncproof runs` lists them)')
      .option('--json', 'print the run record as JSON'),
  )
    .exitOverride()
    .action(async (runId: string, _flags: unknown, command: Command) => {
      // `runs` takes the same flags: commander gives them to it when they follow `show`.
      const flags = command.optsWithGlobals<StateFlags & { json?: boolean }>();
      await onRuns(flags, 'syncproof runs show', async (store, where) => {
        const record: RunRecord | undefined = await store.get(runId);
        if (!record) throw new CliError(`no run '${runId}' in ${whereText(where)}; \`syncproof runs DATASET\` lists the runs of a dataset`);
        process.stdout.write(flags.json ? `${JSON.stringify({ summary: summarizeRun(record), record }, null, 2)}\n` : `${formatRunShow(record)}\n`);
      });
    });
}

/** `syncproof runs [DATASET] [--status S] [--since T] [--limit N] [--json]` and `runs show RUN_ID`. */
export function runsCommand(): Command {
  return withStateFlags(
    new Command('runs')
      .description('list runs as jobs, newest first: mode, status, start, duration, rows, files, cost and report URI')
      .argument('[dataset]', 'the dataset whose runs to list (default: every dataset of --config)')
      .option('--config <file>', 'dataset configuration: checks the dataset name; without a dataset, lists the runs of all its datasets')
      .addOption(new Option('--status <status>', `only runs with this status: ${RUN_STATUSES.join(', ')}`).argParser(runStatus))
      .option('--since <time>', "only runs started at or after this: ISO-8601, or a duration back from now ('6h', '2d')")
      .option('--limit <n>', 'most runs listed', positiveInt('--limit'), 20)
      .option('--json', 'print the runs as JSON'),
  )
    .exitOverride()
    .addCommand(showCommand())
    .action(async (dataset: string | undefined, flags: RunsFlags) => {
      const config = flags.config === undefined ? undefined : loadCliConfig(flags.config, dataset === undefined ? [] : [dataset]);
      const datasets = datasetsOf(dataset, config);
      const since = flags.since === undefined ? undefined : sinceInstant(flags.since, commandClock().now());
      await onRuns(flags, 'syncproof runs', async (store) => {
        const runs = await listRuns(store, datasets, { status: flags.status, since, limit: flags.limit });
        process.stdout.write(flags.json ? `${JSON.stringify(runs, null, 2)}\n` : `${formatRuns(runs)}\n`);
      });
    });
}
