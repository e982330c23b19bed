/**
 * The local Redshift Data API (local/redshift-data-api) on PGlite, driven by the unchanged
 * production RedshiftDataWarehouse and raw SDK commands. Assertions read data back from the
 * backing warehouse; status tests use the hold/release faults, never sleeps.
 */
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  ListStatementsCommand,
  CancelStatementCommand,
  RedshiftDataClient,
  ValidationException,
  type DescribeStatementResponse,
} from '@aws-sdk/client-redshift-data';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { RedshiftDataWarehouse } from '../../lambdas/adapters/redshift-data-warehouse';
import { TerminalError, TransientError, WarehouseStatementError } from '../../lambdas/core/errors';
import type { AsyncStatements, Warehouse } from '../../lambdas/core/ports';
import { copyFromS3Parquet } from '../../lambdas/core/sql';
import { startLocalRedshiftDataApi, type LocalRedshiftDataApi } from '../../local/redshift-data-api/server';
import { MemoryObjectStore } from '../fixtures/memory-object-store';

const BUCKET = 'syncproof-local';
const COPY_ROLE = 'arn:aws:iam::000000000000:role/syncproof-local-copy';
const WRONG_ROLE = 'arn:aws:iam::000000000000:role/wrong';
const TARGET = { Database: 'dev', WorkgroupName: 'syncproof-local' } as const;

let objects: MemoryObjectStore;
let backing: Warehouse;
let api: LocalRedshiftDataApi;
let client: RedshiftDataClient;
let warehouse: RedshiftDataWarehouse;
const extraClients: RedshiftDataClient[] = [];

function dataApiWarehouse(c: RedshiftDataClient = client, database = 'dev'): RedshiftDataWarehouse {
  return new RedshiftDataWarehouse({ client: c, database, workgroupName: 'syncproof-local', pollIntervalMs: 5 });
}

/** A client for `server` that does not retry, so an injected fault reaches the adapter. */
function noRetryClient(server: LocalRedshiftDataApi = api): RedshiftDataClient {
  const c = server.client({ maxAttempts: 1 });
  extraClients.push(c);
  return c;
}

function statementsOf(wh: Warehouse): AsyncStatements {
  if (!wh.statements) throw new Error('expected asynchronous statements');
  return wh.statements;
}

/** Polls DescribeStatement until the statement has ended (no time-based assertion). */
async function ended(id: string, c: RedshiftDataClient = client): Promise<DescribeStatementResponse> {
  for (;;) {
    const d = await c.send(new DescribeStatementCommand({ Id: id }));
    if (d.Status === 'FINISHED' || d.Status === 'FAILED' || d.Status === 'ABORTED') return d;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rows(): Promise<unknown[]> {
  return backing.query('SELECT id, name FROM public.t ORDER BY id');
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  objects = new MemoryObjectStore(BUCKET);
  backing = await openPostgresWarehouse('pglite:memory', { objects });
  api = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [COPY_ROLE], resultPageSize: 2 });
  client = api.client();
  warehouse = dataApiWarehouse();
});

afterAll(async () => {
  await api?.stop();
  client?.destroy();
  for (const c of extraClients) c.destroy();
  await backing?.close();
});

beforeEach(async () => {
  api.faults.reset();
  await backing.executeTransaction(['DROP TABLE IF EXISTS public.t', 'CREATE TABLE public.t (id BIGINT, name VARCHAR(64))'], 'reset');
});

describe('local Redshift Data API: transactions', () => {
  it('commits a BatchExecuteStatement as one transaction and reads it back', async () => {
    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'one')", "INSERT INTO public.t VALUES (2, 'two')"], 'commit');

    expect(await rows()).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
  });

  it('rolls back every statement when one fails and names the failing index', async () => {
    const failing = caught(
      warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'one')", "UPDATE public.t SET name = 'x'", 'SELECT * FROM public.no_such_table'], 'fail'),
    );

    const error = await failing;
    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect(error).toMatchObject({ statementIndex: 2, message: expect.stringContaining('no_such_table') });
    expect(await rows()).toEqual([]);
  });

  it('reports sub-statements before the failure FINISHED, the failing one FAILED with a query id, and later ones ABORTED', async () => {
    const { Id } = await client.send(
      new BatchExecuteStatementCommand({ ...TARGET, Sqls: ["INSERT INTO public.t VALUES (1, 'one')", 'SELECT 1 / 0', "INSERT INTO public.t VALUES (2, 'two')"] }),
    );

    const described = await ended(Id!);

    expect(described.Status).toBe('FAILED');
    expect(described.Error).toMatch(/^ERROR: division by zero/);
    expect(described.SubStatements?.map((s) => [s.Id, s.Status])).toEqual([
      [`${Id}:1`, 'FINISHED'],
      [`${Id}:2`, 'FAILED'],
      [`${Id}:3`, 'ABORTED'],
    ]);
    expect(described.SubStatements?.[1]?.RedshiftQueryId).toEqual(expect.any(Number));
    expect(await rows()).toEqual([]);
  });

  it('runs a resubmission under the same ClientToken once and answers the same id', async () => {
    const input = { ...TARGET, Sqls: ["INSERT INTO public.t VALUES (1, 'once')"], ClientToken: 'token-once' };

    const first = await client.send(new BatchExecuteStatementCommand(input));
    await ended(first.Id!);
    const second = await client.send(new BatchExecuteStatementCommand(input));
    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'once')"], 'ld_once');
    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'once')"], 'ld_once');

    expect(second.Id).toBe(first.Id);
    expect(await backing.query('SELECT COUNT(*) AS n FROM public.t')).toEqual([{ n: 2 }]);
  });

  it('refuses 41 statements with ValidationException and runs none of them', async () => {
    const sqls = Array.from({ length: 41 }, (_, i) => `INSERT INTO public.t VALUES (${i}, 'x')`);

    const error = await caught(client.send(new BatchExecuteStatementCommand({ ...TARGET, Sqls: sqls })));

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as Error).message).toContain('40');
    expect(await rows()).toEqual([]);
  });

  it('refuses a statement over 100 KB with ValidationException and runs none of the batch', async () => {
    const big = `INSERT INTO public.t VALUES (2, '${'x'.repeat(100 * 1024)}')`;

    const batch = await caught(client.send(new BatchExecuteStatementCommand({ ...TARGET, Sqls: ["INSERT INTO public.t VALUES (1, 'small')", big] })));
    const single = await caught(client.send(new ExecuteStatementCommand({ ...TARGET, Sql: big })));

    expect(batch).toBeInstanceOf(ValidationException);
    expect((batch as Error).message).toContain('100 KB');
    expect(single).toBeInstanceOf(ValidationException);
    expect(await rows()).toEqual([]);
  });

  it('refuses a request that names neither a workgroup nor a cluster, saying so', async () => {
    const error = await caught(client.send(new BatchExecuteStatementCommand({ Database: 'dev', Sqls: ['SELECT 1'] })));

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as Error).message).toMatch(/ClusterIdentifier.*WorkgroupName.*neither/);
  });

  it('fails statements sent to a database the cluster does not have', async () => {
    const error = await caught(dataApiWarehouse(client, 'analytics').executeTransaction(["INSERT INTO public.t VALUES (1, 'x')"], 'db'));

    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect((error as Error).message).toContain('database "analytics" does not exist');
    expect(await rows()).toEqual([]);
  });
});

describe('local Redshift Data API: queries', () => {
  it('binds ExecuteStatement parameters as :name', async () => {
    await backing.executeTransaction(["INSERT INTO public.t VALUES (1, 'one')", "INSERT INTO public.t VALUES (2, 'two')"], 'seed');

    const found = await warehouse.query('SELECT id, name FROM public.t WHERE id = :id AND name = :name', { id: 2, name: 'two' });

    expect(found).toEqual([{ id: 2, name: 'two' }]);
  });

  it('pages GetStatementResult with NextToken, TotalNumRows on every page', async () => {
    await backing.executeTransaction([`INSERT INTO public.t SELECT g, 'n' || g FROM generate_series(1, 5) AS g`], 'seed');
    const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql: 'SELECT id, name FROM public.t ORDER BY id' }));
    await ended(Id!);

    const pages = [];
    let token: string | undefined;
    do {
      const page = await client.send(new GetStatementResultCommand({ Id, ...(token ? { NextToken: token } : {}) }));
      pages.push(page);
      token = page.NextToken;
    } while (token);

    expect(pages.map((p) => [p.Records?.length, p.TotalNumRows])).toEqual([
      [2, 5],
      [2, 5],
      [1, 5],
    ]);
    expect(pages[0]!.ColumnMetadata?.map((c) => [c.name, c.typeName])).toEqual([
      ['id', 'int8'],
      ['name', 'varchar'],
    ]);
    expect(pages.flatMap((p) => p.Records ?? []).map((r) => r[0]?.longValue)).toEqual([1, 2, 3, 4, 5]);
    expect(await warehouse.query('SELECT id FROM public.t ORDER BY id')).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
  });

  it('returns every column of a result, duplicate names included, typed as the Data API types them (numeric as exact text)', async () => {
    const sql =
      "SELECT 1 AS a, 2 AS a, SUM(x) AS total, CAST(2.5 AS DOUBLE PRECISION) AS f, TRUE AS b, CAST(7 AS SMALLINT) AS s, CAST('x' AS VARCHAR(4)) AS v " +
      'FROM (SELECT CAST(1.50 AS NUMERIC(10,2)) AS x UNION ALL SELECT CAST(2.25 AS NUMERIC(10,2))) AS t';
    const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql: sql }));
    await ended(Id!);

    const page = await client.send(new GetStatementResultCommand({ Id }));

    expect(page.ColumnMetadata?.map((c) => [c.name, c.typeName])).toEqual([
      ['a', 'int4'],
      ['a', 'int4'],
      ['total', 'numeric'],
      ['f', 'float8'],
      ['b', 'bool'],
      ['s', 'int2'],
      ['v', 'varchar'],
    ]);
    expect(page.Records).toEqual([[{ longValue: 1 }, { longValue: 2 }, { stringValue: '3.75' }, { doubleValue: 2.5 }, { booleanValue: true }, { longValue: 7 }, { stringValue: 'x' }]]);
    // The production adapter reads the numeric text back as a number (exact in a double).
    expect(await warehouse.query('SELECT SUM(x) AS total FROM (SELECT CAST(1.50 AS NUMERIC(10,2)) AS x UNION ALL SELECT CAST(2.25 AS NUMERIC(10,2))) AS t')).toEqual([{ total: 3.75 }]);
  });

  it('answers GetStatementResult of a statement without a result set with ValidationException', async () => {
    const { Id } = await client.send(new ExecuteStatementCommand({ ...TARGET, Sql: "INSERT INTO public.t VALUES (1, 'x')" }));
    await ended(Id!);

    await expect(client.send(new GetStatementResultCommand({ Id }))).rejects.toBeInstanceOf(ValidationException);
  });
});

describe('local Redshift Data API: statuses and cancellation', () => {
  let serial: LocalRedshiftDataApi;
  let serialClient: RedshiftDataClient;
  let serialWarehouse: RedshiftDataWarehouse;

  beforeAll(async () => {
    serial = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [COPY_ROLE], concurrency: 1 });
    serialClient = serial.client();
    serialWarehouse = dataApiWarehouse(serialClient);
  });

  afterAll(async () => {
    await serial?.stop();
    serialClient?.destroy();
  });

  beforeEach(() => serial.faults.reset());

  it('reports STARTED while a statement runs and SUBMITTED while one waits for a slot, then FINISHED', async () => {
    const held = serial.faults.holdNext('held-a');
    const a = await statementsOf(serialWarehouse).submitTransaction(["INSERT INTO public.t VALUES (1, 'held-a')"], 'status-a', 'status-a');
    await held.started;
    const b = await statementsOf(serialWarehouse).submitTransaction(["INSERT INTO public.t VALUES (2, 'queued-b')"], 'status-b', 'status-b');

    const whileHeld = [await serialClient.send(new DescribeStatementCommand({ Id: a })), await serialClient.send(new DescribeStatementCommand({ Id: b }))];
    const statesWhileHeld = [await statementsOf(serialWarehouse).describe(a), await statementsOf(serialWarehouse).describe(b)];
    expect(await rows()).toEqual([]);
    held.release();
    const done = [await ended(a, serialClient), await ended(b, serialClient)];

    expect(whileHeld.map((d) => d.Status)).toEqual(['STARTED', 'SUBMITTED']);
    expect(statesWhileHeld).toEqual([{ status: 'running' }, { status: 'running' }]);
    expect(done.map((d) => d.Status)).toEqual(['FINISHED', 'FINISHED']);
    expect(await rows()).toEqual([
      { id: 1, name: 'held-a' },
      { id: 2, name: 'queued-b' },
    ]);
  });

  it('aborts a held statement on CancelStatement; its rows never appear', async () => {
    const held = serial.faults.holdNext('cancel-me');
    const id = await statementsOf(serialWarehouse).submitTransaction(["INSERT INTO public.t VALUES (1, 'cancel-me')"], 'cancel', 'cancel');
    await held.started;

    const answer = await serialClient.send(new CancelStatementCommand({ Id: id }));
    const final = await ended(id, serialClient);
    held.release();

    expect(answer.Status).toBe(true);
    expect(final.Status).toBe('ABORTED');
    expect(await statementsOf(serialWarehouse).describe(id)).toEqual({ status: 'aborted' });
    expect(await rows()).toEqual([]);
  });

  it('aborts a statement still waiting for a slot on CancelStatement; it never runs', async () => {
    const held = serial.faults.holdNext('first');
    const first = await statementsOf(serialWarehouse).submitTransaction(["INSERT INTO public.t VALUES (1, 'first')"], 'q1', 'q1');
    await held.started;
    const queued = await statementsOf(serialWarehouse).submitTransaction(["INSERT INTO public.t VALUES (2, 'queued')"], 'q2', 'q2');

    await statementsOf(serialWarehouse).cancel(queued);
    held.release();
    await ended(first, serialClient);

    expect((await ended(queued, serialClient)).Status).toBe('ABORTED');
    expect(await rows()).toEqual([{ id: 1, name: 'first' }]);
  });

  it('answers CancelStatement of a finished statement with ValidationException, which the adapter treats as nothing to cancel', async () => {
    const id = await statementsOf(serialWarehouse).submitTransaction(['SELECT 1'], 'done', 'done');
    await ended(id, serialClient);

    const error = await caught(serialClient.send(new CancelStatementCommand({ Id: id })));

    expect(error).toBeInstanceOf(ValidationException);
    expect((error as Error).message).toContain('already in FINISHED state');
    await expect(statementsOf(serialWarehouse).cancel(id)).resolves.toBeUndefined();
  });

  it('reports an id it never issued as unknown', async () => {
    await expect(statementsOf(serialWarehouse).describe('00000000-0000-0000-0000-000000000000')).resolves.toEqual({ status: 'unknown' });
  });
});

describe('local Redshift Data API: ListStatements', () => {
  it('lists FINISHED statements by name prefix, newest first, and findByName picks the exact name even while it runs', async () => {
    const s = statementsOf(warehouse);
    const older = await s.submitTransaction(['SELECT 1'], 'l1', 'syncproof-list-a');
    await ended(older);
    const prefixed = await s.submitTransaction(['SELECT 2'], 'l2', 'syncproof-list-ab');
    await ended(prefixed);
    const held = api.faults.holdNext('SELECT 3');
    const running = await s.submitTransaction(['SELECT 3'], 'l3', 'syncproof-list-a');
    await held.started;

    const finishedOnly = await client.send(new ListStatementsCommand({ StatementName: 'syncproof-list-a' }));
    const all = await client.send(new ListStatementsCommand({ StatementName: 'syncproof-list-a', Status: 'ALL' }));
    const found = await s.findByName('syncproof-list-a');
    held.release();
    await ended(running);

    expect(finishedOnly.Statements?.map((x) => x.Id)).toEqual([prefixed, older]);
    expect(all.Statements?.map((x) => [x.Id, x.Status])).toEqual([
      [running, 'STARTED'],
      [prefixed, 'FINISHED'],
      [older, 'FINISHED'],
    ]);
    expect(found).toBe(running);
  });

  it('pages ListStatements with MaxResults and NextToken', async () => {
    const s = statementsOf(warehouse);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await s.submitTransaction([`SELECT ${i}`], `p${i}`, 'syncproof-page'));
    for (const id of ids) await ended(id);

    const first = await client.send(new ListStatementsCommand({ StatementName: 'syncproof-page', MaxResults: 2 }));
    const second = await client.send(new ListStatementsCommand({ StatementName: 'syncproof-page', MaxResults: 2, NextToken: first.NextToken }));

    expect(first.Statements?.map((x) => x.Id)).toEqual([ids[2], ids[1]]);
    expect(second.Statements?.map((x) => x.Id)).toEqual([ids[0]]);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('local Redshift Data API: COPY', () => {
  beforeAll(async () => {
    await objects.put(
      'data/t.parquet',
      encodeParquet([
        { name: 'id', type: 'INT64', data: [1n, 2n] },
        { name: 'name', type: 'STRING', data: ['a', 'b'] },
      ]),
    );
  });

  const copy = (iamRole: string) => copyFromS3Parquet({ table: '"public"."t"', bucket: BUCKET, key: 'data/t.parquet', iamRole });

  it('loads a Parquet object with a role the cluster may assume', async () => {
    await warehouse.executeTransaction([copy(COPY_ROLE)], 'copy-ok');

    expect(await rows()).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
  });

  it('fails a COPY naming another role, in Redshift words naming the role, and loads nothing', async () => {
    const error = await caught(warehouse.executeTransaction(["INSERT INTO public.t VALUES (9, 'before')", copy(WRONG_ROLE)], 'copy-wrong'));

    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect(error).toMatchObject({ statementIndex: 1 });
    expect((error as Error).message).toContain(
      `User arn:aws:redshift:us-east-1:000000000000:dbuser:syncproof-local/awsuser is not authorized to assume IAM Role ${WRONG_ROLE}`,
    );
    expect(await rows()).toEqual([]);
  });
});

describe('local Redshift Data API: faults', () => {
  it('loses the submit reply after the commit: the caller errs, but findByName shows it FINISHED and the rows are there once', async () => {
    api.faults.loseNextReply('BatchExecuteStatement');
    const impatient = statementsOf(dataApiWarehouse(noRetryClient()));

    const error = await caught(impatient.submitTransaction(["INSERT INTO public.t VALUES (1, 'lost')"], 'ld_lost', 'syncproof-ld_lost'));
    const id = await statementsOf(warehouse).findByName('syncproof-ld_lost');

    expect(error).toBeInstanceOf(TransientError);
    expect(id).toEqual(expect.any(String));
    expect(await statementsOf(warehouse).describe(id!)).toEqual({ status: 'finished' });
    expect(await rows()).toEqual([{ id: 1, name: 'lost' }]);
  });

  it("runs a transaction once when the SDK retries a submit whose reply was lost (same ClientToken)", async () => {
    api.faults.loseNextReply('BatchExecuteStatement');

    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'retried')"], 'ld_retried');

    expect(api.faults.armed()).toBe(0);
    expect(await rows()).toEqual([{ id: 1, name: 'retried' }]);
  });

  it('answers DescribeStatement with an error while the statement commits: the caller errs, a later describe shows FINISHED, the rows are there once', async () => {
    api.faults.failNextCalls('DescribeStatement', 1);
    const impatient = dataApiWarehouse(noRetryClient());

    const error = await caught(impatient.executeTransaction(["INSERT INTO public.t VALUES (1, 'described')"], 'ld_described'));
    const listed = await client.send(new ListStatementsCommand({ Status: 'ALL', MaxResults: 1 }));
    const id = listed.Statements![0]!.Id!;
    await ended(id);

    expect(error).toBeInstanceOf(TransientError);
    expect(api.faults.armed()).toBe(0);
    expect(await statementsOf(warehouse).describe(id)).toEqual({ status: 'finished' });
    expect(await rows()).toEqual([{ id: 1, name: 'described' }]);
  });

  it('fails the sub-statement at an injected index with the given message, rolling back the rest', async () => {
    api.faults.failNextStatement(1, 'injected failure');

    const error = await caught(warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'a')", "INSERT INTO public.t VALUES (2, 'b')", 'SELECT 1'], 'inj'));

    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect(error).toMatchObject({ statementIndex: 1, message: expect.stringContaining('ERROR: injected failure') });
    expect(await rows()).toEqual([]);
  });

  it('commits a transaction once when its first submission failed on a concurrent transaction: the adapter resubmits under a new ClientToken', async () => {
    api.faults.failNextStatement(0, 'could not complete because of conflict with concurrent transaction', 'conflicted');

    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'conflicted')"], 'ld_conflict');
    await warehouse.executeTransaction(["INSERT INTO public.t VALUES (1, 'conflicted')"], 'ld_conflict');
    const listed = await client.send(new ListStatementsCommand({ Status: 'ALL', MaxResults: 2 }));

    expect(listed.Statements?.map((x) => x.Status)).toEqual(['FINISHED', 'FAILED']);
    expect(await rows()).toEqual([{ id: 1, name: 'conflicted' }]);
  });

  it('throttles the next calls with ThrottlingException, which the adapter raises as TransientError', async () => {
    api.faults.throttle(1);

    const error = await caught(dataApiWarehouse(noRetryClient()).query('SELECT 1 AS one'));

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('ThrottlingException');
    expect(error).not.toBeInstanceOf(TerminalError);
  });
});

/** Wraps the backing warehouse so each transaction waits, once started, until the test opens the gate. */
class GatedWarehouse implements Warehouse {
  private readonly waiting: (() => void)[] = [];
  private readonly watchers: { count: number; resolve: () => void }[] = [];
  private opened = false;
  entered = 0;

  constructor(private readonly inner: Warehouse) {}

  async executeTransaction(statements: readonly string[], clientToken: string): Promise<void> {
    this.entered += 1;
    for (const w of this.watchers.filter((x) => this.entered >= x.count)) w.resolve();
    if (!this.opened) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.inner.executeTransaction(statements, clientToken);
  }

  query: Warehouse['query'] = (sql, params) => this.inner.query(sql, params);

  async close(): Promise<void> {}

  /** Resolves once `count` transactions are executing (waiting at the gate). */
  whenEntered(count: number): Promise<void> {
    if (this.entered >= count) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ count, resolve }));
  }

  open(): void {
    this.opened = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

describe('local Redshift Data API: execution', () => {
  const servers: LocalRedshiftDataApi[] = [];
  const clients: RedshiftDataClient[] = [];

  async function serve(options: Partial<Parameters<typeof startLocalRedshiftDataApi>[0]> = {}) {
    const server = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [COPY_ROLE], ...options });
    servers.push(server);
    const c = server.client({ maxAttempts: 1 });
    clients.push(c);
    return { server, client: c, warehouse: dataApiWarehouse(c) };
  }

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    for (const c of clients.splice(0)) c.destroy();
  });

  it('executes statements concurrently up to its concurrency; the next one waits SUBMITTED until a slot frees', async () => {
    const gated = new GatedWarehouse(backing);
    const { client: c, warehouse: wh } = await serve({ warehouse: gated, concurrency: 2 });
    const ids = [];
    for (let i = 1; i <= 3; i++) ids.push(await statementsOf(wh).submitTransaction([`INSERT INTO public.t VALUES (${i}, 'c')`], `c${i}`, `c${i}`));

    await gated.whenEntered(2);
    const whileGated = [];
    for (const id of ids) whileGated.push((await c.send(new DescribeStatementCommand({ Id: id }))).Status);
    gated.open();
    for (const id of ids) await ended(id, c);

    expect(whileGated).toEqual(['STARTED', 'STARTED', 'SUBMITTED']);
    expect(gated.entered).toBe(3);
    expect(await backing.query('SELECT COUNT(*) AS n FROM public.t')).toEqual([{ n: 3 }]);
  });

  it('accepts CancelStatement of a statement already executing and reports it FINISHED once the warehouse committed it', async () => {
    const gated = new GatedWarehouse(backing);
    const { client: c, warehouse: wh } = await serve({ warehouse: gated });
    const id = await statementsOf(wh).submitTransaction(["INSERT INTO public.t VALUES (1, 'committed')"], 'late-cancel', 'late-cancel');
    await gated.whenEntered(1);

    const answer = await c.send(new CancelStatementCommand({ Id: id }));
    gated.open();

    expect(answer.Status).toBe(true);
    expect((await ended(id, c)).Status).toBe('FINISHED');
    expect(await rows()).toEqual([{ id: 1, name: 'committed' }]);
  });

  it('forgets a ClientToken after 8 hours: the same token then submits, and runs, a new statement', async () => {
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const { client: c } = await serve({ now: () => new Date(clock) });
    const input = { ...TARGET, Sqls: ["INSERT INTO public.t VALUES (1, 'again')"], ClientToken: 'token-8h' };

    const first = await c.send(new BatchExecuteStatementCommand(input));
    await ended(first.Id!, c);
    clock += 8 * 60 * 60 * 1000 - 1;
    const within = await c.send(new BatchExecuteStatementCommand(input));
    clock += 2;
    const after = await c.send(new BatchExecuteStatementCommand(input));
    await ended(after.Id!, c);

    expect(within.Id).toBe(first.Id);
    expect(after.Id).not.toBe(first.Id);
    expect(await backing.query('SELECT COUNT(*) AS n FROM public.t')).toEqual([{ n: 2 }]);
  });

  it('refuses a submit beyond its active statements with ActiveStatementsExceededException, which the adapter raises as TransientError', async () => {
    const { server, warehouse: wh } = await serve({ maxActiveStatements: 1 });
    const held = server.faults.holdNext();
    await statementsOf(wh).submitTransaction(["INSERT INTO public.t VALUES (1, 'active')"], 'a1', 'a1');
    await held.started;

    const error = await caught(statementsOf(wh).submitTransaction(["INSERT INTO public.t VALUES (2, 'refused')"], 'a2', 'a2'));
    held.release();

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('ActiveStatementsExceededException');
  });

  it('lets a statement held for some milliseconds run once they have passed', async () => {
    const { server, client: c, warehouse: wh } = await serve();
    const held = server.faults.holdNext('delayed', { ms: 20 });
    const id = await statementsOf(wh).submitTransaction(["INSERT INTO public.t VALUES (1, 'delayed')"], 'delayed', 'delayed');

    await held.started;

    expect((await ended(id, c)).Status).toBe('FINISHED');
    expect(await rows()).toEqual([{ id: 1, name: 'delayed' }]);
  });
});
