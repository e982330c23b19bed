/**
 * What the Record stage tells the world when a run ends, besides its run record: metrics
 * (RunsFailed, Verifications, VerificationsFailed, LagSeconds) and the `syncproof.run` /
 * `syncproof.verification` events. Neither may change the run's outcome: a lag that cannot be
 * read is null, an event the bus refuses is logged and counted (EventsFailed), and the run
 * record says what happened either way.
 */
import { requireDataset } from '../core/config';
import { METRICS } from '../core/metric-names';
import type { RunRecord, RunStatus } from '../core/ports';
import { EVENT_TYPES, eventId, runEventSchema, verificationEventSchema, type SyncproofEvent } from '../core/run-events';
import type { StageDeps } from '../core/stage-deps';
import { datasetLag } from './dataset-lag';

/** Totals of a run's load stages (`load_<loadId>` outputs in its run record). */
export function loadTotals(run: RunRecord | undefined): { rows: number; files: number; bytes: number; quarantined: number } {
  const totals = { rows: 0, files: 0, bytes: 0, quarantined: 0 };
  for (const [stage, output] of Object.entries(run?.stages ?? {})) {
    if (!stage.startsWith('load_')) continue;
    const o = output as { filesLoaded?: number; filesQuarantined?: number; rows?: number; bytes?: number };
    totals.rows += o.rows ?? 0;
    totals.files += o.filesLoaded ?? 0;
    totals.bytes += o.bytes ?? 0;
    totals.quarantined += o.filesQuarantined ?? 0;
  }
  return totals;
}

/**
 * How a sync run was started, from its execution input: its `mode`, else `event` for a run the
 * S3 trigger started, else the default of its dataset (incremental with a source, a reconcile of
 * the prefix without).
 */
export function runModeOf(input: unknown, hasSource: boolean): string {
  const i = input as { mode?: unknown; trigger?: unknown } | null | undefined;
  if (typeof i?.mode === 'string') return i.mode;
  if (i?.trigger !== undefined) return 'event';
  return hasSource ? 'incremental' : 'reconcile';
}

/** Most milliseconds the lag may take to read (a file dataset's ledger scan), and what is kept of the invocation's budget. */
const LAG_BUDGET_MS = 10_000;
const LAG_RESERVE_MS = 30_000;

/**
 * The lag to report: null when the dataset is unknown, nothing is proven, or reading failed or
 * outran its budget (logged): closing the run must never wait on it. A file dataset's lag needs a
 * pass over its whole ledger, so only a verification (which reads the ledger anyway) reports it:
 * an event run stays O(its files) in ledger reads (test/integration/inventory.test.ts).
 */
async function lagOf(deps: StageDeps, dataset: string, now: Date, scanLedger: boolean): Promise<number | null> {
  const config = deps.config.datasets.find((d) => d.name === dataset);
  if (!config || (!config.source && !scanLedger)) return null;
  const budget = Math.min(LAG_BUDGET_MS, (deps.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) - LAG_RESERVE_MS);
  try {
    const { seconds } = await datasetLag(deps, requireDataset(deps.config, dataset), now, Date.now() + budget);
    if (seconds === undefined) return null;
    deps.metrics?.add(METRICS.lagSeconds, seconds);
    return seconds;
  } catch (error) {
    deps.log.warn('could not read the dataset\'s lag; the event says null', { error: String(error) });
    return null;
  }
}

/** Puts `event`; a failure is logged and counted, never thrown (the run's outcome stands). */
async function put(deps: StageDeps, event: SyncproofEvent): Promise<void> {
  if (!deps.events) return;
  try {
    await deps.events.put(event);
  } catch (error) {
    deps.metrics?.add(METRICS.eventsFailed, 1);
    deps.log.warn('could not put the run\'s event; the run record is unaffected', { detailType: event.detailType, id: event.detail.id, error: String(error) });
  }
}

/** A sync run ended with `status` (completed, or failed with `error`). */
export async function announceRun(
  deps: StageDeps,
  end: { readonly runId: string; readonly dataset: string; readonly status: Exclude<RunStatus, 'RUNNING'>; readonly input?: unknown; readonly error?: string },
  now: Date,
): Promise<void> {
  const run = await deps.runs.get(end.runId);
  if (end.status === 'FAILED') deps.metrics?.add(METRICS.runsFailed, 1);
  const hasSource = deps.config.datasets.find((d) => d.name === end.dataset)?.source !== undefined;
  const detail = runEventSchema.parse({
    id: eventId(EVENT_TYPES.run, end.runId),
    runId: end.runId,
    dataset: end.dataset,
    mode: runModeOf(end.input, hasSource),
    status: end.status,
    ...loadTotals(run),
    lagSeconds: await lagOf(deps, end.dataset, now, false),
    ...(run?.reportUri ? { reportUri: run.reportUri } : {}),
    ...(end.error ? { error: end.error } : {}),
    endedAt: now.toISOString(),
  });
  await put(deps, { detailType: EVENT_TYPES.run, detail });
}

type TierStatus = 'PASSED' | 'PASSED_PARTIAL' | 'PASSED_WITH_WARNINGS' | 'FAILED' | 'SKIPPED';

/** A verification ended: recorded with a verdict, or failed before one (`error`, no tiers). */
export async function announceVerification(
  deps: StageDeps,
  end: {
    readonly runId: string;
    readonly dataset: string;
    readonly status: 'PASSED' | 'PASSED_PARTIAL' | 'PASSED_WITH_WARNINGS' | 'FAILED';
    readonly tiers: Partial<Record<'inventory' | 'checksum' | 'counts' | 'content', TierStatus>>;
    readonly reportUri?: string;
    readonly error?: string;
  },
  now: Date,
): Promise<void> {
  deps.metrics?.add(METRICS.verifications, 1);
  if (end.status === 'FAILED') deps.metrics?.add(METRICS.verificationsFailed, 1);
  const tier = end.tiers.content !== undefined && end.tiers.content !== 'SKIPPED' ? 'content' : end.tiers.counts !== undefined ? 'counts' : 'inventory';
  const detail = verificationEventSchema.parse({
    id: eventId(EVENT_TYPES.verification, end.runId),
    runId: end.runId,
    dataset: end.dataset,
    tier,
    status: end.status,
    tiers: end.tiers,
    lagSeconds: await lagOf(deps, end.dataset, now, true),
    ...(end.reportUri ? { reportUri: end.reportUri } : {}),
    ...(end.error ? { error: end.error } : {}),
    endedAt: now.toISOString(),
  });
  await put(deps, { detailType: EVENT_TYPES.verification, detail });
}
