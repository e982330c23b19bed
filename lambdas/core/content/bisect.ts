/**
 * The segment engine of content comparison (see ./model.ts): sums per segment on both sides,
 * mismatching segments split by `factor` until the larger side holds at most `fetchRows` rows,
 * then both sides' rows fetched and diffed here. k differing rows cost O(k · log_factor n) segment
 * queries: a segment whose sums agree is never asked about again. The root is split finer than
 * `factor` ({@link rootFanout}: one scan either way), and the mismatching leaves of one parent are
 * fetched in one query a side. When both sides are the same engine with the same native column
 * types, the sums hash the rows natively (model.ts NativeHashing, {@link chooseHashing}).
 *
 * The verify stage calls it as `compareContent(sourceSide, warehouseSide, datasetPlan, { filter })`
 * with the run's cursor window as the filter (see ./plan.ts datasetPlan).
 */
import { createHash } from 'node:crypto';
import { canonicalRow, sameValue } from './normalize';
import {
  REPORT_KEYS_MAX,
  type ChangedRow,
  type ComparisonPlan,
  type ContentResult,
  type ContentSide,
  type NormalizedRow,
  type RowFilter,
  type Segment,
  type SegmentSum,
} from './model';

export const DEFAULT_FACTOR = 32;
export const DEFAULT_FETCH_ROWS = 16_384;
export const DEFAULT_FLOAT_TOLERANCE = 1e-9;
/** Hash buckets stop splitting at this modulus (the key hash has 32 bits). */
export const MAX_MODULUS = 2 ** 32;
/** Mismatching leaves of one parent are fetched together up to this many rows (or fetchRows, if larger). */
export const FETCH_BATCH_ROWS = 65_536;
/** The root is split into at most this many children (see {@link rootFanout}). */
export const ROOT_CHILDREN_MAX = 4_096;

/**
 * How many children the root is split into. The root's sums are one scan of each side whatever
 * the number of its children (one group per child), so it is split as finely as one level below
 * the fetch size: children of about `fetchRows / factor` rows (estimated from the key span for
 * ranges; hash buckets: `factor²`), at least `factor` and at most {@link ROOT_CHILDREN_MAX}. A
 * mismatching child of the root is then usually fetched at once, without a second scan of its
 * rows. A sampled comparison keeps `factor` (its sample is drawn among the root's children).
 */
export function rootFanout(root: Segment, factor: number, fetchRows: number, sampled: boolean): number {
  if (sampled || root.kind === 'null-key') return factor;
  const clamp = (n: number) => Math.min(ROOT_CHILDREN_MAX, Math.max(factor, n));
  if (root.kind === 'hash') return clamp(factor * factor);
  if (root.lo === undefined || root.hi === undefined) return factor;
  const span = BigInt(root.hi) - BigInt(root.lo);
  const perChild = BigInt(Math.max(1, Math.floor(fetchRows / factor)));
  const wanted = (span + perChild - 1n) / perChild;
  return clamp(wanted > BigInt(ROOT_CHILDREN_MAX) ? ROOT_CHILDREN_MAX : Number(wanted));
}

/** How far a comparison is (for a progress line). */
export interface ContentProgress {
  readonly segments: number;
  readonly segmentQueries: number;
  readonly fetchedRows: number;
  readonly differences: number;
}

export interface CompareOptions {
  /** Compare only these rows on both sides (a run's cursor window). */
  readonly filter?: RowFilter;
  /** Called after each query pair. */
  readonly onProgress?: (progress: ContentProgress) => void;
  /** Segments asked about at once (each a query on each side). @default 4 */
  readonly concurrency?: number;
  /**
   * Compare only `segments` of the top-level segments, drawn by `seed` ({@link sampleSegments}):
   * rows and differences outside them are not looked at (the NULL-key segment neither).
   */
  readonly sample?: { readonly segments: number; readonly seed: string };
}

/**
 * The top-level segments a sampled comparison examines: the `count` indices of `0…total-1` whose
 * SHA-256 of `seed:index` sorts first, so the same seed draws the same segments (a run repeats).
 */
export function sampleSegments(total: number, count: number, seed: string): Set<number> {
  const ranked = Array.from({ length: total }, (_, i) => ({ i, h: createHash('sha256').update(`${seed}:${i}`).digest('hex') }));
  ranked.sort((x, y) => (x.h < y.h ? -1 : x.h > y.h ? 1 : 0));
  return new Set(ranked.slice(0, Math.max(0, count)).map((r) => r.i));
}

/** The children of `parent` (none: it cannot be split further). */
export function splitSegment(parent: Segment, factor: number): Segment[] {
  if (parent.kind === 'null-key') return [];
  if (parent.kind === 'hash') {
    const modulus = parent.modulus * factor;
    if (modulus > MAX_MODULUS) return [];
    return Array.from({ length: factor }, (_, j) => ({ kind: 'hash', modulus, residue: parent.residue + parent.modulus * j }));
  }
  if (parent.lo === undefined || parent.hi === undefined) throw new Error('a range segment to split needs both bounds');
  const lo = BigInt(parent.lo);
  const hi = BigInt(parent.hi);
  const width = hi - lo;
  if (width <= 1n) return [];
  const n = width < BigInt(factor) ? width : BigInt(factor);
  const step = (width + n - 1n) / n;
  const children: Segment[] = [];
  for (let start = lo; start < hi; start += step) {
    const end = start + step < hi ? start + step : hi;
    children.push({ kind: 'range', lo: start.toString(), hi: end.toString() });
  }
  return children;
}

const ZERO: SegmentSum = { count: 0n, sumHi: 0n, sumLo: 0n };
const sameSum = (x: SegmentSum, y: SegmentSum) => x.count === y.count && x.sumHi === y.sumHi && x.sumLo === y.sumLo;

type Key = readonly (string | null)[];

/** Orders keys column by column: integers numerically, other text by code unit, NULL first. */
export function compareKeys(x: Key, y: Key): number {
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const a = x[i] ?? null;
    const b = y[i] ?? null;
    if (a === b) continue;
    if (a === null) return -1;
    if (b === null) return 1;
    if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) return BigInt(a) < BigInt(b) ? -1 : 1;
    return a < b ? -1 : 1;
  }
  return 0;
}

/** A small limit on how many query pairs run at once. */
function limiter(max: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * `native` when both sides offer the same native hash (model.ts NativeHashing: same engine, equal
 * probes) and every compared column has the same native type on both sides; else `portable`.
 * A plan that says `portable` stays portable.
 */
export async function chooseHashing(a: ContentSide, b: ContentSide, plan: ComparisonPlan): Promise<'portable' | 'native'> {
  if (plan.hashing === 'portable' || !a.native || !b.native || a.native.engine !== b.native.engine) return 'portable';
  for (const c of [...plan.key, ...plan.columns]) {
    const ta = a.native.nativeType(c.a);
    if (ta === undefined || ta !== b.native.nativeType(c.b)) return 'portable';
  }
  // A server that cannot answer the probe (an encoding without its characters, no such function) hashes portably.
  const probe = (side: ContentSide) => side.native!.probe().catch(() => undefined);
  const [pa, pb] = await Promise.all([probe(a), probe(b)]);
  return pa !== undefined && pa === pb ? 'native' : 'portable';
}

/** Compares the content of two sides under `plan` (see the module doc). */
export async function compareContent(a: ContentSide, b: ContentSide, given: ComparisonPlan, options: CompareOptions = {}): Promise<ContentResult> {
  const { filter, onProgress } = options;
  const hashing = await chooseHashing(a, b, given);
  const plan: ComparisonPlan = { ...given, hashing };
  const limit = limiter(Math.max(1, options.concurrency ?? 4));
  const factor = Math.max(2, Math.floor(plan.factor));
  const fetchRows = Math.max(1, Math.floor(plan.fetchRows));
  const columns = [...plan.key, ...plan.columns];
  let segments = 0;
  let segmentQueries = 0;
  let fetchedRows = 0;
  let rowsA = 0n;
  let rowsB = 0n;
  const missing: Key[] = [];
  const extra: Key[] = [];
  const changed: ChangedRow[] = [];
  const duplicates: { side: 'a' | 'b'; key: Key; times: number }[] = [];
  let missingCount = 0;
  let extraCount = 0;
  let changedCount = 0;
  const progress = () =>
    onProgress?.({ segments, segmentQueries, fetchedRows, differences: missingCount + extraCount + changedCount + duplicates.length });

  const diff = (rowsOfA: readonly NormalizedRow[], rowsOfB: readonly NormalizedRow[]) => {
    const group = (rows: readonly NormalizedRow[]) => {
      const byKey = new Map<string, NormalizedRow[]>();
      for (const row of rows) {
        const k = canonicalRow(row.key);
        const list = byKey.get(k);
        if (list) list.push(row);
        else byKey.set(k, [row]);
      }
      return byKey;
    };
    const ga = group(rowsOfA);
    const gb = group(rowsOfB);
    for (const [side, groups] of [['a', ga], ['b', gb]] as const) {
      for (const list of groups.values()) if (list.length > 1) duplicates.push({ side, key: list[0]!.key, times: list.length });
    }
    for (const [k, [ra]] of ga) {
      const rb = gb.get(k)?.[0];
      if (!rb) {
        if (missingCount++ < REPORT_KEYS_MAX) missing.push(ra!.key);
        continue;
      }
      const differing: { column: string; a: string | null; b: string | null }[] = [];
      plan.columns.forEach((c, i) => {
        const va = ra!.values[i] ?? null;
        const vb = rb.values[i] ?? null;
        if (!sameValue(va, vb, c.type, plan.floatTolerance)) differing.push({ column: c.a, a: va, b: vb });
      });
      if (differing.length && changedCount++ < REPORT_KEYS_MAX) changed.push({ key: ra!.key, columns: differing });
    }
    for (const [k, [rb]] of gb) if (!ga.has(k) && extraCount++ < REPORT_KEYS_MAX) extra.push(rb!.key);
  };

  const fetch = (segment: Segment) =>
    limit(async () => {
      const [ra, rb] = await Promise.all([a.rows(segment, plan, 'a', filter), b.rows(segment, plan, 'b', filter)]);
      segmentQueries += 2;
      fetchedRows += ra.length + rb.length;
      if (segment.kind === 'null-key') {
        rowsA += BigInt(ra.length);
        rowsB += BigInt(rb.length);
      }
      diff(ra, rb);
      progress();
    });

  // Leaves of one parent are fetched together, one query a side for up to `batchMax` rows.
  const batchMax = Math.max(fetchRows, FETCH_BATCH_ROWS);
  const fetchAll = (leaves: readonly Segment[]): Promise<void> => {
    if (leaves.length === 1 || !a.rowsOf || !b.rowsOf) return Promise.all(leaves.map(fetch)).then(() => undefined);
    return limit(async () => {
      const [ra, rb] = await Promise.all([a.rowsOf!(leaves, plan, 'a', filter), b.rowsOf!(leaves, plan, 'b', filter)]);
      segmentQueries += 2;
      fetchedRows += ra.length + rb.length;
      // The leaves are disjoint and mean the same rows on both sides: their union diffs as each would.
      diff(ra, rb);
      progress();
    });
  };

  const visit = async (parent: Segment, root: boolean): Promise<void> => {
    const children = splitSegment(parent, root ? rootFanout(parent, factor, fetchRows, options.sample !== undefined) : factor);
    if (!children.length) return fetch(parent);
    const [sa, sb] = await limit(async () => {
      const sums = await Promise.all([a.childSums(parent, children, plan, 'a', filter), b.childSums(parent, children, plan, 'b', filter)]);
      segmentQueries += 2;
      return sums;
    });
    const drawn = root && options.sample ? sampleSegments(children.length, options.sample.segments, options.sample.seed) : undefined;
    if (root) {
      for (const [i, s] of sa) if (!drawn || drawn.has(i)) rowsA += s.count;
      for (const [i, s] of sb) if (!drawn || drawn.has(i)) rowsB += s.count;
    }
    segments += drawn ? drawn.size : children.length;
    progress();
    const work: Promise<void>[] = [];
    let batch: Segment[] = [];
    let batchRows = 0n;
    children.forEach((child, i) => {
      if (drawn && !drawn.has(i)) return;
      const x = sa.get(i) ?? ZERO;
      const y = sb.get(i) ?? ZERO;
      if (sameSum(x, y)) return;
      const larger = x.count > y.count ? x.count : y.count;
      if (larger > BigInt(fetchRows)) return void work.push(visit(child, false));
      if (batch.length && batchRows + larger > BigInt(batchMax)) {
        work.push(fetchAll(batch));
        batch = [];
        batchRows = 0n;
      }
      batch.push(child);
      batchRows += larger;
    });
    if (batch.length) work.push(fetchAll(batch));
    await Promise.all(work);
  };

  let root: Segment | undefined;
  if (plan.segmentation === 'hash') root = { kind: 'hash', modulus: 1, residue: 0 };
  else {
    if (plan.key.length !== 1 || !a.keyBounds || !b.keyBounds) throw new Error('range segmentation needs a single integer key and sides that give its bounds');
    const [ba, bb] = await Promise.all([a.keyBounds(plan, 'a', filter), b.keyBounds(plan, 'b', filter)]);
    segmentQueries += 2;
    const los = [ba?.lo, bb?.lo].filter((v): v is string => v !== undefined).map(BigInt);
    const his = [ba?.hi, bb?.hi].filter((v): v is string => v !== undefined).map(BigInt);
    if (los.length) {
      const lo = los.reduce((m, v) => (v < m ? v : m));
      const hi = his.reduce((m, v) => (v > m ? v : m)) + 1n;
      root = { kind: 'range', lo: lo.toString(), hi: hi.toString() };
    }
  }
  if (root) await visit(root, true);
  // No key range holds a NULL key: those rows are fetched and diffed on their own (an index finds them).
  if (plan.segmentation === 'range' && !options.sample) await fetch({ kind: 'null-key' });

  const byKey = <T>(list: T[], key: (t: T) => Key) => list.sort((x, y) => compareKeys(key(x), key(y)));
  return {
    missing: byKey(missing, (k) => k),
    missingCount,
    extra: byKey(extra, (k) => k),
    extraCount,
    changed: byKey(changed, (c) => c.key),
    changedCount,
    duplicates: byKey(duplicates, (d) => d.key),
    compared: {
      columns: columns.map((c) => (c.a === c.b ? c.a : `${c.a}→${c.b}`)),
      rowsA: Number(rowsA),
      rowsB: Number(rowsB),
      segments,
      segmentQueries,
      fetchedRows,
      hashing,
    },
  };
}

/** Whether a result found no difference. */
export function contentPassed(result: ContentResult): boolean {
  return result.missingCount === 0 && result.extraCount === 0 && result.changedCount === 0 && result.duplicates.length === 0;
}
