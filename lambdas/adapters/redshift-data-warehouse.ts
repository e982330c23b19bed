/**
 * The production Warehouse adapter: Amazon Redshift through the Redshift Data API (DESIGN.md §4).
 *
 * The Data API is asynchronous: a statement is submitted (`ExecuteStatement`, or
 * `BatchExecuteStatement`, which runs its statements as one transaction), then polled with
 * `DescribeStatement` until it ends, then its rows are paged with `GetStatementResult`. SDK errors
 * become TransientError / TerminalError (DESIGN.md §9); the SDK's own retries stay in place.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  ListStatementsCommand,
  type ColumnMetadata,
  type DescribeStatementResponse,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { ConfigurationError, TerminalError, TransientError, WarehouseStatementError } from '../core/errors';
import type { AsyncStatements, Row, SqlValue, StatementState, Warehouse } from '../core/ports';
import {
  failedSubStatement,
  isTransientSdkError,
  isTransientStatementError,
  isUnknownStatementError,
  redactDataApiText,
  sdkErrorInfo,
  terminalHint,
} from './redshift-data-errors';
import { METRICS } from '../core/metric-names';
import { countInvocation } from './invocation-metrics';
import { bindDataApiParameters, dataApiClientToken, fieldValue } from './redshift-data-values';

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
  /**
   * Longest pause between two DescribeStatement polls (milliseconds): the polls start
   * `firstPollMs` after the submit and back off (doubling) to this. @default 500
   */
  readonly pollIntervalMs?: number;
  /**
   * Pause before the first DescribeStatement poll (milliseconds), at most `pollIntervalMs`. A
   * short statement (the audit reads, the verify counts) ends in tens of milliseconds; a first
   * poll a whole interval later would wait out most of it. @default 50
   */
  readonly firstPollMs?: number;
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
/** Milliseconds before the first DescribeStatement poll of a statement (see firstPollMs). */
const DEFAULT_FIRST_POLL_MS = 50;
/** Characters of a statement quoted in an error message. */
const SQL_SNIPPET_LENGTH = 200;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** ClientToken generations one logical transaction may use (see executeTransaction). */
const MAX_TOKEN_GENERATIONS = 20;
/** Transient failures of statements submitted by one executeTransaction call before it gives up. */
const MAX_FRESH_TRANSIENT_FAILURES = 3;
/** ListStatements pages read by findByName before it gives up (100 statements a page). */
const MAX_LIST_PAGES = 10;
/** StatementName maximum length in the Data API. */
const MAX_STATEMENT_NAME_LENGTH = 500;

/**
 * Warehouse over the Redshift Data API.
 *
 * - `executeTransaction` submits one BatchExecuteStatement (one transaction, at most 40
 *   statements) and waits for it, through the same `statements.submitTransaction` and
 *   DescribeStatement polling a caller of {@link AsyncStatements} uses. A FAILED batch raises
 *   WarehouseStatementError with the zero-based index of the failing statement, Redshift's error
 *   text and its RedshiftQueryId; a serializable isolation violation (Redshift error 1023) or a
 *   conflict with a concurrent transaction raises TransientError instead (rolled back; retry).
 * - `query` binds `:name` parameters as Data API parameters. The API accepts neither NULL nor
 *   empty-string values, so `null` and `''` are written into the SQL as `NULL` and `''` instead.
 *   Values come back as SqlValues: BIGINT/INTEGER and floating types as numbers, BOOLEAN as
 *   booleans, DECIMAL/NUMERIC as numbers when exact in a double (≤ 15 significant digits, else
 *   their exact text), TIMESTAMP/TIMESTAMPTZ as ISO-8601 UTC text (`…T…Z`, as the Postgres-family
 *   adapters return them), binary as base64, everything else (dates, times, …) as Redshift's text.
 * - `statements` is the submit-then-poll access (DESIGN.md §4): a transaction submitted there may
 *   commit after this process is gone, so its outcome is asked for (describe, findByName).
 * - Messages never contain the secret, credentials in SQL, or more than 200 characters of SQL.
 */
export class RedshiftDataWarehouse implements Warehouse {
  readonly maxStatementsPerTransaction = MAX_BATCH_STATEMENTS;
  readonly statements: AsyncStatements;
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
  private readonly firstPollMs: number;
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
    const firstPollMs = options.firstPollMs ?? DEFAULT_FIRST_POLL_MS;
    const timeoutMs = options.timeoutMs ?? 600_000;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) problems.push('pollIntervalMs must be a positive number of milliseconds');
    if (!(Number.isFinite(firstPollMs) && firstPollMs > 0)) problems.push('firstPollMs must be a positive number of milliseconds');
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
    this.firstPollMs = Math.min(firstPollMs, pollIntervalMs);
    this.timeoutMs = timeoutMs;
    this.sleep = options.sleep ?? defaultSleep;
    this.statements = {
      submitTransaction: (statements, clientToken, name) => this.submit(statements, clientToken, name),
      describe: (id) => this.describe(id),
      findByName: (name) => this.findByName(name),
      cancel: (id) => this.cancel(id),
    };
  }

  /**
   * Runs `statements` as one BatchExecuteStatement and waits until it ends. An empty list does
   * nothing. The ClientToken sent is `clientToken` (cut to 31 characters) plus a digest of
   * `clientToken` and the statements: resubmitting the same batch is idempotent, while a
   * different batch under the same `clientToken` (e.g. the load retrying without a quarantined
   * file) is a new request rather than a replay of the failed one.
   *
   * The Data API answers a repeated ClientToken with the earlier statement, unrun, for 8 hours, so
   * a transaction that FAILED transiently (serializable isolation, concurrent transaction; rolled
   * back, nothing committed) would fail again on every retry under its token. It is therefore
   * resubmitted under the token's next generation (the digest also covers a generation number);
   * generations that an earlier call saw fail are walked past (their statements predate this call),
   * and one call gives up after 3 fresh transient failures, or after 20 generations. A generation
   * that FINISHED ends the walk, so a transaction never commits twice.
   *
   * @throws WarehouseStatementError when Redshift reports the batch FAILED (index of the failing
   *   statement, its query id, Redshift's error text, the start of its SQL); TransientError when
   *   it FAILED on a serializable isolation violation or concurrent transaction, for throttling,
   *   service faults and when it does not end within `timeoutMs` (it may still commit: ask
   *   `statements`); TerminalError when it was ABORTED, for more than 40 statements, or for SDK
   *   errors that retrying cannot fix.
   */
  async executeTransaction(statements: readonly string[], clientToken: string): Promise<void> {
    if (statements.length === 0) return;
    const callStarted = Date.now();
    let fresh = 0;
    let last: Error | undefined;
    for (let generation = 0; generation < MAX_TOKEN_GENERATIONS; generation++) {
      const submitted = await this.submitBatch(statements, dataApiClientToken(clientToken, statements, generation), undefined);
      const done = await this.waitFor(submitted.id);
      if (done.Status !== 'FAILED') return;
      const failure = this.batchFailure(done, statements);
      if (!(failure instanceof TransientError)) throw failure;
      last = failure;
      // A statement created before this call is an earlier attempt's, answered again for its token.
      const createdAt = submitted.createdAt ?? done.CreatedAt;
      if (createdAt === undefined || createdAt.getTime() >= callStarted) fresh += 1;
      if (fresh >= MAX_FRESH_TRANSIENT_FAILURES) throw failure;
      countInvocation(METRICS.retries);
    }
    throw new TransientError(
      `Redshift rejected this transaction ${MAX_TOKEN_GENERATIONS} times on serializable isolation or concurrent transactions ` +
        'within the ClientToken lifetime (8 hours); reduce concurrent writers of its tables, or retry later',
      { cause: last },
    );
  }

  /**
   * Runs one statement with `:name` parameters and returns all its rows, keyed by column name
   * (a later column of the same name wins). A statement without a result set returns `[]`.
   *
   * @throws WarehouseStatementError (index undefined, with the query id) when Redshift reports the
   *   statement FAILED; TransientError when it failed on a serializable isolation violation or
   *   concurrent transaction, or as for executeTransaction; TerminalError for a `:name` without a
   *   value, an ABORTED statement or SDK errors that retrying cannot fix.
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
    countInvocation(METRICS.dataApiStatements);
    const done = await this.waitFor(id);
    if (done.Status === 'FAILED') {
      const text = this.redact(done.Error ?? 'no error text');
      const message = `Redshift query failed: ${text} (Data API statement ${id}). SQL: ${this.snippet(sql)}`;
      if (isTransientStatementError(text)) throw new TransientError(`${message}; retry`);
      throw new WarehouseStatementError(message, undefined, { queryId: done.RedshiftQueryId });
    }
    if (!done.HasResultSet) return [];
    return this.readResult(id);
  }

  /** Nothing to release: the client belongs to the caller. */
  async close(): Promise<void> {}

  /**
   * BatchExecuteStatement under `clientToken`'s first generation (see executeTransaction); the id,
   * without waiting. A caller whose transaction FAILED transiently resubmits under another token.
   */
  private async submit(statements: readonly string[], clientToken: string, name: string): Promise<string> {
    return (await this.submitBatch(statements, dataApiClientToken(clientToken, statements, 0), name)).id;
  }

  /** BatchExecuteStatement with a ready ClientToken; the id and creation time, without waiting. */
  private async submitBatch(
    statements: readonly string[],
    token: string,
    name: string | undefined,
  ): Promise<{ readonly id: string; readonly createdAt?: Date }> {
    if (statements.length === 0) throw new TerminalError('a Redshift Data API transaction needs at least one statement; nothing was submitted');
    if (statements.length > MAX_BATCH_STATEMENTS) {
      throw new TerminalError(
        `a Redshift Data API transaction takes at most ${MAX_BATCH_STATEMENTS} statements, got ${statements.length}; split the batch into smaller ones`,
      );
    }
    if (name !== undefined && (name.length === 0 || name.length > MAX_STATEMENT_NAME_LENGTH)) {
      throw new TerminalError(`a Redshift Data API statement name has 1-${MAX_STATEMENT_NAME_LENGTH} characters, got ${name.length}`);
    }
    const submitted = await this.call('BatchExecuteStatement', () =>
      this.client.send(
        new BatchExecuteStatementCommand({
          ...this.target,
          Sqls: [...statements],
          ClientToken: token,
          ...(name !== undefined ? { StatementName: name } : {}),
        }),
      ),
    );
    countInvocation(METRICS.dataApiStatements);
    return { id: requireId(submitted.Id, 'BatchExecuteStatement'), ...(submitted.CreatedAt ? { createdAt: submitted.CreatedAt } : {}) };
  }

  /**
   * DescribeStatement → StatementState: SUBMITTED, PICKED and STARTED are `running`; a FAILED
   * batch names the failing sub-statement's index and query id; an id the Data API does not know
   * (ResourceNotFoundException, ValidationException) is `unknown`.
   */
  private async describe(id: string): Promise<StatementState> {
    let described: DescribeStatementResponse;
    try {
      described = await this.client.send(new DescribeStatementCommand({ Id: id }));
    } catch (error) {
      if (isUnknownStatementError(sdkErrorInfo(error))) return { status: 'unknown' };
      throw this.translate('DescribeStatement', error);
    }
    switch (described.Status) {
      case 'FINISHED':
        return { status: 'finished' };
      case 'ABORTED':
        return { status: 'aborted' };
      case 'FAILED': {
        const failure = failedSubStatement(described, described.SubStatements?.length);
        return {
          status: 'failed',
          error: this.redact(failure.error ?? 'no error text'),
          ...(failure.index !== undefined ? { statementIndex: failure.index } : {}),
          ...(failure.queryId !== undefined ? { queryId: failure.queryId } : {}),
        };
      }
      default:
        return { status: 'running' };
    }
  }

  /**
   * The newest statement named exactly `name` (ListStatements matches names by prefix, and lists
   * only FINISHED statements unless asked for ALL). RoleLevel true: statements of every session of
   * the caller's role, so another Lambda invocation finds what a crashed one submitted.
   */
  private async findByName(name: string): Promise<string | undefined> {
    const scope = {
      Database: this.target.Database,
      ...(this.target.WorkgroupName ? { WorkgroupName: this.target.WorkgroupName } : {}),
      ...(this.target.ClusterIdentifier ? { ClusterIdentifier: this.target.ClusterIdentifier } : {}),
    };
    let best: { id: string; createdAt: number } | undefined;
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const token = nextToken;
      const listed = await this.call('ListStatements', () =>
        this.client.send(
          new ListStatementsCommand({
            ...scope,
            StatementName: name,
            Status: 'ALL',
            RoleLevel: true,
            MaxResults: 100,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const statement of listed.Statements ?? []) {
        if (statement.StatementName !== name || !statement.Id) continue;
        const createdAt = statement.CreatedAt?.getTime() ?? Number.NEGATIVE_INFINITY;
        if (!best || createdAt > best.createdAt) best = { id: statement.Id, createdAt };
      }
      nextToken = listed.NextToken || undefined;
      if (!nextToken) break;
    }
    return best?.id;
  }

  /**
   * CancelStatement. A statement that has already ended (ValidationException: "Could not cancel
   * a query that is already in … state") or is unknown is not an error: describe tells the outcome.
   */
  private async cancel(id: string): Promise<void> {
    try {
      await this.client.send(new CancelStatementCommand({ Id: id }));
    } catch (error) {
      if (isUnknownStatementError(sdkErrorInfo(error))) return;
      throw this.translate('CancelStatement', error);
    }
  }

  /**
   * Polls DescribeStatement until FINISHED, FAILED or ABORTED, `firstPollMs` after the submit, then
   * twice as long each time up to `pollIntervalMs`; throws on ABORTED and on timeout.
   */
  private async waitFor(id: string): Promise<DescribeStatementResponse> {
    const started = Date.now();
    let slept = 0;
    for (let pause = this.firstPollMs; ; pause = Math.min(pause * 2, this.pollIntervalMs)) {
      await this.sleep(pause);
      slept += pause;
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

  private batchFailure(described: DescribeStatementResponse, statements: readonly string[]): Error {
    const failure = failedSubStatement(described, statements.length);
    const index = failure.index;
    const errorText = this.redact(failure.error ?? 'no error text');
    const sql = index !== undefined ? statements[index] : undefined;
    const where = index !== undefined ? `statement ${index} of ${statements.length}` : `one of ${statements.length} statements`;
    const message =
      `Redshift transaction failed at ${where}: ${errorText}; the whole transaction was rolled back ` +
      `(Data API statement ${failure.id ?? described.Id ?? 'unknown'})` +
      (sql !== undefined ? `. SQL: ${this.snippet(sql)}` : '');
    if (isTransientStatementError(errorText)) return new TransientError(`${message}; retry`);
    return new WarehouseStatementError(message, index, { queryId: failure.queryId });
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
    if (isTransientSdkError(info)) return new TransientError(`${what}; retry`, { cause: error });
    return new TerminalError(`${what}; ${terminalHint(info.name)}`, { cause: error });
  }

  private redact(text: string): string {
    return redactDataApiText(text, this.secretArn);
  }

  /** The first 200 characters of `sql`, redacted, on one line. */
  private snippet(sql: string): string {
    const flat = this.redact(sql).replace(/\s+/g, ' ').trim();
    return flat.length <= SQL_SNIPPET_LENGTH ? flat : `${flat.slice(0, SQL_SNIPPET_LENGTH)}…`;
  }
}

function requireId(id: string | undefined, operation: string): string {
  if (!id) throw new TransientError(`Redshift Data API ${operation} returned no statement id; retry`);
  return id;
}
