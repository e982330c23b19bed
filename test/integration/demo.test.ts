import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { runDemo } from '../../local/demo';
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

describe('demo', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-demo-test-'));
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('runs as a command, exits 0, writes the JSON report, and leaves exactly the generated rows in the kept warehouse', async () => {
    const keep = join(work, 'kept');
    const json = join(work, 'report.json');
    const result = await runCli(['demo', '--rows', '20000', '--files', '20', '--keep', keep, '--json', json]);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ code: 0 }); // output shows on failure
    expect(result.stdout).toMatch(/status\s+PASSED/);

    const report = JSON.parse(await readFile(json, 'utf8')) as { status: string; filesUploaded: number; filesLoaded: number };
    expect(report.status).toBe('PASSED');
    expect(report.filesLoaded).toBe(report.filesUploaded);

    // Read the kept embedded warehouse directly, after the demo's process has ended.
    const wh = await openPostgresWarehouse(`pglite:${join(keep, 'warehouse')}`, { objects: new MemoryObjectStore() });
    try {
      const e = expected(20000);
      expect(state((await wh.query(STATE_SQL))[0])).toEqual({ rows: e.rows, keys: e.rows, minId: 1, maxId: e.maxId, updated: e.updated });
      const [files] = await wh.query('SELECT COUNT(DISTINCT object_key) AS n, SUM(file_rows) AS fr FROM public.syncproof_load_files');
      expect(Number(files?.n)).toBe(report.filesUploaded);
      expect(Number(files?.fr)).toBe(20000 + e.updated + (e.rows - 20000));
    } finally {
      await wh.close();
    }
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
      } finally {
        await client.end();
      }
    });
  });
});
