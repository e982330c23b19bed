import type { FileColumn } from './column-check';
import type { SyncproofConfig } from './config';
import type { Clock, LedgerStore, ObjectStore, RunStore, Warehouse } from './ports';

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
}

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
  readonly log: StageLog;
}

/** The slice of Powertools Logger the cores use (so cores stay free of it). */
export interface StageLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}
