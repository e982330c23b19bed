import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '../../lambdas/adapters/clients';
import { DynamoDbWatermarkStore } from '../../lambdas/adapters/dynamodb-watermark-store';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { extractionDocumentKey, type ExtractionDocument } from '../../lambdas/core/extraction';
import { schemaDocumentKey, type SchemaDocument } from '../../lambdas/core/source-schema';
import type { MappedType } from '../../lambdas/core/source-types';
import type { WatermarkRecord, WatermarkRun } from '../../lambdas/core/watermark';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';
import { CliError } from '../../cli/errors';
import { WATERMARK_RACE, setWatermark } from '../../cli/watermark-command';
import { runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';

const BUCKET = 'syncproof-local';
const UPDATED = '2024-06-01T12:00:00.000Z';

/** Opens dynalite on the data dir the way `syncproof local` does, runs `work`, closes it. */
function withWatermarks<T>(dataDir: string, work: (store: DynamoDbWatermarkStore, endpoint: string, client: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  return withLocalDynamoDb(dataDir, (client, endpoint) => work(new DynamoDbWatermarkStore(client, LOCAL_TABLES.watermarks), endpoint, client));
}

function run(runId: string, rows: number, files: number, extra: Partial<WatermarkRun> = {}): WatermarkRun {
  return {
    runId,
    mode: 'sync',
    startedAt: '2024-06-01T11:00:00.000Z',
    endedAt: '2024-06-01T11:05:00.000Z',
    status: 'PASSED',
    extraction: { rows, files, bytes: rows * 10, nullCursorRows: 0, zeroDates: {}, hasMore: false, end: '2024-06-01 10:59:00.000000' },
    loadedRows: rows,
    ...extra,
  };
}

const ORDERS_DOC_URI = `s3://${BUCKET}/${extractionDocumentKey('orders', 'run-7')}`;

const RECORDS: WatermarkRecord[] = [
  {
    dataset: 'orders',
    version: 3,
    position: { cursor: '2024-05-31 23:59:59.500000', key: ['42'] },
    strategy: 'keyset',
    lastRun: run('run-7', 1500, 2, {
      status: 'PASSED_WITH_WARNINGS',
      extraction: { rows: 1500, files: 2, bytes: 45_678, nullCursorRows: 3, zeroDates: { created_at: 2 }, hasMore: true, end: '2024-06-01 10:59:00.000000' },
      loadedRows: 1500,
      filesUri: ORDERS_DOC_URI,
    }),
    updatedAt: UPDATED,
  },
  { dataset: 'customers', version: 5, position: { cursor: '2024-05-01 00:00:00', key: ['7', 'eu'] }, strategy: 'keyset', lastRun: run('run-c5', 200, 1), updatedAt: UPDATED },
  { dataset: 'events', version: 2, position: { cursor: '90000', key: ['90000'] }, strategy: 'keyset', lastRun: run('run-e2', 800, 1, { filesUri: 's3://syncproof-local/_syncproof/extractions/events/run-e2.json' }), updatedAt: UPDATED },
  { dataset: 'payments', version: 1, position: { cursor: '10', key: ['10'] }, strategy: 'keyset', lastRun: run('run-p1', 10, 1), updatedAt: UPDATED },
  // Keyed by (tenant, a BINARY(16) id whose bytes are not UTF-8).
  {
    dataset: 'uuids',
    version: 4,
    position: { cursor: '2024-05-02 00:00:00', key: ['7', '0x00ff80fe00c0ffee0001ff00deadbeef'] },
    keyEncoding: ['text', 'hex'],
    strategy: 'keyset',
    lastRun: run('run-u4', 30, 5),
    updatedAt: UPDATED,
  },
];

function file(i: number, rows: number): ExtractionDocument['files'][number] {
  return {
    key: `_syncproof/extracts/orders/run-7/part-${String(i).padStart(5, '0')}.parquet`,
    etag: `etag-${i}`,
    size: 20_000 + i,
    rows,
    first: { cursor: '2024-05-31 00:00:00', key: [String(i * 1000)] },
    last: { cursor: '2024-05-31 23:59:59.500000', key: [String(i * 1000 + rows - 1)] },
  };
}

const ORDERS_DOC: ExtractionDocument = {
  dataset: 'orders',
  runId: 'run-7',
  mode: 'sync',
  startedAt: '2024-06-01T11:00:00.000Z',
  updatedAt: '2024-06-01T11:04:00.000Z',
  end: '2024-06-01 10:59:00.000000',
  watermark: { version: 2, position: { cursor: '2024-05-30 00:00:00', key: ['1'] } },
  limit: 1000,
  maxChunks: 2,
  next: { kind: 'after', position: { cursor: '2024-05-31 23:59:59.500000', key: ['42'] } },
  files: [file(0, 1000), file(1, 500)],
  rows: 1500,
  bytes: 45_678,
  nullCursorRows: 3,
  zeroDates: { created_at: 2 },
  warnings: [],
  last: { cursor: '2024-05-31 23:59:59.500000', key: ['42'] },
  done: true,
  hasMore: true,
};

const TYPES: Readonly<Record<string, MappedType>> = {
  bigint: { parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' },
  text: { parquet: { type: 'STRING' }, redshift: 'VARCHAR(8)', rule: 'text', maxBytes: 8 },
  timestamp: { parquet: { type: 'TIMESTAMP', adjustedToUtc: false }, redshift: 'TIMESTAMP', rule: 'timestamp' },
  bytes: { parquet: { type: 'BYTES' }, redshift: 'VARBYTE(16)', rule: 'bytes', maxBytes: 16 },
};

/** The schema document a first extraction of the dataset writes: the types `watermark set` checks against. */
function schemaDoc(dataset: string, cursor: [string, keyof typeof TYPES], keys: [string, keyof typeof TYPES][]): SchemaDocument {
  const columns = [cursor, ...keys.filter(([name]) => name !== cursor[0])].map(([name, type]) => ({ source: name, name, dataType: type, columnType: type, nullable: false, type: TYPES[type]! }));
  return { dataset, engine: 'mysql', table: `shop.${dataset}`, columns, keyColumns: keys.map(([name]) => name), cursorColumn: cursor[0], cursorKind: cursor[1] === 'timestamp' ? 'time' : 'integer' };
}

const SCHEMAS: SchemaDocument[] = [
  schemaDoc('orders', ['updated_at', 'timestamp'], [['id', 'bigint']]),
  schemaDoc('customers', ['updated_at', 'timestamp'], [['id', 'bigint'], ['region', 'text']]),
  schemaDoc('events', ['id', 'bigint'], [['id', 'bigint']]),
  schemaDoc('payments', ['id', 'bigint'], [['id', 'bigint']]),
  schemaDoc('uuids', ['updated_at', 'timestamp'], [['tenant', 'bigint'], ['uuid', 'bytes']]),
  schemaDoc('invoices', ['id', 'bigint'], [['id', 'bigint']]),
];

async function seed(dataDir: string): Promise<void> {
  // Straight into the table: records at the versions earlier runs would have left.
  await withWatermarks(dataDir, async (_store, _endpoint, client) => {
    for (const r of RECORDS) await client.send(new PutCommand({ TableName: LOCAL_TABLES.watermarks, Item: r }));
  });
  const s3 = await startLocalS3({ bucket: BUCKET, directory: join(dataDir, 's3') });
  const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
  try {
    await new S3ObjectStore(client, BUCKET).putJson(extractionDocumentKey('orders', 'run-7'), ORDERS_DOC);
    for (const doc of SCHEMAS) await new S3ObjectStore(client, BUCKET).putJson(schemaDocumentKey(doc.dataset), doc);
  } finally {
    client.destroy();
    await s3.stop();
  }
}

describe('syncproof watermark, as a separate process on a local data dir', () => {
  let work: string;
  let dataDir: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-watermark-test-'));
    dataDir = join(work, 'state');
    await seed(dataDir);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const read = (dataset: string): Promise<WatermarkRecord | undefined> => withWatermarks(dataDir, (store) => store.get(dataset));

  it("prints the position, version, strategy, update time and the last run's absolute counts", async () => {
    const json = join(work, 'get.json');
    const r = await runCli(['watermark', 'get', 'orders', '--data-dir', dataDir, '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`watermark of dataset 'orders' in the local state in ${dataDir}`);
    expect(r.stdout).toMatch(/\n {2}position: +cursor 2024-05-31 23:59:59\.500000, key \(42\)\n {2}version: +3\n {2}strategy: +keyset\n {2}updated at: +2024-06-01T12:00:00\.000Z\n/);
    expect(r.stdout).toContain('last run run-7 (sync): PASSED_WITH_WARNINGS');
    expect(r.stdout).toMatch(/extracted: +1500 rows in 2 files, 45678 bytes/);
    expect(r.stdout).toMatch(/null cursor rows: +3 \(never extracted\)/);
    expect(r.stdout).toMatch(/zero dates: +created_at 2/);
    expect(r.stdout).toMatch(/has more: +yes/);
    expect(r.stdout).toMatch(/end: +2024-06-01 10:59:00\.000000/);
    expect(r.stdout).toMatch(/loaded rows: +1500/);
    expect(r.stdout).toContain(`files:            ${ORDERS_DOC_URI}`);
    const report = JSON.parse(await readFile(json, 'utf8')) as { watermark: WatermarkRecord; target: unknown; files?: unknown };
    expect(report.watermark).toEqual(RECORDS[0]);
    expect(report.target).toMatchObject({ kind: 'data-dir', table: LOCAL_TABLES.watermarks });
    expect(report.files).toBeUndefined();
  });

  it('lists the files of the last run with their rows from the extraction document in the local S3 state', async () => {
    const json = join(work, 'get-files.json');
    const r = await runCli(['watermark', 'get', 'orders', '--show-files', '--data-dir', dataDir, '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`files of the last run (${ORDERS_DOC_URI}):`);
    expect(r.stdout).toMatch(/_syncproof\/extracts\/orders\/run-7\/part-00000\.parquet +1000 rows {2}20000 bytes {2}ETag etag-0\n/);
    expect(r.stdout).toMatch(/_syncproof\/extracts\/orders\/run-7\/part-00001\.parquet +500 rows {2}20001 bytes {2}ETag etag-1\n/);
    expect(r.stdout).toContain('  2 files, 1500 rows');
    const report = JSON.parse(await readFile(json, 'utf8')) as { files: { key: string; rows: number }[] };
    expect(report.files.map((f) => f.rows)).toEqual([1000, 500]);
  });

  it('says so when the extraction document is gone, and still prints the watermark', async () => {
    const r = await runCli(['watermark', 'get', 'events', '--show-files', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/version: +2/);
    expect(r.stdout).toContain('files: not shown: the extraction document s3://syncproof-local/_syncproof/extractions/events/run-e2.json does not exist (any more)');
  });

  it('fails with exit 3 for a dataset without a watermark, naming the closest one and those that have one', async () => {
    const r = await runCli(['watermark', 'get', 'order', '--data-dir', dataDir]);
    expect([r.code, r.stdout]).toEqual([3, '']);
    expect(r.stderr).toBe(
      `syncproof: no watermark for dataset 'order' in the local state in ${dataDir} (it has not run yet); did you mean 'orders'?; datasets with a watermark: customers, events, orders, payments, uuids\n`,
    );
  });

  it('lists one line a dataset, sorted by name', async () => {
    const json = join(work, 'list.json');
    const r = await runCli(['watermark', 'list', '--data-dir', dataDir, '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['customers', 'events', 'orders', 'payments', 'uuids', '5']);
    expect(lines[2]).toBe('orders     v3    cursor 2024-05-31 23:59:59.500000, key (42); PASSED_WITH_WARNINGS run run-7: 1500 rows extracted, 1500 loaded; updated 2024-06-01T12:00:00.000Z');
    expect(lines[4]).toBe('uuids      v4    cursor 2024-05-02 00:00:00, key (7, 0x00ff80fe00c0ffee0001ff00deadbeef); PASSED run run-u4: 30 rows extracted, 30 loaded; updated 2024-06-01T12:00:00.000Z');
    expect(lines[5]).toBe(`5 watermarks in the local state in ${dataDir}`);
    const report = JSON.parse(await readFile(json, 'utf8')) as { watermarks: WatermarkRecord[] };
    expect(report.watermarks.map((w) => w.dataset)).toEqual(['customers', 'events', 'orders', 'payments', 'uuids']);
  });

  it('sets the position with version + 1, keeping the last run with a note that it was set by hand', async () => {
    const r = await runCli(['watermark', 'set', 'customers', '--cursor', '2024-04-01 00:00:00', '--key', '3', 'eu', '--data-dir', dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      "set the watermark of dataset 'customers': cursor 2024-05-01 00:00:00, key (7, eu) → cursor 2024-04-01 00:00:00, key (3, eu) (version 5 → 6); the next run starts after it\n",
    );
    const after = await read('customers');
    const before = RECORDS[1]!;
    expect(after).toMatchObject({ dataset: 'customers', version: 6, position: { cursor: '2024-04-01 00:00:00', key: ['3', 'eu'] }, strategy: 'keyset' });
    expect(after?.updatedAt).not.toBe(before.updatedAt);
    expect(after?.lastRun).toEqual({ ...before.lastRun, note: expect.stringMatching(/^position set by hand \(syncproof watermark set\) at .*, from cursor 2024-05-01 00:00:00, key \(7, eu\); the counts are those of run run-c5$/) });
  });

  it('refuses a position whose key has another length than the watermark’s, and leaves the record as it was', async () => {
    const before = await read('payments');
    const r = await runCli(['watermark', 'set', 'payments', '--cursor', '20', '--key', '20', '1', '--data-dir', dataDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("the watermark's key has 1 value (10), --key gave 2; give --key once per key column, in key order");
    const cursor = await runCli(['watermark', 'set', 'payments', '--cursor', '2024-01-01', '--key', '20', '--data-dir', dataDir]);
    expect(cursor.code).toBe(3);
    expect(cursor.stderr).toContain("--cursor '2024-01-01' is not a whole number: the cursor column id is BIGINT");
    expect(await read('payments')).toEqual(before);
  });

  it('prints a binary key as 0x and its bytes in hex', async () => {
    const r = await runCli(['watermark', 'get', 'uuids', '--data-dir', dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/\n {2}position: +cursor 2024-05-02 00:00:00, key \(7, 0x00ff80fe00c0ffee0001ff00deadbeef\)\n/);
  });

  it('sets a binary key given as 0x and hex in either case, writing it in lower case', async () => {
    const r = await runCli(['watermark', 'set', 'uuids', '--cursor', '2024-05-01 00:00:00', '--key', '7', '0X00FFAB', '--data-dir', dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('→ cursor 2024-05-01 00:00:00, key (7, 0x00ffab) (version 4 → 5)');
    expect(await read('uuids')).toMatchObject({ version: 5, position: { cursor: '2024-05-01 00:00:00', key: ['7', '0x00ffab'] }, keyEncoding: ['text', 'hex'] });
  });

  it.each([
    ['without 0x', '00ffab'],
    ['with an odd number of digits', '0x0ffab'],
    ['with a character that is not a hex digit', '0x00fg'],
    ['as text', 'é'],
  ])('refuses, with exit 3, a binary key given %s, and leaves the record as it was', async (_how, value) => {
    const before = await read('uuids');
    const r = await runCli(['watermark', 'set', 'uuids', '--cursor', '2024-05-01 00:00:00', '--key', '7', value, '--data-dir', dataDir]);
    expect([r.code, r.stdout]).toEqual([3, '']);
    expect(r.stderr).toBe(
      `syncproof: --key '${value}' is not a binary key value: key column 2 of the dataset is binary (BINARY, VARBINARY, BLOB, BIT or bytea), so give its bytes as 0x and two hex digits a byte (e.g. 0x00ff10)\n`,
    );
    expect(await read('uuids')).toEqual(before);
  });

  it('creates the watermark of a dataset that has none only with --create', async () => {
    const refused = await runCli(['watermark', 'set', 'invoices', '--cursor', '100', '--key', '100', '--data-dir', dataDir]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/no watermark for dataset 'invoices' .*; to create its watermark by hand, pass --create/);
    expect(await read('invoices')).toBeUndefined();
    const created = await runCli(['watermark', 'set', 'invoices', '--cursor', '100', '--key', '100', '--create', '--data-dir', dataDir]);
    expect([created.code, created.stderr]).toEqual([0, '']);
    const record = await read('invoices');
    expect(record).toMatchObject({ dataset: 'invoices', version: 1, position: { cursor: '100', key: ['100'] }, strategy: 'keyset' });
    expect(record?.lastRun).toBeUndefined();
  });

  it('resets a watermark: no position, every count of the last run zeroed, status RESET, version + 1', async () => {
    const r = await runCli(['watermark', 'reset', 'events', '--data-dir', dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe("reset the watermark of dataset 'events': cursor 90000, key (90000) → none (version 2 → 3); the next run extracts the table from the beginning\n");
    const after = await read('events');
    expect(after?.position).toBeUndefined();
    expect(after).toMatchObject({ dataset: 'events', version: 3, strategy: 'keyset' });
    expect(after?.lastRun).toEqual({
      runId: 'run-e2',
      mode: 'sync',
      startedAt: RECORDS[2]!.lastRun!.startedAt,
      endedAt: RECORDS[2]!.lastRun!.endedAt,
      status: 'RESET',
      extraction: { rows: 0, files: 0, bytes: 0, nullCursorRows: 0, zeroDates: {}, hasMore: false, end: null },
      loadedRows: 0,
      note: expect.stringMatching(/^reset by hand \(syncproof watermark reset\) at .*: position \(cursor 90000, key \(90000\)\) of version 2 removed and the counts zeroed/),
    });
    const shown = await runCli(['watermark', 'get', 'events', '--data-dir', dataDir]);
    expect(shown.stdout).toMatch(/position: +none \(the next run extracts from the beginning\)/);
    expect(shown.stdout).toContain('last run run-e2 (sync): RESET');
  });

  it('refuses, with exit 3, a set that a concurrent write overtook, and leaves the winner in place', async () => {
    await withWatermarks(dataDir, async (store) => {
      const winner: WatermarkRecord = { ...RECORDS[3]!, version: 2, position: { cursor: '11', key: ['11'] }, updatedAt: '2024-06-02T00:00:00.000Z' };
      // A run commits between the command's read and its conditional write.
      const racing = {
        get: async (dataset: string) => {
          const read = await store.get(dataset);
          expect(await store.put(winner, 1)).toBe(true);
          return read;
        },
        put: store.put.bind(store),
        list: store.list.bind(store),
      };
      const where = { kind: 'data-dir' as const, dataDir, table: LOCAL_TABLES.watermarks };
      const error = await setWatermark(racing, 'payments', { cursor: '5', key: ['5'] }, where).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CliError);
      expect([(error as CliError).exitCode, (error as CliError).message]).toEqual([3, WATERMARK_RACE]);
      expect(await store.get('payments')).toEqual(winner);
    });
  });

  it('reads through --endpoint while a runtime holds the data dir; --show-files there names the document instead', async () => {
    const [locked, viaEndpoint] = await withWatermarks(dataDir, async (_store, endpoint) => [
      await runCli(['watermark', 'get', 'orders', '--data-dir', dataDir]),
      await runCli(['watermark', 'get', 'orders', '--show-files', '--endpoint', endpoint]),
    ]);
    expect(locked?.code).toBe(3);
    expect(locked?.stderr).toMatch(/is in use: its DynamoDB data is locked/);
    expect(viaEndpoint?.code).toBe(0);
    expect(viaEndpoint?.stdout).toMatch(/version: +3/);
    expect(viaEndpoint?.stdout).toContain(`files: not shown: the files are listed in ${ORDERS_DOC_URI}; --show-files reads it with --data-dir (once \`syncproof local\` is stopped) or --stack, not --endpoint`);
  });
});
