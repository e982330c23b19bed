import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  ListStatementsCommand,
  RedshiftDataClient,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { withInvocationMetrics } from '../../lambdas/adapters/invocation-metrics';
import { RedshiftDataWarehouse, type RedshiftDataWarehouseOptions } from '../../lambdas/adapters/redshift-data-warehouse';
import { ConfigurationError, TerminalError, TransientError, WarehouseStatementError } from '../../lambdas/core/errors';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:syncproof-redshift-AbCdEf';
const BATCH_ID = '11111111-2222-3333-4444-555555555555';
const QUERY_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

const rd = mockClient(RedshiftDataClient);
const client = new RedshiftDataClient({ region: 'eu-west-1' });
const sleep = jest.fn((_ms: number) => Promise.resolve());

function warehouse(overrides: Partial<RedshiftDataWarehouseOptions> = {}): RedshiftDataWarehouse {
  return new RedshiftDataWarehouse({ client, database: 'analytics', workgroupName: 'syncproof-wg', sleep, ...overrides });
}

/** An SDK-style error as the client's deserializer or Node's socket would throw it. */
function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: {}, ...extra });
}

function batchInput(call = 0) {
  return rd.commandCalls(BatchExecuteStatementCommand)[call]!.args[0].input;
}

function executeInput(call = 0) {
  return rd.commandCalls(ExecuteStatementCommand)[call]!.args[0].input;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  rd.reset();
  sleep.mockClear();
});

describe('RedshiftDataWarehouse options', () => {
  it('rejects options that name both a workgroup and a cluster', () => {
    expect(() => warehouse({ clusterIdentifier: 'syncproof-cluster' })).toThrow(ConfigurationError);
  });

  it('rejects options that name neither a workgroup nor a cluster', () => {
    expect(() => warehouse({ workgroupName: undefined })).toThrow(ConfigurationError);
  });
});

describe('RedshiftDataWarehouse.executeTransaction', () => {
  const statements = ['CREATE TEMP TABLE "s" (LIKE "public"."orders")', 'INSERT INTO "public"."orders" SELECT * FROM "s"', 'DROP TABLE "s"'];

  beforeEach(() => {
    rd.on(BatchExecuteStatementCommand).resolves({ Id: BATCH_ID });
    rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: 'FINISHED' });
  });

  it('sends one BatchExecuteStatement with the exact statements, client token, database and workgroup', async () => {
    await warehouse().executeTransaction(statements, 'ld_abc');

    expect(rd).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 1);
    expect(batchInput()).toEqual({
      Sqls: statements,
      ClientToken: expect.stringMatching(/^ld_abc-[0-9a-f]{32}$/),
      Database: 'analytics',
      WorkgroupName: 'syncproof-wg',
    });
  });

  it('sends ClusterIdentifier, DbUser and SecretArn instead of a workgroup for a provisioned cluster', async () => {
    await warehouse({ workgroupName: undefined, clusterIdentifier: 'syncproof-cluster', dbUser: 'loader', secretArn: SECRET_ARN }).executeTransaction(
      statements,
      'ld_abc',
    );

    expect(batchInput()).toEqual({
      Sqls: statements,
      ClientToken: expect.stringMatching(/^ld_abc-[0-9a-f]{32}$/),
      Database: 'analytics',
      ClusterIdentifier: 'syncproof-cluster',
      DbUser: 'loader',
      SecretArn: SECRET_ARN,
    });
  });

  it('polls DescribeStatement with the returned id, first soon after the submit, then backing off to the poll interval, until FINISHED', async () => {
    rd.on(DescribeStatementCommand)
      .resolvesOnce({ Id: BATCH_ID, Status: 'SUBMITTED' })
      .resolvesOnce({ Id: BATCH_ID, Status: 'STARTED' })
      .resolvesOnce({ Id: BATCH_ID, Status: 'STARTED' })
      .resolvesOnce({ Id: BATCH_ID, Status: 'STARTED' })
      .resolves({ Id: BATCH_ID, Status: 'FINISHED' });

    await warehouse({ pollIntervalMs: 250, firstPollMs: 40 }).executeTransaction(statements, 'ld_abc');

    expect(rd).toHaveReceivedCommandTimes(DescribeStatementCommand, 5);
    for (const call of rd.commandCalls(DescribeStatementCommand)) expect(call.args[0].input).toEqual({ Id: BATCH_ID });
    expect(sleep.mock.calls).toEqual([[40], [80], [160], [250], [250]]);
  });

  it('waits 50 ms before the first DescribeStatement poll by default, never longer than the poll interval', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: 'FINISHED' });

    await warehouse({ pollIntervalMs: 250 }).executeTransaction(statements, 'ld_abc');
    await warehouse({ pollIntervalMs: 20 }).executeTransaction(statements, 'ld_def');

    expect(sleep.mock.calls).toEqual([[50], [20]]);
  });

  it('sends the same ClientToken when the same batch is resubmitted under the same token', async () => {
    const wh = warehouse();

    await wh.executeTransaction(statements, 'ld_abc');
    await wh.executeTransaction([...statements], 'ld_abc');

    expect(batchInput(1).ClientToken).toBe(batchInput(0).ClientToken);
  });

  it('sends a different ClientToken when a different batch is submitted under the same token', async () => {
    const wh = warehouse();

    await wh.executeTransaction(statements, 'ld_abc');
    await wh.executeTransaction(statements.slice(1), 'ld_abc');

    expect(batchInput(1).ClientToken).not.toBe(batchInput(0).ClientToken);
  });

  it('keeps the ClientToken within the Data API limit of 64 characters for a long token', async () => {
    await warehouse().executeTransaction(statements, 'x'.repeat(100));

    expect(batchInput().ClientToken!.length).toBeLessThanOrEqual(64);
  });

  it('does not call the Data API for an empty list of statements', async () => {
    await warehouse().executeTransaction([], 'ld_abc');

    expect(rd).not.toHaveReceivedAnyCommand();
  });

  it('rejects more than 40 statements with TerminalError before calling the Data API', async () => {
    const error = await caught(warehouse().executeTransaction(Array.from({ length: 41 }, (_, i) => `SELECT ${i}`), 'ld_abc'));

    expect(error).toBeInstanceOf(TerminalError);
    expect(rd).not.toHaveReceivedAnyCommand();
  });

  describe('when Redshift reports the batch FAILED', () => {
    const redshiftError = `ERROR: relation "public.orders" does not exist (secret ${SECRET_ARN})`;

    beforeEach(() => {
      rd.on(DescribeStatementCommand).resolves({
        Id: BATCH_ID,
        Status: 'FAILED',
        Error: redshiftError,
        SubStatements: [
          { Id: `${BATCH_ID}:1`, Status: 'FINISHED', RedshiftQueryId: 700 },
          { Id: `${BATCH_ID}:2`, Status: 'FAILED', Error: redshiftError, RedshiftQueryId: 701 },
          { Id: `${BATCH_ID}:3`, Status: 'ABORTED' },
        ],
      });
    });

    it("carries the failing sub-statement's RedshiftQueryId as queryId", async () => {
      const error = await caught(warehouse().executeTransaction(statements, 'ld_abc'));

      expect((error as WarehouseStatementError).queryId).toBe(701);
    });

    it('throws WarehouseStatementError with the zero-based index of the failing sub-statement', async () => {
      const error = await caught(warehouse({ secretArn: SECRET_ARN }).executeTransaction(statements, 'ld_abc'));

      expect(error).toBeInstanceOf(WarehouseStatementError);
      expect((error as WarehouseStatementError).statementIndex).toBe(1);
    });

    it("puts Redshift's error text and the failing SQL in the message", async () => {
      const error = (await caught(warehouse({ secretArn: SECRET_ARN }).executeTransaction(statements, 'ld_abc'))) as Error;

      expect(error.message).toContain('ERROR: relation "public.orders" does not exist');
      expect(error.message).toContain(statements[1]);
    });

    it('does not put the secret ARN in the message', async () => {
      const error = (await caught(warehouse({ secretArn: SECRET_ARN }).executeTransaction(statements, 'ld_abc'))) as Error;

      expect(error.message).not.toContain(SECRET_ARN);
    });

    it('quotes at most about 200 characters of the failing SQL', async () => {
      const longInsert = `INSERT INTO "public"."orders" SELECT ${'1234567890, '.repeat(50)}0 FROM "s"`;

      const error = (await caught(warehouse().executeTransaction([statements[0]!, longInsert], 'ld_abc'))) as Error;

      expect(error.message).toContain(longInsert.slice(0, 200));
      expect(error.message).not.toContain(longInsert.slice(0, 202));
    });
  });

  it.each([
    'ERROR: 1023 DETAIL: Serializable isolation violation on table - 100123, transactions forming the cycle are: 4410, 4412 (pid:1073)',
    'ERROR: could not complete because of conflict with concurrent transaction',
  ])('throws TransientError, not a statement error, when the batch FAILED with %s', async (redshiftError) => {
    rd.on(DescribeStatementCommand).resolves({
      Id: BATCH_ID,
      Status: 'FAILED',
      Error: redshiftError,
      SubStatements: [{ Id: `${BATCH_ID}:1`, Status: 'FAILED', Error: redshiftError }],
    });

    const error = await caught(warehouse().executeTransaction(statements, 'ld_abc'));

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(redshiftError);
  });

  describe('when the batch FAILED transiently (rolled back; the Data API would answer its ClientToken with the same failure)', () => {
    const conflict = 'ERROR: could not complete because of conflict with concurrent transaction';
    const failed = (id: string) => ({ Id: id, Status: 'FAILED' as const, Error: conflict, SubStatements: [{ Id: `${id}:1`, Status: 'FAILED' as const, Error: conflict }] });

    it('resubmits it under the next ClientToken generation and resolves once that one FINISHED', async () => {
      rd.on(BatchExecuteStatementCommand).resolvesOnce({ Id: 'first', CreatedAt: new Date() }).resolves({ Id: 'second', CreatedAt: new Date() });
      rd.on(DescribeStatementCommand, { Id: 'first' }).resolves(failed('first'));
      rd.on(DescribeStatementCommand, { Id: 'second' }).resolves({ Id: 'second', Status: 'FINISHED' });

      await warehouse().executeTransaction(statements, 'ld_abc');

      expect(rd).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 2);
      expect(batchInput(0).ClientToken).toMatch(/^ld_abc-[0-9a-f]{32}$/);
      expect(batchInput(1).ClientToken).toMatch(/^ld_abc-[0-9a-f]{32}$/);
      expect(batchInput(1).ClientToken).not.toBe(batchInput(0).ClientToken);
      expect(batchInput(1).Sqls).toEqual(statements);
    });

    it("counts the resubmission in the invocation's Retries and both submissions in its DataApiStatements", async () => {
      rd.on(BatchExecuteStatementCommand).resolvesOnce({ Id: 'first', CreatedAt: new Date() }).resolves({ Id: 'second', CreatedAt: new Date() });
      rd.on(DescribeStatementCommand, { Id: 'first' }).resolves(failed('first'));
      rd.on(DescribeStatementCommand, { Id: 'second' }).resolves({ Id: 'second', Status: 'FINISHED' });
      const counted: Record<string, number> = {};
      const sink = { add: (name: string, value: number) => void (counted[name] = (counted[name] ?? 0) + value) };

      await withInvocationMetrics(sink, () => warehouse().executeTransaction(statements, 'ld_abc'));

      expect(counted).toEqual({ DataApiStatements: 2, Retries: 1 });
    });

    it('walks past generations whose statements failed before this call without counting them, and stops at the one that FINISHED', async () => {
      const old = new Date(Date.now() - 60_000);
      const batch = rd.on(BatchExecuteStatementCommand);
      for (let g = 0; g < 5; g++) batch.resolvesOnce({ Id: `old-${g}`, CreatedAt: old });
      batch.resolves({ Id: 'done', CreatedAt: old });
      for (let g = 0; g < 5; g++) rd.on(DescribeStatementCommand, { Id: `old-${g}` }).resolves(failed(`old-${g}`));
      rd.on(DescribeStatementCommand, { Id: 'done' }).resolves({ Id: 'done', Status: 'FINISHED' });

      await warehouse().executeTransaction(statements, 'ld_abc');

      expect(rd).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 6);
      expect(new Set(rd.commandCalls(BatchExecuteStatementCommand).map((c) => c.args[0].input.ClientToken)).size).toBe(6);
    });

    it('gives up with TransientError after 3 transient failures of statements it submitted itself', async () => {
      let n = 0;
      rd.on(BatchExecuteStatementCommand).callsFake(() => Promise.resolve({ Id: `fresh-${++n}`, CreatedAt: new Date() }));
      rd.on(DescribeStatementCommand).callsFake((input: { Id: string }) => Promise.resolve(failed(input.Id)));

      const error = await caught(warehouse().executeTransaction(statements, 'ld_abc'));

      expect(error).toBeInstanceOf(TransientError);
      expect(rd).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 3);
    });
  });

  it('does not resubmit a batch that FAILED on a statement error', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: 'FAILED', Error: 'ERROR: syntax error', SubStatements: [{ Id: `${BATCH_ID}:1`, Status: 'FAILED', Error: 'ERROR: syntax error' }] });

    await expect(warehouse().executeTransaction(statements, 'ld_abc')).rejects.toBeInstanceOf(WarehouseStatementError);
    expect(rd).toHaveReceivedCommandTimes(BatchExecuteStatementCommand, 1);
  });

  it('throws TerminalError, not a statement error, when the batch is ABORTED', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: 'ABORTED' });

    const error = await caught(warehouse().executeTransaction(statements, 'ld_abc'));

    expect(error).toBeInstanceOf(TerminalError);
    expect(error).not.toBeInstanceOf(WarehouseStatementError);
    expect((error as Error).message).toContain(BATCH_ID);
  });

  it('gives up polling after timeoutMs with TransientError naming the statement id', async () => {
    const started = { Id: BATCH_ID, Status: 'STARTED' } as const;
    rd.on(DescribeStatementCommand)
      .resolvesOnce(started)
      .resolvesOnce(started)
      .resolvesOnce(started)
      .resolvesOnce(started)
      .rejects(new Error('polled past the timeout'));

    const error = await caught(warehouse({ pollIntervalMs: 500, firstPollMs: 500, timeoutMs: 2000 }).executeTransaction(statements, 'ld_abc'));

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(BATCH_ID);
    expect(rd).toHaveReceivedCommandTimes(DescribeStatementCommand, 4);
  });
});

describe('RedshiftDataWarehouse.query', () => {
  beforeEach(() => {
    rd.on(ExecuteStatementCommand).resolves({ Id: QUERY_ID });
    rd.on(DescribeStatementCommand).resolves({ Id: QUERY_ID, Status: 'FINISHED', HasResultSet: true });
    rd.on(GetStatementResultCommand).resolves({ Records: [] });
  });

  it('sends ExecuteStatement with the SQL and string, number and boolean parameters as Data API strings', async () => {
    const sql = 'SELECT 1 FROM t WHERE load_id = :loadId AND n > :n AND ok = :ok';

    await warehouse({ secretArn: SECRET_ARN }).query(sql, { loadId: 'ld_1', n: 2.5, ok: false });

    expect(rd).toHaveReceivedCommandTimes(ExecuteStatementCommand, 1);
    expect(executeInput()).toEqual({
      Sql: sql,
      Parameters: [
        { name: 'loadId', value: 'ld_1' },
        { name: 'n', value: '2.5' },
        { name: 'ok', value: 'false' },
      ],
      Database: 'analytics',
      WorkgroupName: 'syncproof-wg',
      SecretArn: SECRET_ARN,
    });
  });

  it('writes null and empty-string parameters into the SQL, because the Data API accepts neither', async () => {
    await warehouse().query('SELECT 1 FROM t WHERE a = :a AND b IS NOT DISTINCT FROM :b AND c = :c', { a: '', b: null, c: 'x' });

    expect(executeInput()).toEqual(
      expect.objectContaining({
        Sql: "SELECT 1 FROM t WHERE a = '' AND b IS NOT DISTINCT FROM NULL AND c = :c",
        Parameters: [{ name: 'c', value: 'x' }],
      }),
    );
  });

  it('sends no Parameters field when no parameter is left to send', async () => {
    await warehouse().query('SELECT COUNT(*) AS total FROM t WHERE a IS :a', { a: null });

    expect(executeInput()).not.toHaveProperty('Parameters');
  });

  it('sends each parameter once however often the SQL names it', async () => {
    await warehouse().query('SELECT :id AS a, :id AS b', { id: 7 });

    expect(executeInput().Parameters).toEqual([{ name: 'id', value: '7' }]);
  });

  it('leaves :name inside string literals, quoted identifiers, comments and ::casts alone', async () => {
    const sql = `SELECT ':a' AS "x:a", :b::text -- :a\nFROM t /* :a */`;

    await warehouse().query(sql, { b: null });

    expect(executeInput().Sql).toBe(`SELECT ':a' AS "x:a", NULL::text -- :a\nFROM t /* :a */`);
  });

  it('rejects a :name without a value with TerminalError before calling the Data API', async () => {
    const error = await caught(warehouse().query('SELECT * FROM t WHERE a = :missing', {}));

    expect(error).toBeInstanceOf(TerminalError);
    expect((error as Error).message).toContain(':missing');
    expect(rd).not.toHaveReceivedAnyCommand();
  });

  it('polls DescribeStatement with the returned id until FINISHED before reading the result', async () => {
    rd.on(DescribeStatementCommand)
      .resolvesOnce({ Id: QUERY_ID, Status: 'PICKED' })
      .resolves({ Id: QUERY_ID, Status: 'FINISHED', HasResultSet: true });

    await warehouse().query('SELECT 1 AS one');

    expect(rd.commandCalls(DescribeStatementCommand).map((c) => c.args[0].input)).toEqual([{ Id: QUERY_ID }, { Id: QUERY_ID }]);
    expect(rd).toHaveReceivedCommandWith(GetStatementResultCommand, { Id: QUERY_ID });
  });

  it('pages GetStatementResult with NextToken and converts long, double, string, boolean, null, blob and decimal fields by column name', async () => {
    const columns = [
      { name: 'id', typeName: 'int8' },
      { name: 'price', typeName: 'float8' },
      { name: 'label', typeName: 'varchar' },
      { name: 'active', typeName: 'bool' },
      { name: 'note', typeName: 'varchar' },
      { name: 'raw', typeName: 'varbyte' },
      { name: 'amount', typeName: 'numeric' },
    ];
    rd.on(GetStatementResultCommand)
      .resolvesOnce({
        ColumnMetadata: columns,
        Records: [
          [
            { longValue: 1 },
            { doubleValue: 9.5 },
            { stringValue: 'first' },
            { booleanValue: true },
            { isNull: true },
            { blobValue: new Uint8Array([1, 2, 3]) },
            { stringValue: '12.50' },
          ],
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Records: [
          [
            { longValue: 2 },
            { doubleValue: -0.25 },
            { stringValue: 'second' },
            { booleanValue: false },
            { stringValue: 'n' },
            { isNull: true },
            { stringValue: '12345678901234567890.5' },
          ],
        ],
      });

    const rows = await warehouse().query('SELECT * FROM t');

    expect(rd).toHaveReceivedCommandTimes(GetStatementResultCommand, 2);
    expect(rd.commandCalls(GetStatementResultCommand).map((c) => c.args[0].input)).toEqual([
      { Id: QUERY_ID },
      { Id: QUERY_ID, NextToken: 'page-2' },
    ]);
    expect(rows).toEqual([
      { id: 1, price: 9.5, label: 'first', active: true, note: null, raw: 'AQID', amount: 12.5 },
      { id: 2, price: -0.25, label: 'second', active: false, note: 'n', raw: null, amount: '12345678901234567890.5' },
    ]);
  });

  it('returns no rows, without GetStatementResult, for a statement without a result set', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: QUERY_ID, Status: 'FINISHED', HasResultSet: false });

    const rows = await warehouse().query('DELETE FROM t');

    expect(rows).toEqual([]);
    expect(rd).not.toHaveReceivedCommand(GetStatementResultCommand);
  });

  it("throws WarehouseStatementError with Redshift's error text when the query FAILED", async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: QUERY_ID, Status: 'FAILED', Error: 'ERROR: column "nope" does not exist' });

    const error = await caught(warehouse().query('SELECT nope FROM t'));

    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect((error as Error).message).toContain('ERROR: column "nope" does not exist');
  });

  it('carries the RedshiftQueryId of a FAILED query as queryId', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: QUERY_ID, Status: 'FAILED', Error: 'ERROR: column "nope" does not exist', RedshiftQueryId: 812 });

    const error = await caught(warehouse().query('SELECT nope FROM t'));

    expect((error as WarehouseStatementError).queryId).toBe(812);
  });

  it('throws TransientError when the query FAILED on a serializable isolation violation', async () => {
    rd.on(DescribeStatementCommand).resolves({ Id: QUERY_ID, Status: 'FAILED', Error: 'ERROR: 1023 DETAIL: Serializable isolation violation on table - 1, transactions forming the cycle are: 2, 3' });

    await expect(warehouse().query('UPDATE t SET a = 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('returns TIMESTAMP and TIMESTAMPTZ text as ISO-8601 UTC, millisecond or microsecond precise', async () => {
    rd.on(GetStatementResultCommand).resolves({
      ColumnMetadata: [
        { name: 'a', typeName: 'timestamp' },
        { name: 'b', typeName: 'timestamp' },
        { name: 'c', typeName: 'timestamptz' },
        { name: 'd', typeName: 'date' },
        { name: 'e', typeName: 'varchar' },
      ],
      Records: [
        [
          { stringValue: '2026-01-01 12:00:00' },
          { stringValue: '2026-06-30 23:59:59.999999' },
          { stringValue: '2026-01-01 02:00:00.25+02' },
          { stringValue: '2026-01-01' },
          { stringValue: '2026-01-01 12:00:00' },
        ],
      ],
    });

    const rows = await warehouse().query('SELECT a, b, c, d, e FROM t');

    expect(rows).toEqual([
      { a: '2026-01-01T12:00:00.000Z', b: '2026-06-30T23:59:59.999999Z', c: '2026-01-01T00:00:00.250Z', d: '2026-01-01', e: '2026-01-01 12:00:00' },
    ]);
  });
});

describe('RedshiftDataWarehouse.statements', () => {
  const statements = ['INSERT INTO "public"."orders" SELECT * FROM "s"', 'DROP TABLE "s"'];

  function asyncStatements() {
    const s = warehouse().statements;
    if (!s) throw new Error('RedshiftDataWarehouse must offer asynchronous statements');
    return s;
  }

  describe('submitTransaction', () => {
    beforeEach(() => {
      rd.on(BatchExecuteStatementCommand).resolves({ Id: BATCH_ID });
    });

    it('sends one BatchExecuteStatement with the statements, client token and statement name, and returns its id without polling', async () => {
      const id = await asyncStatements().submitTransaction(statements, 'ld_abc', 'syncproof-ld_abc');

      expect(id).toBe(BATCH_ID);
      expect(batchInput()).toEqual({
        Sqls: statements,
        ClientToken: expect.stringMatching(/^ld_abc-[0-9a-f]{32}$/),
        StatementName: 'syncproof-ld_abc',
        Database: 'analytics',
        WorkgroupName: 'syncproof-wg',
      });
      expect(rd).not.toHaveReceivedCommand(DescribeStatementCommand);
    });

    it('sends the ClientToken executeTransaction sends for the same batch and token', async () => {
      rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: 'FINISHED' });
      const wh = warehouse();

      await wh.statements!.submitTransaction(statements, 'ld_abc', 'syncproof-ld_abc');
      await wh.executeTransaction(statements, 'ld_abc');

      expect(batchInput(1).ClientToken).toBe(batchInput(0).ClientToken);
    });

    it('rejects more than 40 statements and an empty list with TerminalError before calling the Data API', async () => {
      await expect(asyncStatements().submitTransaction(Array.from({ length: 41 }, () => 'SELECT 1'), 'ld_abc', 'n')).rejects.toBeInstanceOf(TerminalError);
      await expect(asyncStatements().submitTransaction([], 'ld_abc', 'n')).rejects.toBeInstanceOf(TerminalError);
      expect(rd).not.toHaveReceivedAnyCommand();
    });
  });

  describe('describe', () => {
    it.each(['SUBMITTED', 'PICKED', 'STARTED'] as const)('reports %s as running', async (status) => {
      rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: status });

      await expect(asyncStatements().describe(BATCH_ID)).resolves.toEqual({ status: 'running' });
      expect(rd).toHaveReceivedCommandWith(DescribeStatementCommand, { Id: BATCH_ID });
    });

    it.each([
      ['FINISHED', 'finished'],
      ['ABORTED', 'aborted'],
    ] as const)('reports %s as %s', async (status, state) => {
      rd.on(DescribeStatementCommand).resolves({ Id: BATCH_ID, Status: status });

      await expect(asyncStatements().describe(BATCH_ID)).resolves.toEqual({ status: state });
    });

    it("reports FAILED with the failing sub-statement's zero-based index, query id and redacted error", async () => {
      rd.on(DescribeStatementCommand).resolves({
        Id: BATCH_ID,
        Status: 'FAILED',
        Error: 'outer',
        SubStatements: [
          { Id: `${BATCH_ID}:1`, Status: 'FINISHED', RedshiftQueryId: 40 },
          { Id: `${BATCH_ID}:2`, Status: 'FAILED', Error: `ERROR: permission denied (${SECRET_ARN})`, RedshiftQueryId: 41 },
        ],
      });

      const state = await warehouse({ secretArn: SECRET_ARN }).statements!.describe(BATCH_ID);

      expect(state).toEqual({ status: 'failed', error: 'ERROR: permission denied (<secret>)', statementIndex: 1, queryId: 41 });
    });

    it.each([
      ['ResourceNotFoundException', () => new ResourceNotFoundException({ message: 'Query does not exist', Message: 'Query does not exist', ResourceId: BATCH_ID, $metadata: {} })],
      ['ValidationException', () => new ValidationException({ message: 'Id is not a valid statement id', $metadata: {} })],
    ])('reports an id the Data API answers %s for as unknown', async (_, error) => {
      rd.on(DescribeStatementCommand).rejects(error());

      await expect(asyncStatements().describe(BATCH_ID)).resolves.toEqual({ status: 'unknown' });
    });

    it('turns throttling into TransientError', async () => {
      rd.on(DescribeStatementCommand).rejects(sdkError('ThrottlingException'));

      await expect(asyncStatements().describe(BATCH_ID)).rejects.toBeInstanceOf(TransientError);
    });
  });

  describe('findByName', () => {
    it('lists statements of every status and session of the role under the name, scoped to the database and workgroup', async () => {
      rd.on(ListStatementsCommand).resolves({ Statements: [] });

      await asyncStatements().findByName('syncproof-ld_abc');

      expect(rd).toHaveReceivedCommandTimes(ListStatementsCommand, 1);
      expect(rd.commandCalls(ListStatementsCommand)[0]!.args[0].input).toEqual({
        StatementName: 'syncproof-ld_abc',
        Status: 'ALL',
        RoleLevel: true,
        MaxResults: 100,
        Database: 'analytics',
        WorkgroupName: 'syncproof-wg',
      });
    });

    it('returns the newest statement whose name is exactly the name, across pages, ignoring names it only prefixes', async () => {
      rd.on(ListStatementsCommand)
        .resolvesOnce({
          Statements: [
            { Id: 'longer-name', StatementName: 'syncproof-ld_abc-2', CreatedAt: new Date('2026-01-03T00:00:00Z') },
            { Id: 'older', StatementName: 'syncproof-ld_abc', CreatedAt: new Date('2026-01-01T00:00:00Z') },
          ],
          NextToken: 'page-2',
        })
        .resolvesOnce({ Statements: [{ Id: 'newer', StatementName: 'syncproof-ld_abc', CreatedAt: new Date('2026-01-02T00:00:00Z') }] });

      const id = await asyncStatements().findByName('syncproof-ld_abc');

      expect(id).toBe('newer');
      expect(rd.commandCalls(ListStatementsCommand)[1]!.args[0].input).toEqual(expect.objectContaining({ NextToken: 'page-2' }));
    });

    it('returns undefined when no statement has the name', async () => {
      rd.on(ListStatementsCommand).resolves({ Statements: [{ Id: 'other', StatementName: 'syncproof-ld_abcd' }] });

      await expect(asyncStatements().findByName('syncproof-ld_abc')).resolves.toBeUndefined();
    });
  });

  describe('cancel', () => {
    it('sends CancelStatement with the id', async () => {
      rd.on(CancelStatementCommand).resolves({ Status: true });

      await asyncStatements().cancel(BATCH_ID);

      expect(rd).toHaveReceivedCommandWith(CancelStatementCommand, { Id: BATCH_ID });
    });

    it('resolves when the statement has already ended (ValidationException), leaving the outcome to describe', async () => {
      rd.on(CancelStatementCommand).rejects(new ValidationException({ message: `Could not cancel a query that is already in FINISHED state with ID: ${BATCH_ID}`, $metadata: {} }));

      await expect(asyncStatements().cancel(BATCH_ID)).resolves.toBeUndefined();
    });

    it('turns throttling into TransientError', async () => {
      rd.on(CancelStatementCommand).rejects(sdkError('ThrottlingException'));

      await expect(asyncStatements().cancel(BATCH_ID)).rejects.toBeInstanceOf(TransientError);
    });
  });
});

describe('RedshiftDataWarehouse error translation', () => {
  it.each(['ThrottlingException', 'ActiveStatementsExceededException', 'InternalServerException', 'ServiceUnavailable', 'TimeoutError'])(
    'turns %s from ExecuteStatement into TransientError that keeps the cause',
    async (name) => {
      const cause = sdkError(name);
      rd.on(ExecuteStatementCommand).rejects(cause);

      const error = await caught(warehouse().query('SELECT 1'));

      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).cause).toBe(cause);
    },
  );

  it('turns an SDK error whose message reports a serializable isolation violation into TransientError', async () => {
    rd.on(BatchExecuteStatementCommand).rejects(sdkError('BadRequestException', { message: 'ERROR: 1023 DETAIL: Serializable isolation violation on table - 1' }));

    await expect(warehouse().executeTransaction(['SELECT 1'], 'ld_abc')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns an SDK error whose message reports a conflict with a concurrent transaction into TransientError', async () => {
    rd.on(ExecuteStatementCommand).rejects(sdkError('BadRequestException', { message: 'could not complete because of conflict with concurrent transaction' }));

    await expect(warehouse().query('SELECT 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns a connection reset (code ECONNRESET) into TransientError', async () => {
    rd.on(BatchExecuteStatementCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));

    await expect(warehouse().executeTransaction(['SELECT 1'], 'ld_abc')).rejects.toBeInstanceOf(TransientError);
  });

  it("turns the SDK's wrapper of a socket error from another realm (AWS SDK error wrapper for TimeoutError: …) into TransientError", async () => {
    rd.on(BatchExecuteStatementCommand).rejects(Object.assign(new Error('AWS SDK error wrapper for TimeoutError: socket hang up'), { $metadata: {} }));

    await expect(warehouse().executeTransaction(['SELECT 1'], 'ld_abc')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns an error the SDK marks $retryable into TransientError', async () => {
    rd.on(ExecuteStatementCommand).rejects(sdkError('SomethingNew', { $retryable: { throttling: false } }));

    await expect(warehouse().query('SELECT 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns an HTTP 5xx response into TransientError', async () => {
    rd.on(ExecuteStatementCommand).rejects(sdkError('UnknownError', { $metadata: { httpStatusCode: 503 } }));

    await expect(warehouse().query('SELECT 1')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns throttling while polling DescribeStatement into TransientError', async () => {
    rd.on(BatchExecuteStatementCommand).resolves({ Id: BATCH_ID });
    rd.on(DescribeStatementCommand).rejects(sdkError('ThrottlingException'));

    await expect(warehouse().executeTransaction(['SELECT 1'], 'ld_abc')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns ValidationException into TerminalError that says to check the database, workgroup and secret, without the secret ARN', async () => {
    const cause = new ValidationException({ message: `Secret ${SECRET_ARN} is not valid for this workgroup`, $metadata: {} });
    rd.on(BatchExecuteStatementCommand).rejects(cause);

    const error = (await caught(warehouse({ secretArn: SECRET_ARN }).executeTransaction(['SELECT 1'], 'ld_abc'))) as Error;

    expect(error).toBeInstanceOf(TerminalError);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error.cause).toBe(cause);
    expect(error.message).toMatch(/ValidationException.*check the database name, the workgroup name or cluster identifier, the secret/);
    expect(error.message).not.toContain(SECRET_ARN);
  });

  it('turns ResourceNotFoundException into TerminalError that says to check the workgroup or cluster', async () => {
    rd.on(ExecuteStatementCommand).rejects(new ResourceNotFoundException({ message: 'Workgroup not found', Message: 'Workgroup not found', ResourceId: 'syncproof-wg', $metadata: {} }));

    const error = (await caught(warehouse().query('SELECT 1'))) as Error;

    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toContain('check that the workgroup or cluster exists');
  });

  it('turns AccessDeniedException into TerminalError that says to check IAM permissions', async () => {
    rd.on(ExecuteStatementCommand).rejects(sdkError('AccessDeniedException', { $metadata: { httpStatusCode: 403 } }));

    const error = (await caught(warehouse().query('SELECT 1'))) as Error;

    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toContain('IAM permissions');
  });
});

describe('RedshiftDataWarehouse.close', () => {
  it('leaves the client to its owner', async () => {
    const destroy = jest.spyOn(client, 'destroy');

    await warehouse().close();

    expect(destroy).not.toHaveBeenCalled();
    destroy.mockRestore();
  });
});
