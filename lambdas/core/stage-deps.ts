import type { FileColumn } from './column-check';
import type { DatasetConfig, SyncproofConfig } from './config';
import type { SourceDatabase } from './source';
import type { ExecutionStatusReader, RunLockStore } from './run-lock';
import type { WatermarkStore } from './watermark';
import type { Clock, EventSink, LedgerStore, MetricSink, ObjectStore, RunStore, Warehouse } from './ports';

/** What a file format reader tells about one object without reading its data. */
export interface FileInfo {
  readonly rows: number;
  /** Columns in file order, with their readable Parquet types. */
  readonly columns: readonly FileColumn[];
}

/**
 * Reads a data file's metadata (Parquet footer) through ranged reads; BadFileError if unreadable,
 * ObjectChangedError if `etag` is given and the key holds another version.
 */
export interface FileInspector {
  inspect(key: string, size: number, etag?: string): Promise<FileInfo>;
  /**
   * The values of the columns at `positions` (0-based, in file order), one array per row, from the
   * whole object pinned to `etag` (for small files: Verify reads the keys a load wrote). Values as
   * the Parquet reader gives them: `bigint` for INT64, exact text for DECIMAL, ISO text for
   * timestamps. BadFileError if unreadable, ObjectChangedError for another version.
   */
  columnValues?(key: string, etag: string, positions: readonly number[]): Promise<FileValue[][]>;
}

/** A value read from a data file (see FileInspector.columnValues). */
export type FileValue = null | boolean | number | bigint | string | Uint8Array;

/** Everything a stage core needs, built once per process by lambdas/adapters/deps.ts or the local runtime. */
export interface StageDeps {
  readonly config: SyncproofConfig;
  readonly objects: ObjectStore;
  readonly ledger: LedgerStore;
  readonly runs: RunStore;
  /** Opened on first use: stages that do not touch the warehouse never connect. */
  readonly warehouse: () => Promise<Warehouse>;
  readonly files: FileInspector;
  readonly clock: Clock;
  /** IAM role Redshift assumes for COPY (ignored by Postgres-family warehouses). */
  readonly copyRoleArn: string;
  /**
   * The warehouse's statement limit per transaction, known without connecting (Redshift Data API:
   * 40), so discover sizes batches that load in one transaction. Undefined = no limit.
   */
  readonly maxStatementsPerTransaction?: number;
  /** Which Redshift system views report loads: Serverless (`sys_*`) or provisioned (`stl_*`). @default 'serverless' */
  readonly loadViews?: 'serverless' | 'provisioned';
  /**
   * Milliseconds this invocation may still run (Lambda's getRemainingTimeInMillis); the load stops
   * waiting for the warehouse before it runs out and continues in the next invocation.
   */
  readonly remainingTimeMs?: () => number;
  /** Watermarks of datasets with a source (the extract stage and the watermark commit need them). */
  readonly watermarks?: WatermarkStore;
  /**
   * Opens a connection to a dataset's source database (its URL locally, its Secrets Manager
   * secret in AWS); the caller closes it.
   */
  readonly sources?: (dataset: DatasetConfig) => Promise<SourceDatabase>;
  /** The datasets' run locks (one run per dataset with a source at a time; the record stage needs them). */
  readonly runLocks?: RunLockStore;
  /** DescribeExecution of the stack's executions (the record stage asks whether a lock's holder still runs). */
  readonly executions?: ExecutionStatusReader;
  /** Fault injection for tests (test/faults); absent, and so off, everywhere else. */
  readonly faults?: StageFaults;
  /** This invocation's metrics (set by the stage handler per invocation; absent: not measured). */
  readonly metrics?: MetricSink;
  /** syncproof's own events (the record stage puts `syncproof.run` / `syncproof.verification`). */
  readonly events?: EventSink;
  readonly log: StageLog;
}

/** The slice of Powertools Logger the cores use (so cores stay free of it). */
export interface StageLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/**
 * The load protocol's side-effect boundaries, where a test may crash the stage (as a Lambda killed
 * there would stop): after the claims, after the attempt is written ahead, after the statement is
 * submitted and before it is polled, after it ended and before any ledger write, and between the
 * ledger writes that settle it.
 */
export type CrashPoint = 'after-claim' | 'after-write-ahead' | 'after-submit' | 'after-end' | 'mid-settle';

export interface StageFaults {
  /** Throws to crash the stage at `point`, or returns to go on. */
  crash(point: CrashPoint): void;
  /**
   * Holds the stage just before it submits an attempt already written ahead — a Lambda frozen
   * there while its lease expires and another load takes over, then waking to submit (a zombie).
   */
  pauseBeforeSubmit?(): Promise<void>;
}
