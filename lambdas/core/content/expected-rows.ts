/**
 * The rows a file dataset's target should hold, built in JavaScript from its loaded Parquet files
 * (content proof for file datasets, issue #15 item 3), and a content side over them
 * ({@link expectedSide}) that hashes exactly as the SQL dialects do (./normalize.ts).
 *
 * - `upsert`: the newest version of each key, ordered the way the load orders them
 *   (lambdas/core/load-plan.ts planLoad): the version column, larger newer, NULL older than any
 *   value (`DESC NULLS LAST`); without one, or on a tie, the file's S3 order
 *   (lambdas/core/s3-order.ts s3OrderKey), then the later row of the same file.
 * - `append`: a multiset. Every row of every file counts; the compared key is the whole row (key
 *   columns first) and its one compared value is how many times the row occurs
 *   ({@link OCCURRENCES_COLUMN}); the warehouse side groups its rows the same way. A doubled row
 *   is then a changed count, a changed value a missing plus an extra row.
 *
 * The load ranks versions with `ROW_NUMBER() … ORDER BY version DESC` (or the file's S3 order),
 * which leaves two rows of one key with the same version in one file in no defined order (Redshift
 * keeps no row order through COPY). Such a key is **ambiguous**: every distinct row of that tie is
 * kept as a candidate ({@link ExpectedRows.ties}), the later row is hashed, and the caller accepts
 * the target's row when it equals any candidate (./file-content.ts), with a warning.
 *
 * Memory is bounded by the expected rows (normalized text, one entry per key or distinct row) plus
 * one file being decoded: files are added one at a time. Pure.
 */
import { canonicalRow, floatRowText, keyHash, normalizeValue, rowHash } from './normalize';
import type { ComparedColumn, ComparedType, ComparisonPlan, ContentSide, NormalizedRow, RowFilter, Segment, SegmentSum } from './model';
import type { PlanColumn } from './plan';
import { childIndex, inSegment } from './memory-side';

/** The compared value of an append dataset: how many times a whole row occurs (see the module doc). */
export const OCCURRENCES_COLUMN = 'syncproof_rows';

/** One row kept for the comparison: normalized key and values, the row hash. */
interface KeptRow {
  /** Key as hashed (floats at the plan's digits). */
  readonly key: (string | null)[];
  /** Key as fetched rows give it (floats at full precision, as the SQL sides fetch them). */
  readonly fetchKey: (string | null)[];
  /** Values as fetched rows give them (floats at full precision). */
  values: (string | null)[];
  /** Values as hashed (floats at the plan's digits). */
  hashed: (string | null)[];
  /** Upsert: which version this is. Append: unused. */
  order?: VersionOrder;
  /** Append: occurrences so far. */
  times: number;
}

/** Where a row version stands among the versions of its key (see the module doc). */
interface VersionOrder {
  /** The version column's value as an order key; undefined: NULL (or no version column). */
  readonly version: bigint | number | string | undefined;
  readonly s3Order: string;
  readonly position: number;
}

function compareVersions(x: VersionOrder, y: VersionOrder): number {
  if (x.version !== y.version) {
    if (x.version === undefined) return -1;
    if (y.version === undefined) return 1;
    if (x.version < y.version) return -1;
    if (x.version > y.version) return 1;
  }
  if (x.s3Order !== y.s3Order) return x.s3Order < y.s3Order ? -1 : 1;
  return x.position - y.position;
}

/** A version column's value as something `<` orders the way the warehouse orders the column. */
function versionKey(value: unknown, type: ComparedType): bigint | number | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (type.kind === 'float') return typeof value === 'number' ? value : Number(value);
  const text = normalizeValue(value, type.kind === 'timestamp' ? { ...type, precision: 6 } : type);
  if (text === null) return undefined;
  if (type.kind === 'integer') return BigInt(text);
  if (type.kind === 'decimal') return BigInt(text.replace('.', ''));
  return text;
}

/** Candidates of an ambiguous key kept at most (a target row equal to none of them is reported changed). */
export const TIE_CANDIDATES_MAX = 64;

/** A key held more than once, with different values, at the same version in one file (see the module doc). */
export interface Tie {
  /** The key, as fetched rows give it. */
  readonly key: readonly (string | null)[];
  /** The file (its key) whose rows tie. */
  readonly file: string;
  /** Its distinct rows' values as fetched rows give them (floats at full precision), the kept one last. */
  readonly candidates: (readonly (string | null)[])[];
}

/** A decoded file: column names, and column-major values as the Parquet reader gives them. */
export interface DecodedColumns {
  readonly columns: readonly string[];
  readonly rowCount: number;
  readonly data: readonly ArrayLike<unknown>[];
}

/**
 * Collects the expected rows of a dataset, file by file (see the module doc). `plan` is the
 * comparison plan, side `a` naming the files' columns; for append its key is every compared column
 * and its one column is {@link OCCURRENCES_COLUMN}.
 */
export class ExpectedRows {
  private readonly rows = new Map<string, KeptRow>();
  /** Ambiguous keys (upsert), by the canonical text of their fetched key: see {@link Tie}. */
  readonly ties = new Map<string, Tie>();
  private readonly versionAt: number | undefined;
  /** Rows read from the files. */
  rowsRead = 0;

  constructor(
    private readonly plan: ComparisonPlan,
    private readonly mode: 'upsert' | 'append',
    /** The version column (side a name), for upsert. */
    versionColumn?: string,
  ) {
    const all = [...plan.key, ...plan.columns];
    this.versionAt = versionColumn === undefined ? undefined : all.findIndex((c) => c.a === versionColumn);
    if (this.versionAt !== undefined && this.versionAt < 0) throw new Error(`the version column ${versionColumn} is not compared`);
  }

  /** Adds one file's rows; `s3Order` orders it among the files (upsert without a version column); `name` names it in a {@link Tie}. */
  add(file: DecodedColumns, s3Order: string, name = s3Order): void {
    const at = (c: ComparedColumn) => file.columns.findIndex((n) => n === c.a);
    const keyAt = this.plan.key.map(at);
    const valueColumns = this.mode === 'append' ? [] : this.plan.columns;
    const valueAt = valueColumns.map(at);
    const get = (i: number, r: number) => (i < 0 ? null : (file.data[i]![r] ?? null));
    const all = [...this.plan.key, ...valueColumns];
    const allAt = [...keyAt, ...valueAt];
    for (let r = 0; r < file.rowCount; r++) {
      this.rowsRead++;
      const key = this.plan.key.map((c, j) => normalizeValue(get(keyAt[j]!, r), c.type));
      const id = canonicalRow(key);
      const fetchKey = () => this.plan.key.map((c, j) => (c.type.kind === 'float' ? floatRowText(get(keyAt[j]!, r)) : key[j]!));
      const old = this.rows.get(id);
      if (this.mode === 'append') {
        if (old) old.times++;
        else this.rows.set(id, { key, fetchKey: fetchKey(), values: [], hashed: [], times: 1 });
        continue;
      }
      const version = this.versionAt === undefined ? undefined : versionKey(get(allAt[this.versionAt]!, r), all[this.versionAt]!.type);
      const order: VersionOrder = { version, s3Order, position: r };
      if (old && compareVersions(old.order!, order) > 0) continue;
      const raw = valueColumns.map((_, j) => get(valueAt[j]!, r));
      const hashed = valueColumns.map((c, j) => normalizeValue(raw[j], c.type));
      const values = valueColumns.map((c, j) => (c.type.kind === 'float' ? floatRowText(raw[j]) : hashed[j]!));
      const kept: KeptRow = { key, fetchKey: fetchKey(), values, hashed, order, times: 1 };
      this.rows.set(id, kept);
      // The same version of the key in the same file, after another row of it: the load keeps either.
      const tieId = canonicalRow(kept.fetchKey);
      if (old && old.order!.version === version && old.order!.s3Order === s3Order) {
        if (canonicalRow(old.hashed) !== canonicalRow(hashed)) {
          const tie = this.ties.get(tieId) ?? { key: kept.fetchKey, file: name, candidates: [old.values] };
          const seen = new Set(tie.candidates.map((c) => canonicalRow(c)));
          if (!seen.has(canonicalRow(values)) && tie.candidates.length < TIE_CANDIDATES_MAX) tie.candidates.push(values);
          // The later row is the one hashed: keep it last.
          else if (seen.has(canonicalRow(values))) tie.candidates.push(tie.candidates.splice(tie.candidates.findIndex((c) => canonicalRow(c) === canonicalRow(values)), 1)[0]!);
          this.ties.set(tieId, tie);
        }
      } else if (old) this.ties.delete(tieId);
    }
  }

  /** Distinct keys (upsert) or distinct rows (append) collected. */
  get size(): number {
    return this.rows.size;
  }

  /** Rows the target should hold (append: with repetitions). */
  get expectedRows(): number {
    let n = 0;
    for (const row of this.rows.values()) n += row.times;
    return n;
  }

  /** The content side over the collected rows (side `a` of the plan). */
  side(label = 'parquet'): ContentSide & { queries: number } {
    const selected: Selected[] = [];
    for (const row of this.rows.values()) {
      const values = this.mode === 'append' ? [String(row.times)] : row.values;
      const hashed = this.mode === 'append' ? values : row.hashed;
      let kh: number | undefined;
      selected.push({ key: row.key, fetchKey: row.fetchKey, values, hash: rowHash([...row.key, ...hashed]), kh: () => (kh ??= keyHash(row.key)) });
    }
    return expectedSide(label, selected);
  }
}

/** One expected row as the side holds it. */
interface Selected {
  readonly key: readonly (string | null)[];
  readonly fetchKey: readonly (string | null)[];
  readonly values: readonly (string | null)[];
  readonly hash: { readonly hi: bigint; readonly lo: bigint };
  readonly kh: () => number;
}

function noFilter(filter: RowFilter | undefined): void {
  if (filter) throw new Error('the expected rows of a file dataset are compared whole: no row filter');
}

/** A content side over normalized rows (each query is one pass over them). */
function expectedSide(label: string, rows: readonly Selected[]): ContentSide & { queries: number } {
  const side = {
    label,
    queries: 0,
    async childSums(parent: Segment, children: readonly Segment[], _plan: ComparisonPlan, _s: 'a' | 'b', filter?: RowFilter) {
      noFilter(filter);
      side.queries++;
      const sums = new Map<number, SegmentSum>();
      for (const r of rows) {
        if (!inSegment(parent, r.key, r.kh)) continue;
        const i = childIndex(parent, children, r.key, r.kh);
        if (i < 0) continue;
        const old = sums.get(i) ?? { count: 0n, sumHi: 0n, sumLo: 0n };
        sums.set(i, { count: old.count + 1n, sumHi: old.sumHi + r.hash.hi, sumLo: old.sumLo + r.hash.lo });
      }
      return sums;
    },
    async rows(segment: Segment, _plan: ComparisonPlan, _s: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
      noFilter(filter);
      side.queries++;
      return rows.filter((r) => inSegment(segment, r.key, r.kh)).map((r) => ({ key: r.fetchKey, values: r.values }));
    },
    async keyBounds(_plan: ComparisonPlan, _s: 'a' | 'b', filter?: RowFilter) {
      noFilter(filter);
      side.queries++;
      let lo: bigint | undefined;
      let hi: bigint | undefined;
      for (const r of rows) {
        const k = r.key[0];
        if (k === null || k === undefined) continue;
        const v = BigInt(k);
        if (lo === undefined || v < lo) lo = v;
        if (hi === undefined || v > hi) hi = v;
      }
      return lo === undefined || hi === undefined ? undefined : { lo: lo.toString(), hi: hi.toString() };
    },
    async close() {},
  };
  return side;
}

/**
 * A Parquet column (its readable type, lambdas/core/column-check.ts FileColumn) as a catalog column
 * plan building understands (./plan.ts kindOf), beside the target's column it loads into: an
 * un-annotated BYTE_ARRAY is text unless the target holds bytes (as the load reads it).
 */
export function parquetPlanColumn(file: { readonly name: string; readonly type: string }, target: PlanColumn | undefined): PlanColumn {
  const t = file.type.toUpperCase();
  const name = file.name;
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
  if (decimal) return { name, type: `numeric(${decimal[1]},${decimal[2]})`, scale: Number(decimal[2]) };
  if (t.startsWith('TIMESTAMP_MILLIS')) return { name, type: 'timestamp without time zone', datetimePrecision: 3 };
  if (t.startsWith('TIMESTAMP_') || t === 'INT96') return { name, type: 'timestamp without time zone', datetimePrecision: 6 };
  if (t === 'DATE') return { name, type: 'date' };
  if (t === 'BOOLEAN') return { name, type: 'boolean' };
  if (t === 'DOUBLE') return { name, type: 'double precision' };
  if (t === 'FLOAT' || t === 'FLOAT/FLOAT16') return { name, type: 'real' };
  if (/^INT(32|64)\b/.test(t)) return { name, type: 'bigint' };
  if (t.startsWith('TIME_')) return { name, type: 'time' };
  if (t === 'BYTE_ARRAY' || t === 'FIXED_LEN_BYTE_ARRAY') {
    const targetBytes = target !== undefined && /^(bytea|varbyte|binary)/.test(target.type.toLowerCase());
    return { name, type: targetBytes ? 'bytea' : 'character varying' };
  }
  return { name, type: 'character varying' };
}
