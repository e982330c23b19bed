/**
 * A content side over rows held in memory (Parquet rows read back, tests): values normalized and
 * hashed in JavaScript (normalize.ts), exactly as the SQL dialects do on a server.
 */
import { keyHash, normalizeValue, floatRowText, rowHash } from './normalize';
import type { ComparisonPlan, ContentSide, NormalizedRow, RowFilter, Segment, SegmentSum } from './model';

type Record_ = Readonly<Record<string, unknown>>;

interface Selected {
  readonly row: Record_;
  readonly key: (string | null)[];
  readonly values: (string | null)[];
  readonly hash: { hi: bigint; lo: bigint };
  readonly kh: () => number;
}

/** Whether a row with this key (and lazily computed key hash) lies in `segment`; shared by the in-memory sides. */
export function inSegment(segment: Segment, key: readonly (string | null)[], kh: () => number): boolean {
  if (segment.kind === 'hash') return segment.modulus === 1 || kh() % segment.modulus === segment.residue;
  const k = key[0];
  if (segment.kind === 'null-key') return k === null || k === undefined;
  if (k === null || k === undefined) return false;
  const v = BigInt(k);
  return (segment.lo === undefined || v >= BigInt(segment.lo)) && (segment.hi === undefined || v < BigInt(segment.hi));
}

/**
 * The index of the child of `parent` (split by bisect.ts splitSegment) a row in `parent` lies in,
 * computed rather than searched (a root may have thousands of children); -1: none.
 */
export function childIndex(parent: Segment, children: readonly Segment[], key: readonly (string | null)[], kh: () => number): number {
  const first = children[0];
  if (!first) return -1;
  if (parent.kind === 'hash' && first.kind === 'hash') {
    const i = ((kh() % first.modulus) - parent.residue) / parent.modulus;
    return Number.isInteger(i) && i >= 0 && i < children.length ? i : -1;
  }
  if (first.kind === 'range' && first.lo !== undefined && first.hi !== undefined && key[0] !== null && key[0] !== undefined) {
    const i = Number((BigInt(key[0]) - BigInt(first.lo)) / (BigInt(first.hi) - BigInt(first.lo)));
    if (i >= 0 && i < children.length && inSegment(children[i]!, key, kh)) return i;
  }
  return children.findIndex((c) => inSegment(c, key, kh));
}

function inFilter(filter: RowFilter | undefined, row: Record_, side: 'a' | 'b'): boolean {
  if (!filter) return true;
  const v = normalizeValue(row[side === 'a' ? filter.a : filter.b], filter.type);
  if (v === null) return false;
  const numeric = filter.type.kind === 'integer' || filter.type.kind === 'decimal' || filter.type.kind === 'float';
  const cmp = (x: string, y: string) => (numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0);
  return (filter.from === undefined || cmp(v, filter.from) >= 0) && (filter.to === undefined || cmp(v, filter.to) <= 0);
}

/** A side over `rows` (column name → value as a driver or Parquet reader returns it). */
export function memorySide(label: string, rows: readonly Record_[]): ContentSide & { queries: number } {
  const cache = new WeakMap<ComparisonPlan, Map<string, Selected[]>>();
  const select = (plan: ComparisonPlan, side: 'a' | 'b', filter: RowFilter | undefined): Selected[] => {
    const byPlan = cache.get(plan) ?? new Map<string, Selected[]>();
    cache.set(plan, byPlan);
    const id = `${side} ${JSON.stringify(filter ?? null)}`;
    let selected = byPlan.get(id);
    if (!selected) byPlan.set(id, (selected = selectRows(plan, side, filter)));
    return selected;
  };
  const selectRows = (plan: ComparisonPlan, side: 'a' | 'b', filter: RowFilter | undefined): Selected[] =>
    rows
      .filter((row) => inFilter(filter, row, side))
      .map((row) => {
        const key = plan.key.map((c) => normalizeValue(row[side === 'a' ? c.a : c.b], c.type));
        const values = plan.columns.map((c) => normalizeValue(row[side === 'a' ? c.a : c.b], c.type));
        let kh: number | undefined;
        return { row, key, values, hash: rowHash([...key, ...values]), kh: () => (kh ??= keyHash(key)) };
      });
  const side = {
    label,
    queries: 0,
    async childSums(parent: Segment, children: readonly Segment[], plan: ComparisonPlan, s: 'a' | 'b', filter?: RowFilter) {
      side.queries++;
      const sums = new Map<number, SegmentSum>();
      for (const r of select(plan, s, filter)) {
        if (!inSegment(parent, r.key, r.kh)) continue;
        const i = childIndex(parent, children, r.key, r.kh);
        if (i < 0) continue;
        const h = r.hash;
        const old = sums.get(i) ?? { count: 0n, sumHi: 0n, sumLo: 0n };
        sums.set(i, { count: old.count + 1n, sumHi: old.sumHi + h.hi, sumLo: old.sumLo + h.lo });
      }
      return sums;
    },
    async rows(segment: Segment, plan: ComparisonPlan, s: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
      side.queries++;
      return select(plan, s, filter)
        .filter((r) => inSegment(segment, r.key, r.kh))
        .map((r) => ({
          key: r.key,
          values: plan.columns.map((c, i) => (c.type.kind === 'float' ? floatRowText(r.row[s === 'a' ? c.a : c.b]) : r.values[i]!)),
        }));
    },
    async keyBounds(plan: ComparisonPlan, s: 'a' | 'b', filter?: RowFilter) {
      side.queries++;
      const keys = select(plan, s, filter)
        .map((r) => r.key[0])
        .filter((k): k is string => k !== null && k !== undefined)
        .map(BigInt);
      if (!keys.length) return undefined;
      const lo = keys.reduce((m, v) => (v < m ? v : m));
      const hi = keys.reduce((m, v) => (v > m ? v : m));
      return { lo: lo.toString(), hi: hi.toString() };
    },
    async close() {},
  };
  return side;
}
