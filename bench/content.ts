/**
 * Figures 7a–7c — content comparison (`syncproof diff`, lambdas/core/content): 1,000,000 rows a
 * side (id BIGINT key, VARCHAR, NUMERIC(12,2), DOUBLE, TIMESTAMP(6), TEXT with NULLs) differing in
 * 10 rows, compareContent's wall time (the CLI's code path: the same sides, plan and engine)
 * against one checksum scan per side run at the same time, each in its own engine; alternated,
 * medians of BENCH_ROUNDS (default 3). Each figure prints its baseline's SQL, the hashing used
 * (native: the same-engine fast path; portable: normalized text → MD5) and the segment queries
 * issued beside k·log n.
 * - 7a `content`: PostgreSQL against PostgreSQL (issue #15's target: scan / diff ≥ 0.8×).
 * - 7b `content-mariadb`: a MariaDB source against PostgreSQL.
 * - 7c `content-sqlite`: a SQLite file (better-sqlite3) against PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { openMysqlSide } from '../lambdas/adapters/content/mysql-side';
import { openPostgresSide } from '../lambdas/adapters/content/postgres-side';
import type { SqlContentSide } from '../lambdas/adapters/content/sql-side';
import { openSqliteSide } from '../lambdas/adapters/content/sqlite-side';
import { compareContent, contentPassed } from '../lambdas/core/content/bisect';
import { SQLITE_FUNCTIONS } from '../lambdas/core/content/dialects/sqlite';
import type { ContentResult } from '../lambdas/core/content/model';
import { buildPlan, type PlanOptions } from '../lambdas/core/content/plan';
import { startMariadbServer } from '../local/mariadb-server';
import { startPostgresServer } from '../local/postgres-server';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const K = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/** The keys changed in the PostgreSQL copy: spread evenly over the key range. */
const changedKeys = (rows: number) => Array.from({ length: K }, (_, i) => 1 + Math.floor(((i + 0.5) * rows) / K));

/** PostgreSQL's portable checksum scan of the issue (the baseline's PostgreSQL half). */
const PG_SCAN = (t: string) => `SELECT count(*), sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint) FROM ${t} t`;

/** Table `t` in PostgreSQL with the bench's rows, and the changes when `changed`. */
async function pgTable(admin: Client, t: string, rows: number, changed: boolean): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${t}`);
  await admin.query(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(40), price NUMERIC(12,2), ratio DOUBLE PRECISION, at TIMESTAMP(6), note TEXT)`);
  await admin.query(
    `INSERT INTO ${t} SELECT i, 'name ' || i, (i % 100000) / 100.0, i / 7.0, TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', CASE WHEN i % 5 = 0 THEN NULL ELSE 'note' END FROM generate_series(1, ${rows}) i`,
  );
  if (changed) await admin.query(`UPDATE ${t} SET name = name || '!' WHERE id IN (${changedKeys(rows).join(', ')})`);
  await admin.query(`VACUUM ANALYZE ${t}`);
}

interface Figure {
  readonly title: string;
  /** The baseline's SQL, one line per engine. */
  readonly baseline: readonly string[];
  /** Both sides' checksum scans at once. */
  scan(): Promise<unknown>;
  open(): Promise<[SqlContentSide, SqlContentSide]>;
  readonly planOptions: PlanOptions;
  /** Force the portable hashing (to show what the same-engine fast path saves). */
  readonly hashing?: 'portable';
}

/** Runs a figure: a warm-up scan, then ROUNDS rounds alternating which of scan and diff goes first. */
async function runFigure(f: Figure, rows: number): Promise<string[]> {
  const diff = async () => {
    const [a, b] = await f.open();
    try {
      const built = buildPlan(a.catalog, b.catalog, f.planOptions).plan;
      const plan = f.hashing ? { ...built, hashing: f.hashing } : built;
      return { ...(await timed(() => compareContent(a, b, plan))), plan };
    } finally {
      await a.close();
      await b.close();
    }
  };
  await f.scan(); // warm both sides' caches
  const scans: number[] = [];
  const diffs: number[] = [];
  let last: { value: ContentResult; plan: { factor: number; fetchRows: number } } | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['scan', 'diff'] : ['diff', 'scan'];
    for (const step of order) {
      if (step === 'scan') scans.push((await timed(() => f.scan())).seconds);
      else {
        const d = await diff();
        diffs.push(d.seconds);
        last = d;
      }
    }
  }
  const result = last!.value;
  if (contentPassed(result) || result.changedCount !== K || result.missingCount + result.extraCount !== 0) {
    throw new Error(`${f.title}: the diff found ${result.changedCount} changed, ${result.missingCount} missing, ${result.extraCount} extra rows, not ${K} changed`);
  }
  const plan = last!.plan;
  const depth = Math.ceil(Math.log(rows / plan.fetchRows) / Math.log(plan.factor)) + 1;
  const s = median(scans);
  const d = median(diffs);
  const c = result.compared;
  return [
    `${f.title} (${rows.toLocaleString('en-US')} rows a side, ${K} changed, medians of ${ROUNDS})`,
    `  checksum scan, both sides at once: ${s.toFixed(2)} s  (each round: ${scans.map((x) => x.toFixed(2)).join(', ')})`,
    ...f.baseline.map((sql) => `    ${sql}`),
    `  syncproof diff (${c.hashing} hashing): ${d.toFixed(2)} s  (each round: ${diffs.map((x) => x.toFixed(2)).join(', ')}) → ratio ${(s / d).toFixed(2)}×`,
    `  segment queries: ${c.segmentQueries} (k·log_${plan.factor}(n/fetchRows) ≈ ${K}·${depth} = ${K * depth} per side), segments ${c.segments}, rows fetched ${c.fetchedRows}`,
  ];
}

/** Figure 7a: two PostgreSQL tables. */
export async function benchContent(rows: number): Promise<string[]> {
  const server = await startPostgresServer();
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    await pgTable(admin, 'a', rows, false);
    await pgTable(admin, 'b', rows, true);
    const figure = {
      title: 'Content comparison, PostgreSQL ↔ PostgreSQL (target ≥ 0.8×)',
      baseline: [`PostgreSQL: ${PG_SCAN('a')}; and of b`],
      scan: () => pgScans(server.url, ['a', 'b']),
      open: async (): Promise<[SqlContentSide, SqlContentSide]> => [await openPostgresSide(server.url, 'a'), await openPostgresSide(server.url, 'b')],
      planOptions: { key: ['id'] },
    };
    const lines = await runFigure(figure, rows);
    // The same tables with the fast path refused: what every cross-engine comparison pays.
    lines.push(...(await runFigure({ ...figure, title: 'Content comparison, PostgreSQL ↔ PostgreSQL, portable hashing forced (no target)', hashing: 'portable' }, rows)));
    return lines;
  } finally {
    await admin.end();
    await server.stop();
  }
}

/**
 * PostgreSQL checksum scans of `tables`, each on its own connection, all at once; `meanwhile` runs
 * in this thread once every query has been sent (the SQLite half of a baseline).
 */
async function pgScans(url: string, tables: readonly string[], meanwhile?: () => void): Promise<unknown> {
  const clients = tables.map(() => new Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    const queries = Promise.all(clients.map((c, i) => c.query(PG_SCAN(tables[i]!))));
    meanwhile?.();
    return await queries;
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const MARIADB_SCAN =
  "SELECT COUNT(*), SUM(CONV(SUBSTR(MD5(CONCAT_WS('|', id, name, price, ratio, at, IFNULL(note, '\\\\N'))), 1, 15), 16, 10)) FROM bench.t";

/** Figure 7b: a MariaDB table against PostgreSQL. */
export async function benchContentMariadb(rows: number): Promise<string[]> {
  const [pg, maria] = await Promise.all([startPostgresServer(), startMariadbServer()]);
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  const my = await createConnection({ uri: maria.url, multipleStatements: true });
  try {
    await pgTable(admin, 'b', rows, true);
    await my.query('CREATE DATABASE bench');
    await my.query('CREATE TABLE bench.t (id BIGINT PRIMARY KEY, name VARCHAR(40), price DECIMAL(12,2), ratio DOUBLE, at DATETIME(6), note TEXT)');
    // MariaDB's SEQUENCE engine: seq_1_to_N; DOUBLE division (/ 7e0) as PostgreSQL's double column holds i / 7.
    await my.query(
      `INSERT INTO bench.t SELECT seq, CONCAT('name ', seq), (seq % 100000) / 100, seq / 7e0, TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND, IF(seq % 5 = 0, NULL, 'note') FROM bench.seq_1_to_${rows}`,
    );
    await my.query('ANALYZE TABLE bench.t');
    const mariaScan = async () => {
      const c = await createConnection({ uri: maria.url });
      try {
        return await c.query(MARIADB_SCAN);
      } finally {
        await c.end();
      }
    };
    const mariaUrl = `${maria.url.replace(/\/$/, '')}/bench`;
    return await runFigure(
      {
        title: 'Content comparison, MariaDB → PostgreSQL',
        baseline: [`MariaDB: ${MARIADB_SCAN}`, `PostgreSQL: ${PG_SCAN('b')}`],
        scan: () => Promise.all([mariaScan(), pgScans(pg.url, ['b'])]),
        open: async () => [await openMysqlSide(mariaUrl, 't'), await openPostgresSide(pg.url, 'b')],
        planOptions: { key: ['id'], mysqlSide: 'a' },
      },
      rows,
    );
  } finally {
    await my.end().catch(() => undefined);
    await admin.end();
    await Promise.all([pg.stop(), maria.stop()]);
  }
}

const SQLITE_SCAN = "SELECT count(*), sum(strtol(substr(md5(id || '|' || name || '|' || price || '|' || ratio || '|' || at || '|' || ifnull(note, '\\N')), 1, 8), 16)) FROM t";

/** Figure 7c: a SQLite file against PostgreSQL (`syncproof diff sqlite:///…`). */
export async function benchContentSqlite(rows: number): Promise<string[]> {
  const pg = await startPostgresServer();
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'syncproof-bench-sqlite-'));
  const file = join(dir, 'a.db');
  try {
    await pgTable(admin, 'b', rows, true);
    const db = new Database(file);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40), price DECIMAL(12,2), ratio REAL, at TEXT, note TEXT)');
    db.exec(
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${rows}) INSERT INTO t SELECT i, 'name ' || i, (i % 100000) / 100.0, i / 7.0, strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || i || ' seconds'), CASE WHEN i % 5 = 0 THEN NULL ELSE 'note' END FROM s`,
    );
    db.close();
    // The baseline's SQLite half: SQLite has no MD5, so the scan calls the same JavaScript md5/strtol the side registers.
    const lite = new Database(file, { readonly: true });
    for (const name of ['md5', 'strtol'] as const) lite.function(name, { deterministic: true, safeIntegers: true }, SQLITE_FUNCTIONS[name] as (...args: unknown[]) => unknown);
    const scanStmt = lite.prepare(SQLITE_SCAN).safeIntegers(true);
    try {
      return await runFigure(
        {
          title: 'Content comparison, SQLite file → PostgreSQL',
          baseline: [`SQLite (md5, strtol registered in JavaScript, as the side does): ${SQLITE_SCAN}`, `PostgreSQL: ${PG_SCAN('b')}`],
          // The PostgreSQL scan is sent first, then the SQLite one runs in this thread while it goes on.
          scan: () => pgScans(pg.url, ['b'], () => void scanStmt.all()),
          open: async () => [await openSqliteSide(file, 't'), await openPostgresSide(pg.url, 'b')],
          planOptions: { key: ['id'], looseSide: 'a' },
        },
        rows,
      );
    } finally {
      lite.close();
    }
  } finally {
    await admin.end();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
