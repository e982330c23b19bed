/**
 * Runs submitted statements on the backing Warehouse, asynchronously, as Redshift does behind the
 * Data API: a statement is SUBMITTED, STARTED when one of `concurrency` slots is free, then
 * FINISHED, FAILED or ABORTED. One BatchExecuteStatement is one `executeTransaction` (all or
 * nothing); an ExecuteStatement is one `query` (row-returning SQL or parameters) or a
 * one-statement transaction.
 *
 * A statement that cannot run as written fails inside the backing transaction: the statement at
 * fault (a COPY naming a role the cluster may not assume, or an injected failure) is replaced by
 * one that raises Redshift's error, so the statements before it run and are rolled back, those
 * after it never run, and the failing index is the one the backing warehouse reports.
 *
 * Cancelling: a queued or held statement is ABORTED and never runs. One that is already
 * executing in the backing warehouse (also one held inside its transaction, faults.ts
 * `copy-read`) cannot be interrupted through the Warehouse port; the cancel
 * is accepted (as Redshift accepts one that races the commit) and the statement ends as the
 * warehouse decides, FINISHED (committed) or FAILED — never reported ABORTED while its work is
 * committed.
 */
import { answersResultSets, type ResultSet } from '../../lambdas/adapters/postgres-warehouse';
import { BadFileError, WarehouseStatementError } from '../../lambdas/core/errors';
import type { Row, SqlValue, Warehouse } from '../../lambdas/core/ports';
import { parseCopyFromS3 } from '../../lambdas/core/sql';
import { copyRoleFailure, type CopyPrincipal } from './copy-roles';
import { runningStatement, type ActiveHold, type LocalDataApiFaults } from './faults';
import { DataApiError } from './protocol';
import { encodeResult, encodeResultSet } from './results';
import { ENDED, setStatus, type StatementRecord, type StatementStore } from './statements';

/** What {@link StatementExecutor} runs statements with. */
export interface ExecutorOptions {
  readonly warehouse: Warehouse;
  readonly store: StatementStore;
  readonly faults: LocalDataApiFaults;
  /** Statements executing at once; more wait SUBMITTED. */
  readonly concurrency: number;
  /** IAM roles the "cluster" may assume for COPY. */
  readonly copyRoles: readonly string[];
  /** The one database the backing warehouse is. */
  readonly database: string;
  readonly region: string;
  readonly account: string;
  readonly now: () => Date;
}

type Outcome =
  | { readonly kind: 'finished'; readonly rows?: Row[] | ResultSet; readonly hasResultSet: boolean }
  | { readonly kind: 'failed'; readonly index?: number; readonly error: string; readonly queryId?: number };

/** SQL that returns rows, after leading comments and parentheses. */
const ROW_RETURNING = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*(?:SELECT|WITH|VALUES|SHOW|EXPLAIN|TABLE)\b/i;

/** A statement that raises `message` (PL/pgSQL RAISE; the message as a literal, quotes doubled). */
function raising(message: string): string {
  return `DO $syncproof_fault$ BEGIN RAISE EXCEPTION USING MESSAGE = '${message.replace(/'/g, "''")}'; END $syncproof_fault$`;
}

/** The database's own text of a backing-warehouse error, as Redshift words errors (`ERROR: …`). */
function redshiftErrorText(error: unknown): string {
  const cause = (error as { cause?: { message?: unknown; code?: unknown } } | undefined)?.cause;
  const text = typeof cause?.message === 'string' && cause.message ? cause.message : error instanceof Error ? error.message : String(error);
  if (cause?.code === '40001') {
    // PostgreSQL's serialization_failure is Redshift's error 1023.
    return `ERROR: 1023 DETAIL: Serializable isolation violation on table (${text})`;
  }
  return /^ERROR:/.test(text) ? text : `ERROR: ${text}`;
}

/** The statements' scheduler and runner of one local Data API server (see the module doc). */
export class StatementExecutor {
  private readonly queue: StatementRecord[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly holds = new Map<string, ActiveHold>();
  private readonly ended = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private nextQueryId = 1000;
  private stopping = false;

  constructor(private readonly o: ExecutorOptions) {}

  /** Queues a SUBMITTED statement; it starts on a later turn of the event loop, never inside the submit call. */
  submit(record: StatementRecord): void {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.ended.set(record.id, { promise, resolve });
    this.queue.push(record);
    setImmediate(() => this.pump());
  }

  /** Resolves when the statement has ended (immediately for one that has). */
  whenEnded(id: string): Promise<void> {
    return this.ended.get(id)?.promise ?? Promise.resolve();
  }

  /**
   * CancelStatement: see the module doc. Throws ValidationException for a statement that has
   * already ended, with the Data API's wording.
   */
  cancel(record: StatementRecord): void {
    if (ENDED.has(record.status)) {
      throw new DataApiError('ValidationException', `Could not cancel a query that is already in ${record.status} state with ID: ${record.id}`);
    }
    record.cancelRequested = true;
    const queued = this.queue.indexOf(record);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.abort(record);
      return;
    }
    this.holds.get(record.id)?.release();
    this.o.faults.releaseHoldOf(record.id);
  }

  /** Aborts queued and held statements, then waits for the executing ones to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const record of this.queue.splice(0)) this.abort(record);
    for (const hold of this.holds.values()) hold.release();
    await Promise.allSettled([...this.running.values()]);
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.o.concurrency && this.queue.length > 0) {
      const record = this.queue.shift()!;
      const run = this.run(record).finally(() => {
        this.o.faults.releaseHoldOf(record.id);
        this.running.delete(record.id);
        this.settle(record.id);
        this.pump();
      });
      this.running.set(record.id, run);
    }
  }

  private async run(record: StatementRecord): Promise<void> {
    const sqls = record.batch ? record.subs.map((s) => s.sql) : [record.sql];
    const queryIds = sqls.map(() => this.nextQueryId++);
    const started = this.o.now();
    record.startedAt = Date.now();
    setStatus(record, 'STARTED', started);
    if (record.subs[0]) setStatus(record.subs[0], 'STARTED', started);
    if (!record.batch) record.queryId = queryIds[0];

    const hold = this.o.faults.takeHold(record.id, sqls);
    if (hold) {
      this.holds.set(record.id, hold);
      await hold.done;
      this.holds.delete(record.id);
    }
    if (record.cancelRequested || this.stopping) {
      this.abort(record);
      return;
    }
    let outcome: Outcome;
    try {
      outcome = await runningStatement.run(record.id, () => this.execute(record, sqls, queryIds));
    } catch (error) {
      outcome = { kind: 'failed', error: redshiftErrorText(error) };
    }
    this.finish(record, outcome, queryIds);
  }

  private async execute(record: StatementRecord, sqls: readonly string[], queryIds: readonly number[]): Promise<Outcome> {
    if (record.target.database !== this.o.database) {
      return { kind: 'failed', index: 0, error: `ERROR: database "${record.target.database}" does not exist` };
    }
    const principal: CopyPrincipal = {
      region: this.o.region,
      account: this.o.account,
      cluster: record.target.workgroupName ?? record.target.clusterIdentifier ?? 'local',
      dbUser: record.target.dbUser ?? 'awsuser',
    };
    const substitutes = new Map<number, string>();
    sqls.forEach((sql, i) => {
      const denied = copyRoleFailure(sql, this.o.copyRoles, principal, queryIds[i]!);
      if (denied !== undefined) substitutes.set(i, denied);
    });
    const injected = this.o.faults.takeStatementFailure(sqls);
    if (injected && injected.index >= 0 && injected.index < sqls.length) substitutes.set(injected.index, injected.message);

    if (!record.batch) {
      const message = substitutes.get(0);
      if (message !== undefined) return { kind: 'failed', index: 0, error: `ERROR: ${message}`, queryId: queryIds[0] };
      return this.executeSingle(record);
    }
    const effective = sqls.map((sql, i) => (substitutes.has(i) ? raising(substitutes.get(i)!) : sql));
    try {
      await this.o.warehouse.executeTransaction(effective, record.clientToken ?? record.id);
      return { kind: 'finished', hasResultSet: false };
    } catch (error) {
      return this.failureOf(error, sqls, queryIds);
    }
  }

  private async executeSingle(record: StatementRecord): Promise<Outcome> {
    const params: Record<string, SqlValue> = {};
    for (const p of record.parameters ?? []) if (p.name !== undefined) params[p.name] = p.value ?? null;
    const rowReturning = ROW_RETURNING.test(record.sql);
    try {
      if (record.parameters !== undefined || rowReturning) {
        // Typed, every column kept, where the backing warehouse can (see results.ts).
        const warehouse = this.o.warehouse;
        const rows = answersResultSets(warehouse) ? await warehouse.queryResultSet(record.sql, params) : await warehouse.query(record.sql, params);
        const count = Array.isArray(rows) ? rows.length : rows.rows.length;
        return { kind: 'finished', rows, hasResultSet: rowReturning || count > 0 };
      }
      await this.o.warehouse.executeTransaction([record.sql], record.clientToken ?? record.id);
      return { kind: 'finished', hasResultSet: false };
    } catch (error) {
      return { ...this.failureOf(error, [record.sql], [record.queryId ?? 0]), index: 0 };
    }
  }

  /** A backing-warehouse error → the failed sub-statement (index as the warehouse names it) and Redshift's text. */
  private failureOf(error: unknown, sqls: readonly string[], queryIds: readonly number[]): Outcome & { kind: 'failed' } {
    let index: number | undefined;
    let queryId: number | undefined;
    if (error instanceof WarehouseStatementError) {
      index = error.statementIndex;
      queryId = error.queryId;
    } else if (error instanceof BadFileError) {
      // The Postgres-family adapters name the file, not the statement: the COPY reading it.
      const at = sqls.findIndex((sql) => parseCopyFromS3(sql)?.key === error.key);
      index = at >= 0 ? at : undefined;
    }
    if (index !== undefined && (index < 0 || index >= sqls.length)) index = undefined;
    const text = error instanceof BadFileError ? `ERROR: ${error.message}` : redshiftErrorText(error);
    return { kind: 'failed', error: text, ...(index !== undefined ? { index, queryId: queryId ?? queryIds[index] } : {}) };
  }

  private finish(record: StatementRecord, outcome: Outcome, queryIds: readonly number[]): void {
    const at = this.o.now();
    const duration = Math.max(0, Math.round((Date.now() - (record.startedAt ?? Date.now())) * 1e6));
    record.duration = duration;
    if (outcome.kind === 'finished') {
      if (outcome.rows) {
        record.result = Array.isArray(outcome.rows) ? encodeResult(outcome.rows) : encodeResultSet(outcome.rows);
        record.hasResultSet = outcome.hasResultSet;
        record.resultRows = outcome.hasResultSet ? record.result.records.length : -1;
        if (outcome.hasResultSet) this.o.store.keepResult(record);
      }
      record.subs.forEach((sub, i) => {
        sub.queryId = queryIds[i];
        sub.duration = duration;
        setStatus(sub, 'FINISHED', at);
      });
      setStatus(record, 'FINISHED', at);
      return;
    }
    record.error = outcome.error;
    if (outcome.index !== undefined && outcome.queryId !== undefined) record.queryId = outcome.queryId;
    record.subs.forEach((sub, i) => {
      sub.queryId = queryIds[i];
      if (outcome.index === undefined || i > outcome.index) {
        setStatus(sub, 'ABORTED', at);
      } else if (i < outcome.index) {
        sub.duration = duration;
        setStatus(sub, 'FINISHED', at);
      } else {
        sub.error = outcome.error;
        if (outcome.queryId !== undefined) sub.queryId = outcome.queryId;
        sub.duration = duration;
        setStatus(sub, 'FAILED', at);
      }
    });
    setStatus(record, 'FAILED', at);
  }

  private abort(record: StatementRecord): void {
    const at = this.o.now();
    for (const sub of record.subs) setStatus(sub, 'ABORTED', at);
    setStatus(record, 'ABORTED', at);
    this.settle(record.id);
  }

  private settle(id: string): void {
    this.ended.get(id)?.resolve();
    this.ended.delete(id);
  }
}
