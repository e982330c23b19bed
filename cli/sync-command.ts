import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runTotals } from './format';
import { loadCliConfig } from './config-file';
import { RUN_MODES } from '../lambdas/core/execution-input';
import type { RunRecord } from '../lambdas/core/ports';
import { runUsageAndCost, type Cost } from '../lambdas/core/cost';
import { pricesOf } from '../lambdas/core/prices';
import type { Usage } from '../lambdas/core/usage';
import { followAttached } from './attached-run';
import type { LocalRuntime } from '../local/runtime';
import type { ExecutionSummary } from '../local/runtime-options';
import { CliError } from './errors';
import { requireWarehouseUrl } from './source-url';
import { startCommandRuntime, untilInterrupted } from './local-runtime';
import { progressFromExecutions, startProgress } from './progress';
import type { CommandOutcome } from './program';
import { positiveInt } from './program';
import { syncOnStack } from './sync-stack';
import { syncDatasets } from './sync-datasets';
import { failureText, runWarnings, type RunWarning } from './sync-report';
import { leftAloneText, type RepairRequest } from '../lambdas/core/repair';
import { checkedRepairRequest, localReportUri, repairLines, repairSummary, reportOnStack, type RepairSummary } from './repair-report';

/** The modes `--mode` takes: `repair` is asked for with `--repair REPORT`. */
const MODES = RUN_MODES.filter((m) => m !== 'repair');

function mode(value: string): (typeof MODES)[number] {
  if (value === 'repair') throw new InvalidArgumentError('a repair run is asked for with --repair REPORT (the content report to repair), not --mode repair');
  if (!(MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--mode must be one of ${MODES.join(', ')}, got '${value}'`);
  return value as (typeof MODES)[number];
}

/** `--after C [--after-key K…]` (mode load-only) as the execution input's `after`. */
function afterPosition(opts: { mode?: string; after?: string; afterKey?: string[] }): { after?: { cursor: string; key: string[] } } {
  if (opts.after === undefined) {
    if (opts.afterKey) throw new CliError('--after-key needs --after (the cursor value)');
    return {};
  }
  if (opts.mode !== 'load-only') throw new CliError('--after applies to --mode load-only only');
  return { after: { cursor: opts.after, key: opts.afterKey ?? [] } };
}

/** What `syncproof sync` reports (also written with --json). */
export interface SyncReport {
  readonly dataset: string;
  readonly mode?: string;
  readonly execution: string;
  readonly executionStatus: ExecutionSummary['status'];
  /**
   * Set when the execution found a live run of the dataset doing the same and attached to it (one
   * run per dataset at a time): that execution's name. It did the work; `status`, `extract` and
   * `commit` are its.
   */
  readonly attachedTo?: string;
  readonly status: RunRecord['status'] | 'ERROR';
  /** `Name: message` of a failed execution. */
  readonly error?: string;
  /** Every warning the run recorded (why it is PASSED_WITH_WARNINGS), one sentence each with what to do. */
  readonly warnings?: readonly RunWarning[];
  readonly extract?: unknown;
  readonly commit?: unknown;
  /** What the run's load stages loaded (files, rows) and quarantined. */
  readonly loaded?: { readonly filesLoaded: number; readonly filesQuarantined: number; readonly rows: number };
  readonly watermark?: unknown;
  /** `--repair`: the report, and what the run repaired (./repair-report.ts). */
  readonly repair?: RepairSummary;
  /** What the run consumed (lambdas/core/usage.ts), and its cost at the configuration's prices; absent for a run without metered usage. */
  readonly usage?: Usage;
  readonly cost?: Cost;
}

/** Exit code of a run: 0 passed (or nothing to do), 1 passed with warnings, 2 failed, as `verify-local`. */
export function syncExitCode(report: SyncReport): number {
  if (report.executionStatus === 'FAILED' || report.status === 'FAILED') return 2;
  if (report.status === 'PASSED_WITH_WARNINGS' || report.status === 'PASSED_PARTIAL') return 1;
  return 0;
}

/**
 * `syncproof sync DATASET`: one SyncStateMachine execution on the local runtime (state kept in
 * `--data-dir`), waited for; prints the run's status, what it extracted and loaded, and where the
 * watermark stands. `syncproof sync A B …` or `--all`: one SyncDatasetsStateMachine execution
 * (./sync-datasets.ts), a report per dataset and the worst exit code of them.
 */
export function syncCommand(outcome: CommandOutcome): Command {
  return new Command('sync')
    .description('run one sync of a dataset (or of several, in one execution) on the local runtime and wait for it (extract → load → verify → watermark)')
    .argument('[datasets...]', 'a dataset of the configuration; several: one execution that syncs each (maxConcurrentDatasets at once)')
    .option('--all', 'sync every dataset with a source')
    .requiredOption('--config <file>', 'dataset configuration (the same JSON file the CDK app deploys)')
    .option('--data-dir <dir>', 'keep S3, DynamoDB and warehouse state here (the watermark lives in it); default: temporary')
    .option('--warehouse <url>', 'postgres://… to load into a PostgreSQL server instead of the embedded one')
    .option('--mode <mode>', `${MODES.join(' | ')}`, mode)
    .option('--limit <n>', 'rows per chunk for this run', positiveInt('--limit'))
    .option('--max-chunks <n>', 'most chunks for this run (at most limit × max-chunks rows)', positiveInt('--max-chunks'))
    .option('--after <cursor>', 'mode load-only: load the extract-only files after this cursor value (default: the watermark)')
    .option('--after-key <values...>', 'mode load-only: and after this key (with --after)')
    .option('--repair <report>', 're-extract the rows behind the watermark that a content report (s3://… URI, _syncproof/reports/… key or path, or verify --json file) lists as missing or changed; the watermark stays')
    .option('--json <file>', 'also write the report as JSON to this file')
    .addOption(new Option('--stack <name>', 'start the run on a deployed stack instead (AWS credentials from the default chain) and wait for it').conflicts(['dataDir', 'warehouse']))
    .option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)')
    .exitOverride()
    .action(async (datasets: string[], opts: { config: string; all?: boolean; dataDir?: string; warehouse?: string; mode?: string; after?: string; afterKey?: string[]; limit?: number; maxChunks?: number; json?: string; stack?: string; region?: string; repair?: string }) => {
      if (opts.repair !== undefined) {
        if (opts.all || datasets.length !== 1) throw new CliError('--repair repairs one dataset from its report: give exactly one dataset with it');
        if (opts.mode !== undefined || opts.after !== undefined || opts.afterKey) throw new CliError('--repair is a run mode of its own: give it without --mode, --after or --after-key');
        await syncRepair(datasets[0]!, opts.repair, opts, outcome);
        return;
      }
      if (opts.all || datasets.length !== 1) {
        if (opts.after !== undefined || opts.afterKey) throw new CliError('--after names a position in one dataset: give exactly one dataset with it');
        await syncSeveral(datasets, opts, outcome);
        return;
      }
      const dataset = datasets[0]!;
      const config = loadCliConfig(opts.config, [dataset]);
      if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
      if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
      const input = { dataset, ...(opts.mode ? { mode: opts.mode } : {}), ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.maxChunks ? { maxChunks: opts.maxChunks } : {}), ...afterPosition(opts) };
      const name = `sync-${dataset}-${Date.now()}`;
      if (opts.stack) {
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
        await report(await syncOnStack({ stack: opts.stack, region: opts.region, input, name, prices: pricesOf(config) }), opts.json, outcome);
        return;
      }
      const progress = startProgress({ label: `sync ${dataset}` });
      let result: SyncReport;
      try {
        const runtime = await startCommandRuntime(config, opts, `syncproof sync ${dataset}`, progressFromExecutions(progress));
        try {
          // A run of the dataset may be live already (restarted from the data dir's journal after
          // a crash): the execution then attaches to it, and reports that run.
          const execution = await untilInterrupted(runtime, (left, dataDir) => interruptedMessage([dataset], left, dataDir), () => runtime.startExecution(input, name));
          result = await executionReport(runtime, dataset, execution, opts.mode);
        } finally {
          await runtime.stop();
        }
      } finally {
        progress.stop();
      }
      await report(result, opts.json, outcome);
    });
}

/** `sync A B …` / `sync --all`: validates like the one-dataset path, then runs ./sync-datasets.ts. */
async function syncSeveral(
  datasets: readonly string[],
  opts: { config: string; all?: boolean; dataDir?: string; warehouse?: string; mode?: string; limit?: number; maxChunks?: number; json?: string; stack?: string; region?: string },
  outcome: CommandOutcome,
): Promise<void> {
  if (datasets.length === 0 && !opts.all) throw new CliError('name a dataset (or several), or give --all');
  const config = loadCliConfig(opts.config, datasets);
  if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
  if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
  if (opts.stack) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await syncDatasets({ ...opts, config, datasets }, outcome);
}

/**
 * `sync DATASET --repair REPORT`: resolves and checks the report (exit 3, nothing started, when it
 * is missing, unreadable or another dataset's; exit 0 when it lists nothing to repair), then runs
 * one SyncStateMachine execution in mode `repair` and reports it as a sync (exit 0/1/2).
 */
async function syncRepair(
  dataset: string,
  given: string,
  opts: { config: string; dataDir?: string; warehouse?: string; limit?: number; maxChunks?: number; json?: string; stack?: string; region?: string },
  outcome: CommandOutcome,
): Promise<void> {
  const config = loadCliConfig(opts.config, [dataset]);
  if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
  if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
  const name = `repair-${dataset}-${Date.now()}`;
  const tuning = { ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.maxChunks ? { maxChunks: opts.maxChunks } : {}) };
  if (opts.stack) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { reportUri, objects } = await reportOnStack(given, opts.stack, opts.region);
    const request = await checkedRepairRequest(objects, reportUri, dataset);
    if (await nothingToRepair(dataset, reportUri, request, opts.json, outcome)) return;
    const r = await syncOnStack({ stack: opts.stack, region: opts.region, input: { dataset, mode: 'repair', repair: { reportUri }, ...tuning }, name, prices: pricesOf(config) });
    await report({ ...r, mode: 'repair', repair: repairSummary(reportUri, request, r) }, opts.json, outcome);
    return;
  }
  const progress = startProgress({ label: `sync ${dataset} --repair` });
  const runtime = await startCommandRuntime(config, opts, `syncproof sync ${dataset} --repair`, progressFromExecutions(progress)).catch((error: unknown) => {
    progress.stop();
    throw error;
  });
  let result: SyncReport;
  try {
    const reportUri = await localReportUri(given, runtime.bucket);
    const request = await checkedRepairRequest(runtime.deps.objects, reportUri, dataset);
    if (request.keys.length === 0) progress.stop();
    if (await nothingToRepair(dataset, reportUri, request, opts.json, outcome)) return;
    const input = { dataset, mode: 'repair' as const, repair: { reportUri }, ...tuning };
    const execution = await untilInterrupted(runtime, (left, dataDir) => interruptedMessage([dataset], left, dataDir), () => runtime.startExecution(input, name));
    const base = await executionReport(runtime, dataset, execution, 'repair');
    result = { ...base, repair: repairSummary(reportUri, request, base) };
  } finally {
    progress.stop();
    await runtime.stop();
  }
  await report(result, opts.json, outcome);
}

/**
 * The report of one ended local execution of `dataset` (a sync, a repair, or a child of `sync A B`):
 * the run it did, or the live run it attached to, with that run's stages, and the watermark now.
 */
export async function executionReport(runtime: LocalRuntime, dataset: string, execution: ExecutionSummary, mode?: string): Promise<SyncReport> {
  const { attachedTo, run } = await followAttached(execution.run, runtime.deps.runs);
  const stages = run?.stages ?? {};
  return {
    dataset,
    ...(mode ? { mode } : {}),
    execution: execution.name,
    executionStatus: execution.status,
    ...(attachedTo ? { attachedTo } : {}),
    status: execution.run?.status ?? (execution.status === 'FAILED' ? 'FAILED' : 'NO_WORK'),
    ...(execution.error ? { error: failureText(execution.error, execution.cause) } : {}),
    warnings: runWarnings(dataset, run),
    extract: stages.extract,
    commit: stages.commit,
    loaded: runTotals(run),
    watermark: await runtime.watermarks().get(dataset),
    ...(run?.usage ? runUsageAndCost(run, pricesOf(runtime.deps.config)) : {}),
  };
}

/** A report that lists no missing or changed key: says so (exit 0, nothing started) and returns true. */
async function nothingToRepair(dataset: string, reportUri: string, request: RepairRequest, json: string | undefined, outcome: CommandOutcome): Promise<boolean> {
  if (request.keys.length > 0) return false;
  const alone = leftAloneText(request);
  process.stdout.write(`sync ${dataset} --repair: nothing to repair: ${reportUri} lists no key missing in the warehouse or changed; nothing was loaded${alone ? `\n  ${alone}` : ''}\n`);
  if (json) await writeFile(resolve(json), `${JSON.stringify({ dataset, mode: 'repair', status: 'NO_WORK', repair: { reportUri, requested: 0 } }, null, 2)}\n`);
  outcome.exitCode = 0;
  return true;
}

async function report(r: SyncReport, json: string | undefined, outcome: CommandOutcome): Promise<void> {
  process.stdout.write(`${formatSyncReport(r)}\n`);
  if (json) await writeFile(resolve(json), `${JSON.stringify(r, null, 2)}\n`);
  outcome.exitCode = syncExitCode(r);
}

/**
 * What `sync` prints when Ctrl-C ends it: the executions left running and how the next run
 * resumes them. On a data dir, the next start restarts each journaled execution at the state it
 * was in, and the next `sync` of the dataset attaches to that live run (one run per dataset),
 * waits for it and reports its outcome. On a temporary directory nothing is kept.
 */
export function interruptedMessage(datasets: readonly string[], left: ReturnType<LocalRuntime['abandon']>, dataDir: string | undefined): string {
  const what = (e: (typeof left)[number]) => {
    const input = e.input as { dataset?: unknown; datasets?: unknown } | undefined;
    const named = Array.isArray(input?.datasets) ? `datasets ${input.datasets.join(', ')}` : typeof input?.dataset === 'string' ? `dataset ${input.dataset}` : 'no dataset';
    return `${e.name} (${named})`;
  };
  const names = datasets.join(' ');
  if (left.length === 0) return `syncproof: interrupted; no execution was running${dataDir ? ` (state kept in ${dataDir})` : ''}`;
  if (!dataDir) {
    return `syncproof: interrupted; execution ${left.map(what).join(', ')} stopped unfinished, and its state was temporary (no --data-dir), so nothing resumes it: the next \`syncproof sync ${names}\` starts over`;
  }
  const one = left.length === 1;
  return (
    `syncproof: interrupted; left running in ${dataDir}: execution${one ? '' : 's'} ${left.map(what).join(', ')}. ` +
    `Run \`syncproof sync ${names}\` again with the same options (--data-dir ${dataDir}): it restarts ${one ? 'that execution' : 'them'} where ${one ? 'it' : 'they'} stopped, ` +
    `attaches to ${datasets.length === 1 && datasets[0] !== '--all' ? "the dataset's live run" : "each dataset's live run"} and reports the outcome`
  );
}

/** The human summary of a sync. */
export function formatSyncReport(r: SyncReport): string {
  const lines = [`sync ${r.dataset}: ${r.status} (execution ${r.execution} ${r.executionStatus})`];
  if (r.attachedTo) lines.push(`  attached to the live run of ${r.dataset}, execution ${r.attachedTo}, which did the work (one run per dataset at a time)`);
  if (r.error) lines.push(`  error: ${r.error}`);
  const extract = r.extract as { rows?: number; files?: number; hasMore?: boolean } | undefined;
  if (extract) {
    lines.push(`  extracted: ${extract.rows ?? 0} rows in ${extract.files ?? 0} files${extract.hasMore ? ' (limit × max-chunks reached: run again for the rest)' : ''}`);
  }
  for (const w of r.warnings ?? []) lines.push(`  warning: ${w.dataset}: ${w.message}`);
  const commit = r.commit as { status?: string; loadedRows?: number; note?: string } | undefined;
  const extracted = (r.watermark as { extracted?: { position: { cursor: string; key: string[] }; runId: string } } | undefined)?.extracted;
  if (r.mode === 'extract-only') {
    if (commit) lines.push(`  extract-only: files proven on S3, nothing loaded; extracted position ${commit.status === 'MOVED' ? 'moved' : 'not moved'}${commit.note ? ` (${commit.note})` : ''}`);
  } else if (r.mode === 'repair') {
    if (commit) lines.push(`  loaded: ${commit.loadedRows ?? 0} rows; watermark not moved (a repair never moves it)${commit.note ? ` (${commit.note})` : ''}`);
  } else if (commit && commit.status !== 'SKIPPED') lines.push(`  loaded: ${commit.loadedRows ?? 0} rows; watermark ${commit.status === 'MOVED' ? 'moved' : 'not moved'}${commit.note ? ` (${commit.note})` : ''}`);
  else if (!extract && r.loaded) {
    // A dataset fed by uploads: no extraction, no watermark; its load stages say what it did.
    const l = r.loaded;
    lines.push(`  loaded: ${l.filesLoaded} file${l.filesLoaded === 1 ? '' : 's'}, ${l.rows} rows${l.filesQuarantined ? `; ${l.filesQuarantined} quarantined (syncproof ledger list ${r.dataset} --state quarantined says why)` : ''}`);
  }
  if (r.repair) lines.push(...repairLines(r.repair));
  const wm = r.watermark as { version?: number; position?: { cursor: string; key: string[] } } | undefined;
  if (wm) lines.push(`  watermark: ${wm.position ? `(${wm.position.cursor}, ${wm.position.key.join(', ')})` : 'none'}, version ${wm.version}`);
  else if (r.status !== 'FAILED' && extract) lines.push('  watermark: none');
  if (extracted) lines.push(`  extracted to S3 through (${extracted.position.cursor}, ${extracted.position.key.join(', ')}) by run ${extracted.runId}, not loaded yet (--mode load-only loads it)`);
  return lines.join('\n');
}
