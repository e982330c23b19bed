/**
 * The documents stages hand each other through S3, passed by reference (DESIGN.md §3): their types
 * are contracts, so they live here and a stage imports core, never a sibling stage.
 */
import type { ObjectSummary } from './ports';

/** One file of a batch; `sequencer` is the S3 event sequencer when an event reported it. */
export interface BatchFile extends ObjectSummary {
  readonly sequencer?: string;
}

/** The batch object written to S3 and passed by reference. */
export interface BatchDocument {
  readonly runId: string;
  readonly dataset: string;
  /** In S3 order: LastModified, then sequencer, then key (lambdas/core/s3-order.ts). */
  readonly files: readonly BatchFile[];
  /** A full run's snapshot: the load replaces the target with exactly these files, in one transaction. */
  readonly replace?: true;
}

export interface LoadedFile {
  readonly key: string;
  readonly etag: string;
  /** Rows the file's footer declares (as audited). */
  readonly fileRows: number;
  /** Rows the load transaction counted for this file (null: it had no per-file count; Verify reads the load view after commit). */
  readonly loadedRows: number | null;
  /** The load attempt whose committed transaction holds it (maybe another execution's). */
  readonly loadedBy: string;
}

export interface QuarantinedFile {
  readonly key: string;
  readonly etag: string;
  readonly reason: string;
}

/** Written to S3 and passed by reference to the verify stage. */
export interface LoadResultDocument {
  readonly runId: string;
  readonly dataset: string;
  readonly loadId: string;
  /** Attempts this stage submitted (each one transaction). */
  readonly attempts: readonly string[];
  readonly loaded: readonly LoadedFile[];
  readonly quarantined: readonly QuarantinedFile[];
  /** Files another live load holds; they are left to it (`heldBy`: that load's id, when known). */
  readonly skipped: readonly { key: string; etag: string; reason: string; heldBy?: string }[];
  /** Files that did not load in this stage and stay `failed` for a later run, with the last reason. */
  readonly retryable: readonly { key: string; etag: string; reason: string }[];
  /** The batch replaced the target (a full run): the target holds exactly its rows. */
  readonly replace?: true;
}
