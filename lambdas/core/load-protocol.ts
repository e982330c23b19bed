/**
 * The exactly-once load protocol, as a pure transition function (DESIGN.md §5).
 *
 * Facts go in — what the ledger says about an object version, what the warehouse's audit tables
 * say was committed, where a submitted statement is — and the next action comes out. The load
 * stage (lambdas/load/load.ts) is a thin driver that reads the facts, asks {@link decideFile},
 * and performs the action through the ports; the fast-check model (test/model) and the Promela
 * model (test/model/load-protocol.pml) describe the same machine.
 *
 * Invariants:
 * - **I1** an object version (key + ETag) is committed in the target at most once, whatever
 *   executions, retries and crashes happen. Enforced where the data is: the load transaction first
 *   locks its dataset's lock table (load-plan.ts lockTableName; an object key belongs to one
 *   dataset, so only loads of the same dataset can race on it) and refuses to merge when any of its
 *   object versions is already audited under *any* load (Redshift never enforces keys, so the
 *   guard is a statement, not a constraint).
 * - **I2** nothing is lost: every discovered object version ends `loaded`, `quarantined` (reason
 *   names the file, and line/column where the warehouse says so) or `failed` (retryable); a
 *   `loading` lease expires and is taken over — but only once the statement its holder submitted
 *   is known to have ended. A holder renews its lease while its statement runs
 *   ({@link renewalDue}), so a lease expires only when its holder is gone; even then a statement
 *   still running is waited for, never cancelled: it may be about to commit.
 * - **I3** the ledger says `loaded` only after reading the committed audit rows of that object
 *   version (settled by fact, never by a return code).
 * - **I4** an upsert's result does not depend on arrival or commit order: the newest version of a
 *   key wins, by the dataset's `versionColumn`, else by the file's S3 order.
 * - **I5** the bytes loaded are the bytes discovered: a COPY reads whatever a key holds when it
 *   runs, so each attempt pins every version first (a server-side copy conditional on the
 *   discovered ETag, to a key only that attempt writes; load-plan.ts pinnedCopyKey) and COPYs the
 *   pinned copies. A version overwritten before its pin is quarantined. The load views are read
 *   only after commit (Verify), where they prove each file's rows and the ETag the COPY read.
 *
 * Leases carry a fencing token (`fence`, incremented by every claim); every later ledger write of
 * that load names it, so a holder that lost its lease can no longer write. A submission is written
 * ahead in the lease (its attempt id) before the statement is submitted, so whoever finds the lease
 * later can ask the warehouse about it. An outcome that is not known (a poll that timed out, a lost
 * reply, a crash) leaves the ledger untouched: the next attempt asks the warehouse first.
 */
import type { LedgerEntry, StatementState } from './ports';
import { wasLoaded } from './ledger-status';

/**
 * How long a claim holds an object version before another load may take it over (once the
 * holder's statement, if any, has ended). Longer than a Lambda may run (15 min).
 */
export const LEASE_MS = 20 * 60 * 1000;

/**
 * A holder renews its lease (back to {@link LEASE_MS} from now) on the first poll of its running
 * statement after this much of it went by: a heartbeat every few minutes per file, not one
 * DynamoDB write per file and poll (polls are at most a second apart), and three missed
 * renewals still leave the lease live.
 */
export const LEASE_RENEW_MS = LEASE_MS / 4;

/** True when a lease expiring at `expiresAt` (ISO-8601) is due for renewal at `now` ({@link LEASE_RENEW_MS}). */
export function renewalDue(expiresAt: string, now: Date): boolean {
  return Date.parse(expiresAt) - now.getTime() <= LEASE_MS - LEASE_RENEW_MS;
}

/** What the warehouse's audit tables say about one object version. */
export interface CommittedFact {
  /** The load (attempt) whose committed transaction merged it. */
  readonly loadId: string;
  /** Rows the load transaction counted for it (per-file staging tables); null when it could not. */
  readonly rows: number | null;
  /** How many committed loads audit this object version: more than 1 breaks I1. */
  readonly loads: number;
}

/** Everything the protocol knows about one object version of a batch. */
export interface FileFacts {
  readonly ledger: LedgerEntry | undefined;
  readonly committed: CommittedFact | undefined;
  /** State of the statement the lease's submission names (absent: none recorded). */
  readonly statement?: StatementState['status'];
}

/** Who is asking: the load (run + batch) and the current time. */
export interface Asker {
  readonly loadId: string;
  readonly now: Date;
}

/**
 * The next step for one object version:
 * - `done`: loaded or quarantined, and the ledger agrees with the warehouse;
 * - `settle-loaded`: the audit proves it committed; write `loaded` (fenced by the fence read);
 * - `held`: another load's lease is live (its holder renews it while its statement runs); leave it
 *   to that load;
 * - `await`: a submission is running — this load's (`mine`: renew the lease while waiting), or an
 *   expired lease's whose holder is gone: wait for it to end, never cancel it (it may be about to
 *   commit; its outcome is read from the audit once it ended);
 * - `claim`: free to (re)claim with `fence` as the expected fencing token;
 * - `inconsistent`: the ledger says loaded but no committed audit row exists (I3 broken elsewhere).
 */
export type FileAction =
  | { readonly kind: 'done' }
  | { readonly kind: 'settle-loaded'; readonly fence: number; readonly loadId: string; readonly rows: number | null }
  | { readonly kind: 'held'; readonly by: string }
  | { readonly kind: 'await'; readonly attemptId: string; readonly mine: boolean }
  | { readonly kind: 'claim'; readonly fence: number; readonly attemptId?: string }
  | { readonly kind: 'inconsistent'; readonly reason: string };

/** True when the lease of a `loading` entry has run out at `now`. */
export function leaseExpired(entry: LedgerEntry, now: Date): boolean {
  return entry.lease === undefined || Date.parse(entry.lease.expiresAt) <= now.getTime();
}

function statementEnded(state: StatementState['status'] | undefined): boolean {
  return state === undefined || state === 'finished' || state === 'failed' || state === 'aborted' || state === 'unknown';
}

/** The protocol's transition function for one object version (see the module doc). */
export function decideFile(facts: FileFacts, asker: Asker): FileAction {
  const { ledger, committed } = facts;
  if (ledger === undefined) return { kind: 'inconsistent', reason: 'not in the ledger; discover it first' };
  if (committed) {
    // A committed audit row is a permanent fact: the ledger follows it, whoever holds the lease.
    if (wasLoaded(ledger.status)) return { kind: 'done' };
    return { kind: 'settle-loaded', fence: ledger.fence, loadId: committed.loadId, rows: committed.rows };
  }
  switch (ledger.status) {
    case 'loaded':
    case 'deleted':
      return { kind: 'inconsistent', reason: `the ledger says ${ledger.status} (loaded) by ${ledger.loadedBy ?? ledger.loadId ?? 'an unknown load'}, but no committed audit row exists` };
    case 'quarantined':
    case 'forgotten':
      return { kind: 'done' };
    case 'discovered':
    case 'failed':
      return { kind: 'claim', fence: ledger.fence };
    case 'loading': {
      const lease = ledger.lease;
      const mine = lease?.loadId === asker.loadId;
      if (!mine && !leaseExpired(ledger, asker.now)) return { kind: 'held', by: lease?.loadId ?? 'unknown' };
      const attemptId = lease?.attemptId;
      if (attemptId !== undefined && !statementEnded(facts.statement)) {
        // Never take over (nor cancel) while the holder's statement may still commit.
        return { kind: 'await', attemptId, mine };
      }
      return { kind: 'claim', fence: ledger.fence, ...(attemptId !== undefined ? { attemptId } : {}) };
    }
  }
}

/** How a load attempt ended, as the warehouse reports it. */
export type AttemptOutcome =
  | { readonly kind: 'committed' }
  /**
   * The transaction committed without merging: its guard found object versions already audited
   * (`alreadyLoaded`), or staged rows, per-file rows or ETags that disagree with the files
   * (`contentMismatch`).
   */
  | {
      readonly kind: 'refused';
      readonly reason: string;
      readonly alreadyLoaded: number;
      readonly contentMismatch: boolean;
      /** Object versions the attempt held (its `syncproof_loads` row), whoever judges it. */
      readonly files: number;
      /**
       * Its only fault: a staged row holds a NULL in a key or NOT NULL column (load-plan.ts
       * REFUSED_NULLS). The stage reads the attempt's files to name the culprits, which are file errors.
       */
      readonly nullValues?: true;
    }
  /** A statement failed for a file: that file is quarantined, the rest go again. */
  | { readonly kind: 'file-errors'; readonly files: ReadonlyMap<string, string> }
  /** A failure that no file causes (role, permission, KMS, bucket): the run fails, nothing is quarantined. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** Nothing committed and no error known (statement unknown, aborted, or a transient failure): go again. */
  | { readonly kind: 'not-committed' };

/**
 * After a claimed file's attempt ended: what its ledger entry becomes. Facts (the audit) first: a
 * committed object version is loaded whatever the attempt's own outcome says.
 */
export function settleFile(
  id: string,
  committed: CommittedFact | undefined,
  outcome: AttemptOutcome,
): { readonly kind: 'loaded'; readonly loadId: string; readonly rows: number | null } | { readonly kind: 'quarantine'; readonly reason: string } | { readonly kind: 'retry'; readonly reason: string } | { readonly kind: 'fail'; readonly reason: string } {
  if (committed) return { kind: 'loaded', loadId: committed.loadId, rows: committed.rows };
  switch (outcome.kind) {
    case 'file-errors': {
      const reason = outcome.files.get(id);
      return reason ? { kind: 'quarantine', reason } : { kind: 'retry', reason: 'another file of its batch failed; loaded again without it' };
    }
    case 'failed':
      return { kind: 'fail', reason: outcome.reason };
    case 'refused':
      // A lone file whose content the warehouse read differently from its footer or ETag is bad;
      // in a larger batch the culprit is not known yet, so its files go again one by one.
      if (outcome.contentMismatch && outcome.alreadyLoaded === 0 && outcome.files === 1) return { kind: 'quarantine', reason: `${outcome.reason}; upload the file again` };
      return { kind: 'retry', reason: outcome.reason };
    case 'committed':
      // The attempt committed but its audit has no row for this file: it was not part of it.
      return { kind: 'retry', reason: 'not part of the committed load' };
    case 'not-committed':
      return { kind: 'retry', reason: 'the load did not commit' };
  }
}

/** Identity of an object version in maps. */
export function versionId(key: string, etag: string): string {
  return `${key}\u0000${etag}`;
}
