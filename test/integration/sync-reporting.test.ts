/**
 * What `syncproof sync` and `syncproof local` say, run as separate processes the way a user runs
 * them, against a real PostgreSQL server (source and warehouse, `--warehouse`) and a data dir whose
 * S3 store the test seeds: every warning is printed and in `--json`, a failed execution's error is
 * one sentence (not the Lambda's JSON), a run with nothing new leaves the watermark alone, and an
 * object the dataset cannot load is named. Assertions read back the warehouse, the watermark and
 * the ledger in the data dir, beside the exit code and output.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { createS3Client } from '../../lambdas/adapters/clients';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { DynamoDbWatermarkStore } from '../../lambdas/adapters/dynamodb-watermark-store';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import type { LedgerEntry } from '../../lambdas/core/ports';
import type { WatermarkRecord } from '../../lambdas/core/watermark';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';
import { runCli, type CliResult } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from '../support/postgres';

jest.setTimeout(300_000);

const BUCKET = 'syncproof-local';

interface Warning {
  dataset: string;
  message: string;
}
interface SyncJson {
  status: string;
  error?: string;
  warnings?: Warning[];
  loaded?: { filesLoaded: number; filesQuarantined: number; rows: number };
}

function ordersFile(ids: readonly number[], second: 'status' | 'surprise' = 'status'): Uint8Array {
  return encodeParquet([
    { name: 'order_id', type: 'INT64', data: ids.map((id) => BigInt(id)) },
    { name: second, type: 'STRING', data: ids.map(() => 'new') },
  ]);
}

describe('syncproof sync and local say why', () => {
  let server: TestPostgres;
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let src: Client;
  let wh: Client;
  let work: string;
  let dataDir: string;
  let configPath: string;

  async function seedS3(dir: string, objects: Record<string, Uint8Array>): Promise<void> {
    const s3 = await startLocalS3({ bucket: BUCKET, directory: join(dir, 's3') });
    const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
    try {
      const store = new S3ObjectStore(client, BUCKET);
      for (const [key, body] of Object.entries(objects)) await store.put(key, body);
    } finally {
      client.destroy();
      await s3.stop();
    }
  }

  async function state(dir: string, dataset: string): Promise<{ watermark?: WatermarkRecord; ledger: LedgerEntry[] }> {
    return withLocalDynamoDb(dir, async (client) => {
      const ledger: LedgerEntry[] = [];
      for await (const e of new DynamoDbLedgerStore(client, LOCAL_TABLES.ledger).listDataset(dataset)) ledger.push(e);
      return { watermark: await new DynamoDbWatermarkStore(client, LOCAL_TABLES.watermarks).get(dataset), ledger };
    });
  }

  async function sync(dataset: string): Promise<CliResult & { json: SyncJson }> {
    const json = join(work, `${dataset}-${Date.now()}.json`);
    const result = await runCli(['sync', dataset, '--config', configPath, '--data-dir', dataDir, '--warehouse', warehouse.url, '--json', json]);
    let parsed: SyncJson;
    try {
      parsed = JSON.parse(await readFile(json, 'utf8')) as SyncJson;
    } catch {
      throw new Error(`no --json report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    return { ...result, json: parsed };
  }

  const whRows = async (sql: string) => (await wh.query(sql)).rows as Record<string, unknown>[];

  beforeAll(async () => {
    server = await getTestPostgres();
    source = await createTestDatabase(server.url);
    warehouse = await createTestDatabase(server.url);
    src = new Client({ connectionString: source.url });
    wh = new Client({ connectionString: warehouse.url });
    await src.connect();
    await wh.connect();
    await src.query(
      "CREATE TABLE amounts (id BIGINT PRIMARY KEY, amount NUMERIC NOT NULL, updated_at TIMESTAMP(6) NOT NULL); INSERT INTO amounts VALUES (1, 1.5, '2024-01-01'), (2, 12345678901234567890.123456789, '2024-01-02');" +
        "CREATE TABLE big (id BIGINT PRIMARY KEY, t TEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL); INSERT INTO big VALUES (1, repeat('x', 70000), '2024-01-01');" +
        "CREATE TABLE plain (id BIGINT PRIMARY KEY, note VARCHAR(10) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); INSERT INTO plain VALUES (1, 'a', '2024-01-01'), (2, 'b', '2024-01-02');",
    );
    work = await mkdtemp(join(tmpdir(), 'syncproof-reporting-'));
    dataDir = join(work, 'state');
    const db = (name: string) => ({ name, target: { schema: 'public', table: name }, source: { engine: 'postgres', url: source.url, table: `public.${name}`, cursorColumn: 'updated_at' } });
    const config = {
      datasets: [
        db('amounts'),
        db('big'),
        db('plain'),
        {
          name: 'orders',
          prefix: 'orders/',
          target: { schema: 'public', table: 'orders' },
          keyColumns: ['order_id'],
          loadMode: 'upsert',
          format: 'parquet',
          columns: [
            { name: 'order_id', type: 'BIGINT' },
            { name: 'status', type: 'VARCHAR(16)' },
          ],
        },
      ],
    };
    configPath = join(work, 'syncproof.config.json');
    await writeFile(configPath, JSON.stringify(config));
  });

  afterAll(async () => {
    await src?.end();
    await wh?.end();
    await source?.drop();
    await warehouse?.drop();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints each warning of a run that passed with warnings, naming dataset, column and what to do, and puts it in --json', async () => {
    const { code, stdout, json } = await sync('amounts');

    expect(code).toBe(1);
    expect(json.status).toBe('PASSED_WITH_WARNINGS');
    expect(json.warnings).toEqual([{ dataset: 'amounts', message: expect.stringMatching(/amount is NUMERIC without a precision.*declare NUMERIC\(p,s\)/) }]);
    expect(stdout).toMatch(/^ {2}warning: amounts: .*amount is NUMERIC without a precision.*declare NUMERIC\(p,s\)/m);
    expect(await whRows('SELECT CAST(amount AS TEXT) AS a FROM public.amounts ORDER BY id')).toEqual([{ a: '1.5' }, { a: '12345678901234567890.123456789' }]);
  });

  it("prints a failed execution's error as name and message, not the Lambda's JSON", async () => {
    const { code, stdout, json } = await sync('big');

    expect(code).toBe(2);
    expect(json.error).toMatch(/^SourceValueError: public\.big\.t of the row with key \(1\) is 70000 bytes long/);
    expect(stdout).toMatch(/^ {2}error: SourceValueError: public\.big\.t of the row with key \(1\) is 70000 bytes long.*shorten the value/m);
    expect(stdout).not.toMatch(/errorType|errorMessage|"trace"|SourceValueError: SourceValueError/);
    expect(await whRows("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_name = 'big'")).toEqual([{ n: 0 }]);
  });

  it('leaves the watermark as it was and does not say it moved when a run finds no new rows', async () => {
    const first = await sync('plain');
    expect(first.code).toBe(0);
    const before = (await state(dataDir, 'plain')).watermark;
    expect(before?.position?.key).toEqual(['2']);

    const again = await sync('plain');

    expect(again.code).toBe(0);
    expect(again.json.status).toBe('NO_WORK');
    expect(again.stdout).not.toMatch(/watermark moved/);
    expect(again.stdout).toMatch(/nothing new/);
    const after = (await state(dataDir, 'plain')).watermark;
    expect(after?.version).toBe(before?.version);
    expect(after?.lastRun?.runId).toBe(before?.lastRun?.runId);
    expect(await whRows('SELECT id::int AS id FROM public.plain ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('names an object of another format under a parquet prefix as skipped, and loads the rest', async () => {
    await seedS3(dataDir, { 'orders/good.parquet': ordersFile([1, 2, 3]), 'orders/stray.csv': new TextEncoder().encode('order_id,status\n9,new\n') });

    const { code, stdout, json } = await sync('orders');

    expect(code).toBe(1);
    expect(json.status).toBe('PASSED_WITH_WARNINGS');
    expect(json.warnings).toEqual([{ dataset: 'orders', message: expect.stringContaining('orders/stray.csv') }]);
    expect(stdout).toMatch(/^ {2}warning: orders: 1 object under orders\/ is not a \.parquet file and was skipped.*orders\/stray\.csv/m);
    // A dataset fed by uploads says what it loaded, and has no watermark to speak of.
    expect(stdout).toMatch(/^ {2}loaded: 1 file, 3 rows$/m);
    expect(stdout).not.toMatch(/watermark/);
    expect(json.loaded).toEqual({ filesLoaded: 1, filesQuarantined: 0, rows: 3 });
    expect(await whRows('SELECT order_id::int AS id FROM public.orders ORDER BY order_id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect((await state(dataDir, 'orders')).ledger.map((e) => [e.key, e.status])).toEqual([['orders/good.parquet', 'loaded']]);
  });

  it("local prints a failed run's error once, not with its name doubled", async () => {
    const localDir = join(work, 'local-state');
    await seedS3(localDir, { 'orders/drifted.parquet': ordersFile([7, 8], 'surprise') });

    const { code, stdout } = await runCli(['local', '--config', configPath, '--data-dir', localDir, '--warehouse', warehouse.url, '--exit-when-idle']);

    expect(code).toBe(2);
    const failed = stdout.split('\n').find((l) => / FAILED: /.test(l));
    expect(failed).toMatch(/— \w+Error: .*'surprise'/);
    expect(failed).not.toMatch(/(\w+Error): \1:/);
    expect(failed).not.toMatch(/errorType/);
    expect((await state(localDir, 'orders')).ledger.map((e) => [e.key, e.status])).toEqual([['orders/drifted.parquet', 'failed']]);
  });
});
