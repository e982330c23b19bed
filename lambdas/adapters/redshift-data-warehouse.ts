/**
 * The production Warehouse adapter: Amazon Redshift through the Redshift Data API (DESIGN.md §4).
 *
 * The Data API is asynchronous: a statement is submitted (`ExecuteStatement`, or
 * `BatchExecuteStatement`, which runs its statements as one transaction), then polled with
 * `DescribeStatement` until it ends, then its rows are paged with `GetStatementResult`. SDK errors
 * become TransientError / TerminalError (DESIGN.md §9); the SDK's own retries stay in place.
 */
import { createHash } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type ColumnMetadata,
  type DescribeStatementResponse,
  type Field,
  type RedshiftDataClient,
  type SqlParameter,
} from '@aws-sdk/client-redshift-data';
import { ConfigurationError, TerminalError, TransientError, WarehouseStatementError } from '../core/errors';
import type { Row, SqlValue, Warehouse } from '../core/ports';

/** How {@link RedshiftDataWarehouse} reaches its database. */
export interface RedshiftDataWarehouseOptions {
  /** Constructed (and destroyed) by the caller; its retry settings apply to every call. */
  readonly client: RedshiftDataClient;
  /** Database to connect to. */
  readonly database: string;
  /** Redshift Serverless workgroup name or ARN. Exactly one of workgroupName / clusterIdentifier. */
  readonly workgroupName?: string;
  /** Provisioned cluster identifier. Exactly one of workgroupName / clusterIdentifier. */
  readonly clusterIdentifier?: string;
  /** Secrets Manager secret (name or ARN) with the database credentials. Never put in messages. */
  readonly secretArn?: string;
  /** Database user for temporary credentials on a provisioned cluster. */
  readonly dbUser?: string;
  /** Milliseconds between two DescribeStatement polls. @default 500 */
  readonly pollIntervalMs?: number;
  /**
   * Milliseconds to wait for one statement to end before giving up with TransientError. The
   * statement keeps running in Redshift. Keep it below the caller's remaining time budget.
   * @default 600_000
   */
  readonly timeoutMs?: number;
  /** Waits between polls; injectable so tests do not wait. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Statements per BatchExecuteStatement (the API's SqlList maximum). */
export const MAX_BATCH_STATEMENTS = 40;
/** ClientToken maximum length in the Data API. */
const MAX_CLIENT_TOKEN_LENGTH = 64;
/** Characters of a statement quoted in an error message. */
const SQL_SNIPPET_LENGTH = 200;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Warehouse over the Redshift Data API.
 *
 * - `executeTransaction` submits one BatchExecuteStatement (one transaction, at most 40
 *   statements) and waits for it. A FAILED batch raises WarehouseStatementError with the
 *   zero-based index of the failing statement and Redshift's error text.
 * - `query` binds `:name` parameters as Data API parameters. The API accepts neither NULL nor
 *   empty-string values, so `null` and `''` are written into the SQL as `NULL` and `''` instead.
 *   Values come back as SqlValues: BIGINT/INTEGER and floating types as numbers, BOOLEAN as
 *   booleans, DECIMAL/NUMERIC as numbers when exact in a double (≤ 15 significant digits, else
 *   their exact text), binary as base64, everything else (dates, timestamps, …) as Redshift's text.
 * - Messages never contain the secret, credentials in SQL, or more than 200 characters of SQL.
 */
export class RedshiftDataWarehouse implements Warehouse {
  readonly maxStatementsPerTransaction = MAX_BATCH_STATEMENTS;
  private readonly client: RedshiftDataClient;
  private readonly target: {
    readonly Database: string;
    readonly WorkgroupName?: string;
    readonly ClusterIdentifier?: string;
    readonly SecretArn?: string;
    readonly DbUser?: string;
  };
  private readonly secretArn: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  /** @throws ConfigurationError when the options are inconsistent (all problems in one message). */
  constructor(options: RedshiftDataWarehouseOptions) {
    const problems: string[] = [];
    if (!options.database) problems.push('database is empty; set the Redshift database name');
    if (!options.workgroupName === !options.clusterIdentifier) {
      problems.push('set exactly one of workgroupName (Redshift Serverless) or clusterIdentifier (provisioned cluster)');
    }
    const pollIntervalMs = options.pollIntervalMs ?? 500;
    const timeoutMs = options.timeoutMs ?? 600_000;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) problems.push('pollIntervalMs must be a positive number of milliseconds');
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) problems.push('timeoutMs must be a positive number of milliseconds');
    if (problems.length > 0) throw new ConfigurationError(`Redshift Data API warehouse: ${problems.join('; ')}`);

    this.client = options.client;
    this.target = {
      Database: options.database,
      ...(options.workgroupName ? { WorkgroupName: options.workgroupName } : {}),
      ...(options.clusterIdentifier ? { ClusterIdentifier: options.clusterIdentifier } : {}),
      ...(options.secretArn ? { SecretArn: options.secretArn } : {}),
      ...(options.dbUser ? { DbUser: options.dbUser } : {}),
    };
    this.secretArn = options.secretArn;
    this.pollIntervalMs = pollIntervalMs;
    this.timeoutMs = timeoutMs;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /**
   * Runs `statements` as one BatchExecuteStatement and waits until it ends. An empty list does
   * nothing. The ClientToken sent is `clientToken` (cut to 31 characters) plus a digest of
   * `clientToken` and the statements: resubmitting the same batch is idempotent, while a
   * different batch under the same `clientToken` (e.g. the load retrying without a quarantined
   * file) is a new request rather than a replay of the failed one.
   *
   * @throws WarehouseStatementError when Redshift reports the batch FAILED (index of the failing
   *   statement, Redshift's error text, the start of its SQL); TerminalError when it was ABORTED,
   *   for more than 40 statements, or for SDK errors that retrying cannot fix; TransientError for
   *   throttling, service faults and when it does not end within `timeoutMs`.
   */
  async executeTransaction(statements: readonly string[], clientToken: string): Promise<void> {
    if (statements.length === 0) return;
    if (statements.length > MAX_BATCH_STATEMENTS) {
      throw new TerminalError(
        `a Redshift Data API transaction takes at most ${MAX_BATCH_STATEMENTS} statements, got ${statements.length}; split the batch into smaller ones`,
      );
    }
    const submitted = await this.call('BatchExecuteStatement', () =>
      this.client.send(
        new BatchExecuteStatementCommand({ ...this.target, Sqls: [...statements], ClientToken: dataApiClientToken(clientToken, statements) }),
      ),
    );
    const id = requireId(submitted.Id, 'BatchExecuteStatement');
    const done = await this.waitFor(id);
    if (done.Status === 'FAILED') throw this.batchFailure(done, statements);
  }

  /**
   * Runs one statement with `:name` parameters and returns all its rows, keyed by column name
   * (a later column of the same name wins). A statement without a result set returns `[]`.
   *
   * @throws WarehouseStatementError (index undefined) when Redshift reports the statement FAILED;
   *   TerminalError for a `:name` without a value, an ABORTED statement or SDK errors that
   *   retrying cannot fix; TransientError as for executeTransaction.
   */
  async query(sql: string, params?: Record<string, SqlValue>): Promise<Row[]> {
    const bound = bindDataApiParameters(sql, params ?? {});
    const submitted = await this.call('ExecuteStatement', () =>
      this.client.send(
        new ExecuteStatementCommand({
          ...this.target,
          Sql: bound.sql,
          ...(bound.parameters.length > 0 ? { Parameters: bound.parameters } : {}),
        }),
      ),
    );
    const id = requireId(submitted.Id, 'ExecuteStatement');
    const done = await this.waitFor(id);
    if (done.Status === 'FAILED') {
      throw new WarehouseStatementError(
        `Redshift query failed: ${this.redact(done.Error ?? 'no error text')} (Data API statement ${id}). SQL: ${this.snippet(sql)}`,
        undefined,
      );
    }
    if (!done.HasResultSet) return [];
    return this.readResult(id);
  }

  /** Nothing to release: the client belongs to the caller. */
  async close(): Promise<void> {}

  /** Polls DescribeStatement until FINISHED, FAILED or ABORTED; throws on ABORTED and on timeout. */
  private async waitFor(id: string): Promise<DescribeStatementResponse> {
    const started = Date.now();
    let slept = 0;
    for (;;) {
      await this.sleep(this.pollIntervalMs);
      slept += this.pollIntervalMs;
      const described = await this.call('DescribeStatement', () => this.client.send(new DescribeStatementCommand({ Id: id })));
      switch (described.Status) {
        case 'FINISHED':
        case 'FAILED':
          return described;
        case 'ABORTED':
          throw new TerminalError(
            `Redshift Data API statement ${id} was aborted (cancelled) before it finished; nothing was committed. Find out who cancelled it, then run again`,
          );
        default:
          break;
      }
      // Slept time counts too, so an injected sleep drives the timeout without a real clock.
      if (Math.max(Date.now() - started, slept) >= this.timeoutMs) {
        throw new TransientError(
          `Redshift Data API statement ${id} did not finish within ${this.timeoutMs} ms (last status ${described.Status ?? 'unknown'}); ` +
            'it may still be running in Redshift. Retry; check SYS_QUERY_HISTORY if it keeps happening',
        );
      }
    }
  }

  private batchFailure(described: DescribeStatementResponse, statements: readonly string[]): WarehouseStatementError {
    const subs = described.SubStatements ?? [];
    const failedAt = subs.findIndex((s) => s.Status === 'FAILED');
    const failed = failedAt >= 0 ? subs[failedAt] : undefined;
    const suffix = failed?.Id ? /:(\d+)$/.exec(failed.Id) : null;
    const candidate = suffix ? Number(suffix[1]) - 1 : failed ? failedAt : undefined;
    const index = candidate !== undefined && candidate >= 0 && candidate < statements.length ? candidate : undefined;
    const errorText = this.redact(failed?.Error ?? described.Error ?? 'no error text');
    const sql = index !== undefined ? statements[index] : undefined;
    const where = index !== undefined ? `statement ${index} of ${statements.length}` : `one of ${statements.length} statements`;
    return new WarehouseStatementError(
      `Redshift transaction failed at ${where}: ${errorText}; the whole transaction was rolled back ` +
        `(Data API statement ${failed?.Id ?? described.Id ?? 'unknown'})` +
        (sql !== undefined ? `. SQL: ${this.snippet(sql)}` : ''),
      index,
    );
  }

  private async readResult(id: string): Promise<Row[]> {
    const rows: Row[] = [];
    let columns: ColumnMetadata[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call('GetStatementResult', () =>
        this.client.send(new GetStatementResultCommand({ Id: id, ...(token ? { NextToken: token } : {}) })),
      );
      if (page.ColumnMetadata && page.ColumnMetadata.length > 0) columns = page.ColumnMetadata;
      for (const record of page.Records ?? []) {
        const row: Row = {};
        record.forEach((field, i) => {
          const column = columns[i];
          row[column?.name ?? column?.label ?? `column${i + 1}`] = fieldValue(field, column);
        });
        rows.push(row);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return rows;
  }

  /** Runs one SDK call, translating what it throws (DESIGN.md §9). */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.translate(operation, error);
    }
  }

  private translate(operation: string, error: unknown): Error {
    if (error instanceof TransientError || error instanceof TerminalError) return error;
    const info = sdkErrorInfo(error);
    const what = `Redshift Data API ${operation} failed: ${info.name}: ${this.redact(info.message)}`;
    if (isTransient(info)) return new TransientError(`${what}; retry`, { cause: error });
    return new TerminalError(`${what}; ${terminalHint(info.name)}`, { cause: error });
  }

  /** Removes the secret, any Secrets Manager ARN and credential literals from `text`. */
  private redact(text: string): string {
    let out = this.secretArn ? text.split(this.secretArn).join('<secret>') : text;
    out = out.replace(/arn:aws[a-z-]*:secretsmanager:[^\s'",;)]+/g, '<secret>');
    return out.replace(
      /\b(CREDENTIALS|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PASSWORD|MASTER_SYMMETRIC_KEY)(\s+(?:AS\s+)?)'(?:[^']|'')*'/gi,
      "$1$2'<redacted>'",
    );
  }

  /** The first 200 characters of `sql`, redacted, on one line. */
  private snippet(sql: string): string {
    const flat = this.redact(sql).replace(/\s+/g, ' ').trim();
    return flat.length <= SQL_SNIPPET_LENGTH ? flat : `${flat.slice(0, SQL_SNIPPET_LENGTH)}…`;
  }
}

// ---------------------------------------------------------------------------------------------
// requests

function requireId(id: string | undefined, operation: string): string {
  if (!id) throw new TransientError(`Redshift Data API ${operation} returned no statement id; retry`);
  return id;
}

/** `clientToken` made unique per batch and at most 64 characters (the Data API's limit). */
function dataApiClientToken(clientToken: string, statements: readonly string[]): string {
  const hash = createHash('sha256').update(clientToken).update('\u0000');
  for (const s of statements) hash.update(s).update('\u0000');
  const suffix = hash.digest('hex').slice(0, 32);
  const prefix = clientToken.slice(0, MAX_CLIENT_TOKEN_LENGTH - suffix.length - 1);
  return prefix ? `${prefix}-${suffix}` : suffix;
}

/**
 * `:name` parameters → Data API parameters (string values). `null` and `''` cannot be sent (the
 * API requires a value of at least one character), so they are written into the SQL. Only names
 * that occur in code (not in literals, quoted identifiers or comments) are sent; a name without
 * a value is an error, as in the Postgres-family adapters.
 */
function bindDataApiParameters(sql: string, params: Record<string, SqlValue>): { sql: string; parameters: SqlParameter[] } {
  const parameters: SqlParameter[] = [];
  const sent = new Set<string>();
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    let end = i + 1;
    if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'" && !/[\w$]/.test(sql[i - 1] ?? ''))) {
      const escapes = ch !== "'";
      end = escapes ? i + 2 : i + 1;
      for (; end < n; end++) {
        if (escapes && sql[end] === '\\') end++;
        else if (sql[end] === "'") {
          if (sql[end + 1] === "'") end++;
          else break;
        }
      }
      end = Math.min(n, end + 1);
    } else if (ch === '"') {
      for (end = i + 1; end < n; end++) {
        if (sql[end] === '"') {
          if (sql[end + 1] === '"') end++;
          else break;
        }
      }
      end = Math.min(n, end + 1);
    } else if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      end = newline < 0 ? n : newline;
    } else if (ch === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? n : close + 2;
    } else if (ch === ':' && sql[i - 1] !== ':') {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1));
      if (m) {
        const name = m[0];
        if (!Object.prototype.hasOwnProperty.call(params, name)) {
          throw new TerminalError(`SQL parameter :${name} has no value; pass it in params`);
        }
        const value = params[name] ?? null;
        if (value === null) out += 'NULL';
        else if (value === '') out += "''";
        else {
          out += `:${name}`;
          if (!sent.has(name)) {
            sent.add(name);
            parameters.push({ name, value: String(value) });
          }
        }
        i += 1 + name.length;
        continue;
      }
    }
    out += sql.slice(i, end);
    i = end;
  }
  return { sql: out, parameters };
}

// ---------------------------------------------------------------------------------------------
// results

const NUMERIC_TYPES = new Set(['numeric', 'decimal']);

/** One Data API field → SqlValue (see {@link RedshiftDataWarehouse}). */
function fieldValue(field: Field, column: ColumnMetadata | undefined): SqlValue {
  if (field.isNull) return null;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.stringValue !== undefined) {
    return NUMERIC_TYPES.has((column?.typeName ?? '').toLowerCase()) ? parseNumeric(field.stringValue) : field.stringValue;
  }
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  return null;
}

/** Decimal text → number when at most 15 significant digits (exact as a double), else the text. */
function parseNumeric(text: string): number | string {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) return text;
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
  return digits.length <= 15 ? Number(text) : text;
}

// ---------------------------------------------------------------------------------------------
// errors

interface SdkErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retryable: boolean;
  readonly httpStatusCode?: number;
}

function sdkErrorInfo(error: unknown): SdkErrorInfo {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error), retryable: false };
  const e = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  return {
    name: typeof e.name === 'string' && e.name ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : undefined,
    retryable: e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false,
    httpStatusCode: typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
  };
}

/** Error names worth retrying: throttling, capacity, service faults, timeouts. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
  'InternalServerException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'DatabaseConnectionException',
  'ExecuteStatementException',
  'BatchExecuteStatementException',
  'QueryTimeoutException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node.js network error codes worth retrying. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);

function isTransient(info: SdkErrorInfo): boolean {
  if (TRANSIENT_NAMES.has(info.name) || info.retryable) return true;
  if (info.code !== undefined && TRANSIENT_CODES.has(info.code)) return true;
  const status = info.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

function terminalHint(name: string): string {
  switch (name) {
    case 'ValidationException':
      return 'check the database name, the workgroup name or cluster identifier, the secret or database user, and the SQL';
    case 'ResourceNotFoundException':
      return 'check that the workgroup or cluster exists in this account and region (statement results expire after 24 hours)';
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return (
        "check the caller's IAM permissions (redshift-data:*, redshift-serverless:GetCredentials or " +
        'redshift:GetClusterCredentials, secretsmanager:GetSecretValue on the secret) and its credentials'
      );
    default:
      return 'check the Redshift Data API settings: database, workgroup or cluster, credentials and permissions';
  }
}
