/**
 * The same rows, covering every compared type and its traps, in MariaDB, PostgreSQL, a SQLite file
 * and the warehouse through the local Redshift Data API: equal segment sums on all four (and in
 * JavaScript), and each single changed value makes them differ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openMysqlSide } from '../../lambdas/adapters/content/mysql-side';
import { openPostgresSide } from '../../lambdas/adapters/content/postgres-side';
import { SqlContentSide } from '../../lambdas/adapters/content/sql-side';
import { openSqliteSide } from '../../lambdas/adapters/content/sqlite-side';
import { postgresDialect } from '../../lambdas/core/content/dialects/postgres';
import Database from 'better-sqlite3';
import { openWarehouseSide } from '../../lambdas/adapters/content/warehouse-side';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { RedshiftDataWarehouse } from '../../lambdas/adapters/redshift-data-warehouse';
import { compareContent, contentPassed } from '../../lambdas/core/content/bisect';
import { memorySide } from '../../lambdas/core/content/memory-side';
import { buildPlan, UNDECLARED_SCALE } from '../../lambdas/core/content/plan';
import type { ComparisonPlan, ContentSide, Segment } from '../../lambdas/core/content/model';
import { canonicalJson } from '../../lambdas/core/content/normalize';
import type { Warehouse } from '../../lambdas/core/ports';
import { startLocalRedshiftDataApi, type LocalRedshiftDataApi } from '../../local/redshift-data-api/server';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { startTestMariadb, type TestMariadb } from '../support/mariadb';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from '../support/postgres';

const plan: ComparisonPlan = {
  key: [{ a: 'id', b: 'id', type: { kind: 'integer' } }],
  columns: [
    { a: 'i', b: 'i', type: { kind: 'integer' } },
    { a: 'd', b: 'd', type: { kind: 'decimal', scale: 3 } },
    { a: 'f', b: 'f', type: { kind: 'float', digits: 9 } },
    { a: 'b', b: 'b', type: { kind: 'boolean' } },
    { a: 'dt', b: 'dt', type: { kind: 'date' } },
    { a: 'ts', b: 'ts', type: { kind: 'timestamp', precision: 6, tz: false } },
    { a: 'tz', b: 'tz', type: { kind: 'timestamp', precision: 6, tz: true } },
    { a: 't', b: 't', type: { kind: 'text' } },
    { a: 'bin', b: 'bin', type: { kind: 'binary' } },
    { a: 'j', b: 'j', type: { kind: 'json' } },
  ],
  segmentation: 'hash',
  factor: 4,
  fetchRows: 2,
  floatTolerance: 1e-9,
};

interface Row {
  id: number;
  i: string | null;
  d: string | null;
  f: number | null;
  b: boolean | null;
  dt: string | null;
  ts: string | null;
  tz: string | null;
  t: string | null;
  bin: string | null;
  j: string | null;
}

const ROWS: Row[] = [
  { id: 1, i: '9007199254740993', d: '12.300', f: 0.1, b: true, dt: '2024-02-29', ts: '2024-01-02 03:04:05.123456', tz: '2024-03-01 10:00:00.654321', t: 'plain', bin: '00ff10', j: '{"b": [1, 2], "a": "x"}' },
  { id: 2, i: '-5', d: '-0.001', f: -0, b: false, dt: '1999-12-31', ts: '1999-12-31 23:59:59', tz: '2000-01-01 00:00:00', t: '', bin: '', j: '[]' },
  { id: 3, i: null, d: null, f: null, b: null, dt: null, ts: null, tz: null, t: null, bin: null, j: null },
  { id: 4, i: '0', d: '99999.999', f: 123456.789, b: true, dt: '2000-01-01', ts: '2000-01-01 00:00:00.000001', tz: '2030-06-30 12:34:56.5', t: 'a|b~N é ', bin: '7c', j: '{"k": null}' },
  { id: 5, i: '42', d: '1.5', f: 1e-7, b: false, dt: '2024-12-31', ts: '2024-12-31 23:59:59.999999', tz: '2024-12-31 23:59:59.999999', t: '~N', bin: '7e4e', j: '"s"' },
  { id: 6, i: '-9223372036854775808', d: '-12345.678', f: -2.5e10, b: true, dt: '1970-01-01', ts: '1970-01-01 00:00:00', tz: '1970-01-01 00:00:01', t: 'trailing  ', bin: 'abcdef', j: '{"nested": {"z": 1, "a": [true, false]}}' },
  // The smallest normal double: 10^k of its float text overflows a double unless scaled in two steps.
  { id: 7, i: '1', d: '0.000', f: 2.2250738585072014e-308, b: null, dt: null, ts: null, tz: null, t: 'tiny', bin: null, j: null },
];

const q = (v: string | null) => (v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`);
const values = (r: Row, bin: (hex: string) => string, bool: (b: boolean) => string, json: (j: string) => string) =>
  `(${r.id}, ${r.i ?? 'NULL'}, ${r.d ?? 'NULL'}, ${r.f === null ? 'NULL' : Object.is(r.f, -0) ? '-0.0' : r.f}, ${r.b === null ? 'NULL' : bool(r.b)}, ${q(r.dt)}, ${q(r.ts)}, ${q(r.tz)}, ${q(r.t)}, ${r.bin === null ? 'NULL' : bin(r.bin)}, ${r.j === null ? 'NULL' : json(r.j)})`;

let pg: TestPostgres;
let pgDb: TestDatabase;
let pgClient: Client;
let maria: TestMariadb;
let mariaUrl: string;
let backing: Warehouse;
let api: LocalRedshiftDataApi;
let warehouse: RedshiftDataWarehouse;
let dir: string;
const sides: Record<string, ContentSide> = {};

beforeAll(async () => {
  [pg, maria] = await Promise.all([getTestPostgres(), startTestMariadb()]);
  pgDb = await createTestDatabase(pg.url);
  pgClient = new Client({ connectionString: pgDb.url });
  await pgClient.connect();
  await pgClient.query(
    'CREATE TABLE t (id INT, i BIGINT, d NUMERIC(12,3), f DOUBLE PRECISION, b BOOLEAN, dt DATE, ts TIMESTAMP(6), tz TIMESTAMPTZ, t VARCHAR(50), bin BYTEA, j JSONB)',
  );
  await pgClient.query("SET TIME ZONE 'UTC'");
  await pgClient.query(`INSERT INTO t VALUES ${ROWS.map((r) => values(r, (h) => `'\\x${h}'`, String, (j) => q(j))).join(', ')}`);

  mariaUrl = await maria.createDatabase('content_dialects');
  await maria.admin.query(
    'CREATE TABLE content_dialects.t (id INT, i BIGINT, d DECIMAL(12,3), f DOUBLE, b TINYINT(1), dt DATE, ts DATETIME(6), tz TIMESTAMP(6) NULL, t VARCHAR(50), bin VARBINARY(50), j JSON)',
  );
  await maria.admin.query("SET time_zone = '+00:00'");
  await maria.admin.query(`INSERT INTO content_dialects.t VALUES ${ROWS.map((r) => values(r, (h) => `X'${h}'`, (b) => (b ? '1' : '0'), (j) => q(canonicalJson(JSON.parse(j))))).join(', ')}`);

  backing = await openPostgresWarehouse('pglite:memory', { objects: new MemoryObjectStore('bucket') });
  api = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [] });
  warehouse = new RedshiftDataWarehouse({ client: api.client(), database: 'dev', workgroupName: 'syncproof-local', pollIntervalMs: 5 });
  await warehouse.executeTransaction(
    [
      'CREATE TABLE public.t (id INTEGER, i BIGINT, d DECIMAL(12,3), f DOUBLE PRECISION, b BOOLEAN, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ, t VARCHAR(50), bin VARBYTE(50), j SUPER)',
      `INSERT INTO public.t VALUES ${ROWS.map((r) => values(r, (h) => `decode('${h}', 'hex')`, String, (j) => `JSON_PARSE(${q(j)})`)).join(', ')}`,
    ],
    'content-dialects',
  );

  dir = mkdtempSync(join(tmpdir(), 'content-'));
  sides.postgres = await openPostgresSide(pgDb.url, 'public.t');
  sides.mysql = await openMysqlSide(mariaUrl, 't');
  sides.warehouse = await openWarehouseSide(warehouse, 'public.t');
  sides.memory = memorySide('memory', ROWS.map((r) => ({ ...r, bin: r.bin === null ? null : Buffer.from(r.bin, 'hex') })));
  {
    const db = new Database(join(dir, 'c.db'));
    db.exec('CREATE TABLE t (id INTEGER, i INTEGER, d TEXT, f REAL, b INTEGER, dt TEXT, ts TEXT, tz TEXT, t TEXT, bin BLOB, j TEXT)');
    db.exec(`INSERT INTO t VALUES ${ROWS.map((r) => values(r, (h) => `X'${h}'`, (b) => (b ? '1' : '0'), q)).join(', ')}`);
    db.close();
    sides.sqlite = await openSqliteSide(join(dir, 'c.db'), 't');
  }
}, 180_000);

afterAll(async () => {
  for (const side of Object.values(sides)) await side.close().catch(() => undefined);
  await pgClient?.end().catch(() => undefined);
  await pgDb?.drop().catch(() => undefined);
  await pg?.stop();
  await maria?.stop();
  await api?.stop();
  await backing?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const root: Segment = { kind: 'hash', modulus: 1, residue: 0 };
const children: Segment[] = [0, 1, 2, 3].map((residue) => ({ kind: 'hash', modulus: 4, residue }));
const sums = async (side: ContentSide) => {
  const map = await side.childSums(root, children, plan, 'a');
  return [...map.entries()].sort(([x], [y]) => x - y).map(([i, s]) => `${i}:${s.count}:${s.sumHi}:${s.sumLo}`);
};

describe('content dialects agree', () => {
  it('gives equal segment sums on MariaDB, PostgreSQL, SQLite, the warehouse and in JavaScript', async () => {
    const expected = await sums(sides.memory!);
    expect(expected.length).toBeGreaterThan(0);
    for (const name of ['postgres', 'mysql', 'warehouse', 'sqlite']) {
      if (!sides[name]) continue;
      expect([name, await sums(sides[name]!)]).toEqual([name, expected]);
    }
  });

  it('compares equal tables across engines as PASSED', async () => {
    for (const [a, b] of [['mysql', 'postgres'], ['postgres', 'warehouse'], ['sqlite', 'postgres']] as const) {
      if (!sides[a] || !sides[b]) continue;
      const result = await compareContent(sides[a]!, sides[b]!, plan);
      expect([a, b, result.changed, result.missing, result.extra, result.compared.rowsA]).toEqual([a, b, [], [], [], ROWS.length]);
      expect(contentPassed(result)).toBe(true);
    }
  });

  it.each([
    ['i', '1', "i = i + 1"],
    ['d', '1', 'd = 12.301'],
    ['f', '1', 'f = 0.1000001'],
    ['b', '1', 'b = false'],
    ['dt', '1', "dt = '2024-02-28'"],
    ['ts', '1', "ts = ts + interval '1 microsecond'"],
    ['tz', '1', "tz = tz + interval '1 hour'"],
    ['t', '4', "t = 'a|b~N é'"],
    ['t', '2', 't = NULL'],
    ['bin', '1', "bin = '\\x00ff11'"],
    ['j', '1', `j = '{"b": [1, 2], "a": "y"}'`],
  ])('a single change of %s (row %s: %s) makes the sums differ', async (column, id, set) => {
    const before = await sums(sides.mysql!);
    await pgClient.query('BEGIN');
    try {
      await pgClient.query(`UPDATE t SET ${set} WHERE id = ${id}`);
      const side = await openPostgresSideInTransaction();
      expect(await sums(side)).not.toEqual(before);
      const result = await compareContent(sides.mysql!, side, plan);
      expect(result.changed.map((c) => [c.key[0], c.columns.map((x) => x.column)])).toEqual([[id, [column]]]);
    } finally {
      await pgClient.query('ROLLBACK');
    }
  });
});

/** A side over the test's own connection, so it sees the open transaction's change. */
async function openPostgresSideInTransaction(): Promise<ContentSide> {
  const catalog = (sides.postgres as unknown as { catalog: never }).catalog;
  return new SqlContentSide('postgres', postgresDialect, async (sql: string) => (await pgClient.query(sql)).rows, '"public"."t"', catalog, async () => undefined);
}

describe('text keys under different collations', () => {
  it('does not report keys that utf8mb4_unicode_ci (MariaDB) and C (PostgreSQL) order differently, with hash buckets', async () => {
    const keys = ['a', 'B', 'b', 'Á', 'z', '_x', 'ä', 'Z ', 'y', '10', '9', 'ß', 'ss', ...Array.from({ length: 60 }, (_, i) => `k${i}`)];
    await maria.admin.query('CREATE TABLE content_dialects.k (name VARCHAR(20) COLLATE utf8mb4_unicode_ci, n INT)');
    await maria.admin.query(`INSERT INTO content_dialects.k VALUES ${keys.map((k, i) => `(${q(k)}, ${i})`).join(', ')}`);
    await pgClient.query('CREATE TABLE k (name VARCHAR(20) COLLATE "C", n INT)');
    await pgClient.query(`INSERT INTO k VALUES ${keys.map((k, i) => `(${q(k)}, ${i})`).join(', ')}`);
    const a = await openMysqlSide(mariaUrl, 'k');
    const b = await openPostgresSide(pgDb.url, 'k');
    try {
      const textPlan: ComparisonPlan = { ...plan, key: [{ a: 'name', b: 'name', type: { kind: 'text' } }], columns: [{ a: 'n', b: 'n', type: { kind: 'integer' } }], fetchRows: 4 };
      const result = await compareContent(a, b, textPlan);
      expect([result.missing, result.extra, result.changed, result.duplicates]).toEqual([[], [], [], []]);
      expect(result.compared.rowsA).toBe(keys.length);
      await pgClient.query("UPDATE k SET name = 'Z' WHERE name = 'Z '");
      const changed = await compareContent(a, b, textPlan);
      expect([changed.missing, changed.extra]).toEqual([[['Z ']], [['Z']]]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('decimals of undeclared scale', () => {
  it("compares PostgreSQL's bare NUMERIC at every digit it holds, against itself, SQLite and the warehouse's declared scales (it was compared at scale 0: 1.1 equalled 1.2)", async () => {
    const values = ['1.1', '-2.25', '123456789012345.5', '0', '7'];
    await pgClient.query('CREATE TABLE n (id INT, v NUMERIC, w NUMERIC)');
    await pgClient.query(`INSERT INTO n VALUES ${values.map((v, i) => `(${i}, ${v}, ${v})`).join(', ')}`);
    await pgClient.query('CREATE TABLE n2 AS SELECT * FROM n');
    await warehouse.executeTransaction(
      ['CREATE TABLE public.n (id INTEGER, v DECIMAL(18,2), w BIGINT)', `INSERT INTO public.n VALUES ${values.map((v, i) => `(${i}, ${v}, ${Math.trunc(Number(v))})`).join(', ')}`],
      'undeclared-scale',
    );
    const lite = new Database(join(dir, 'n.db'));
    lite.exec('CREATE TABLE n (id INTEGER, v NUMERIC, w NUMERIC)');
    lite.exec(`INSERT INTO n VALUES ${values.map((v, i) => `(${i}, ${v}, ${v})`).join(', ')}`);
    lite.close();
    const a = await openPostgresSide(pgDb.url, 'n');
    const b = await openPostgresSide(pgDb.url, 'n2');
    const l = await openSqliteSide(join(dir, 'n.db'), 'n');
    const w = await openWarehouseSide(warehouse, 'public.n');
    const cat = (side: ContentSide) => (side as unknown as { catalog: never }).catalog;
    try {
      const { plan: pp } = buildPlan(cat(a), cat(b), { key: ['id'] });
      expect(pp.columns.map((c) => c.type)).toEqual([{ kind: 'decimal', scale: UNDECLARED_SCALE }, { kind: 'decimal', scale: UNDECLARED_SCALE }]);
      expect(contentPassed(await compareContent(a, b, pp))).toBe(true);
      const { plan: lp } = buildPlan(cat(a), cat(l), { key: ['id'] });
      expect(contentPassed(await compareContent(a, l, lp))).toBe(true);
      // The warehouse holds v at 2 digits (all these fit) and w as a whole number: v equal, w differs where a fraction was cut.
      const { plan: wp } = buildPlan(cat(a), cat(w), { key: ['id'] });
      const toWarehouse = await compareContent(a, w, wp);
      expect(toWarehouse.changed.map((c) => [c.key[0], c.columns.map((d) => d.column)])).toEqual([['0', ['w']], ['1', ['w']], ['2', ['w']]]);

      await pgClient.query('UPDATE n2 SET v = 1.2 WHERE id = 0');
      const changed = await compareContent(a, b, pp);
      expect(changed.changed.map((c) => [c.key, c.columns.map((d) => [d.column, d.a, d.b])])).toEqual([[['0'], [['v', expect.stringMatching(/^1\.10*$/), expect.stringMatching(/^1\.20*$/)]]]]);
    } finally {
      for (const side of [a, b, l, w]) await side.close();
    }
  });
});
