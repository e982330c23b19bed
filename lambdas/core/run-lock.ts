/**
 * One run per dataset at a time (DESIGN.md §5): the run lock of a dataset with a source, and the
 * decisions of the SyncStateMachine's AcquireRun state. Pure types and rules; the record stage
 * (lambdas/record/run-lock.ts) drives them over the ports below.
 *
 * The lock is one item per dataset naming the execution that holds it (its ARN). It has no lease:
 * whether a holder is alive is asked of Step Functions (DescribeExecution), which is the only one
 * that knows — a lease would have to be renewed by every stage, also inside a 15-minute load or
 * extract invocation and across LoadWait loops, and a late renewal would let a second run in
 * while the first still works. A holder that ended without releasing (aborted, timed out, its
 * failure path failed) is not RUNNING any more and is taken over.
 */
import type { Position } from './keyset';
import type { RunMode } from './execution-input';
import type { RunStatus } from './ports';

/** Key of a dataset's run lock in the runs table: `#` is not allowed in execution names, so it never meets a run id. */
export function runLockId(dataset: string): string {
  return `lock#${dataset}`;
}

/** What the lock says about the run that holds it. */
export interface RunLock {
  readonly dataset: string;
  /** The holding execution's name (its run id) and ARN. */
  readonly holder: string;
  readonly holderArn: string;
  /** What the holder was started to do: a second start asking for the same attaches to it. */
  readonly mode: RunMode;
  /** `load-only`'s `after`, when given. */
  readonly after?: Position;
  /** ISO-8601. */
  readonly acquiredAt: string;
}

/**
 * The run locks (the runs table). Single-item conditional writes only (DESIGN.md §5).
 */
export interface RunLockStore {
  /** Consistent read of a dataset's lock. */
  get(dataset: string): Promise<RunLock | undefined>;
  /**
   * Writes `lock` when the dataset has none, or when its holder is `lock.holderArn` itself (a retried
   * or restarted AcquireRun), or — a takeover — when its holder is `replacing`. False otherwise.
   */
  acquire(lock: RunLock, replacing?: string): Promise<boolean>;
  /** Deletes the dataset's lock if `holderArn` holds it; false when it does not. */
  release(dataset: string, holderArn: string): Promise<boolean>;
}

/** Step Functions' execution statuses; `UNKNOWN` when it knows no execution of that ARN. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | 'UNKNOWN';

/** DescribeExecution, as far as the run lock needs it (AWS: the SFN API; locally: the runtime). */
export interface ExecutionStatusReader {
  describe(executionArn: string): Promise<{ readonly status: ExecutionStatus; readonly error?: string; readonly cause?: string }>;
  /**
   * States the execution has entered so far (state transitions as Step Functions bills them),
   * from its history; the Record stage asks at the run's end (lambdas/core/usage.ts).
   */
  transitions?(executionArn: string): Promise<number>;
}

/** The error name of an execution that attached to a live run which then failed. */
export const ATTACHED_RUN_FAILED = 'AttachedRunFailedError';

/**
 * What AcquireRun answers, at `$.runLock` (the Choice `RunAcquired` routes on `lock`):
 * - `ACQUIRED`: this execution holds the dataset (or the dataset takes no lock: `locked: false`);
 * - `ATTACHED`: a live execution is doing the same run; wait, then ask again how it is doing;
 * - `WAIT`: a live execution is doing another kind of run (a `full` while this is `incremental`…);
 *   wait, then try again to acquire;
 * - `ATTACHED_ENDED`: the execution this one attached to has ended; this one ends with its outcome
 *   (the execution output for a success, `error`/`cause` for the Fail state otherwise).
 */
export type RunLockState =
  | { readonly lock: 'ACQUIRED'; readonly locked: boolean }
  | { readonly lock: 'ATTACHED'; readonly dataset: string; readonly attachedTo: string; readonly attachedToArn: string }
  | { readonly lock: 'WAIT'; readonly dataset: string; readonly holder: string; readonly holderArn: string; readonly holderMode: RunMode }
  | {
      readonly lock: 'ATTACHED_ENDED';
      readonly dataset: string;
      readonly attachedTo: string;
      readonly attachedToArn: string;
      /** The run id whose record tells what was done (the attached-to execution's). */
      readonly runId: string;
      /** The attached-to run's final status (its run record); FAILED when it did not succeed. */
      readonly status: RunStatus;
      readonly executionStatus: ExecutionStatus;
      /** Set when the attached-to execution did not succeed: the Fail state's Error and Cause. */
      readonly error?: string;
      readonly cause?: string;
    };

/** The mode a run input asks for: `incremental` unless given. */
export function modeOf(input: { readonly mode?: RunMode }): RunMode {
  return input.mode ?? 'incremental';
}

/**
 * Whether a start asking for (`mode`, `after`) is the run `lock` describes, so that it attaches to
 * it rather than waiting for it: the same mode, and for `load-only` the same `after`. `limit` and
 * `maxChunks` tune a run, they do not make it another one.
 */
export function sameRun(lock: Pick<RunLock, 'mode' | 'after'>, mode: RunMode, after: Position | undefined): boolean {
  // A repair is of one report: it never attaches to another repair, it waits for it.
  if (lock.mode !== mode || mode === 'repair') return false;
  return JSON.stringify(lock.after ?? null) === JSON.stringify(after ?? null);
}
