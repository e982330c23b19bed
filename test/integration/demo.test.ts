import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoDbWatermarkStore } from '../../lambdas/adapters/dynamodb-watermark-store';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import type { Warehouse } from '../../lambdas/core/ports';
import { runDemo } from '../../local/demo';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamoDb } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { runCli } from '../support/cli';
import { useTestDatabase } from '../support/postgres';

/**
 * What the demo generates, restated independently of local/demo.ts: ids 1..rows in wave 1; wave 2
 * rewrites every 20th id with status 'updated' and adds rows/20 new ids after the last one.
 */
function expected(rows: number): { rows: number; updated: number; maxId: number } {
  const added = Math.max(1, Math.floor(rows / 20));
  return { rows: rows + added, updated: Math.floor(rows / 20), maxId: rows + added };
}

const STATE_SQL =
  "SELECT COUNT(*) AS n, COUNT(DISTINCT order_id) AS k, MIN(order_id) AS lo, MAX(order_id) AS hi, SUM(CASE WHEN status = 'updated' THEN 1 ELSE 0 END) AS upd FROM public.orders";

function state(r: Record<string, unknown> | undefined) {
  return { rows: Number(r?.n), keys: Number(r?.k), minId: Number(r?.lo), maxId: Number(r?.hi), updated: Number(r?.upd) };
}

/**
 * The database step, restated: shop.customers is seeded with ids 1..20000; after run 1, every 20th
 * id is updated (its name gets ' (updated)') and 1201 ids are inserted, the last of them stamped
 * "now", inside the 2 s lag of run 2.
 */
const DB = { seeded: 20000, updated: 1000, inserted: 1201 } as const;
const CUSTOMER_LINE =
  "CAST(id AS VARCHAR(40)) || '|' || name || '|' || COALESCE(CAST(balance AS VARCHAR(40)), 'null') || '|' || COALESCE(%REGION%, 'null') || '|' || CAST(updated_at AS VARCHAR(40))";

/** Rows loaded per database run, in the order the runs loaded, from the warehouse's audit table. */
async function rowsPerDatabaseRun(wh: Warehouse): Promise<{ rows: number; files: number[] }[]> {
  const loads = await wh.query(
    "SELECT l.run_id, MIN(l.loaded_at) AS at, SUM(f.file_rows) AS rows FROM public.syncproof_loads l JOIN public.syncproof_load_files f ON f.load_id = l.load_id WHERE l.dataset = 'customers' GROUP BY l.run_id ORDER BY MIN(l.loaded_at)",
  );
  const out: { rows: number; files: number[] }[] = [];
  for (const l of loads) {
    const files = await wh.query(
      `SELECT f.file_rows FROM public.syncproof_load_files f JOIN public.syncproof_loads l ON f.load_id = l.load_id WHERE l.run_id = '${String(l.run_id)}' AND l.dataset = 'customers' ORDER BY f.object_key`,
    );
    out.push({ rows: Number(l.rows), files: files.map((f) => Number(f.file_rows)) });
  }
  return out;
}

describe('demo', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-demo-test-'));
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  describe('as a command, with its state kept', () => {
    let keep: string;
    let report: { status: string; filesUploaded: number; filesLoaded: number };
    let wh: Warehouse;
    let source: PGlite;

    beforeAll(async () => {
      keep = join(work, 'kept');
      const json = join(work, 'report.json');
      const result = await runCli(['demo', '--rows', '20000', '--files', '20', '--keep', keep, '--json', json]);
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ code: 0 }); // output shows on failure
      expect(result.stdout).toMatch(/status\s+PASSED/);
      report = JSON.parse(await readFile(json, 'utf8')) as typeof report;
      // Read the kept embedded warehouse directly, after the demo's process has ended.
      wh = await openPostgresWarehouse(`pglite:${join(keep, 'warehouse')}`, { objects: new MemoryObjectStore() });
      source = await createPglite(join(keep, 'source'));
    }, 240_000);

    afterAll(async () => {
      await wh?.close();
      await source?.close();
    });

    it('exits 0, writes the JSON report, and leaves exactly the generated orders in the kept warehouse', async () => {
      expect(report.status).toBe('PASSED');
      expect(report.filesLoaded).toBe(report.filesUploaded);
      const e = expected(20000);
      expect(state((await wh.query(STATE_SQL))[0])).toEqual({ rows: e.rows, keys: e.rows, minId: 1, maxId: e.maxId, updated: e.updated });
      const [files] = await wh.query("SELECT COUNT(DISTINCT object_key) AS n, SUM(file_rows) AS fr FROM public.syncproof_load_files WHERE dataset = 'orders'");
      expect(Number(files?.n)).toBe(report.filesUploaded);
      expect(Number(files?.fr)).toBe(20000 + e.updated + (e.rows - 20000));
    });

    it('leaves the database step\'s target equal to its source table, row by row, with no duplicate keys', async () => {
      const norm = (line: string) => line.replace(/[^|]*$/, (t) => formatMicros(timeMicros(t)));
      const src = (await source.query<{ line: string }>(`SELECT ${CUSTOMER_LINE.replace('%REGION%', '"Region"')} AS line FROM shop.customers ORDER BY id`)).rows.map((r) => norm(r.line));
      const got = (await wh.query(`SELECT ${CUSTOMER_LINE.replace('%REGION%', 'region')} AS line FROM public.customers ORDER BY id`)).map((r) => norm(String(r.line)));
      expect(src).toHaveLength(DB.seeded + DB.inserted);
      expect(src.filter((l) => l.includes('(updated)'))).toHaveLength(DB.updated);
      expect(got).toEqual(src);
      const [keys] = await wh.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM public.customers');
      expect(Number(keys?.n)).toBe(Number(keys?.k));
    });

    it('extracts in the second run exactly the rows changed since the first, split inside the rows that share an updated_at, and the row inside lag in a third', async () => {
      const runs = await rowsPerDatabaseRun(wh);
      // Were run 2 to re-extract everything, it would load 21200 rows here.
      expect(runs.map((r) => r.rows)).toEqual([DB.seeded, DB.updated + DB.inserted - 1, 1]);
      expect(runs.map((r) => r.files)).toEqual([[5000, 5000, 5000, 5000], [1000, 1000, 200], [1]]);
      // Rows 998..1003 of run 2 (keyset order) share one updated_at: its first 1000-row chunk ends among them.
      const changed = await source.query<{ id: string; t: string }>(
        "SELECT CAST(id AS VARCHAR) AS id, CAST(updated_at AS VARCHAR) AS t FROM shop.customers WHERE id > 20000 OR name LIKE '% (updated)' ORDER BY updated_at, id",
      );
      expect(changed.rows).toHaveLength(DB.updated + DB.inserted);
      const tie = changed.rows.slice(997, 1003).map((r) => r.t);
      expect(new Set(tie).size).toBe(1);
      expect(changed.rows[996]!.t).not.toBe(tie[0]);
      expect(changed.rows[1003]!.t).not.toBe(tie[0]);
    });

    it('keeps its configuration beside the state, so status reads the kept state: both datasets healthy', async () => {
      const status = await runCli(['status', '--config', join(keep, 'syncproof.config.json'), '--data-dir', keep, '--json']);
      expect([status.code, status.stderr]).toEqual([0, '']);
      expect((JSON.parse(status.stdout) as { datasets: { dataset: string; health: string }[] }).datasets.map((d) => [d.dataset, d.health])).toEqual([
        ['orders', 'healthy'],
        ['customers', 'healthy'],
      ]);
    });

    it('leaves the watermark at the last source row, moved once per run', async () => {
      const dynamo = await startLocalDynamoDb({ path: join(keep, 'dynamodb') });
      try {
        const [last] = (await source.query<{ id: string; t: string }>('SELECT CAST(id AS VARCHAR) AS id, CAST(updated_at AS VARCHAR) AS t FROM shop.customers ORDER BY updated_at DESC, id DESC LIMIT 1')).rows;
        const ddb = createDocumentClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, dynamodb: dynamo.endpoint });
        const wm = await new DynamoDbWatermarkStore(ddb, LOCAL_TABLES.watermarks).get('customers');
        expect(wm).toMatchObject({ version: 3, position: { key: [last!.id] }, lastRun: { extraction: { rows: 1 }, loadedRows: 1 } });
        expect(formatMicros(timeMicros(wm!.position!.cursor))).toBe(formatMicros(timeMicros(last!.t)));
      } finally {
        await dynamo.stop();
      }
    });
  });

  it('rejects bad arguments with a clear message and exit code 3', async () => {
    const result = await runCli(['demo', '--rows', 'many']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--rows');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  describe('against an external PostgreSQL server', () => {
    const databaseUrl = useTestDatabase();

    it('leaves the target table with exactly the expected rows and no duplicate keys', async () => {
      const report = await runDemo({ rows: 10000, files: 10, warehouse: databaseUrl() });
      expect(report.status).toBe('PASSED');
      const client = new Client({ connectionString: databaseUrl() });
      await client.connect();
      try {
        const e = expected(10000);
        expect(state((await client.query(STATE_SQL)).rows[0])).toEqual({ rows: e.rows, keys: e.rows, minId: 1, maxId: e.maxId, updated: e.updated });
        const customers = (await client.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM public.customers')).rows[0] as { n: string; k: string };
        expect({ rows: Number(customers.n), keys: Number(customers.k) }).toEqual({ rows: DB.seeded + DB.inserted, keys: DB.seeded + DB.inserted });
      } finally {
        await client.end();
      }
    });
  });
});
