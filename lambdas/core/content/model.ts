/**
 * Content comparison (DESIGN.md §8 tier 4): the shared vocabulary of the row-hash dialects
 * (`./dialects/*`), the segment engine (`./bisect.ts`) and the sides that answer its questions
 * (a source database, the warehouse, a SQLite file, the rows of Parquet files).
 *
 * How a comparison works: both sides hash every compared row the same way (a canonical text of
 * its normalized values → MD5 → the first 64 bits as two unsigned 32-bit halves) and sum the
 * halves per segment **in SQL on each side**, beside the row count. Equal segments are done;
 * a mismatching one is split by `factor` and asked again, until it holds at most `fetchRows`
 * rows on the larger side; then its rows are fetched from both sides and diffed. k differing rows
 * cost O(k log n) segment queries, not a scan per difference.
 */

/**
 * What a compared column is, once both sides' declared types are reconciled: the normalization
 * rule its values follow before hashing (the same on every engine).
 * - `integer`: decimal text, no leading zeros; `-0` is `0`.
 * - `decimal`: fixed-point text at `scale` digits (`12.30` at scale 2; `-0.00` is `0.00`).
 * - `float`: rounded to `digits` significant digits (the tolerance); rows are then compared with
 *   the tolerance itself, so a value near a rounding edge is never reported as changed.
 * - `boolean`: `1` / `0`.
 * - `date`: `YYYY-MM-DD`.
 * - `timestamp`: a UTC instant (`tz`: the source stores an instant; otherwise a wall-clock value
 *   compared as written), `YYYY-MM-DD HH:MM:SS.ffffff` truncated to `precision` fractional digits
 *   (the coarser side's).
 * - `text`: the characters as stored (UTF-8), trailing spaces significant.
 * - `binary`: lowercase hex.
 * - `json`: the engine's canonical JSON text (keys sorted), as the extraction writes it.
 */
export type ComparedType =
  | { readonly kind: 'integer' }
  | { readonly kind: 'decimal'; readonly scale: number }
  | { readonly kind: 'float'; readonly digits: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'date' }
  | { readonly kind: 'timestamp'; readonly precision: number; readonly tz: boolean }
  | { readonly kind: 'text' }
  | { readonly kind: 'binary' }
  | { readonly kind: 'json' };

/** One compared column: its name on each side (renames of the extraction) and how it is normalized. */
export interface ComparedColumn {
  readonly a: string;
  readonly b: string;
  readonly type: ComparedType;
}

/** What is compared: key columns first (in key order), then the other columns. */
export interface ComparisonPlan {
  readonly key: readonly ComparedColumn[];
  readonly columns: readonly ComparedColumn[];
  /**
   * How rows are split into segments: `range` over a single integer or date key (both engines order
   * it identically), `hash` buckets of the key's hash otherwise (text keys under any collation,
   * binary keys, composite keys).
   */
  readonly segmentation: 'range' | 'hash';
  /** Children per split. @default 32 */
  readonly factor: number;
  /** A segment of at most this many rows (larger side) is fetched and diffed. @default 16_384 */
  readonly fetchRows: number;
  /** Relative tolerance of float columns at row level. @default 1e-9 */
  readonly floatTolerance: number;
  /**
   * How rows are hashed for segment sums. `portable` (the default): the canonical text of the
   * normalized values → MD5, the same on every engine. `native`: the same-engine fast path
   * ({@link NativeHashing}), chosen by compareContent only when both sides offer the same native
   * hash and every compared column has the same native type on both sides; fetched rows are
   * normalized and compared as always.
   */
  readonly hashing?: 'portable' | 'native';
}

/**
 * A set of rows both sides agree on by construction: `hash` — the rows whose key hash (the first
 * 32 bits of the key's MD5, unsigned) is `residue` modulo `modulus`; `range` — the rows whose key
 * lies in [lo, hi) (integers as decimal text; `hi` undefined: no upper bound), optionally also
 * bounded by a cursor window (see {@link RowFilter}).
 */
export type Segment =
  | { readonly kind: 'hash'; readonly modulus: number; readonly residue: number }
  | { readonly kind: 'range'; readonly lo: string | undefined; readonly hi: string | undefined }
  /** Range segmentation only: the rows whose key is NULL (no range holds them); fetched, never summed. */
  | { readonly kind: 'null-key' };

/**
 * Count and hash sums of one segment on one side; the sums are exact (never wrap). Portable
 * hashing: the sums of the two unsigned 32-bit halves of each row hash. Native hashing: `sumHi`
 * the sum of each row's signed 64-bit native hash, `sumLo` 0.
 */
export interface SegmentSum {
  readonly count: bigint;
  readonly sumHi: bigint;
  readonly sumLo: bigint;
}

/** A restriction of the compared rows (a run's cursor window), applied identically on both sides. */
export interface RowFilter {
  /** Column name on side a / side b. */
  readonly a: string;
  readonly b: string;
  readonly type: ComparedType;
  /** Inclusive lower bound, as normalized text; undefined: none. */
  readonly from?: string;
  /** Inclusive upper bound, as normalized text; undefined: none. */
  readonly to?: string;
}

/** One fetched row: its key and its values as normalized text (null for NULL), in plan order. */
export interface NormalizedRow {
  readonly key: readonly (string | null)[];
  readonly values: readonly (string | null)[];
}

/**
 * The same-engine fast path a side may offer (PostgreSQL: `hashtextextended` of the row's own
 * text output, ROW(…)::text, instead of MD5 of the normalized canonical text). Two sides take it
 * only when their `engine` is the same, their `probe()` answers are equal (the same hash function:
 * version, byte order, encoding) and each compared column has the same `nativeType` on both sides
 * (so equal values print the same text). A float within the tolerance but not bit-equal makes its
 * segment mismatch: the segment is then fetched and its rows compared with the tolerance as always,
 * and found equal.
 */
export interface NativeHashing {
  /** The engine and hash, e.g. `postgres/hashtextextended`. */
  readonly engine: string;
  /** A column's declared type on this side (`numeric/2`, `timestamp without time zone/3`); undefined: not hashable natively. */
  nativeType(column: string): string | undefined;
  /** The native hash of a fixed probe text, as text. */
  probe(): Promise<string>;
}

/**
 * One side of a comparison. Each method is one query (or one pass over files) on that side;
 * the engine counts them for the report.
 */
export interface ContentSide {
  /** The same-engine fast path, where this side offers one. */
  readonly native?: NativeHashing;
  /** For reports: `mysql`, `postgres`, `sqlite`, `warehouse`, `parquet`. Never a URL with a password. */
  readonly label: string;
  /**
   * Sums of the children of `parent` split `factor` ways (hash: modulus × factor; range: `bounds`
   * given by the engine), keyed by child index; a child with no rows may be absent.
   */
  childSums(parent: Segment, children: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<Map<number, SegmentSum>>;
  /** Every row of `segment`, normalized. */
  rows(segment: Segment, plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]>;
  /** Every row of several disjoint segments in one query (a batch of leaves), where the side can. */
  rowsOf?(segments: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]>;
  /** The smallest and largest key (range segmentation only), as normalized text; undefined when empty. */
  keyBounds?(plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<{ lo: string; hi: string } | undefined>;
  close(): Promise<void>;
}

/** A changed row: its key and, per differing column, both values (report object only, never logs). */
export interface ChangedRow {
  readonly key: readonly (string | null)[];
  readonly columns: readonly { readonly column: string; readonly a: string | null; readonly b: string | null }[];
}

/** At most this many keys of each kind are listed in a report; the counts go on beyond. */
export const REPORT_KEYS_MAX = 1_000;

/** What a comparison found and what it covered. */
export interface ContentResult {
  /** Keys in a but not in b (the first REPORT_KEYS_MAX), and how many in all. */
  readonly missing: readonly (readonly (string | null)[])[];
  readonly missingCount: number;
  /** Keys in b but not in a. */
  readonly extra: readonly (readonly (string | null)[])[];
  readonly extraCount: number;
  readonly changed: readonly ChangedRow[];
  readonly changedCount: number;
  /** Keys held more than once on a side (a: source, b: target), with how many times. */
  readonly duplicates: readonly { readonly side: 'a' | 'b'; readonly key: readonly (string | null)[]; readonly times: number }[];
  /** What PASSED covers. */
  readonly compared: {
    readonly columns: readonly string[];
    readonly rowsA: number;
    readonly rowsB: number;
    readonly segments: number;
    readonly segmentQueries: number;
    readonly fetchedRows: number;
    /** How the segment sums hashed rows (ComparisonPlan.hashing). */
    readonly hashing: 'portable' | 'native';
  };
}
