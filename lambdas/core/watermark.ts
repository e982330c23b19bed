/**
 * The watermark of a dataset with a source (DESIGN.md §5, invariant I6): where the last verified
 * run ended, and what that run — only that run — extracted and loaded. It moves only after the
 * run's verification passed, conditionally on the version the run read, and never backwards.
 */
import type { KeyEncoding, Position } from './keyset';

export interface ExtractionStats {
  /** Rows read from the source by the run (lookback re-reads included). */
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  /** Rows whose cursor is NULL, which are never extracted. */
  readonly nullCursorRows: number;
  /** MySQL zero or partial dates written as NULL, per warehouse column. */
  readonly zeroDates: Readonly<Record<string, number>>;
  /** True when the run stopped at limit × maxChunks with rows left before its end bound. */
  readonly hasMore: boolean;
  /** The run's upper bound (`cursor < end`). */
  readonly end: string | null;
}

/** The last run of a dataset, absolute counts (never accumulated across runs). */
export interface WatermarkRun {
  readonly runId: string;
  readonly mode: string;
  readonly startedAt: string;
  readonly endedAt: string;
  /** `RESET`: the record of `syncproof watermark reset` (position removed, every count zeroed). */
  readonly status: 'PASSED' | 'PASSED_WITH_WARNINGS' | 'FAILED' | 'RESET';
  readonly extraction: ExtractionStats;
  /** Rows the warehouse counted for the run's files (load views). */
  readonly loadedRows: number;
  /** S3 keys and rows of the run's files (for `watermark get --show-files`). */
  readonly filesUri?: string;
  readonly note?: string;
}

export interface WatermarkRecord {
  readonly dataset: string;
  /** +1 on every write; a writer names the version it read. */
  readonly version: number;
  /** The last verified row; absent before the first run (or after a reset). */
  readonly position?: Position;
  /**
   * How each key value of `position` (and `extracted`) is written, in key order: `text`, or `hex`
   * for a binary key column (`0x` + its bytes in lower-case hex). Written by every commit from the
   * dataset's schema, so `syncproof watermark set` can check a key it is given; absent in records
   * written before binary keys were kept as hex.
   */
  readonly keyEncoding?: readonly KeyEncoding[];
  readonly strategy: 'keyset';
  readonly lastRun?: WatermarkRun;
  /**
   * How far `extract-only` runs have extracted (their files proven on S3, not loaded): the next
   * extract-only run goes on from here, and a `load-only` run loads them and moves `position`.
   */
  readonly extracted?: { readonly position: Position; readonly runId: string; readonly at: string; readonly rows: number; readonly files: number };
  readonly updatedAt: string;
}

/** Watermarks, one item per dataset; every write is conditional on the version read (optimistic lock). */
export interface WatermarkStore {
  get(dataset: string): Promise<WatermarkRecord | undefined>;
  /**
   * Writes `next` (whose version must be `expectedVersion + 1`) only if the stored record still has
   * `expectedVersion` (0: there is none); false when another writer got there first.
   */
  put(next: WatermarkRecord, expectedVersion: number): Promise<boolean>;
  list(): AsyncIterable<WatermarkRecord>;
}
