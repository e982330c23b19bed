/**
 * The same-engine fast path of content comparison (lambdas/core/content/model.ts NativeHashing),
 * through `syncproof diff` between two PostgreSQL tables: segment sums hash the row's own text
 * output only when every compared column has the same native type on both sides; differences are
 * still found value by value, and a float inside the tolerance is still not reported.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runCli } from '../support/cli';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from '../support/postgres';

const N = 400;
// Timestamps with milliseconds only, so a TIMESTAMP(3) copy holds the same instants.
const BASE_ROWS = `SELECT i, 'name ' || i, (i % 1000) / 100.0, i / 7.0, TIMESTAMP '2024-01-01' + i * INTERVAL '7 minutes 1.125 seconds', CASE WHEN i % 5 = 0 THEN NULL WHEN i % 7 = 0 THEN '' ELSE 'note ' || i END FROM generate_series(1, ${N}) i`;

let pg: TestPostgres;
let db: TestDatabase;
let client: Client;
let dir: string;
let tables = 0;

beforeAll(async () => {
  pg = await getTestPostgres();
  db = await createTestDatabase(pg.url);
  client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE TABLE base (id INT, name VARCHAR(40), price NUMERIC(10,2), ratio DOUBLE PRECISION, at TIMESTAMP(6), note TEXT)');
  await client.query(`INSERT INTO base ${BASE_ROWS}`);
  dir = mkdtempSync(join(tmpdir(), 'content-native-'));
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A table declared `columns` (default: as base), holding base's rows, then changed by `sql` (`T` stands for its name). */
async function variant(sql: string, columns?: string): Promise<string> {
  const name = `v${++tables}`;
  if (columns) {
    await client.query(`CREATE TABLE ${name} (${columns})`);
    await client.query(`INSERT INTO ${name} SELECT * FROM base`);
  } else await client.query(`CREATE TABLE ${name} AS SELECT * FROM base`);
  if (sql) await client.query(sql.replace(/\bT\b/g, name));
  return name;
}

interface Report {
  verdict: string;
  changed: { key: string[]; columns: { column: string }[] }[];
  compared: { hashing: string; rowsA: number; rowsB: number; fetchedRows: number; segmentQueries: number };
}

/** `syncproof diff base TABLE --json`: exit code, stdout and the JSON report read back. */
async function diff(table: string, key = 'id'): Promise<{ code: number | null; stdout: string; report: Report }> {
  const json = join(dir, `${table}.json`);
  const result = await runCli(['diff', db.url, 'base', db.url, table, '--key', key, '--fetch-rows', '16', '--factor', '4', '--json', json]);
  if (result.code !== 0 && result.code !== 2) throw new Error(`diff exited ${result.code}: ${result.stderr}`);
  return { code: result.code, stdout: result.stdout, report: JSON.parse(readFileSync(json, 'utf8')) as Report };
}

describe('same-engine fast path', () => {
  it('hashes natively when both tables declare the same types, and passes equal tables', async () => {
    const { code, report } = await diff(await variant(''));
    expect([code, report.verdict, report.compared.hashing, report.compared.rowsA, report.compared.rowsB]).toEqual([0, 'PASSED', 'native', N, N]);
    expect(report.compared.fetchedRows).toBe(0);
  });

  it.each([
    ['name', "UPDATE T SET name = name || ' ' WHERE id = 123"],
    ['price', 'UPDATE T SET price = price + 0.01 WHERE id = 123'],
    ['at', "UPDATE T SET at = at + INTERVAL '1 microsecond' WHERE id = 123"],
    ['note', 'UPDATE T SET note = NULL WHERE id = 123'],
    ['ratio', 'UPDATE T SET ratio = ratio * 1.000001 WHERE id = 123'],
  ])('finds a single changed value of %s while hashing natively', async (column, sql) => {
    const { code, report } = await diff(await variant(sql));
    expect([code, report.compared.hashing]).toEqual([2, 'native']);
    expect(report.changed.map((c) => [c.key, c.columns.map((x) => x.column)])).toEqual([[['123'], [column]]]);
  });

  it('finds a changed value under hash buckets of a text key, hashing natively', async () => {
    const { code, report } = await diff(await variant('UPDATE T SET price = price + 0.01 WHERE id = 234'), 'name');
    expect([code, report.compared.hashing, report.compared.rowsA]).toEqual([2, 'native', N]);
    expect(report.changed.map((c) => [c.key, c.columns.map((x) => x.column)])).toEqual([[['name 234'], ['price']]]);
  });

  it('fetches the mismatching leaves of one parent in one query a side', async () => {
    const { code, report } = await diff(await variant("UPDATE T SET name = name || '!' WHERE id IN (11, 95, 170, 260, 390)"));
    expect([code, report.changed.map((c) => c.key[0])]).toEqual([2, ['11', '95', '170', '260', '390']]);
    // Key bounds, the root's sums, one batch of five leaves, the NULL-key rows: two queries each (five leaves one by one: 16).
    expect(report.compared.segmentQueries).toBe(8);
  });

  it('does not report a float inside the tolerance: its segment mismatches natively, is fetched, and its rows compare equal', async () => {
    const { code, report } = await diff(await variant('UPDATE T SET ratio = ratio * (1 + 1e-13) WHERE id = 77'));
    expect([code, report.verdict, report.compared.hashing]).toEqual([0, 'PASSED', 'native']);
    expect(report.compared.fetchedRows).toBeGreaterThan(0);
  });

  it.each([
    ['a decimal at another scale', 'price', 'NUMERIC(10,3)'],
    ['a timestamp at another precision', 'at', 'TIMESTAMP(3)'],
    ['text instead of VARCHAR', 'name', 'TEXT'],
  ])('hashes portably when a column is %s, and passes equal values', async (_, column, type) => {
    const columns = `id INT, name VARCHAR(40), price NUMERIC(10,2), ratio DOUBLE PRECISION, at TIMESTAMP(6), note TEXT`.replace(new RegExp(`\\b${column} [A-Z]+(\\(\\d+(,\\d+)?\\))?`), `${column} ${type}`);
    const { code, report } = await diff(await variant('', columns));
    expect([code, report.verdict, report.compared.hashing]).toEqual([0, 'PASSED', 'portable']);
  });

  it('finds a changed value in a column whose type differs between the sides', async () => {
    const columns = 'id INT, name VARCHAR(40), price NUMERIC(10,3), ratio DOUBLE PRECISION, at TIMESTAMP(6), note TEXT';
    const { code, report } = await diff(await variant('UPDATE T SET price = price + 0.001 WHERE id = 321', columns));
    expect([code, report.compared.hashing]).toEqual([2, 'portable']);
    expect(report.changed.map((c) => [c.key, c.columns.map((x) => x.column)])).toEqual([[['321'], ['price']]]);
  });
});
