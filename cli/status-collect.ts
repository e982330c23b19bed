/**
 * Reads what `syncproof status` (and the status page) shows from the stores: runs, ledger,
 * watermarks, dead letters and schedules; the judging is lambdas/core/status.ts's.
 */
import { wasLoaded } from '../lambdas/core/ledger-status';
import { datasetForKey, requireDataset, timeZoneOf, type DatasetConfig, type SyncproofConfig } from '../lambdas/core/config';
import { databaseProvenThrough, fileProvenThrough, lagAt, lagThresholdsOf } from '../lambdas/core/lag';
import type { Clock, LedgerStore, RunStore } from '../lambdas/core/ports';
import {
  assessDataset,
  judgeSchedule,
  runMatchesSchedule,
  scheduleWindowSeconds,
  schedulesOf,
  statusReport,
  summarizeRun,
  type DatasetStatus,
  type QuarantinedFile,
  type RunSummary,
  type ScheduleSpec,
  type StatusReport,
} from '../lambdas/core/status';
import type { WatermarkStore } from '../lambdas/core/watermark';
import { pricesOf, type Prices } from '../lambdas/core/prices';

/** How many runs of a dataset status lists by default. */
export const DEFAULT_RUNS_PER_DATASET = 20;

/** Most run records read per dataset while looking for its last run, verification and scheduled runs. */
const MAX_RUNS_SCANNED = 1000;

/** Whether a schedule is enabled where the dataset runs (EventBridge rule state on a stack). */
export interface ScheduleState {
  readonly name: ScheduleSpec['name'];
  readonly expression: string;
  readonly enabled: boolean | 'unknown';
}

/** What {@link collectStatus} reads. */
export interface StatusDeps {
  readonly config: SyncproofConfig;
  readonly runs: RunStore;
  readonly ledger: LedgerStore;
  readonly watermarks: WatermarkStore;
  /**
   * The events in the dead-letter queue; a body that names an S3 object of a dataset's prefix is
   * that dataset's, any other (e.g. '' where only a count is known) counts against every dataset.
   */
  deadLetters(): Promise<readonly { readonly body: string }[]>;
  readonly clock: Clock;
  /**
   * The dataset's schedules and whether they are enabled. @default the configuration's schedules
   * ({@link schedulesOf}), enabled: the synthesized template the local runtime runs has a rule for each
   */
  schedules?(dataset: DatasetConfig): Promise<readonly ScheduleState[]>;
}

/** Which datasets, and how many of their runs. */
export interface StatusOptions {
  /** @default every dataset of the configuration */
  readonly datasets?: readonly string[];
  /** @default 20 */
  readonly runsPerDataset?: number;
}

/** The S3 key an EventBridge "Object Created" event (as JSON text) names, if any. */
export function deadLetterKey(body: string): string | undefined {
  try {
    const event = JSON.parse(body) as { detail?: { object?: { key?: unknown } } };
    const key = event?.detail?.object?.key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Dead letters per dataset name, and those no dataset's prefix holds. */
function attributeDeadLetters(config: SyncproofConfig, bodies: readonly { readonly body: string }[]): { byDataset: Map<string, number>; unattributed: number } {
  const byDataset = new Map<string, number>();
  let unattributed = 0;
  for (const { body } of bodies) {
    const key = deadLetterKey(body);
    const dataset = key === undefined ? undefined : datasetForKey(config, key);
    if (dataset) byDataset.set(dataset.name, (byDataset.get(dataset.name) ?? 0) + 1);
    else unattributed++;
  }
  return { byDataset, unattributed };
}

interface RunScan {
  readonly runs: RunSummary[];
  readonly lastRun?: RunSummary;
  readonly lastFinishedRun?: RunSummary;
  readonly lastVerification?: RunSummary;
  readonly lastScheduled: Map<string, string>;
  /** The oldest run read. */
  readonly oldestStartedAt?: string;
}

/**
 * Reads a dataset's runs newest first until it holds `limit` of them, its last run, last finished
 * run, last verification and the newest run of each schedule — or has read past the longest
 * schedule window (older runs cannot make a schedule on time), or {@link MAX_RUNS_SCANNED}.
 */
async function scanRuns(runs: RunStore, dataset: string, limit: number, schedules: readonly ScheduleSpec[], now: Date, prices: Prices): Promise<RunScan> {
  const list: RunSummary[] = [];
  let lastRun: RunSummary | undefined;
  let lastFinishedRun: RunSummary | undefined;
  let lastVerification: RunSummary | undefined;
  let oldestStartedAt: string | undefined;
  const lastScheduled = new Map<string, string>();
  const windowStart = Math.min(...schedules.map((s) => now.getTime() - scheduleWindowSeconds(s.expression) * 1000));
  let scanned = 0;
  for await (const record of runs.listByDataset(dataset)) {
    const run = summarizeRun(record, prices);
    scanned++;
    oldestStartedAt = run.startedAt;
    if (list.length < limit) list.push(run);
    if (run.kind === 'sync') {
      lastRun ??= run;
      if (run.status !== 'RUNNING') lastFinishedRun ??= run;
    }
    if (run.kind === 'verification') lastVerification ??= run;
    for (const s of schedules) if (!lastScheduled.has(s.name) && runMatchesSchedule(s.name, run)) lastScheduled.set(s.name, run.startedAt);
    const complete = list.length >= limit && lastFinishedRun !== undefined && lastVerification !== undefined;
    const schedulesSettled = lastScheduled.size === schedules.length || Date.parse(run.startedAt) < windowStart;
    if ((complete && schedulesSettled) || scanned >= MAX_RUNS_SCANNED) break;
  }
  return { runs: list, lastRun, lastFinishedRun, lastVerification, lastScheduled, oldestStartedAt };
}

/** Ledger counts by state, quarantined files, and what the loaded entries prove. */
async function readLedger(ledger: LedgerStore, dataset: string) {
  const counts: Record<string, number> = {};
  const quarantined: QuarantinedFile[] = [];
  const loaded: { lastModified: string }[] = [];
  for await (const e of ledger.listDataset(dataset)) {
    counts[e.status] = (counts[e.status] ?? 0) + 1;
    if (e.status === 'quarantined') quarantined.push({ key: e.key, etag: e.etag, ...(e.reason ? { reason: e.reason } : {}), at: e.setAsideAt ?? e.updatedAt });
    if (wasLoaded(e.status)) loaded.push({ lastModified: e.lastModified });
  }
  quarantined.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { counts, quarantined, proven: fileProvenThrough(loaded) };
}

async function datasetStatus(deps: StatusDeps, dataset: DatasetConfig, limit: number, dead: { byDataset: Map<string, number>; unattributed: number }, now: Date): Promise<DatasetStatus> {
  const specs = schedulesOf(dataset);
  const states = deps.schedules ? await deps.schedules(dataset) : specs.map((s) => ({ ...s, enabled: true as const }));
  const [scan, ledger, watermark] = await Promise.all([
    scanRuns(deps.runs, dataset.name, limit, specs, now, pricesOf(deps.config)),
    readLedger(deps.ledger, dataset.name),
    dataset.source ? deps.watermarks.get(dataset.name) : Promise.resolve(undefined),
  ]);
  const proven = dataset.source ? databaseProvenThrough(watermark, timeZoneOf(dataset.source)) : ledger.proven;
  const lag = lagAt(now, proven, lagThresholdsOf(dataset));
  const schedules = states.map((state) => {
    const spec = specs.find((s) => s.name === state.name) ?? { name: state.name, expression: state.expression };
    return judgeSchedule({ ...spec, expression: state.expression }, state.enabled, scan.lastScheduled.get(state.name), scan.oldestStartedAt, now);
  });
  const deadLetters = (dead.byDataset.get(dataset.name) ?? 0) + dead.unattributed;
  const { health, reasons } = assessDataset({
    dataset: dataset.name,
    lag,
    lastRun: scan.lastRun,
    lastFinishedRun: scan.lastFinishedRun,
    lastVerification: scan.lastVerification,
    quarantined: ledger.quarantined,
    schedules,
    deadLetters: dead.byDataset.get(dataset.name) ?? 0,
    unattributedDeadLetters: dead.unattributed,
  });
  const position = watermark?.position;
  return {
    dataset: dataset.name,
    kind: dataset.source ? 'database' : 'files',
    health,
    reasons,
    lag,
    ...(scan.lastRun ? { lastRun: scan.lastRun } : {}),
    ...(scan.lastVerification ? { lastVerification: scan.lastVerification } : {}),
    runs: scan.runs,
    ledger: ledger.counts,
    quarantined: ledger.quarantined,
    ...(position && watermark ? { watermark: { cursor: position.cursor, key: position.key, updatedAt: watermark.updatedAt, ...(watermark.lastRun?.runId ? { runId: watermark.lastRun.runId } : {}) } } : {}),
    schedules,
    deadLetters,
  };
}

/**
 * The status of the configuration's datasets (or `options.datasets`, each checked against it:
 * ConfigurationError naming the nearest for an unknown one), judged at `deps.clock.now()`.
 */
export async function collectStatus(deps: StatusDeps, options: StatusOptions = {}): Promise<StatusReport> {
  const now = deps.clock.now();
  const datasets = options.datasets?.length ? options.datasets.map((name) => requireDataset(deps.config, name)) : deps.config.datasets;
  const dead = attributeDeadLetters(deps.config, await deps.deadLetters());
  const limit = options.runsPerDataset ?? DEFAULT_RUNS_PER_DATASET;
  const out: DatasetStatus[] = [];
  for (const dataset of datasets) out.push(await datasetStatus(deps, dataset, limit, dead, now));
  return statusReport(out, now);
}

