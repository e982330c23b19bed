/**
 * Fault injection for the local Redshift Data API (DESIGN.md §6: off unless a test asks). Each
 * fault is armed for the next matching statement or call(s) and disarms itself once used:
 * a statement held in STARTED (for some milliseconds or until released), a submit whose reply is
 * lost after the statement committed, failing calls of an operation (e.g. DescribeStatement
 * answering InternalServerException), a failed sub-statement at an index, throttling, and an
 * action run just before a COPY reads an object from S3 (e.g. overwrite it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DataApiError, type DataApiErrorName, type Operation } from './protocol';

/**
 * The id of the statement whose transaction runs in the current async context: the executor runs
 * each statement inside it, so a hook the backing warehouse calls mid-transaction (a COPY about to
 * read an object) knows whose transaction it is in.
 */
export const runningStatement = new AsyncLocalStorage<string>();

/**
 * Which statements a fault applies to: a string contained in, or a RegExp matching, any of the
 * submitted statements, or a predicate over all of them. Undefined matches every statement.
 */
export type StatementMatcher = string | RegExp | ((sqls: readonly string[]) => boolean);

function matches(matcher: StatementMatcher | undefined, sqls: readonly string[]): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'string') return sqls.some((s) => s.includes(matcher));
  if (matcher instanceof RegExp) return sqls.some((s) => matcher.test(s));
  return matcher(sqls);
}

/** A statement a test holds in STARTED before anything of it runs. */
export interface HeldStatement {
  /** Resolves with the statement's id once it is held (DescribeStatement says STARTED). */
  readonly started: Promise<string>;
  /** Lets it run (no-op once released, timed out or cancelled). */
  release(): void;
}

/** A hold a running statement waits on; `release` also ends it early (cancel, stop). */
export interface ActiveHold {
  readonly done: Promise<void>;
  release(): void;
}

/** Where a held statement waits: before anything of it runs, or inside its transaction at its first COPY's read. */
export type HoldPoint = 'start' | 'copy-read';

interface PendingHold {
  readonly matcher: StatementMatcher | undefined;
  readonly ms: number | undefined;
  readonly at: HoldPoint;
  /** The statement a `copy-read` hold was given to as it started (it waits once it reaches its COPY). */
  statementId?: string;
  readonly onStart: (id: string) => void;
  /** Set once a statement took this hold. */
  active?: ActiveHold;
  released: boolean;
}

/** A sub-statement failure to inject: the statement at `index` fails with `message`. */
export interface InjectedFailure {
  readonly index: number;
  readonly message: string;
}

/** The fault-injection API of one local Data API server; every fault is off until armed. */
export class LocalDataApiFaults {
  private holds: PendingHold[] = [];
  private failures: { matcher: StatementMatcher | undefined; failure: InjectedFailure }[] = [];
  private lostReplies: { operation: Operation; matcher: StatementMatcher | undefined }[] = [];
  private callFailures: { operations: readonly Operation[] | undefined; remaining: number; type: DataApiErrorName; message: string }[] = [];
  private copyReads: { matches: (key: string) => boolean; action: (key: string) => Promise<void> }[] = [];

  /**
   * Runs `action` once, just before the next COPY reads an object whose key `matches` from S3 (the
   * COPY then reads whatever the key holds after it, as Redshift reads an object as it is when it
   * runs). With the local Data API on a backing warehouse opened by openLocalWarehouse.
   */
  beforeNextCopyRead(matches: (key: string) => boolean, action: (key: string) => Promise<void>): void {
    this.copyReads.push({ matches, action });
  }

  /**
   * Holds the next statement matching `matcher` once it is STARTED, until
   * {@link HeldStatement.release} or {@link release}, or for `ms` milliseconds when given. A held
   * statement occupies a concurrency slot. `at`:
   * - `start` (default): before its SQL runs; CancelStatement aborts it before anything runs;
   * - `copy-read`: inside its transaction, when its first COPY is about to read from S3 — the
   *   statements before the COPY have run and hold their locks (a long COPY, as Redshift runs
   *   it). `started` resolves once it waits there. A cancel releases it and it runs to its end
   *   (an executing statement is not interrupted; see executor.ts). Needs a backing warehouse
   *   opened by openLocalWarehouse (its COPY calls the hook).
   */
  holdNext(matcher?: StatementMatcher, options: { ms?: number; at?: HoldPoint } = {}): HeldStatement {
    let onStart!: (id: string) => void;
    const started = new Promise<string>((resolve) => {
      onStart = resolve;
    });
    const hold: PendingHold = { matcher, ms: options.ms, at: options.at ?? 'start', onStart, released: false };
    this.holds.push(hold);
    return {
      started,
      release: () => {
        hold.released = true;
        hold.active?.release();
        this.holds = this.holds.filter((h) => h !== hold || h.active !== undefined);
      },
    };
  }

  /** Releases every held statement and disarms holds no statement has taken yet. */
  release(): void {
    for (const hold of this.holds) {
      hold.released = true;
      hold.active?.release();
    }
    this.holds = [];
  }

  /**
   * The next `operation` call (a submit) whose statements match: the statement is accepted and
   * runs to its end (commit or failure), then the connection is destroyed without a reply, as a
   * response lost in the network after the work was done.
   */
  loseNextReply(operation: 'BatchExecuteStatement' | 'ExecuteStatement' = 'BatchExecuteStatement', matcher?: StatementMatcher): void {
    this.lostReplies.push({ operation, matcher });
  }

  /** The next `count` calls of `operation` answer `type` (default InternalServerException, HTTP 500). */
  failNextCalls(operation: Operation, count: number, error: { type?: DataApiErrorName; message?: string } = {}): void {
    this.callFailures.push({
      operations: [operation],
      remaining: count,
      type: error.type ?? 'InternalServerException',
      message: error.message ?? `injected ${error.type ?? 'InternalServerException'} for ${operation}`,
    });
  }

  /** The next `count` calls (of `operations`, default any) answer ThrottlingException ("Rate exceeded"). */
  throttle(count: number, operations?: readonly Operation[]): void {
    this.callFailures.push({ operations, remaining: count, type: 'ThrottlingException', message: 'Rate exceeded' });
  }

  /**
   * The next statement submission matching `matcher` fails at the (zero-based) statement `index`
   * with `message`: the statements before it run and are rolled back, the ones after never run.
   * The backing warehouse raises the error, so the reported index is the one it names.
   */
  failNextStatement(index: number, message: string, matcher?: StatementMatcher): void {
    this.failures.push({ matcher, failure: { index, message } });
  }

  /** Faults armed and not yet used (holds not yet taken, lost replies, failures, failing or throttled calls). */
  armed(): number {
    return (
      this.holds.filter((h) => h.active === undefined && !h.released).length +
      this.lostReplies.length +
      this.failures.length +
      this.copyReads.length +
      this.callFailures.reduce((n, f) => n + f.remaining, 0)
    );
  }

  /**
   * A view of these faults for one test among several running at once: it arms the same faults,
   * and its `reset` disarms and releases only what it armed (the others' faults stay armed).
   */
  scope(): FaultScope {
    return new FaultScope(this);
  }

  /** Disarms the faults `isMine` picks (armed by one {@link FaultScope}) and releases its held statements. */
  resetOnly(isMine: (entry: object) => boolean, holds: readonly HeldStatement[]): void {
    for (const h of holds) h.release();
    this.failures = this.failures.filter((f) => !isMine(f));
    this.lostReplies = this.lostReplies.filter((l) => !isMine(l));
    this.callFailures = this.callFailures.filter((c) => !isMine(c));
    this.copyReads = this.copyReads.filter((r) => !isMine(r));
  }

  /** The entry armed last in each list (the one a scope just armed; JS runs one arm call at a time). */
  lastArmed(): { failure?: object; lostReply?: object; copyRead?: object } {
    return { failure: this.failures.at(-1), lostReply: this.lostReplies.at(-1), copyRead: this.copyReads.at(-1) };
  }

  /** Disarms everything and releases held statements. */
  reset(): void {
    this.release();
    this.failures = [];
    this.lostReplies = [];
    this.callFailures = [];
    this.copyReads = [];
  }

  // -------------------------------------------------------------------------------------------
  // used by the server

  /**
   * Before a COPY reads `key`: waits on the `copy-read` hold of the statement whose transaction
   * this is, if it has one not yet taken; then runs (and disarms) the armed copy-read action for
   * `key`, if any (see {@link beforeNextCopyRead}).
   */
  async beforeCopyRead(key: string): Promise<void> {
    const statementId = runningStatement.getStore();
    const hold = statementId === undefined ? undefined : this.holds.find((h) => h.at === 'copy-read' && h.statementId === statementId && h.active === undefined);
    if (hold && statementId !== undefined) {
      if (!hold.released) await this.activate(hold, statementId).done;
      this.holds = this.holds.filter((h) => h !== hold);
    }
    const at = this.copyReads.findIndex((r) => r.matches(key));
    if (at < 0) return;
    const [armed] = this.copyReads.splice(at, 1);
    await armed!.action(key);
  }

  /** The error an armed call failure answers for this call, if any (and counts it). */
  takeCallFailure(operation: Operation): DataApiError | undefined {
    const armed = this.callFailures.find((f) => f.remaining > 0 && (!f.operations || f.operations.includes(operation)));
    if (!armed) return undefined;
    armed.remaining -= 1;
    this.callFailures = this.callFailures.filter((f) => f.remaining > 0);
    return new DataApiError(armed.type, armed.message);
  }

  /** True when the reply to this submit must be lost (and disarms that fault). */
  takeLostReply(operation: Operation, sqls: readonly string[]): boolean {
    const at = this.lostReplies.findIndex((l) => l.operation === operation && matches(l.matcher, sqls));
    if (at < 0) return false;
    this.lostReplies.splice(at, 1);
    return true;
  }

  /** The injected failure for this submission, if one is armed (and disarms it). */
  takeStatementFailure(sqls: readonly string[]): InjectedFailure | undefined {
    const at = this.failures.findIndex((f) => matches(f.matcher, sqls));
    if (at < 0) return undefined;
    return this.failures.splice(at, 1)[0]!.failure;
  }

  /**
   * The hold statement `id` must wait on as it starts, if one is armed for it. A `copy-read` hold
   * it matches is given to it instead, to wait on once its transaction reaches its COPY.
   */
  takeHold(id: string, sqls: readonly string[]): ActiveHold | undefined {
    const hold = this.holds.find((h) => h.active === undefined && h.statementId === undefined && !h.released && matches(h.matcher, sqls));
    if (!hold) return undefined;
    if (hold.at === 'copy-read') {
      hold.statementId = id;
      return undefined;
    }
    return this.activate(hold, id);
  }

  /**
   * Releases the `copy-read` hold given to statement `id`, if any: on its cancel (see
   * {@link holdNext}), and as it ends (a transaction that failed before its COPY never took it).
   */
  releaseHoldOf(id: string): void {
    for (const hold of this.holds) {
      if (hold.statementId !== id) continue;
      hold.released = true;
      hold.active?.release();
    }
    this.holds = this.holds.filter((h) => h.statementId !== id || h.active !== undefined);
  }

  private activate(hold: PendingHold, id: string): ActiveHold {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const timer = hold.ms !== undefined ? setTimeout(release, hold.ms) : undefined;
    const active: ActiveHold = {
      done,
      release: () => {
        if (timer) clearTimeout(timer);
        release();
      },
    };
    hold.active = active;
    void done.then(() => {
      this.holds = this.holds.filter((h) => h !== hold);
    });
    hold.onStart(id);
    return active;
  }
}

/**
 * The faults one test arms while other tests run theirs on the same server at once (e.g. two
 * datasets' scenarios loading concurrently): give each a matcher naming its own statements or
 * keys; `reset` disarms only this scope's faults and releases only its held statements.
 */
export class FaultScope {
  private readonly mine = new WeakSet<object>();
  private readonly holds: HeldStatement[] = [];

  constructor(private readonly faults: LocalDataApiFaults) {}

  /** See {@link LocalDataApiFaults.holdNext}. */
  holdNext(matcher?: StatementMatcher, options: { ms?: number; at?: HoldPoint } = {}): HeldStatement {
    const held = this.faults.holdNext(matcher, options);
    this.holds.push(held);
    return held;
  }

  /** See {@link LocalDataApiFaults.loseNextReply}. */
  loseNextReply(operation: 'BatchExecuteStatement' | 'ExecuteStatement' = 'BatchExecuteStatement', matcher?: StatementMatcher): void {
    this.faults.loseNextReply(operation, matcher);
    this.mine.add(this.faults.lastArmed().lostReply!);
  }

  /** See {@link LocalDataApiFaults.failNextStatement}. */
  failNextStatement(index: number, message: string, matcher?: StatementMatcher): void {
    this.faults.failNextStatement(index, message, matcher);
    this.mine.add(this.faults.lastArmed().failure!);
  }

  /** See {@link LocalDataApiFaults.beforeNextCopyRead}. */
  beforeNextCopyRead(matches: (key: string) => boolean, action: (key: string) => Promise<void>): void {
    this.faults.beforeNextCopyRead(matches, action);
    this.mine.add(this.faults.lastArmed().copyRead!);
  }

  /** Disarms this scope's faults and releases its held statements; other scopes' faults stay. */
  reset(): void {
    this.faults.resetOnly((entry) => this.mine.has(entry), this.holds.splice(0));
  }
}
