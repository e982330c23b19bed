/**
 * Late-row repair by hand (issue #15 item 5): `syncproof sync DATASET --repair REPORT`, run as a
 * user runs it (separate processes, one data dir, a real PostgreSQL source and a PostgreSQL
 * warehouse). A row committed behind the watermark outside `lag` (no incremental run reads it)
 * and a row changed behind the watermark (its cursor unchanged) are found by `verify --tier
 * content`, repaired from the report URI it prints, and read back: the warehouse holds each
 * exactly once with the source's values, the watermark (DynamoDB) did not move, a second verify
 * PASSES, and a second repair of the same report loads nothing (ledger and audit rows read back).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryUrl } from './support';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { runCli, type CliResult } from '../support/cli';
import { useTestDatabase } from '../support/postgres';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(600_000);

const warehouseUrl = useTestDatabase();
const T0 = '2024-03-01 10:00:00';
const ts = (seconds: number) => formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);

describe('syncproof sync DATASET --repair REPORT (postgres source)', () => {
  let db: TestSourceDb;
  let work: string;
  let config: string;
  let dataDir: string;
  const name = 'repaired';
  const table = 'rp_orders';

  beforeAll(async () => {
    db = await startTestSource('postgres');
    await db.exec(`CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL, updated_at TIMESTAMP(6) NOT NULL)`);
    await db.exec(`INSERT INTO orders VALUES ${Array.from({ length: 40 }, (_, i) => `(${i + 1}, 'c${i + 1}', ${i + 1}.25, '${ts(i + 1)}')`).join(', ')}`);
    work = await mkdtemp(join(tmpdir(), 'syncproof-repair-'));
    config = join(work, 'config.json');
    dataDir = join(work, 'data');
    await writeFile(
      config,
      JSON.stringify({
        datasets: [
          { name, target: { schema: 'public', table }, source: { engine: 'postgres', url: db.url, table: `${db.schema}.orders`, cursorColumn: 'updated_at', lag: '5s' }, content: { fetchRows: 8, factor: 4 } },
          { name: 'other', target: { schema: 'public', table: 'rp_other' }, source: { engine: 'postgres', url: db.url, table: `${db.schema}.orders`, cursorColumn: 'updated_at' } },
        ],
      }),
    );
    const sync = await cli(['sync', name]);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
  });

  afterAll(async () => {
    await db?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--config', config, '--data-dir', dataDir, ...(args[0] === 'sync' || args[0] === 'verify' ? ['--warehouse', warehouseUrl()] : [])]);
  const warehouse = (sql: string): Promise<Record<string, unknown>[]> => queryUrl(warehouseUrl(), sql);
  const watermark = async (): Promise<unknown> => {
    const file = join(work, `wm-${Date.now()}.json`);
    const r = await runCli(['watermark', 'get', name, '--config', config, '--data-dir', dataDir, '--json', file]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const w = JSON.parse(await readFile(file, 'utf8')) as { position?: unknown; version?: unknown };
    return { position: w.position, version: w.version };
  };
  /** Ledger entries and audit file rows of the dataset: what a load adds to. */
  const loads = async (): Promise<{ ledger: number; auditFiles: number; auditLoads: number }> => {
    const file = join(work, `ledger-${Date.now()}.json`);
    const r = await runCli(['ledger', 'list', name, '--config', config, '--data-dir', dataDir, '--json', file]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const listed = JSON.parse(await readFile(file, 'utf8')) as { total: number };
    const [files] = await warehouse(`SELECT count(*)::int AS n FROM public.syncproof_load_files WHERE dataset = '${name}'`);
    const [audits] = await warehouse(`SELECT count(*)::int AS n FROM public.syncproof_loads WHERE dataset = '${name}'`);
    return { ledger: listed.total, auditFiles: Number(files?.n), auditLoads: Number(audits?.n) };
  };
  const verify = async (): Promise<CliResult & { uri: string | undefined }> => {
    const r = await cli(['verify', name, '--tier', 'content']);
    return { ...r, uri: /report: (s3:\/\/\S+content-tier\.json)/.exec(r.stdout)?.[1] };
  };

  it('repairs a row inserted behind the watermark outside lag: in the warehouse exactly once, watermark unchanged, verify PASSED, a second repair loads nothing', async () => {
    const before = await watermark();
    await db.exec(`INSERT INTO orders VALUES (1000, 'late', 7.50, '${ts(3)}')`);
    const failed = await verify();
    expect([failed.code, failed.stderr]).toEqual([2, '']);
    expect(failed.stdout).toMatch(/missing \(1000\)/);
    expect(failed.uri).toBeDefined();

    const repaired = await cli(['sync', name, '--repair', failed.uri!]);
    expect([repaired.code, repaired.stderr]).toEqual([0, '']);
    expect(repaired.stdout).toMatch(/repaired: 1 of the 1 keys/);
    expect(repaired.stdout).toMatch(/watermark not moved/);

    expect(await warehouse(`SELECT id::text AS id, customer, amount::text AS amount FROM public.${table} WHERE id = 1000`)).toEqual([{ id: '1000', customer: 'late', amount: '7.50' }]);
    expect(await warehouse(`SELECT count(*)::int AS n FROM public.${table}`)).toEqual([{ n: 41 }]);
    expect(await watermark()).toEqual(before);
    const passed = await verify();
    expect([passed.code, passed.stderr]).toEqual([0, '']);

    const loaded = await loads();
    const again = await cli(['sync', name, '--repair', failed.uri!]);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(await loads()).toEqual(loaded);
    expect(again.stdout).toMatch(/already repaired by run repair-/);
    expect(await warehouse(`SELECT count(*)::int AS n FROM public.${table} WHERE id = 1000`)).toEqual([{ n: 1 }]);
  });

  it('repairs a row changed behind the watermark (its cursor unchanged) with the source values, naming it from the report key', async () => {
    await db.exec(`UPDATE orders SET customer = 'changed', amount = 99.99 WHERE id = 5`);
    const failed = await verify();
    expect(failed.code).toBe(2);
    expect(failed.stdout).toMatch(/changed \(5\): customer, amount/);
    // The report's key, as a user copies it from the URI.
    const key = failed.uri!.replace(/^s3:\/\/[^/]+\//, '');

    const repaired = await cli(['sync', name, '--repair', key]);
    expect([repaired.code, repaired.stderr]).toEqual([0, '']);
    expect(await warehouse(`SELECT customer, amount::text AS amount FROM public.${table} WHERE id = 5`)).toEqual([{ customer: 'changed', amount: '99.99' }]);
    expect((await verify()).code).toBe(0);
  });

  it('refuses a report that does not exist, does not parse or is another dataset\'s: exit 3 naming it, nothing loaded; a report with nothing to repair: exit 0', async () => {
    const loaded = await loads();
    const missing = await cli(['sync', name, '--repair', '_syncproof/reports/repaired/no-such-run/content-tier.json']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/_syncproof\/reports\/repaired\/no-such-run\/content-tier\.json does not exist/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const garbage = join(work, 'not-a-report.json');
    await writeFile(garbage, '{"hello": ');
    const unparsable = await cli(['sync', name, '--repair', garbage]);
    expect(unparsable.code).toBe(3);
    expect(unparsable.stderr).toMatch(/not-a-report\.json: not a JSON report/);

    const nothing = join(work, 'nowhere.json');
    const absent = await cli(['sync', name, '--repair', nothing]);
    expect(absent.code).toBe(3);
    expect(absent.stderr).toMatch(/no such report/);

    // A PASSED verification's report: nothing to repair.
    const clean = await verify();
    expect(clean.code).toBe(0);
    const none = await cli(['sync', name, '--repair', clean.uri!]);
    expect([none.code, none.stderr]).toEqual([0, '']);
    expect(none.stdout).toMatch(/nothing to repair/);

    const other = await cli(['sync', 'other', '--repair', clean.uri!]);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/is a report of dataset 'repaired', not 'other'/);
    expect(await loads()).toEqual(loaded);
  });
});
