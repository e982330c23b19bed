/**
 * Sync lag: now minus the newest data proven in the warehouse (issue #16). Pure: callers read the
 * watermark or the ledger and pass a clock reading; `syncproof status`, the status page, the
 * Record stage's LagSeconds metric and the stack's lag alarm all use these functions, so they
 * cannot disagree on what "behind" means.
 */
import type { DatasetConfig } from './config';
import { durationSeconds } from './durations';
import type { WatermarkRecord } from './watermark';

export const DEFAULT_LAG_WARN = '1h';
export const DEFAULT_LAG_FAIL = '6h';

/** A dataset's lag thresholds in seconds. */
export interface LagThresholds {
  readonly warnSeconds: number;
  readonly failSeconds: number;
}

/**
 * The dataset's `lagWarn` / `lagFail` (defaults 1 h and 6 h), so that warn ≤ fail always holds: a
 * `lagWarn` set above the default `lagFail` raises the fail threshold to it, and a `lagFail` set
 * below the default `lagWarn` lowers the warn threshold to it.
 */
export function lagThresholdsOf(dataset: Pick<DatasetConfig, 'lagWarn' | 'lagFail'>): LagThresholds {
  const fail = dataset.lagFail === undefined ? undefined : durationSeconds(dataset.lagFail);
  const warnSeconds = dataset.lagWarn === undefined ? Math.min(durationSeconds(DEFAULT_LAG_WARN), fail ?? Number.POSITIVE_INFINITY) : durationSeconds(dataset.lagWarn);
  return { warnSeconds, failSeconds: fail ?? Math.max(warnSeconds, durationSeconds(DEFAULT_LAG_FAIL)) };
}

/**
 * What the newest proven data is, and how that was decided:
 * - `cursor`: a database dataset with a time cursor; every row with a cursor before `at` is in the
 *   warehouse (the verified run's end bound when it read everything up to it, else the watermark's
 *   cursor);
 * - `run`: a database dataset with an integer cursor whose last verified run read everything up to
 *   its end bound: the rows that existed when that run started;
 * - `object`: a file dataset: the newest S3 object (LastModified) the ledger records as loaded,
 *   which a load proves by reading its rows back.
 */
export interface ProvenThrough {
  /** ISO-8601 instant. */
  readonly at: string;
  readonly basis: 'cursor' | 'run' | 'object';
}

const TIME_TEXT = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A cursor text as an instant. Naive values (no zone) are wall-clock readings in `timeZone` (the
 * source's `timeZone` setting, as the extraction compares them); undefined when the text is not a
 * date/time (an integer cursor).
 */
export function cursorInstant(text: string, timeZone: string): Date | undefined {
  const m = TIME_TEXT.exec(text.trim());
  if (!m) return undefined;
  const iso = `${m[1]}T${m[2] ?? '00:00:00'}${(m[3] ?? '').slice(0, 4)}`;
  if (m[4]) return validDate(new Date(`${iso}${m[4] === 'Z' ? 'Z' : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`));
  const asUtc = validDate(new Date(`${iso}Z`));
  if (!asUtc || timeZone === 'UTC') return asUtc;
  // The zone's offset at that instant, applied twice to settle across a DST change.
  let guess = asUtc.getTime();
  for (let i = 0; i < 2; i++) guess = asUtc.getTime() - offsetMs(timeZone, new Date(guess));
  return new Date(guess);
}

function validDate(d: Date): Date | undefined {
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `zone`'s offset from UTC at `at`, in ms (positive east of Greenwich). */
function offsetMs(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(at);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The newest data a database dataset's watermark proves in the warehouse (see {@link ProvenThrough});
 * undefined before the first verified run, after a reset, or when an integer-cursor run stopped
 * with rows left (nothing says how old its last row is).
 */
export function databaseProvenThrough(watermark: WatermarkRecord | undefined, timeZone: string): ProvenThrough | undefined {
  const position = watermark?.position;
  const run = watermark?.lastRun;
  if (!position || !run || run.status === 'RESET' || run.status === 'FAILED') return undefined;
  const complete = !run.extraction.hasMore;
  const end = complete && run.extraction.end !== null ? cursorInstant(run.extraction.end, timeZone) : undefined;
  const cursor = cursorInstant(position.cursor, timeZone);
  const newest = [end, cursor].filter((d): d is Date => d !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
  if (newest) return { at: newest.toISOString(), basis: 'cursor' };
  if (complete) return { at: new Date(run.startedAt).toISOString(), basis: 'run' };
  return undefined;
}

/** The newest loaded object of a file dataset (LastModified of the ledger's `loaded` entries). */
export function fileProvenThrough(loaded: Iterable<{ readonly lastModified: string }>): ProvenThrough | undefined {
  let newest: number | undefined;
  for (const e of loaded) {
    const t = Date.parse(e.lastModified);
    if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
  }
  return newest === undefined ? undefined : { at: new Date(newest).toISOString(), basis: 'object' };
}

/** `ok` below lagWarn, `warn` from lagWarn, `fail` from lagFail, `unknown` when nothing is proven yet. */
export type LagLevel = 'ok' | 'warn' | 'fail' | 'unknown';

/** A dataset's lag at `now`. */
export interface Lag {
  /** Whole seconds (never negative: a cursor ahead of the clock counts as 0); undefined when unknown. */
  readonly seconds?: number;
  readonly level: LagLevel;
  readonly provenThrough?: ProvenThrough;
  readonly thresholds: LagThresholds;
}

/** The lag at `now` of data proven through `proven`, against `thresholds`. */
export function lagAt(now: Date, proven: ProvenThrough | undefined, thresholds: LagThresholds): Lag {
  if (!proven) return { level: 'unknown', thresholds };
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(proven.at)) / 1000));
  const level: LagLevel = seconds >= thresholds.failSeconds ? 'fail' : seconds >= thresholds.warnSeconds ? 'warn' : 'ok';
  return { seconds, level, provenThrough: proven, thresholds };
}

export { formatLag } from './durations';
