/**
 * `syncproof diff` as a user runs it: MariaDB vs PostgreSQL and SQLite vs PostgreSQL, small tables
 * and a small --fetch-rows so bisection recurses; each kind of difference exits 2 naming the key.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { runCli } from '../support/cli';
import { startTestMariadb, type TestMariadb } from '../support/mariadb';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from '../support/postgres';

const N = 300;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const rows = Array.from({ length: N }, (_, k) => {
  const i = k + 1;
  const minutes = i * 7;
  return {
    id: i,
    name: `name ${i}`,
    price: `${i}.${pad(i % 100)}`,
    ratio: i / 3,
    at: `2024-01-${pad(1 + Math.floor(minutes / 1440))} ${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}:00.${pad(i * 1237 % 1_000_000, 6)}`,
    note: i % 7 === 0 ? '' : i % 11 === 0 ? null : `note ${i}`,
  };
});
const q = (v: string | null) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`);
const valuesOf = (list: typeof rows, at: (s: string) => string = (s) => s) =>
  list.map((r) => `(${r.id}, ${q(r.name)}, ${r.price}, ${r.ratio}, ${q(at(r.at))}, ${q(r.note)})`).join(', ');

let pg: TestPostgres;
let db: TestDatabase;
let client: Client;
let maria: TestMariadb;
let mariaUrl: string;
let dir: string;
let sqliteUrl: string;

beforeAll(async () => {
  [pg, maria] = await Promise.all([getTestPostgres(), startTestMariadb()]);
  db = await createTestDatabase(pg.url);
  client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE base (id INT, name VARCHAR(40), price NUMERIC(10,2), ratio DOUBLE PRECISION, at TIMESTAMP(6), note VARCHAR(40))`);
  await client.query(`INSERT INTO base VALUES ${valuesOf(rows)}`);
  mariaUrl = await maria.createDatabase('diff_cli');
  await maria.admin.query('CREATE TABLE diff_cli.t (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), ratio DOUBLE, at DATETIME(6), note VARCHAR(40))');
  await maria.admin.query(`INSERT INTO diff_cli.t VALUES ${valuesOf(rows)}`);
  dir = mkdtempSync(join(tmpdir(), 'diff-cli-'));
  const file = join(dir, 'a.db');
  const lite = new Database(file);
  lite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(10,2), ratio REAL, at TEXT, note TEXT)');
  lite.exec(`INSERT INTO t VALUES ${valuesOf(rows).replace(/, (\d+\.\d+), /g, ", '$1', ")}`);
  lite.close();
  sqliteUrl = `sqlite://${file}`;
}, 180_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await db?.drop().catch(() => undefined);
  await pg?.stop();
  await maria?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let tables = 0;
/** A copy of the base table in PostgreSQL, changed by `sql` (`T` stands for its name). */
async function variant(sql: string, create = 'CREATE TABLE T AS SELECT * FROM base'): Promise<string> {
  const name = `v${++tables}`;
  await client.query(create.replace(/\bT\b/g, name));
  if (sql) await client.query(sql.replace(/\bT\b/g, name));
  return name;
}

const diff = (urlA: string, tableA: string, table: string, ...extra: string[]) =>
  runCli(['diff', urlA, tableA, db.url, table, '--key', 'id', '--fetch-rows', '8', '--factor', '4', ...extra]);

describe('syncproof diff', () => {
  it.each([
    ['MariaDB', () => mariaUrl],
    ['SQLite', () => sqliteUrl],
  ])('%s vs PostgreSQL: equal tables pass (exit 0)', async (_, url) => {
    const result = await diff(url(), 't', await variant(''));
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^PASSED: 300 rows on each side/);
    expect(result.stdout).toContain('columns id, name, price, ratio, at, note; rows A 300, rows B 300');
  });

  it.each([
    ['missing row', 'DELETE FROM T WHERE id = 10', /missing in B: id="10"/],
    ['extra row', "INSERT INTO T VALUES (301, 'x', 1, 1, '2024-01-01', 'x')", /extra in B: id="301"/],
    ['changed value', "UPDATE T SET name = 'other' WHERE id = 20", /changed: id="20" \(name\)/],
    ['decimal last digit', 'UPDATE T SET price = price + 0.01 WHERE id = 30', /changed: id="30" \(price\)/],
    ['trailing space', "UPDATE T SET name = name || ' ' WHERE id = 40", /changed: id="40" \(name\)/],
    ["'' → NULL", 'UPDATE T SET note = NULL WHERE id = 49', /changed: id="49" \(note\)/],
    ['one-hour shift of a timestamp', "UPDATE T SET at = at + interval '1 hour' WHERE id = 50", /changed: id="50" \(at\)/],
    ['float beyond tolerance', 'UPDATE T SET ratio = ratio * 1.000001 WHERE id = 60', /changed: id="60" \(ratio\)/],
    ['duplicated row', 'INSERT INTO T SELECT * FROM base WHERE id = 70', /duplicate key in B: id="70" \(2 times\)/],
  ])('MariaDB vs PostgreSQL: a %s exits 2 naming the key', async (_, sql, expected) => {
    const result = await diff(mariaUrl, 't', await variant(sql));
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^FAILED: /);
    expect(result.stdout).toMatch(expected);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('  ')).length).toBe(1);
  });

  it('SQLite vs PostgreSQL: a changed value and a missing row exit 2, values only in the --json report', async () => {
    const json = join(dir, 'report.json');
    const result = await diff(sqliteUrl, 't', await variant("UPDATE T SET name = 'secret value' WHERE id = 5; DELETE FROM T WHERE id = 6"), '--json', json);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/changed: id="5" \(name\)/);
    expect(result.stdout).toMatch(/missing in B: id="6"/);
    expect(result.stdout).not.toContain('secret value');
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.verdict).toBe('FAILED');
    expect(report.changed).toEqual([{ key: ['5'], columns: [{ column: 'name', a: 'name 5', b: 'secret value' }] }]);
  });

  it("compares SQLite REALs as the 8-byte doubles they are: a drift of 1e-8 between two SQLite files is beyond a 1e-10 tolerance", async () => {
    // SQLite stores REAL as a double; read as PostgreSQL's 6-digit `real`, a drift under 1e-6 was never reported between two SQLite files.
    const file = join(dir, 'drifted.db');
    copyFileSync(sqliteUrl.slice('sqlite://'.length), file);
    const lite = new Database(file);
    lite.exec('UPDATE t SET ratio = ratio * (1 + 1e-8) WHERE id = 7');
    lite.close();
    const drifted = await runCli(['diff', sqliteUrl, 't', `sqlite://${file}`, 't', '--key', 'id', '--float-tolerance', '1e-10']);
    expect(drifted.code).toBe(2);
    expect(drifted.stdout).toMatch(/changed: id="7" \(ratio\)/);
  });

  it('passes a float inside the tolerance and timestamps equal after truncation to the coarser precision', async () => {
    const inside = await diff(mariaUrl, 't', await variant('UPDATE T SET ratio = ratio * (1 + 1e-12) WHERE id BETWEEN 1 AND 40'));
    expect([inside.code, inside.stdout.slice(0, 7)]).toEqual([0, 'PASSED:']);
    const coarse = await variant('', 'CREATE TABLE T (id INT, name VARCHAR(40), price NUMERIC(10,2), ratio DOUBLE PRECISION, at TIMESTAMP(3), note VARCHAR(40))');
    await client.query(`INSERT INTO ${coarse} VALUES ${valuesOf(rows, (s) => s.slice(0, 23))}`);
    const truncated = await diff(mariaUrl, 't', coarse);
    expect([truncated.code, truncated.stdout.slice(0, 7)]).toEqual([0, 'PASSED:']);
  });

  it('exits 3 with one sentence, never the password, when a server refuses the connection', async () => {
    for (const url of ['postgres://u:p%40ss%3Aw%2Fo%23rd@127.0.0.1:1/db', 'postgres://u:p@ss:w/o#rd@127.0.0.1:1/db', 'mysql://u:p%40ss%3Aw%2Fo%23rd@127.0.0.1:1/db']) {
      const result = await runCli(['diff', url, 't', db.url, 'base', '--key', 'id']);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      for (const secret of ['p@ss', 'p%40ss', 'w/o#rd', 'w%2Fo']) expect(result.stderr).not.toContain(secret);
    }
  });

  it('exits 3 naming an unknown table or column and what to do', async () => {
    const table = await runCli(['diff', mariaUrl, 'nope', db.url, 'base', '--key', 'id']);
    expect([table.code, table.stderr]).toEqual([3, expect.stringMatching(/table diff_cli\.nope was not found/)]);
    const column = await runCli(['diff', mariaUrl, 't', db.url, 'base', '--key', 'idd']);
    expect([column.code, column.stderr]).toEqual([3, expect.stringMatching(/key column idd is not in the first table \(did you mean id\?\)/)]);
  });
});
