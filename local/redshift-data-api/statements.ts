/**
 * The statements a local Data API server knows: their status life cycle, ClientToken
 * idempotency, and the shapes DescribeStatement and ListStatements return. In memory, for the
 * server's lifetime (AWS keeps them 24 hours); results beyond the newest `retainResults` are
 * dropped, as if expired.
 */
import { randomUUID } from 'node:crypto';
import type { SqlParameter } from '@aws-sdk/client-redshift-data';
import { DataApiError } from './protocol';
import type { StoredResult } from './results';

export type StatementStatus = 'SUBMITTED' | 'PICKED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';

/** Where a request sent its statements (the Data API's connection members). */
export interface StatementTarget {
  readonly database: string;
  readonly workgroupName?: string;
  readonly clusterIdentifier?: string;
  readonly dbUser?: string;
  /** The secret the Data API reads the database credentials from (with the caller's permissions). */
  readonly secretArn?: string;
}

/** One statement of a batch (Id `<batch id>:<n>`, 1-based) or the single statement of ExecuteStatement. */
export interface SubStatement {
  readonly id: string;
  readonly sql: string;
  status: StatementStatus;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
  /** Nanoseconds it ran, once ended. */
  duration?: number;
  queryId?: number;
  hasResultSet: boolean;
  /** Rows returned (SELECT) or -1 when unknown (rows affected are not reported by the Warehouse port). */
  resultRows: number;
  result?: StoredResult;
}

export interface StatementRecord extends SubStatement {
  /** Order of submission; larger is newer. */
  readonly seq: number;
  readonly batch: boolean;
  readonly name?: string;
  readonly target: StatementTarget;
  readonly parameters?: readonly SqlParameter[];
  readonly clientToken?: string;
  /** Access key id of the caller that submitted it (`redshift-data:statement-owner-iam-userid`). */
  readonly owner?: string;
  /** Batch sub-statements, in order; empty for ExecuteStatement. */
  readonly subs: SubStatement[];
  cancelRequested: boolean;
  startedAt?: number;
}

/** Statuses a statement never leaves. */
export const ENDED: ReadonlySet<StatementStatus> = new Set(['FINISHED', 'FAILED', 'ABORTED']);

/** How long a ClientToken names the same statement (Data API: 8 hours). */
export const CLIENT_TOKEN_TTL_MS = 8 * 60 * 60 * 1000;

/** What a submit call asks for. */
export interface Submission {
  readonly batch: boolean;
  readonly sqls: readonly string[];
  readonly target: StatementTarget;
  readonly name?: string;
  readonly parameters?: readonly SqlParameter[];
  readonly clientToken?: string;
  /** Access key id of the submitting caller. */
  readonly owner?: string;
}

/** The registry of statements, by id and by ClientToken. */
export class StatementStore {
  private readonly byId = new Map<string, StatementRecord>();
  private readonly byToken = new Map<string, { id: string; expiresAt: number }>();
  private readonly withResults: StatementRecord[] = [];
  private seq = 0;
  /** Submissions accepted (not replays of a ClientToken) and the SQL statements they held. */
  readonly counts = { submissions: 0, sqlStatements: 0 };

  constructor(
    private readonly now: () => Date,
    private readonly retainResults: number,
  ) {}

  /** The statement an unexpired ClientToken already named, if any. */
  byClientToken(token: string | undefined): StatementRecord | undefined {
    if (token === undefined) return undefined;
    const entry = this.byToken.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now().getTime()) {
      this.byToken.delete(token);
      return undefined;
    }
    return this.byId.get(entry.id);
  }

  /** Records a new SUBMITTED statement. */
  create(submission: Submission): StatementRecord {
    const id = randomUUID();
    const at = this.now();
    const record: StatementRecord = {
      id,
      seq: ++this.seq,
      batch: submission.batch,
      sql: submission.batch ? '' : submission.sqls[0]!,
      target: submission.target,
      status: 'SUBMITTED',
      createdAt: at,
      updatedAt: at,
      hasResultSet: false,
      resultRows: -1,
      cancelRequested: false,
      subs: submission.batch
        ? submission.sqls.map((sql, i) => ({ id: `${id}:${i + 1}`, sql, status: 'SUBMITTED', createdAt: at, updatedAt: at, hasResultSet: false, resultRows: -1 }))
        : [],
      ...(submission.name !== undefined ? { name: submission.name } : {}),
      ...(submission.owner !== undefined ? { owner: submission.owner } : {}),
      ...(submission.parameters !== undefined ? { parameters: submission.parameters } : {}),
      ...(submission.clientToken !== undefined ? { clientToken: submission.clientToken } : {}),
    };
    this.byId.set(id, record);
    this.counts.submissions += 1;
    this.counts.sqlStatements += submission.sqls.length;
    if (submission.clientToken !== undefined) {
      this.byToken.set(submission.clientToken, { id, expiresAt: at.getTime() + CLIENT_TOKEN_TTL_MS });
    }
    return record;
  }

  /** A statement or batch sub-statement by id; ResourceNotFoundException when unknown. */
  find(id: string): { record: StatementRecord; sub?: SubStatement } {
    const m = /^(.*):(\d+)$/.exec(id);
    const record = this.byId.get(m ? m[1]! : id);
    const sub = m && record ? record.subs[Number(m[2]) - 1] : undefined;
    if (!record || (m && !sub)) {
      throw new DataApiError('ResourceNotFoundException', `Query does not exist. Statement ID: ${id}`, { ResourceId: id });
    }
    return sub ? { record, sub } : { record };
  }

  /** Keeps `record`'s result, dropping the oldest kept result beyond `retainResults`. */
  keepResult(record: StatementRecord): void {
    this.withResults.push(record);
    while (this.withResults.length > this.retainResults) {
      const dropped = this.withResults.shift()!;
      delete dropped.result;
    }
  }

  /** Every statement, newest first. */
  newestFirst(): StatementRecord[] {
    return [...this.byId.values()].sort((a, b) => b.seq - a.seq);
  }

  /** Statements not yet ended (SUBMITTED, PICKED, STARTED). */
  active(): number {
    let n = 0;
    for (const r of this.byId.values()) if (!ENDED.has(r.status)) n++;
    return n;
  }
}

/** Sets a status and its UpdatedAt. */
export function setStatus(statement: SubStatement, status: StatementStatus, now: Date): void {
  statement.status = status;
  statement.updatedAt = now;
}

function subStatementData(sub: SubStatement): Record<string, unknown> {
  return {
    Id: sub.id,
    Status: sub.status,
    QueryString: sub.sql,
    CreatedAt: sub.createdAt,
    UpdatedAt: sub.updatedAt,
    HasResultSet: sub.hasResultSet,
    ResultRows: sub.resultRows,
    ResultSize: sub.result ? sub.result.size : sub.hasResultSet ? 0 : -1,
    ...(sub.duration !== undefined ? { Duration: sub.duration } : { Duration: -1 }),
    ...(sub.error !== undefined ? { Error: sub.error } : {}),
    ...(sub.queryId !== undefined ? { RedshiftQueryId: sub.queryId } : {}),
  };
}

/** DescribeStatement's answer for a statement, or for one sub-statement of a batch. */
export function describeStatement(record: StatementRecord, sub?: SubStatement): Record<string, unknown> {
  const own = sub ?? record;
  return {
    ...subStatementData(own),
    Id: own.id,
    Database: record.target.database,
    ...(record.target.workgroupName ? { WorkgroupName: record.target.workgroupName } : {}),
    ...(record.target.clusterIdentifier ? { ClusterIdentifier: record.target.clusterIdentifier } : {}),
    ...(record.target.dbUser ? { DbUser: record.target.dbUser } : {}),
    RedshiftPid: 0,
    ...(record.batch && !sub ? { QueryString: '', SubStatements: record.subs.map(subStatementData) } : {}),
    ...(record.parameters && !sub ? { QueryParameters: record.parameters } : {}),
  };
}

/** ListStatements' StatementData for a statement. */
export function statementData(record: StatementRecord): Record<string, unknown> {
  return {
    Id: record.id,
    Status: record.status,
    CreatedAt: record.createdAt,
    UpdatedAt: record.updatedAt,
    IsBatchStatement: record.batch,
    ...(record.batch ? { QueryStrings: record.subs.map((s) => s.sql) } : { QueryString: record.sql }),
    ...(record.name !== undefined ? { StatementName: record.name } : {}),
    ...(record.parameters ? { QueryParameters: record.parameters } : {}),
  };
}
