/**
 * A local Redshift Data API endpoint (DESIGN.md §4, §7) over any Warehouse (PGlite or a
 * PostgreSQL server, opened by the caller), so that the unchanged production
 * RedshiftDataWarehouse and `RedshiftDataClient({ endpoint })` run against it. It matches AWS
 * where correctness depends on it: submits return an id at once and statements run afterwards,
 * up to `concurrency` at a time; one BatchExecuteStatement is one transaction; a ClientToken names
 * the same statement for 8 hours (no second execution); 40 statements / 100 KB per statement;
 * a COPY may assume only the cluster's roles; ListStatements lists FINISHED statements unless
 * asked otherwise, names matched by prefix, newest first. Faults are off until a test arms them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedshiftDataClient, type RedshiftDataClientConfig } from '@aws-sdk/client-redshift-data';
import type { Warehouse } from '../../lambdas/core/ports';
import { StatementExecutor } from './executor';
import { LocalDataApiFaults } from './faults';
import { DataApiError, operationOf, readJsonBody, sendError, sendResult, type Operation } from './protocol';
import { idOf, listRequestOf, submissionOf } from './requests';
import { offsetOfToken, resultPage } from './results';
import { StatementStore, describeStatement, statementData, type StatementRecord, type StatementTarget } from './statements';

/** Options of {@link startLocalRedshiftDataApi}. */
export interface LocalRedshiftDataApiOptions {
  /** Where statements run; opened and closed by the caller (after `stop`). */
  readonly warehouse: Warehouse;
  /** IAM role ARNs the local "cluster" may assume for COPY (the first is `IAM_ROLE default`). */
  readonly copyRoles: readonly string[];
  /** TCP port on 127.0.0.1. @default 0 (a free port chosen at start) */
  readonly port?: number;
  /** Statements executing at once; later ones stay SUBMITTED until a slot frees. @default 8 */
  readonly concurrency?: number;
  /** The database name requests must give (the backing warehouse is this one database). @default 'dev' */
  readonly database?: string;
  /** Region and account in ARNs of error texts. @default 'us-east-1', '000000000000' */
  readonly region?: string;
  readonly account?: string;
  /** Rows per GetStatementResult page. @default 1000 */
  readonly resultPageSize?: number;
  /** SUBMITTED or STARTED statements beyond which submits answer ActiveStatementsExceededException. @default 200 */
  readonly maxActiveStatements?: number;
  /** Result sets kept (the oldest beyond are dropped, as if expired). @default 500 */
  readonly retainResults?: number;
  /** Clock for CreatedAt/UpdatedAt and ClientToken expiry. @default the system clock */
  readonly now?: () => Date;
  /**
   * Decides each call as IAM would (the local runtime's check against the synthesized roles);
   * throws a {@link DataApiCallDenied} for a call AWS would deny. With it, ListStatements lists
   * only the caller's statements (the Data API's RoleLevel). @default every call allowed
   */
  readonly authorize?: (call: DataApiCall) => Promise<void>;
}

/** One Data API call, as IAM sees it. */
export interface DataApiCall {
  /** The caller's access key id (from the request's SigV4 Authorization header). */
  readonly accessKeyId: string;
  readonly operation: Operation;
  /** For submits: where the statement runs and which credentials it asks for. */
  readonly target?: StatementTarget;
  /** For calls on a statement (and ListStatements: the caller): who submitted it. */
  readonly owner?: string;
}

/** A call the authorizer denies: answered as AccessDeniedException with this text. */
export class DataApiCallDenied extends Error {}

/** The access key id a SigV4-signed request names (`Credential=<id>/<date>/…`); '' when unsigned. */
export function accessKeyOf(request: IncomingMessage): string {
  return /Credential=([^/,\s]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
}

/** A running local Data API. */
export interface LocalRedshiftDataApi {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** A client for this endpoint (region and dummy credentials set; `config` overrides, e.g. maxAttempts). */
  client(config?: Partial<RedshiftDataClientConfig>): RedshiftDataClient;
  /** Fault injection; everything is off until armed. */
  readonly faults: LocalDataApiFaults;
  /** Submissions accepted so far (ClientToken replays excluded) and the SQL statements they held. */
  stats(): { readonly submissions: number; readonly sqlStatements: number };
  /** Stops listening, aborts queued and held statements, and waits for executing ones to end. */
  stop(): Promise<void>;
}

/** The submit reply was deliberately lost (the connection is already destroyed). */
const LOST = Symbol('lost reply');

/** Starts the endpoint on 127.0.0.1; resolves once it accepts requests. */
export async function startLocalRedshiftDataApi(options: LocalRedshiftDataApiOptions): Promise<LocalRedshiftDataApi> {
  const now = options.now ?? (() => new Date());
  const region = options.region ?? 'us-east-1';
  const pageSize = options.resultPageSize ?? 1000;
  const maxActive = options.maxActiveStatements ?? 200;
  const store = new StatementStore(now, options.retainResults ?? 500);
  const faults = new LocalDataApiFaults();
  const executor = new StatementExecutor({
    warehouse: options.warehouse,
    store,
    faults,
    concurrency: options.concurrency ?? 8,
    copyRoles: options.copyRoles,
    database: options.database ?? 'dev',
    region,
    account: options.account ?? '000000000000',
    now,
  });

  async function authorize(call: DataApiCall): Promise<void> {
    try {
      await options.authorize?.(call);
    } catch (error) {
      if (error instanceof DataApiCallDenied) throw new DataApiError('AccessDeniedException', error.message);
      throw error;
    }
  }

  /** The statement `body.Id` names, once the caller may see it. */
  async function statementFor(operation: Operation, body: Record<string, unknown>, caller: string): Promise<ReturnType<StatementStore['find']>> {
    const found = store.find(idOf(body));
    await authorize({ accessKeyId: caller, operation, owner: found.record.owner ?? caller });
    return found;
  }

  async function submit(batch: boolean, operation: Operation, body: Record<string, unknown>, request: IncomingMessage, caller: string): Promise<unknown> {
    const submission = { ...submissionOf(batch, body), owner: caller };
    await authorize({ accessKeyId: caller, operation, target: submission.target });
    const existing = store.byClientToken(submission.clientToken);
    if (!existing && store.active() >= maxActive) {
      throw new DataApiError('ActiveStatementsExceededException', `The number of active statements exceeds the limit of ${maxActive}; retry later`);
    }
    const record = existing ?? store.create(submission);
    if (!existing) {
      executor.submit(record);
      if (faults.takeLostReply(operation, submission.sqls)) {
        await executor.whenEnded(record.id);
        request.socket.destroy();
        return LOST;
      }
    }
    return {
      Id: record.id,
      CreatedAt: record.createdAt,
      Database: record.target.database,
      ...(record.target.workgroupName ? { WorkgroupName: record.target.workgroupName } : {}),
      ...(record.target.clusterIdentifier ? { ClusterIdentifier: record.target.clusterIdentifier } : {}),
      ...(record.target.dbUser ? { DbUser: record.target.dbUser } : {}),
    };
  }

  async function getResult(body: Record<string, unknown>, caller: string): Promise<unknown> {
    const id = idOf(body);
    const { record, sub } = await statementFor('GetStatementResult', body, caller);
    if (sub || record.batch) {
      throw new DataApiError(
        'ValidationException',
        'Query does not have result. The local Redshift Data API keeps no result sets of batch statements; run a SELECT with ExecuteStatement',
      );
    }
    if (record.status !== 'FINISHED') {
      throw new DataApiError('ValidationException', `Query does not have result: its status is ${record.status}. Poll DescribeStatement until it is FINISHED`);
    }
    if (!record.hasResultSet) throw new DataApiError('ValidationException', 'Query does not have result. Please check query status with DescribeStatement.');
    if (!record.result) throw new DataApiError('ResourceNotFoundException', `Query result of ${id} has expired`, { ResourceId: id });
    const token = typeof body.NextToken === 'string' && body.NextToken ? body.NextToken : undefined;
    const offset = token === undefined ? 0 : offsetOfToken(record.id, token);
    if (offset === undefined) throw new DataApiError('ValidationException', 'NextToken is not a token of this statement');
    return resultPage(record.id, record.result, offset, pageSize);
  }

  async function list(body: Record<string, unknown>, caller: string): Promise<unknown> {
    const q = listRequestOf(body);
    await authorize({ accessKeyId: caller, operation: 'ListStatements', owner: caller });
    // RoleLevel: the Data API lists the statements the caller's role ran, no one else's.
    const visible = (r: StatementRecord): boolean => options.authorize === undefined || r.owner === caller;
    let cursor = Number.POSITIVE_INFINITY;
    if (q.nextToken !== undefined) {
      const parsed = Number(Buffer.from(q.nextToken, 'base64url').toString('utf8'));
      if (!Number.isSafeInteger(parsed)) throw new DataApiError('ValidationException', 'NextToken is not a ListStatements token');
      cursor = parsed;
    }
    const matching = store
      .newestFirst()
      .filter(
        (r) =>
          r.seq < cursor &&
          visible(r) &&
          (q.name === undefined || (r.name ?? '').startsWith(q.name)) &&
          (q.status === 'ALL' || r.status === q.status) &&
          (q.database === undefined || r.target.database === q.database) &&
          (q.workgroupName === undefined || r.target.workgroupName === q.workgroupName) &&
          (q.clusterIdentifier === undefined || r.target.clusterIdentifier === q.clusterIdentifier),
      );
    const page = matching.slice(0, q.maxResults);
    const more = matching.length > page.length;
    return {
      Statements: page.map(statementData),
      ...(more ? { NextToken: Buffer.from(String(page.at(-1)!.seq), 'utf8').toString('base64url') } : {}),
    };
  }

  async function dispatch(operation: Operation, body: Record<string, unknown>, request: IncomingMessage): Promise<unknown> {
    const caller = accessKeyOf(request);
    switch (operation) {
      case 'BatchExecuteStatement':
        return submit(true, operation, body, request, caller);
      case 'ExecuteStatement':
        return submit(false, operation, body, request, caller);
      case 'DescribeStatement': {
        const { record, sub } = await statementFor(operation, body, caller);
        return describeStatement(record, sub);
      }
      case 'GetStatementResult':
        return getResult(body, caller);
      case 'CancelStatement': {
        const id = idOf(body);
        const { record, sub } = await statementFor(operation, body, caller);
        if (sub) throw new DataApiError('ValidationException', `${id} is a sub-statement; cancel its batch ${record.id}`);
        executor.cancel(record);
        return { Status: true };
      }
      case 'ListStatements':
        return list(body, caller);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const operation = operationOf(request);
      const body = await readJsonBody(request);
      const injected = faults.takeCallFailure(operation);
      if (injected) throw injected;
      const result = await dispatch(operation, body, request);
      if (result !== LOST) sendResult(response, requestId, result);
    } catch (error) {
      const answer =
        error instanceof DataApiError
          ? error
          : new DataApiError('InternalServerException', `the local Redshift Data API failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent && !response.destroyed) sendError(response, requestId, answer);
    }
  }

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    faults,
    stats: () => ({ ...store.counts }),
    client: (config = {}) =>
      new RedshiftDataClient({
        endpoint,
        region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        ...config,
      }),
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await executor.stop();
        await closed;
      })()),
  };
}
