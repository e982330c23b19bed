/**
 * The bad-input suite (issue #14 acceptance): kinds of bad input syncproof already handles, each run
 * through the CLI as a user runs it. Every case asserts the exit code, that the message names the
 * culprit (file, key, column, row, setting) and says what to do, that there is no stack trace, and that
 * no password of this test appears in stdout or stderr. The data cases also read back that what earlier
 * runs loaded is still in the warehouse.
 *
 * One MariaDB (the source; a user with a password), one PostgreSQL server (the warehouse of the data
 * cases, read back directly), and one data dir for the whole file. The CLI processes of a group run a
 * few at a time; the data cases share two `sync A B …` executions (one runtime start each).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { encodeParquet, type ParquetColumnInput } from '../../lambdas/adapters/parquet/encode';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../local/emulators';
import { freePort } from '../../local/postgres-server';
import { runCli, type CliResult } from '../support/cli';
import { startTestMariadb, type TestMariadb } from '../support/mariadb';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from '../support/postgres';

jest.setTimeout(600_000);

/** The passwords of this test: none may appear in any output. */
const SECRET = 'Bad1nput-S3cret';
const WRONG = 'Wr0ng-Bad1nput';
const SECRETS = [SECRET, WRONG, encodeURIComponent(SECRET), 'Secr3t-pw'];

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'syncproof.config.example.json');

interface Case {
  /** What kind of bad input. */
  readonly kind: string;
  readonly args: () => string[];
  readonly code: number;
  /** The culprit named: file, key, column, row, setting. */
  readonly culprit: RegExp;
  /** What to do. */
  readonly advice: RegExp;
}

/** Runs `cases` a few at a time (the machine is shared): results by kind. */
async function runAll(cases: readonly Case[], atOnce = 3): Promise<Map<string, CliResult>> {
  const results = new Map<string, CliResult>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      results.set(c.kind, await runCli(c.args()));
    }
  };
  await Promise.all(Array.from({ length: atOnce }, worker));
  return results;
}

/** The assertions every case makes. */
function expectClean(c: Case, r: CliResult | undefined): void {
  expect(r).toBeDefined();
  const out = `${r!.stdout}\n${r!.stderr}`;
  expect({ kind: c.kind, code: r!.code }).toEqual({ kind: c.kind, code: c.code });
  expect(out).toMatch(c.culprit);
  expect(out).toMatch(c.advice);
  expect(out).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace
  expect(out).not.toMatch(/^\s*(TypeError|ReferenceError|RangeError):/m);
  for (const s of SECRETS) expect({ kind: c.kind, leaks: out.includes(s) }).toEqual({ kind: c.kind, leaks: false });
}

let dir: string;
const file = (name: string) => join(dir, name);

const preparations: (() => void)[] = [];
/**
 * `work` (a group's fixtures and CLI runs) started with the other groups' as the file begins, so
 * they overlap (they share the CPU, not their state); the group's beforeAll awaits it.
 */
function prepared(work: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  const start = () => (started ??= work());
  preparations.push(() => void start().catch(() => undefined));
  return start;
}

/** Writes a copy of the example configuration changed by `edit`, returns its path. */
function exampleWith(name: string, edit: (c: Record<string, any>) => void): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const config = JSON.parse(JSON.stringify(require(EXAMPLE))) as Record<string, any>;
  edit(config);
  writeFileSync(file(name), JSON.stringify(config, null, 2));
  return file(name);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'syncproof-bad-input-'));
  writeFileSync(file('not-json.json'), '{\n  "datasets": [\n    { "name": "orders",\n    }\n  ]\n}\n');
  exampleWith('top-key.json', (c) => {
    c.maxFilesPerBatchh = c.maxFilesPerBatch;
    delete c.maxFilesPerBatch;
  });
  exampleWith('dataset-key.json', (c) => {
    c.datasets[0].loadmode = c.datasets[0].loadMode;
    delete c.datasets[0].loadMode;
  });
  exampleWith('wrong-type.json', (c) => (c.maxFilesPerBatch = '100'));
  exampleWith('bad-enum.json', (c) => (c.datasets[0].loadMode = 'upsertt'));
  exampleWith('duplicate-name.json', (c) => c.datasets.push({ ...c.datasets[0], prefix: 'other/' }));
  exampleWith('unknown-key-column.json', (c) => (c.datasets[0].keyColumns = ['order_idd']));
  exampleWith('unknown-column-type.json', (c) => (c.datasets[0].columns[1] = { name: 'customer_id', type: 'BIGINTT' }));
  mkdirSync(file('empty-dir'));
  for (const start of preparations) start();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Configuration and command-line cases: refused before anything runs. */
const fastCases: Case[] = [
  { kind: 'missing config file', args: () => ['sync', 'orders', '--config', file('missing.json')], code: 3, culprit: /missing\.json/, advice: /does not exist|no such file/ },
  { kind: 'non-JSON config', args: () => ['sync', 'orders', '--config', file('not-json.json')], code: 3, culprit: /not-json\.json.*line 4 column 5/, advice: /not valid JSON/ },
  { kind: 'misspelt top-level key', args: () => ['sync', 'orders', '--config', file('top-key.json')], code: 3, culprit: /top-key\.json.*maxFilesPerBatchh/, advice: /did you mean 'maxFilesPerBatch'/ },
  { kind: 'misspelt dataset key', args: () => ['sync', 'orders', '--config', file('dataset-key.json')], code: 3, culprit: /datasets\.0\.loadmode/, advice: /did you mean 'loadMode'/ },
  { kind: 'wrong type of a setting', args: () => ['sync', 'orders', '--config', file('wrong-type.json')], code: 3, culprit: /maxFilesPerBatch/, advice: /expected number/ },
  { kind: 'misspelt setting value', args: () => ['sync', 'orders', '--config', file('bad-enum.json')], code: 3, culprit: /datasets\.0\.loadMode/, advice: /did you mean 'upsert'/ },
  { kind: 'duplicate dataset name', args: () => ['sync', 'orders', '--config', file('duplicate-name.json')], code: 3, culprit: /datasets\.1\.name.*'orders'/, advice: /duplicate dataset name/ },
  { kind: 'key column not among the columns', args: () => ['sync', 'orders', '--config', file('unknown-key-column.json')], code: 3, culprit: /keyColumns\.0.*'order_idd'/, advice: /is not in columns/ },
  { kind: 'unknown column type', args: () => ['sync', 'orders', '--config', file('unknown-column-type.json')], code: 3, culprit: /columns\.1\.type/, advice: /must be one of .*BIGINT/ },
  { kind: 'unknown dataset (sync)', args: () => ['sync', 'ordrs', '--config', EXAMPLE], code: 3, culprit: /'ordrs'/, advice: /did you mean 'orders'/ },
  { kind: 'unknown dataset (watermark --config)', args: () => ['watermark', 'get', 'ordrs', '--config', EXAMPLE, '--data-dir', file('no-state')], code: 3, culprit: /'ordrs'/, advice: /did you mean 'orders'/ },
  { kind: 'bad --mode', args: () => ['sync', 'orders', '--config', EXAMPLE, '--mode', 'fast'], code: 3, culprit: /--mode.*'fast'/, advice: /must be one of incremental/ },
  { kind: 'bad --limit', args: () => ['sync', 'orders', '--config', EXAMPLE, '--limit', '0'], code: 3, culprit: /--limit.*'0'/, advice: /positive integer/ },
  { kind: 'bad --max-chunks', args: () => ['sync', 'orders', '--config', EXAMPLE, '--max-chunks', 'abc'], code: 3, culprit: /--max-chunks.*'abc'/, advice: /positive integer/ },
  { kind: 'non-postgres --warehouse (password masked)', args: () => ['sync', 'orders', '--config', EXAMPLE, '--warehouse', `mysql://u:${SECRET}@h/db`], code: 3, culprit: /--warehouse.*mysql:\/\/u:\*+@h\/db/, advice: /must be a postgres:\/\/ URL/ },
  { kind: '--region without --stack', args: () => ['sync', 'orders', '--config', EXAMPLE, '--region', 'eu-west-1'], code: 3, culprit: /--region/, advice: /applies to --stack only/ },
  { kind: '--after outside load-only', args: () => ['sync', 'orders', '--config', EXAMPLE, '--after', '5'], code: 3, culprit: /--after/, advice: /--mode load-only only/ },
  { kind: '--after-key without --after', args: () => ['sync', 'orders', '--config', EXAMPLE, '--after-key', '5'], code: 3, culprit: /--after-key/, advice: /needs --after/ },
  { kind: 'sync with no dataset', args: () => ['sync', '--config', EXAMPLE], code: 3, culprit: /dataset/, advice: /or give --all/ },
  { kind: 'bad --s3-port', args: () => ['local', '--config', EXAMPLE, '--s3-port', 'abc'], code: 3, culprit: /--s3-port.*'abc'/, advice: /must be 1-65535/ },
  { kind: 'bad --event-seed', args: () => ['local', '--config', EXAMPLE, '--event-seed', 'x'], code: 3, culprit: /--event-seed.*'x'/, advice: /integer from 0/ },
  { kind: 'verify-local: missing folder', args: () => ['verify-local', file('no-folder'), 's3://b/p'], code: 3, culprit: /no-folder/, advice: /give the local folder/ },
  { kind: 'verify-local: not an S3 URI', args: () => ['verify-local', dir, 's3:/b'], code: 3, culprit: /'s3:\/b'/, advice: /e\.g\. s3:\/\/my-bucket/ },
  { kind: 'verify-local: bad --sample', args: () => ['verify-local', dir, 's3://b/p', '--sample', 'lots'], code: 3, culprit: /--sample.*'lots'/, advice: /accepted forms: 'all'/ },
  { kind: 'verify-local: threshold above 100%', args: () => ['verify-local', dir, 's3://b/p', '--threshold-text', '300'], code: 3, culprit: /--threshold-text '300'/, advice: /give a percentage/ },
  { kind: 'ledger: bad --state', args: () => ['ledger', 'list', 'orders', '--state', 'bogus', '--data-dir', dir], code: 3, culprit: /--state.*'bogus'/, advice: /Allowed choices are discovered/ },
  { kind: 'ledger: key given as an S3 URI', args: () => ['ledger', 'show', 's3://bucket/orders/a.parquet', '--data-dir', dir], code: 3, culprit: /s3:\/\/BUCKET/, advice: /e\.g\. 'orders\/a\.parquet'/ },
  { kind: 'state command: missing --data-dir', args: () => ['watermark', 'list', '--data-dir', file('no-state')], code: 3, culprit: /no-state/, advice: /give the directory that `syncproof local --data-dir` keeps/ },
  { kind: 'state command: a --data-dir without state', args: () => ['ledger', 'list', 'orders', '--data-dir', file('empty-dir')], code: 3, culprit: /no DynamoDB state in '.*empty-dir'/, advice: /give the --data-dir that `syncproof local` used/ },
  { kind: 'state command: two targets', args: () => ['watermark', 'list', '--data-dir', dir, '--stack', 'Syncproof'], code: 3, culprit: /--data-dir.*--stack/, advice: /cannot be used with/ },
  { kind: 'unsupported --source scheme (password masked)', args: () => ['datasets', 'add', 'x', '--source', `oracle://u:${SECRET}@h/db`, '--table', 'a.b', '--config', file('new.json')], code: 3, culprit: /--source.*oracle:\/\/u:\*+@h\/db/, advice: /must be a mysql:\/\/, mariadb:\/\/, postgres:\/\/ or pglite: URL/ },
  { kind: 'unknown command', args: () => ['synk'], code: 3, culprit: /'synk'/, advice: /unknown command/ },
];

describe('bad input refused before anything runs', () => {
  let results: Map<string, CliResult>;
  const ready = prepared(async () => {
    results = await runAll(fastCases);
  });
  beforeAll(() => ready());
  it.each(fastCases.map((c) => [c.kind, c] as const))('%s', (_kind, c) => expectClean(c, results.get(c.kind)));
  it('a refused --data-dir is left as it was (nothing created in it)', () => {
    expect(results.get('state command: a --data-dir without state')?.code).toBe(3);
    expect(readdirSync(file('empty-dir'))).toEqual([]);
  });
});

/** The PostgreSQL server the data cases load into (one database each), read back directly. */
let pg: TestPostgres;
let pgReady: Promise<TestPostgres> | undefined;
const sharedPostgres = () => (pgReady ??= getTestPostgres().then((p) => (pg = p)));
afterAll(async () => {
  await pg?.stop();
});

/** `id:v` of every row of `table` in the warehouse database at `url`, by id. */
async function readRows(url: string, table: string, id = 'id', v = 'v'): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ id: string; v: string | null }>(`SELECT ${id}::text AS id, ${v}::text AS v FROM public.${table} ORDER BY ${id}`);
    return r.rows.map((x) => `${x.id}:${x.v}`);
  } finally {
    await client.end();
  }
}

describe('bad input from databases (MariaDB source, PostgreSQL warehouse)', () => {
  let maria: TestMariadb;
  let warehouse: TestDatabase;
  /** `mysql://reader:SECRET@…/shop` and the same with `password`, another database or port. */
  let sourceUrl: (change?: { password?: string; database?: string; port?: number }) => string;
  let config: string;
  let dataDir: string;
  let first: CliResult;
  let second: CliResult;
  let sourceResults: Map<string, CliResult>;
  let report: { datasets: { dataset: string; status: string; error?: string }[] };

  const datasets = [
    { name: 'good', table: 'good' },
    { name: 'gone', table: 'gone' },
    { name: 'too-long', table: 'too_long' },
    { name: 'zero-date', table: 'zero_date' },
    { name: 'odd', table: 'odd' },
    { name: 'keyless', table: 'keyless' },
    { name: 'no-cursor', table: 'no_cursor', source: { cursorColumn: 'changed_at' } },
    { name: 'denied', table: 'good', url: 'denied' },
    { name: 'refused', table: 'good', url: 'refused' },
  ] as const;

  const rows = (table: string) => readRows(warehouse.url, table);

  const sourceCases: Case[] = [
    { kind: 'wrong source password', args: () => ['source', 'tables', '--source', sourceUrl({ password: WRONG })], code: 3, culprit: /'reader'/, advice: /password|credentials|access denied/i },
    { kind: 'closed source port', args: () => ['source', 'tables', '--source', sourceUrl({ port: closedPort })], code: 3, culprit: /127\.0\.0\.1|ECONNREFUSED/, advice: /check|is the server running|unavailable/i },
    { kind: 'unknown source database', args: () => ['source', 'tables', '--source', sourceUrl({ database: 'shopp' })], code: 3, culprit: /shopp/, advice: /check|does not exist|unknown database/i },
    { kind: 'datasets add: unknown table', args: () => ['datasets', 'add', 'x', '--source', sourceUrl(), '--table', 'shop.orderz', '--config', file('added.json')], code: 3, culprit: /shop\.orderz/, advice: /source tables|does not exist|not found|did you mean/i },
    { kind: 'datasets add: keyless table', args: () => ['datasets', 'add', 'x', '--source', sourceUrl(), '--table', 'shop.keyless', '--config', file('added.json')], code: 3, culprit: /keyless/, advice: /--key|unique key/ },
    { kind: 'datasets add: unknown cursor column', args: () => ['datasets', 'add', 'x', '--source', sourceUrl(), '--table', 'shop.good', '--cursor', 'changed_at', '--config', file('added.json')], code: 3, culprit: /changed_at/, advice: /columns|did you mean|--cursor/ },
  ];
  let closedPort = 0;

  const ready = prepared(async () => {
    [maria] = await Promise.all([startTestMariadb(), sharedPostgres()]);
    warehouse = await createTestDatabase(pg.url);
    const shop = await maria.createDatabase('shop');
    await maria.admin.query(
      `CREATE USER 'reader'@'%' IDENTIFIED BY '${SECRET}'; CREATE USER 'reader'@'localhost' IDENTIFIED BY '${SECRET}';` +
        " GRANT SELECT ON shop.* TO 'reader'@'%', 'reader'@'localhost'",
    );
    const t = 'DATETIME(6) NOT NULL';
    await maria.admin.query(
      'USE shop;' +
        `CREATE TABLE good (id INT NOT NULL PRIMARY KEY, updated_at ${t}, v VARCHAR(10));` +
        `CREATE TABLE gone (id INT NOT NULL PRIMARY KEY, updated_at ${t}, v VARCHAR(10));` +
        `CREATE TABLE too_long (id INT NOT NULL PRIMARY KEY, updated_at ${t}, v VARCHAR(3) CHARACTER SET latin1);` +
        `CREATE TABLE zero_date (id INT NOT NULL PRIMARY KEY, updated_at ${t}, v DATE NOT NULL);` +
        `CREATE TABLE odd (id INT NOT NULL PRIMARY KEY, updated_at ${t}, shape GEOMETRY);` +
        `CREATE TABLE keyless (code VARCHAR(10) NOT NULL, other INT NOT NULL, updated_at ${t}, UNIQUE (code), UNIQUE (other));` +
        `CREATE TABLE no_cursor (id INT NOT NULL PRIMARY KEY, created ${t}, note VARCHAR(10));` +
        "INSERT INTO good VALUES (1, '2024-03-01 10:00:00', 'a'), (2, '2024-03-01 10:00:01', 'b');" +
        "INSERT INTO gone VALUES (1, '2024-03-01 10:00:00', 'g');" +
        "INSERT INTO too_long VALUES (1, '2024-03-01 10:00:00', 'abc');" +
        "INSERT INTO zero_date VALUES (1, '2024-03-01 10:00:00', '2024-03-01');" +
        "INSERT INTO odd VALUES (1, '2024-03-01 10:00:00', ST_GeomFromText('POINT(1 2)'));",
    );
    closedPort = await freePort();
    sourceUrl = (change = {}) => {
      const u = new URL(shop);
      u.hostname = '127.0.0.1';
      u.username = 'reader';
      u.password = change.password ?? SECRET;
      if (change.database) u.pathname = `/${change.database}`;
      if (change.port) u.port = String(change.port);
      return u.toString();
    };
    const urls = { denied: sourceUrl({ password: WRONG }), refused: sourceUrl({ port: closedPort }) };
    const all = datasets.map((d) => ({
      name: d.name,
      target: { schema: 'public', table: d.name.replace(/-/g, '_') },
      source: { engine: 'mysql', url: 'url' in d ? urls[d.url] : sourceUrl(), table: `shop.${d.table}`, cursorColumn: 'updated_at', ...('source' in d ? d.source : {}) },
    }));
    config = file('db.config.json');
    writeFileSync(config, JSON.stringify({ datasets: all, maxConcurrentDatasets: 3 }, null, 2));
    dataDir = file('db-state');

    const common = ['--config', config, '--data-dir', dataDir, '--warehouse', warehouse.url];
    first = await runCli(['sync', 'good', 'gone', 'too-long', 'zero-date', ...common]);
    // Then the source goes bad under what was loaded.
    await maria.admin.query(
      'USE shop; DROP TABLE gone;' +
        "INSERT INTO too_long VALUES (2, '2024-03-01 10:00:01', 'ok'), (3, '2024-03-01 10:00:02', 'ééé');" +
        "SET SESSION sql_mode = ''; INSERT INTO zero_date VALUES (2, '2024-03-01 10:00:01', '0000-00-00');",
    );
    const everything = datasets.map((d) => d.name);
    [second, sourceResults] = await Promise.all([runCli(['sync', ...everything, ...common, '--json', file('report.json')]), runAll(sourceCases, 2)]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    report = require(file('report.json')) as typeof report;
  });
  beforeAll(() => ready());

  afterAll(async () => {
    await warehouse?.drop().catch(() => undefined);
    await maria?.stop();
  });

  it('loads the first run of the good tables', () => {
    expect({ code: first.code, err: first.stderr }).toEqual({ code: 0, err: '' });
  });

  it.each(sourceCases.map((c) => [c.kind, c] as const))('%s', (_kind, c) => expectClean(c, sourceResults.get(c.kind)));

  const dataCases: { kind: string; dataset: string; culprit: RegExp; advice: RegExp }[] = [
    { kind: 'unsupported source column type', dataset: 'odd', culprit: /shop\.odd\.shape has type geometry/, advice: /cannot load into Redshift/ },
    { kind: 'keyless source table', dataset: 'keyless', culprit: /shop\.keyless has no primary key/, advice: /name a unique key in source\.keyColumns; its unique keys: \(code\), \(other\)/ },
    { kind: 'unknown cursor column', dataset: 'no-cursor', culprit: /cursor column 'changed_at' is not a column of shop\.no_cursor/, advice: /columns: id, created, note/ },
    { kind: 'dropped source table', dataset: 'gone', culprit: /source table shop\.gone of dataset 'gone' does not exist/, advice: /create it, or point source\.table at the right table/ },
    { kind: 'over-long value', dataset: 'too-long', culprit: /shop\.too_long\.v of the row with key \(3\) is 6 bytes long/, advice: /more than the 3 bytes of its VARCHAR\(3\) column/ },
    { kind: 'zero date in a NOT NULL column', dataset: 'zero-date', culprit: /shop\.zero_date\.v of the row with key \(2\) is the zero date/, advice: /fix the row \(or make the column nullable\)/ },
    { kind: 'wrong source credentials (sync)', dataset: 'denied', culprit: /'reader'/, advice: /password|credentials|access denied/i },
    { kind: 'closed source port (sync)', dataset: 'refused', culprit: /ECONNREFUSED|127\.0\.0\.1/, advice: /check|unavailable|running/i },
  ];

  it.each(dataCases.map((c) => [c.kind, c] as const))('%s: named in the run report and the output, nothing lost', async (_kind, c) => {
    expectClean({ kind: c.kind, args: () => [], code: 2, culprit: c.culprit, advice: c.advice }, second);
    const entry = report.datasets.find((d) => d.dataset === c.dataset);
    expect(entry).toMatchObject({ status: expect.stringMatching(/FAILED|ERROR/) });
    expect(entry?.error).toMatch(c.culprit);
    expect(entry?.error).toMatch(c.advice);
  });

  it('keeps what the first run loaded, and the good dataset still passes', async () => {
    expect(report.datasets.find((d) => d.dataset === 'good')).toMatchObject({ status: expect.stringMatching(/PASSED|NO_WORK/) });
    expect(await rows('good')).toEqual(['1:a', '2:b']);
    expect(await rows('gone')).toEqual(['1:g']);
    expect(await rows('too_long')).toEqual(['1:abc']);
    expect(await rows('zero_date')).toEqual(['1:2024-03-01']);
  });
});

describe('bad files under a prefix (local S3, PostgreSQL warehouse)', () => {
  let warehouse: TestDatabase;
  let stateDir: string;
  let config: string;
  let first: CliResult;
  let second: CliResult;
  let ledger: CliResult;

  const columns = (order: readonly string[] = ['order_id', 'customer_id', 'status', 'amount', 'updated_at'], extra = false) => {
    const all: Record<string, ParquetColumnInput> = {
      order_id: { name: 'order_id', type: 'INT64', data: [1, 2] },
      customer_id: { name: 'customer_id', type: 'INT64', data: [10, 20] },
      status: { name: 'status', type: 'STRING', data: ['new', 'paid'] },
      amount: { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ['1.50', '2.00'] },
      updated_at: { name: 'updated_at', type: 'TIMESTAMP', adjustedToUtc: false, data: ['2024-03-01 10:00:00', '2024-03-01 10:00:01'] },
    };
    return [...order.map((n) => all[n]!), ...(extra ? [{ name: 'note', type: 'STRING', data: ['x', 'y'] } as const] : [])];
  };

  /** Puts `objects` into the data dir's S3 (the project's emulator, started on its directory, then stopped). */
  async function upload(objects: Record<string, Uint8Array>): Promise<void> {
    const s3 = await startLocalS3({ bucket: 'syncproof-local', directory: join(stateDir, 's3') });
    const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
    try {
      for (const [key, body] of Object.entries(objects)) await client.send(new PutObjectCommand({ Bucket: 'syncproof-local', Key: key, Body: body }));
    } finally {
      client.destroy();
      await s3.stop();
    }
  }

  const ready = prepared(async () => {
    await sharedPostgres();
    warehouse = await createTestDatabase(pg.url);
    stateDir = file('files-state');
    config = exampleWith('files.config.json', () => undefined);
    const good = encodeParquet(columns());
    await upload({ 'orders/2024/good.parquet': good });
    const common = ['--config', config, '--data-dir', stateDir, '--warehouse', warehouse.url];
    first = await runCli(['sync', 'orders', ...common]);
    await upload({
      'orders/2024/empty.parquet': new Uint8Array(0),
      'orders/2024/truncated.parquet': good.subarray(0, Math.floor(good.length / 2)),
      'orders/2024/not-parquet.parquet': new TextEncoder().encode('order_id,customer_id\n1,10\n'),
      'orders/2024/wrong-order.parquet': encodeParquet(columns(['order_id', 'customer_id', 'amount', 'status', 'updated_at'])),
      'orders/2024/drift.parquet': encodeParquet(columns(undefined, true)),
    });
    second = await runCli(['sync', 'orders', ...common]);
    ledger = await runCli(['ledger', 'list', 'orders', '--data-dir', stateDir, '--config', config]);
    if (process.env.DEBUG_BAD_INPUT) process.stderr.write(`${JSON.stringify(second, null, 1)}\n${ledger.stdout}\n${ledger.stderr}\n`);
  });
  beforeAll(() => ready());

  afterAll(async () => {
    await warehouse?.drop().catch(() => undefined);
  });

  it('loads the good file first', async () => {
    expect({ code: first.code, err: first.stderr }).toEqual({ code: 0, err: '' });
    expect(await readRows(warehouse.url, 'orders', 'order_id', 'status')).toEqual(['1:new', '2:paid']);
  });

  const again = /export the file again and upload it \(or delete it\)/;
  /** `adviceInRun`: the advice is in the run's error (the ledger keeps the reason only). */
  const fileCases: { kind: string; key: string; reason: RegExp; advice: RegExp; adviceInRun?: boolean }[] = [
    { kind: 'empty object', key: 'orders/2024/empty.parquet', reason: /only 0 bytes, too short to be a Parquet file/, advice: again },
    { kind: 'truncated Parquet object', key: 'orders/2024/truncated.parquet', reason: /does not end with the Parquet magic 'PAR1': it is truncated/, advice: again },
    { kind: 'non-Parquet object', key: 'orders/2024/not-parquet.parquet', reason: /not a Parquet file/, advice: again },
    {
      kind: 'wrong column order',
      key: 'orders/2024/wrong-order.parquet',
      reason: /column 3 is 'amount' but the target's column 3 is 'status'/,
      advice: /rewrite the file in the target's column order \(order_id, customer_id, status, amount, updated_at\)/,
    },
    {
      kind: 'schema drift (an extra column)',
      key: 'orders/2024/drift.parquet',
      reason: /column 'note' \(BYTE_ARRAY\/STRING\) not in target table public\.orders/,
      advice: /change the table \(or set \\?"schemaDrift\\?": \\?"add-columns\\?" for new columns\), then run again/,
      adviceInRun: true,
    },
  ];

  it.each(fileCases.map((c) => [c.kind, c] as const))('%s: not loaded, named in the ledger with the reason, nothing lost', async (_kind, c) => {
    for (const r of [second, ledger]) {
      const out = `${r.stdout}\n${r.stderr}`;
      expect(out).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      for (const secret of SECRETS) expect(out.includes(secret)).toBe(false);
    }
    expect([1, 2]).toContain(second.code);
    expect(ledger.code).toBe(0);
    const line = ledger.stdout.split('\n').find((l) => l.includes(c.key));
    expect({ kind: c.kind, line }).toEqual({ kind: c.kind, line: expect.stringMatching(/quarantined|failed/) });
    expect(line).toMatch(c.reason);
    expect(c.adviceInRun ? second.stdout : line).toMatch(c.advice);
    if (c.adviceInRun) expect(second.stdout).toContain(c.key);
    expect(await readRows(warehouse.url, 'orders', 'order_id', 'status')).toEqual(['1:new', '2:paid']);
  });
});
