/**
 * Sync health (issue #16): what `syncproof status` and the status page show per dataset, and how
 * healthy it is. Pure: the CLI (cli/status-collect.ts) reads the stores and passes what it read;
 * these functions summarize runs, judge schedules and decide health, so every view agrees.
 */
import type { DatasetConfig } from './config';
import { reconcileScheduleOf, verifyScheduleOf } from './config';
import { formatLag, type Lag } from './lag';
import type { RunRecord, RunStatus } from './ports';
import { runUsageAndCost } from './cost';
import { pricesOf, type Prices } from './prices';

/** `healthy` (exit 0), `warning` (exit 1), `failing` (exit 2). */
export type Health = 'healthy' | 'warning' | 'failing';

/** Which workflow a run record belongs to. */
export type RunKind = 'sync' | 'verification' | 'datasets';

/** One run as `syncproof runs`, `status` and the status page show it. */
export interface RunSummary {
  readonly runId: string;
  readonly dataset: string;
  readonly kind: RunKind;
  /** `incremental`, `reconcile`, `event`, `load-only`, `repair`, `verify`, `attached`…; absent when the record does not say. */
  readonly mode?: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  /** When the run ended (its record's last update); absent while RUNNING. */
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  /** Rows the run loaded (database runs without a load: rows extracted). */
  readonly rows?: number;
  /** Files the run loaded (database runs without a load: files extracted). */
  readonly files?: number;
  /** What the run cost, when its record says (see {@link runCostOf}); null when it does not. */
  readonly cost?: { readonly usd: number } | null;
  readonly reportUri?: string;
  readonly error?: string;
  /** Verification runs: the deepest tier that ran (`inventory`, `counts`, `content`). */
  readonly tier?: string;
}

/** One schedule of a dataset and whether it ran on time. */
export interface ScheduleStatus {
  /** `verify` (VerifyStateMachine), `reconcile` (file datasets) or `sync` (a source's `schedule`). */
  readonly name: string;
  readonly expression: string;
  readonly enabled: boolean | 'unknown';
  /** Start of the newest run of this schedule's kind, when one was read. */
  readonly lastRunAt?: string;
  /**
   * Whether the newest run of its kind started within one period plus a margin
   * ({@link scheduleWindowSeconds}); `unknown` when disabled or no run of any kind is older than that.
   */
  readonly onTime: boolean | 'unknown';
}

/** A quarantined file, as status shows it. */
export interface QuarantinedFile {
  readonly key: string;
  readonly etag: string;
  readonly reason?: string;
  readonly at?: string;
}

/** One dataset's health and the evidence behind it. */
export interface DatasetStatus {
  readonly dataset: string;
  readonly kind: 'database' | 'files';
  readonly health: Health;
  /** One sentence each: why the dataset is not healthy (empty when healthy). */
  readonly reasons: string[];
  readonly lag: Lag;
  /** The newest sync run (RUNNING included). */
  readonly lastRun?: RunSummary;
  /** The newest verification run. */
  readonly lastVerification?: RunSummary;
  /** Newest first, at most `runsPerDataset`. */
  readonly runs: RunSummary[];
  /** Ledger entries by state (file datasets; database datasets' extracted files too). */
  readonly ledger: Record<string, number>;
  readonly quarantined: QuarantinedFile[];
  readonly watermark?: { readonly cursor: string; readonly key: readonly string[]; readonly updatedAt: string; readonly runId?: string };
  readonly schedules: ScheduleStatus[];
  /** Dead-lettered events of this dataset (plus those no dataset could be named for: see reasons). */
  readonly deadLetters: number;
}

/** Every selected dataset's status; `exitCode` is the worst health (0 healthy, 1 warning, 2 failing). */
export interface StatusReport {
  readonly generatedAt: string;
  readonly health: Health;
  readonly exitCode: 0 | 1 | 2;
  readonly datasets: DatasetStatus[];
  /** What the report could not see where it was read (e.g. dead letters through `--endpoint`). */
  readonly notes?: string[];
}

const HEALTH_ORDER: readonly Health[] = ['healthy', 'warning', 'failing'];

/** The worse of two healths. */
export function worseHealth(a: Health, b: Health): Health {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

/** The exit code of a health: 0 healthy, 1 warning, 2 failing. */
export function healthExitCode(health: Health): 0 | 1 | 2 {
  return HEALTH_ORDER.indexOf(health) as 0 | 1 | 2;
}

type Stages = Record<string, Record<string, unknown> | undefined>;

function stagesOf(run: RunRecord): Stages {
  return (run.stages ?? {}) as Stages;
}

/**
 * Which workflow wrote `run`: a SyncDatasetsStateMachine run has stage `datasets` (and a dataset
 * key of several names); a VerifyStateMachine run has an `inventory` stage in `verify` mode, or a
 * `finish` stage carrying the checksum evidence; `syncproof verify` on local state records a
 * `verify` stage; every other run is a sync.
 */
export function runKindOf(run: RunRecord): RunKind {
  const stages = stagesOf(run);
  if (stages.datasets !== undefined || run.dataset.includes(',')) return 'datasets';
  if (stages.verify !== undefined || stages.inventory?.mode === 'verify' || (stages.finish !== undefined && 'checksum' in stages.finish)) return 'verification';
  return 'sync';
}

/**
 * What a run cost at `prices` (the configuration's, default us-east-1 list prices), priced from the
 * usage its stages added to its record (lambdas/core/cost.ts); null for a record without usage
 * (written before metering existed).
 */
export function runCostOf(run: RunRecord, prices: Prices = pricesOf({})): { usd: number } | null {
  if (!run.usage) return null;
  return { usd: runUsageAndCost(run, prices).cost.totalMicroUsd / 1_000_000 };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** What mode a run ran in, from what its stages recorded. */
function modeOf(kind: RunKind, stages: Stages): string | undefined {
  if (kind === 'verification') return 'verify';
  if (kind === 'datasets') return 'datasets';
  if (stages.attached !== undefined) return 'attached';
  if (typeof stages.extract?.mode === 'string') return stages.extract.mode;
  if (stages.extract !== undefined) return 'incremental';
  if (stages.inventory?.scope === 'batch') return 'event';
  if (stages.inventory?.scope === 'prefix') return 'reconcile';
  return undefined;
}

/** The deepest tier a verification run recorded evidence of. */
function tierOf(stages: Stages): string | undefined {
  const finish = stages.finish;
  if (finish?.content !== undefined) return 'content';
  if (finish?.counts !== undefined) return 'counts';
  if (finish !== undefined || stages.inventory !== undefined) return 'inventory';
  return undefined;
}

/** Rows and files a run moved: the sum of its loads, else its extraction's. */
function volumeOf(stages: Stages): { rows?: number; files?: number } {
  let rows: number | undefined;
  let files: number | undefined;
  for (const [stage, output] of Object.entries(stages)) {
    if (!stage.startsWith('load_') || !output) continue;
    rows = (rows ?? 0) + (num(output.rows) ?? 0);
    files = (files ?? 0) + (num(output.filesLoaded) ?? 0);
  }
  if (rows === undefined && stages.extract) return { rows: num(stages.extract.rows), files: num(stages.extract.files) };
  return { rows, files };
}

/** A run record as a {@link RunSummary}. */
export function summarizeRun(run: RunRecord, prices?: Prices): RunSummary {
  const stages = stagesOf(run);
  const kind = runKindOf(run);
  const ended = run.status !== 'RUNNING';
  const seconds = ended ? Math.max(0, Math.round((Date.parse(run.updatedAt) - Date.parse(run.startedAt)) / 1000)) : undefined;
  const mode = modeOf(kind, stages);
  const tier = kind === 'verification' ? tierOf(stages) : undefined;
  const { rows, files } = kind === 'sync' ? volumeOf(stages) : {};
  return {
    runId: run.runId,
    dataset: run.dataset,
    kind,
    ...(mode !== undefined ? { mode } : {}),
    status: run.status,
    startedAt: run.startedAt,
    ...(ended ? { endedAt: run.updatedAt, durationSeconds: Number.isNaN(seconds) ? undefined : seconds } : {}),
    ...(rows !== undefined ? { rows } : {}),
    ...(files !== undefined ? { files } : {}),
    cost: runCostOf(run, prices),
    ...(run.reportUri ? { reportUri: run.reportUri } : {}),
    ...(run.error ? { error: run.error } : {}),
    ...(tier ? { tier } : {}),
  };
}

/** A schedule a dataset has, before its state and runs are known. */
export interface ScheduleSpec {
  readonly name: 'verify' | 'reconcile' | 'sync';
  readonly expression: string;
}

/** The schedules the stack creates for `dataset`: verification always, reconcile (files) or sync (a source with `schedule`). */
export function schedulesOf(dataset: DatasetConfig): ScheduleSpec[] {
  const out: ScheduleSpec[] = [{ name: 'verify', expression: verifyScheduleOf(dataset) }];
  if (!dataset.source) out.push({ name: 'reconcile', expression: reconcileScheduleOf(dataset) });
  else if (dataset.source.schedule) out.push({ name: 'sync', expression: dataset.source.schedule });
  return out;
}

/** Whether a run of `kind` and `mode` is what `schedule` starts. */
export function runMatchesSchedule(schedule: ScheduleSpec['name'], run: RunSummary): boolean {
  if (schedule === 'verify') return run.kind === 'verification';
  if (schedule === 'reconcile') return run.kind === 'sync' && run.mode === 'reconcile';
  return run.kind === 'sync';
}

const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };

/**
 * The longest gap between two ticks of a schedule expression, in seconds: exact for `rate(…)`; for
 * `cron(…)` the period of its finest fixed field (every minute, hour, day, week or month).
 */
export function schedulePeriodSeconds(expression: string): number {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) return Number(rate[1]) * UNIT_SECONDS[rate[2]];
  const cron = /^cron\((.*)\)$/.exec(expression);
  const [minutes, hours, dayOfMonth, month, dayOfWeek] = cron ? cron[1].trim().split(/\s+/) : [];
  const wild = (f: string | undefined) => f === undefined || f === '*' || f === '?';
  const stepped = (f: string | undefined) => f !== undefined && (f.includes('/') || f.includes(',') || f.includes('-'));
  if (wild(minutes) || stepped(minutes)) return 3600;
  if (wild(hours) || stepped(hours)) return 86_400;
  if (!wild(dayOfWeek)) return 7 * 86_400;
  if (!wild(dayOfMonth) || !wild(month)) return 31 * 86_400;
  return 86_400;
}

/** How long after its last run a schedule is still on time: one period plus a quarter of it (at least 10 minutes). */
export function scheduleWindowSeconds(expression: string): number {
  const period = schedulePeriodSeconds(expression);
  return period + Math.max(600, Math.round(period / 4));
}

/**
 * Judges one schedule at `now`: on time when the newest matching run (`lastRunAt`) started within
 * its window; late when it did not and the dataset has runs older than the window (`historySince`,
 * its oldest run read, proves it has existed that long); unknown when disabled or too young.
 */
export function judgeSchedule(spec: ScheduleSpec, enabled: boolean | 'unknown', lastRunAt: string | undefined, historySince: string | undefined, now: Date): ScheduleStatus {
  const base = { name: spec.name, expression: spec.expression, enabled, ...(lastRunAt ? { lastRunAt } : {}) };
  if (enabled === false) return { ...base, onTime: 'unknown' };
  const windowStart = now.getTime() - scheduleWindowSeconds(spec.expression) * 1000;
  if (lastRunAt !== undefined && Date.parse(lastRunAt) >= windowStart) return { ...base, onTime: true };
  if (historySince !== undefined && Date.parse(historySince) < windowStart) return { ...base, onTime: false };
  return { ...base, onTime: 'unknown' };
}

/** What {@link assessDataset} judges. */
export interface DatasetFacts {
  readonly dataset: string;
  readonly lag: Lag;
  readonly lastRun?: RunSummary;
  readonly lastVerification?: RunSummary;
  /** The newest sync run that has ended (the health of a running dataset is that of its last finished run). */
  readonly lastFinishedRun?: RunSummary;
  readonly quarantined: readonly QuarantinedFile[];
  readonly schedules: readonly ScheduleStatus[];
  /** Dead letters named for this dataset. */
  readonly deadLetters: number;
  /** Dead letters no dataset could be named for (counted against every dataset). */
  readonly unattributedDeadLetters: number;
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0].trim();
  return line.length > 240 ? `${line.slice(0, 237)}…` : line;
}

/**
 * A dataset's health and one reason per problem. Failing: lag at or above `lagFail`, the last
 * finished run or the last verification FAILED, dead letters waiting. Warning: lag at or above
 * `lagWarn` or unknown, quarantined files, a last run or verification PASSED_WITH_WARNINGS, a
 * schedule that did not run on time.
 */
export function assessDataset(facts: DatasetFacts): { health: Health; reasons: string[] } {
  const failing: string[] = [];
  const warning: string[] = [];
  const { lag } = facts;
  const thresholds = `lagWarn ${formatLag(lag.thresholds.warnSeconds)}, lagFail ${formatLag(lag.thresholds.failSeconds)}`;
  if (lag.level === 'fail') failing.push(`sync lag ${formatLag(lag.seconds)} is at or above lagFail (${formatLag(lag.thresholds.failSeconds)}): the newest data proven in the warehouse is from ${lag.provenThrough?.at}.`);
  else if (lag.level === 'warn') warning.push(`sync lag ${formatLag(lag.seconds)} is at or above lagWarn (${formatLag(lag.thresholds.warnSeconds)}): the newest data proven in the warehouse is from ${lag.provenThrough?.at}.`);
  else if (lag.level === 'unknown') warning.push(`sync lag is unknown: nothing is proven in the warehouse yet (no verified run, or no loaded file) (${thresholds}).`);
  const run = facts.lastFinishedRun;
  if (run?.status === 'FAILED') failing.push(`the last run ${run.runId} FAILED${run.error ? `: ${firstLine(run.error)}` : ''}.`);
  else if (run?.status === 'PASSED_WITH_WARNINGS') warning.push(`the last run ${run.runId} PASSED_WITH_WARNINGS; see \`syncproof runs show ${run.runId}\`.`);
  const verification = facts.lastVerification;
  if (verification?.status === 'FAILED') failing.push(`the last verification ${verification.runId} FAILED${verification.error ? `: ${firstLine(verification.error)}` : ''}.`);
  else if (verification?.status === 'PASSED_WITH_WARNINGS') warning.push(`the last verification ${verification.runId} PASSED_WITH_WARNINGS; see \`syncproof runs show ${verification.runId}\`.`);
  if (facts.deadLetters > 0) failing.push(`${facts.deadLetters} dead-lettered event${facts.deadLetters === 1 ? '' : 's'} of this dataset wait${facts.deadLetters === 1 ? 's' : ''} in the dead-letter queue; its files load with a reconcile run (\`syncproof sync ${facts.dataset} --mode reconcile\`), then clear the queue.`);
  if (facts.unattributedDeadLetters > 0) failing.push(`${facts.unattributedDeadLetters} dead-lettered event${facts.unattributedDeadLetters === 1 ? '' : 's'} wait${facts.unattributedDeadLetters === 1 ? 's' : ''} that cannot be attributed to a dataset (counted against every dataset); inspect the dead-letter queue.`);
  if (facts.quarantined.length > 0) warning.push(`${facts.quarantined.length} file${facts.quarantined.length === 1 ? ' is' : 's are'} quarantined; fix and \`syncproof ledger retry\` them, or \`syncproof ledger forget\` them.`);
  for (const s of facts.schedules) {
    if (s.onTime === false) warning.push(`the ${s.name} schedule (${s.expression}) did not run on time: ${s.lastRunAt ? `its last run started ${s.lastRunAt}` : 'no run of it was found'}.`);
  }
  const health: Health = failing.length > 0 ? 'failing' : warning.length > 0 ? 'warning' : 'healthy';
  return { health, reasons: [...failing, ...warning] };
}

/** The report over datasets: its health is the worst of theirs. */
export function statusReport(datasets: DatasetStatus[], now: Date): StatusReport {
  const health = datasets.reduce<Health>((h, d) => worseHealth(h, d.health), 'healthy');
  return { generatedAt: now.toISOString(), health, exitCode: healthExitCode(health), datasets };
}
