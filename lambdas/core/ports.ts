/**
 * Ports: what the stage cores need from the outside world. Cores import only these interfaces;
 * adapters (lambdas/adapters) implement them for AWS, the emulators and the Postgres family.
 */
import type { Usage, UsageDelta } from './usage';

import type { MetricName } from './metric-names';
import type { SyncproofEvent } from './run-events';

/** One S3 object version as seen by a listing or HEAD. `etag` is unquoted. */
export interface ObjectSummary {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  /** ISO-8601 instant. */
  readonly lastModified: string;
}

/** Full-object checksums as S3 reports them: base64 of the big-endian digest (MD5 as lowercase hex). */
export interface ObjectChecksums {
  readonly md5?: string;
  readonly crc64nvme?: string;
  readonly crc32c?: string;
  readonly crc32?: string;
  readonly sha256?: string;
  readonly sha1?: string;
}

/** What S3 says about one object without its bytes (HEAD with checksum mode enabled). */
export interface ObjectIntegrity extends ObjectSummary {
  /**
   * The checksum S3 stores for the object, if any, with its type: `FULL_OBJECT` values compare
   * with a checksum of the whole file; `COMPOSITE` values (`<base64>-<parts>`) are checksums of
   * the part checksums and only compare with the same part layout.
   */
  readonly stored?: { readonly algorithm: keyof ObjectChecksums; readonly value: string; readonly type: 'FULL_OBJECT' | 'COMPOSITE' };
  /** Checksums a writer recorded in user metadata (`x-amz-meta-syncproof-<algorithm>`, e.g. `syncproof-md5`). */
  readonly metadata: ObjectChecksums;
  /** `AES256`, `aws:kms`, `aws:kms:dsse`, or `SSE-C`; with KMS or SSE-C the ETag is not an MD5 of the bytes. */
  readonly encryption?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, exclusive. */
  readonly end: number;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Streams every object under `prefix`, page by page, in key order. */
  list(prefix: string): AsyncIterable<ObjectSummary>;
  /** HEAD; `undefined` when the object does not exist. */
  head(key: string): Promise<ObjectSummary | undefined>;
  /** HEAD with checksum mode: stored checksum, metadata checksums, encryption; undefined when absent. */
  integrity(key: string): Promise<ObjectIntegrity | undefined>;
  /** Streams the object's bytes (to recompute checksums without holding the object in memory). */
  stream(key: string, options?: { ifMatch?: string }): AsyncIterable<Uint8Array>;
  /**
   * Reads the whole object, or a byte range of it. With `ifMatch`, only that version (ETag):
   * ObjectChangedError when the key now holds another.
   */
  getBytes(key: string, range?: ByteRange, options?: { ifMatch?: string }): Promise<Uint8Array>;
  /**
   * One GET of the whole object as the key holds it now, with the ETag, size and LastModified of
   * the version read (not of a HEAD before or after it); `undefined` when the key does not exist.
   */
  getObject(key: string): Promise<{ readonly bytes: Uint8Array; readonly summary: ObjectSummary } | undefined>;
  /**
   * Server-side copy of `sourceKey` to `destinationKey` in this bucket, only if the source still is
   * version `ifMatch` (S3 `CopySourceIfMatch`): the destination then holds exactly that version's
   * bytes. ObjectChangedError when the source holds another version or no longer exists. Returns
   * the destination's summary (its ETag is S3's for the copy, not necessarily the source's).
   */
  copy(sourceKey: string, destinationKey: string, options: { readonly ifMatch: string }): Promise<ObjectSummary>;
  /**
   * Writes an object. With `checksums`, S3 is asked to check and store them (`ChecksumCRC64NVME`,
   * `Content-MD5`) and they are also written to user metadata (`syncproof-<algorithm>`), so the
   * integrity checks can verify the object without downloading it.
   */
  put(key: string, body: Uint8Array | string, contentType?: string, options?: { readonly checksums?: ObjectChecksums }): Promise<ObjectSummary>;
  putJson(key: string, value: unknown): Promise<void>;
  getJson(key: string): Promise<unknown>;
  /**
   * Deletes the object the key holds (S3 DeleteObject; on a versioned bucket a delete marker, the
   * version becomes noncurrent). With `ifMatch`, only if the key still holds that version (S3
   * `If-Match`): ObjectChangedError when it holds another. Resolves when the key holds nothing
   * (deleted now, or absent already).
   */
  delete(key: string, options?: { readonly ifMatch?: string }): Promise<void>;
}

/**
 * `forgotten`: set aside by an operator (`syncproof ledger forget`): never offered for loading,
 * and not a finding (not "not loaded yet"); the entry stays, recording who, when and why.
 * `deleted`: loaded, and its object then removed by retention (`syncproof clean`): it still counts
 * as loaded once (never loaded again, its rows still count in the chain), and its absence from S3
 * is not a finding. Test "was this version loaded" with `wasLoaded` (lambdas/core/ledger-status.ts).
 */
export type LedgerStatus = 'discovered' | 'loading' | 'loaded' | 'failed' | 'quarantined' | 'forgotten' | 'deleted';

/** What an operator may set an entry aside as (`syncproof ledger quarantine|forget`). */
export type SetAsideStatus = 'quarantined' | 'forgotten';

/** A claim on an object version: who holds it, until when, and what it submitted. */
export interface Lease {
  /** The load (run + batch) holding the claim. */
  readonly loadId: string;
  /** ISO-8601 instant after which another load may take over (once the statement below has ended). */
  readonly expiresAt: string;
  /** The attempt submitted under this lease, written before the statement is submitted. */
  readonly attemptId?: string;
}

/** One object version (key + ETag) and where it is in its load life cycle. */
export interface LedgerEntry {
  readonly dataset: string;
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
  readonly status: LedgerStatus;
  /** Fencing token: incremented by every claim; every later write of that load names it. */
  readonly fence: number;
  /** Present while `loading`. */
  readonly lease?: Lease;
  /** The load that last claimed it (kept after the lease ends, for operators). */
  readonly loadId?: string;
  /** The load attempt whose committed transaction holds it, once loaded. */
  readonly loadedBy?: string;
  /** Rows the warehouse counted for this file, once loaded (null: the load view did not report them). */
  readonly rows?: number | null;
  /** Why the entry is failed or quarantined: names the file and what to do. */
  readonly reason?: string;
  /** S3 event sequencer, when an event reported it: orders versions of one key (I4). */
  readonly sequencer?: string;
  /** Who set it aside (`syncproof ledger quarantine|forget --by`, default user@host), when it was set by an operator. */
  readonly setAsideBy?: string;
  /** When an operator set it aside (ISO-8601). */
  readonly setAsideAt?: string;
  /** When retention removed its object (`deleted`; ISO-8601), and which clean did. */
  readonly deletedAt?: string;
  readonly deletedBy?: string;
  readonly updatedAt: string;
}

/** Identifies one object version in the ledger. */
export interface LedgerKey {
  readonly key: string;
  readonly etag: string;
}

/** A fenced write: it applies only while the entry still carries `fence` (and, for most, is `loading`). */
export interface Fenced {
  readonly key: string;
  readonly etag: string;
  readonly fence: number;
}

/**
 * The file ledger. Every transition is a single-item conditional write (DESIGN.md §5): two loads
 * can never both hold a claim, and a load that lost its claim can no longer write. Each fenced
 * method returns false when its condition no longer holds (someone else moved the entry).
 */
export interface LedgerStore {
  get(key: string, etag: string): Promise<LedgerEntry | undefined>;
  /**
   * Consistent reads of many object versions at once: the result is aligned with `keys`
   * (undefined where the ledger has no entry; a repeated key gets the same entry). Callers bound
   * `keys` by their page size, so memory stays bounded; adapters split them into as many requests
   * as their backend takes (DynamoDB: 100 keys per BatchGetItem).
   */
  getMany(keys: readonly LedgerKey[]): Promise<(LedgerEntry | undefined)[]>;
  /** Records a new object version as `discovered` (fence 0); false when it is already in the ledger. */
  discover(entry: Omit<LedgerEntry, 'status' | 'updatedAt' | 'fence' | 'lease'>, now: string): Promise<boolean>;
  /**
   * `discovered | failed | loading` carrying `fence` → `loading(lease)` with fence + 1; returns the
   * new fence, or undefined when the entry moved since it was read. Whether a `loading` entry may be
   * taken over is the protocol's decision (lambdas/core/load-protocol.ts), made on facts read before.
   * `readAttemptId` is the lease's attempt as read (undefined: none): a claim never overwrites an
   * attempt written ahead after that read, so a statement submitted meanwhile is never forgotten.
   */
  claim(key: string, etag: string, fence: number, lease: Omit<Lease, 'attemptId'>, now: string, readAttemptId?: string): Promise<number | undefined>;
  /** Write-ahead of a submission: `loading(fence)` → same, with `lease.attemptId`. */
  recordAttempt(at: Fenced, attemptId: string, now: string): Promise<boolean>;
  /**
   * Heartbeat of a holder whose statement is still running: `loading(fence)` with
   * `lease.attemptId = attemptId` → same, with `lease.expiresAt = expiresAt`. False when the entry
   * moved (another claim, a settle): a renewal never revives a lease someone else holds.
   */
  renewLease(at: Fenced, attemptId: string, expiresAt: string, now: string): Promise<boolean>;
  /**
   * Any state but `loaded` or `deleted`, still carrying `fence` → `loaded` by `loadedBy`, with the
   * warehouse's row count (a `deleted` entry was loaded already: never back to `loaded`).
   */
  markLoaded(at: Fenced, loadedBy: string, rows: number | null, now: string): Promise<boolean>;
  /** `loading(fence)` → `quarantined(reason)`. */
  markQuarantined(at: Fenced, reason: string, now: string): Promise<boolean>;
  /** `loading(fence)` → `failed(reason)`; a later load may claim it again. */
  markFailed(at: Fenced, reason: string, now: string): Promise<boolean>;
  /** Operator retry: `failed | quarantined | forgotten` → `discovered` (fence kept), clearing the reason. */
  release(key: string, etag: string, now: string): Promise<boolean>;
  /**
   * Operator decision: `discovered | failed | quarantined | forgotten` still carrying `fence` →
   * `status` with `reason`, `setAsideBy` and `setAsideAt` (never a `loading` or `loaded` entry:
   * a claim in between moves the fence or the state, and the write is refused).
   */
  setAside(key: string, etag: string, fence: number, status: SetAsideStatus, reason: string, by: string, now: string): Promise<boolean>;
  /**
   * Retention, written ahead of the S3 delete (`syncproof clean`): `loaded` → `deleted`, keeping
   * `loadedBy` and `rows`, recording `deletedAt` and `deletedBy`. False when the entry is not
   * `loaded` (any other state, or already `deleted`).
   */
  markDeleted(key: string, etag: string, deletedBy: string, now: string): Promise<boolean>;
  /** Every entry of a dataset. */
  listDataset(dataset: string): AsyncIterable<LedgerEntry>;
  /** Every version (ETag) of one object key, whatever its dataset, in ETag order. */
  versions(key: string): AsyncIterable<LedgerEntry>;
}

export type RunStatus = 'RUNNING' | 'NO_WORK' | 'PASSED' | 'PASSED_PARTIAL' | 'PASSED_WITH_WARNINGS' | 'FAILED';

export interface RunRecord {
  readonly runId: string;
  readonly dataset: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Per-stage outputs (small: counts and URIs). */
  readonly stages?: Record<string, unknown>;
  readonly reportUri?: string;
  readonly error?: string;
  /** What the run consumed so far (lambdas/core/usage.ts); absent for runs recorded before it was metered. */
  readonly usage?: Usage;
}

export interface RunStore {
  get(runId: string): Promise<RunRecord | undefined>;
  /** Creates the run, or returns false when it exists already. */
  start(run: RunRecord): Promise<boolean>;
  /**
   * Runs of `dataset` (as recorded: a SyncDatasetsStateMachine run's is its datasets joined by
   * commas), newest first by `startedAt`; only those started at or after `since` (ISO-8601) when
   * given. Lazily paged: stop iterating to stop reading.
   */
  listByDataset(dataset: string, options?: { readonly since?: string }): AsyncIterable<RunRecord>;
  /** Merges `stages[stage] = output` and optional status fields. */
  update(
    runId: string,
    patch: { stage?: string; output?: unknown; status?: RunStatus; reportUri?: string; error?: string; dataset?: string },
    now: string,
  ): Promise<void>;
  /**
   * Adds `delta` to the run's usage figures, atomically (concurrent invocations add up), and sets
   * the figures in `replace` (a count read whole, e.g. the transitions, which a retried Record
   * must not add twice). A run not started yet keeps them: a later `start` does not drop them.
   */
  addUsage?(runId: string, delta: UsageDelta, replace?: UsageDelta): Promise<void>;
}

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

/**
 * A Redshift-compatible warehouse. SQL is written in the Redshift dialect (lambdas/core/sql.ts);
 * Postgres-family adapters translate what differs, including `COPY … FROM 's3://…' FORMAT AS PARQUET`.
 * Parameters are named (`:name`), as in the Redshift Data API.
 */
export interface Warehouse {
  /**
   * Runs `statements` as one transaction: all or nothing. `clientToken` makes a resubmission
   * idempotent where the backend supports it. A failing statement raises
   * WarehouseStatementError with its index.
   */
  executeTransaction(statements: readonly string[], clientToken: string): Promise<void>;
  /** The most statements one transaction may hold (Redshift Data API: 40); undefined = no limit. */
  readonly maxStatementsPerTransaction?: number;
  /** Runs one statement and returns its rows (column name → value; numbers as numbers). */
  query(sql: string, params?: Record<string, SqlValue>): Promise<Row[]>;
  close(): Promise<void>;
  /**
   * Submit-then-poll access, where the backend runs statements asynchronously (the Redshift Data
   * API). Without it a transaction's outcome is known when `executeTransaction` returns or throws,
   * and a transaction never outlives the connection (process) that ran it.
   */
  readonly statements?: AsyncStatements;
}

/** Where a submitted statement is. `unknown`: the backend knows no statement with that id. */
export type StatementState =
  | { readonly status: 'running' }
  | { readonly status: 'finished' }
  | { readonly status: 'failed'; readonly error: string; readonly statementIndex?: number; readonly queryId?: number }
  | { readonly status: 'aborted' }
  | { readonly status: 'unknown' };

/**
 * Asynchronous statements (Redshift Data API: BatchExecuteStatement, DescribeStatement,
 * ListStatements, CancelStatement). A transaction submitted here may still run, and commit, after
 * the process that submitted it is gone: its outcome is asked for, never assumed.
 */
export interface AsyncStatements {
  /**
   * Submits `statements` as one transaction under `name` (Data API `StatementName`, so it can be
   * found again) and returns its id without waiting. `clientToken` makes a resubmission idempotent.
   */
  submitTransaction(statements: readonly string[], clientToken: string, name: string): Promise<string>;
  describe(id: string): Promise<StatementState>;
  /** The newest statement submitted under `name`, if the backend still knows one. */
  findByName(name: string): Promise<string | undefined>;
  /** Asks the backend to cancel; resolves once asked (describe to learn the outcome). */
  cancel(id: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** Starts SyncStateMachine executions (trigger stage). */
export interface ExecutionStarter {
  /** 'duplicate' when an execution with this name exists already (ExecutionAlreadyExists). */
  start(name: string, input: unknown): Promise<'started' | 'duplicate'>;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Where a stage reports what it did as metrics (EMF through Powertools in AWS; the local runtime
 * reads the same EMF back). Values add up within one invocation; the sink flushes after it, also
 * when the stage throws. Units are fixed per name (`METRIC_UNITS` in ./metric-names.ts).
 */
export interface MetricSink {
  add(name: MetricName, value: number): void;
}

/** A metric sink that drops everything (stages whose deps carry none). */
export const noMetrics: MetricSink = { add: () => undefined };

/**
 * Puts syncproof's own events (`syncproof.run`, `syncproof.verification`; ./run-events.ts) on the
 * account's default EventBridge bus. At least once: consumers dedupe by the detail's `id`.
 */
export interface EventSink {
  put(event: SyncproofEvent): Promise<void>;
}
