/**
 * The content tier through the CLI as a user runs it: `syncproof sync` of a PostgreSQL-source
 * dataset (and a file dataset) into a PostgreSQL warehouse, then `syncproof verify --tier content`
 * on that state. Untouched: PASSED, saying what it compared; a value changed in the warehouse, a row
 * deleted at the source (deletes "report" and "propagate"), a sampled check, a file dataset with a
 * changed value. Assertions read the CLI's output, its JSON report and the warehouse's rows.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryUrl } from './support';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import type { ContentTierReport } from '../../lambdas/verify/content';
import { seedLocalS3Store } from '../../local/emulators';
import { runCli, type CliResult } from '../support/cli';
import { useTestDatabase } from '../support/postgres';
import { startDbRuntime } from '../support/db-runtime';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(400_000);

const BUCKET = 'syncproof-local';

describe('syncproof verify --tier content', () => {
  const warehouseUrl = useTestDatabase();
  let db: TestSourceDb;
  let work: string;

  beforeAll(async () => {
    db = await startTestSource('postgres');
    work = await mkdtemp(join(tmpdir(), 'syncproof-content-tier-'));
  });

  afterAll(async () => {
    await db?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const warehouse = (sql: string): Promise<Record<string, unknown>[]> => queryUrl(warehouseUrl(), sql);

  /** A PostgreSQL-source dataset over source table `name` with rows 1..rows, synced once. */
  async function synced(name: string, rows: number, options: Record<string, unknown> = {}) {
    await db.exec(
      `CREATE TABLE ${name} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, amount NUMERIC(10,2) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); ` +
        `INSERT INTO ${name} (id, customer, amount, updated_at) SELECT g, 'c-' || g, g * 1.25, TIMESTAMP '2024-03-01 10:00:00' + g * INTERVAL '1 second' FROM generate_series(1, ${rows}) g`,
    );
    const dataDir = join(work, name);
    const config = join(work, `${name}.json`);
    await writeFile(config, JSON.stringify({ datasets: [{ name, target: { schema: 'public', table: `ct_${name}` }, source: { engine: 'postgres', url: db.url, table: `public.${name}`, cursorColumn: 'updated_at', limit: 4 }, ...options }] }));
    const sync = await runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    return { verify: (...extra: string[]) => verify(name, config, dataDir, extra) };
  }

  async function verify(name: string, config: string, dataDir: string, extra: readonly string[]): Promise<CliResult & { report: ContentTierReport }> {
    const json = join(work, `${name}-${Date.now()}.report.json`);
    const args = extra.includes('--tier') ? extra : ['--tier', 'content', ...extra];
    const result = await runCli(['verify', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl(), '--json', json, ...args]);
    const report = result.code !== null && result.code < 3 ? (JSON.parse(await readFile(json, 'utf8')) as ContentTierReport) : (undefined as never);
    return { ...result, report };
  }

  it('passes a synced PostgreSQL dataset and says what it compared; a value changed in the warehouse fails naming the key', async () => {
    const d = await synced('ctpass', 12);

    const passed = await d.verify();

    expect([passed.code, passed.stderr]).toEqual([0, '']);
    const lines = passed.stdout.split('\n');
    expect(lines[0]).toBe('verify ctpass (content): PASSED');
    expect(lines[1]).toMatch(/^ {2}compared 4 columns \(id, customer, amount, updated_at\), 12 source rows and 12 warehouse rows over updated_at up to the watermark 2024-03-01 10:00:12\.000000, \d+ segments, \d+ segment queries/);
    expect(passed.report).toMatchObject({ tier: 'content', mode: 'database', status: 'PASSED', counts: { missing: 0, extra: 0, changed: 0, deleted: 0, duplicates: 0 } });
    expect(passed.report.comparison?.compared).toMatchObject({ rowsA: 12, rowsB: 12 });

    await warehouse("UPDATE public.ct_ctpass SET amount = 99.99 WHERE id = 5");
    const failed = await d.verify();

    expect(failed.code).toBe(2);
    expect(failed.stdout).toContain('verify ctpass (content): FAILED');
    expect(failed.stdout).toContain('  changed (5): amount\n');
    // Keys on stdout, never values: the changed value is only in the JSON report.
    expect(failed.stdout).not.toContain('99.99');
    expect(failed.report.keys.changed).toEqual([{ key: ['5'], columns: ['amount'] }]);
    expect(failed.report.comparison?.changed.rows[0]?.columns).toEqual([{ column: 'amount', source: '6.25', warehouse: '99.99' }]);
  });

  it('passes a synced MariaDB dataset; a value changed in the warehouse fails naming the key', async () => {
    const maria = await startTestSource('mysql');
    try {
      await maria.exec(
        'CREATE TABLE ctmdb (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, amount DECIMAL(10,2) NOT NULL, updated_at DATETIME(6) NOT NULL); ' +
          "INSERT INTO ctmdb (id, customer, amount, updated_at) SELECT seq, CONCAT('c-', seq), seq * 1.25, TIMESTAMP '2024-03-01 10:00:00' + INTERVAL seq SECOND FROM seq_1_to_7",
      );
      const dataDir = join(work, 'ctmdb');
      const config = join(work, 'ctmdb.json');
      await writeFile(config, JSON.stringify({ datasets: [{ name: 'ctmdb', target: { schema: 'public', table: 'ct_ctmdb' }, source: { engine: 'mysql', url: maria.url, table: `${maria.schema}.ctmdb`, cursorColumn: 'updated_at', limit: 4 } }] }));
      const sync = await runCli(['sync', 'ctmdb', '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
      expect([sync.code, sync.stderr]).toEqual([0, '']);

      const passed = await verify('ctmdb', config, dataDir, []);
      expect([passed.code, passed.report.status, passed.report.comparison?.compared.rowsA, passed.report.comparison?.compared.rowsB]).toEqual([0, 'PASSED', 7, 7]);

      await warehouse('UPDATE public.ct_ctmdb SET amount = amount + 0.01 WHERE id = 6');
      const failed = await verify('ctmdb', config, dataDir, []);
      expect(failed.code).toBe(2);
      expect(failed.stdout).toContain('  changed (6): amount\n');
    } finally {
      await maria.stop();
    }
  });

  it('fails on a row deleted at the source under deletes "report", naming the key and what to do; a late row behind the watermark is missing, a row updated after it is not a divergence', async () => {
    const d = await synced('ctreport', 8);
    await db.exec('DELETE FROM ctreport WHERE id = 3');

    const result = await d.verify();

    expect(result.code).toBe(2);
    expect(result.stdout).toContain('  deleted at source (3)\n');
    expect([result.report.counts, result.report.keys.deleted]).toEqual([{ missing: 0, extra: 0, changed: 0, deleted: 1, duplicates: 0 }, [['3']]]);

    // A late row committed behind the watermark (no run reads it again), and a row updated after the watermark (the next run brings it).
    await db.exec("INSERT INTO ctreport VALUES (100, 'late', 1.00, TIMESTAMP '2024-03-01 10:00:01.5'); UPDATE ctreport SET customer = 'moved', updated_at = TIMESTAMP '2025-01-01 00:00:00' WHERE id = 1");
    const late = await d.verify();
    expect(late.code).toBe(2);
    expect(late.stdout).toContain('  missing (100)\n');
    expect([late.report.keys.missing, late.report.keys.extra, late.report.keys.changed]).toEqual([[['100']], [], []]);
    expect(late.report.comparison?.notDivergences.keys).toEqual([{ key: ['1'], reason: 'written-after-extraction' }]);
    expect(result.stdout).toContain(`set "deletes": "propagate" on dataset 'ctreport'`);
    expect((await warehouse('SELECT COUNT(*)::int AS n FROM public.ct_ctreport'))[0]?.n).toBe(8);
  });

  it('propagates a row deleted at the source exactly once under deletes "propagate"; a second verification changes nothing', async () => {
    const d = await synced('ctprop', 8, { deletes: 'propagate' });
    await db.exec('DELETE FROM ctprop WHERE id IN (2, 6)');
    const audit = async () => Number((await warehouse("SELECT COUNT(*)::int AS n FROM public.syncproof_loads WHERE dataset = 'ctprop'"))[0]?.n);
    const auditBefore = await audit();

    const first = await d.verify();

    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(first.report.status).toBe('PASSED');
    expect(first.report.propagated).toMatchObject({ keys: 2, rowsDeleted: 2, appliedNow: true });
    expect(first.stdout).toContain('deletes propagated: 2 rows of 2 keys removed; compared again after');
    const ids = async () => (await warehouse('SELECT id FROM public.ct_ctprop ORDER BY id')).map((r) => Number(r.id));
    expect(await ids()).toEqual([1, 3, 4, 5, 7, 8]);
    expect(await audit()).toBe(auditBefore + 1);

    const second = await d.verify();

    expect([second.code, second.report.status, second.report.propagated]).toEqual([0, 'PASSED', undefined]);
    expect(await ids()).toEqual([1, 3, 4, 5, 7, 8]);
    expect(await audit()).toBe(auditBefore + 1);
  });

  it('--tier sampled is PASSED_PARTIAL with its seed; --tier all prints both tiers', async () => {
    const d = await synced('ctsample', 40, { content: { factor: 4, fetchRows: 2, sampleSegments: 2 } });

    const sampled = await d.verify('--tier', 'sampled');

    expect([sampled.code, sampled.stderr]).toEqual([0, '']);
    expect(sampled.report.status).toBe('PASSED_PARTIAL');
    expect(sampled.report.seed).toMatch(/^verify-ctsample-/);
    expect(sampled.stdout.split('\n')[0]).toBe(`verify ctsample (sampled): PASSED_PARTIAL (seed ${sampled.report.seed})`);
    expect(sampled.report.summary).toContain(`a sample: 2 top-level segments drawn with seed ${sampled.report.seed}`);
    expect(sampled.report.comparison?.compared.rowsA).toBeLessThan(40);

    const all = await d.verify('--tier', 'all');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('verify ctsample (counts): PASSED');
    expect(all.stdout).toContain('verify ctsample (content): PASSED');

    // Only the drawn segments are examined: with every warehouse row changed, the sample names exactly its own rows; --seed repeats it.
    await warehouse("UPDATE public.ct_ctsample SET customer = 'x'");
    const changed = await d.verify('--tier', 'sampled', '--seed', 'fixed-seed');
    const again = await d.verify('--tier', 'sampled', '--seed', 'fixed-seed');
    expect([changed.code, changed.report.status, changed.report.seed]).toEqual([2, 'FAILED', 'fixed-seed']);
    const rows = changed.report.comparison!.compared.rowsA;
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(40);
    expect(changed.report.counts.changed).toBe(rows);
    expect(again.report.keys.changed).toEqual(changed.report.keys.changed);
  });

  it('fails a file dataset whose target holds a changed value, naming the key', async () => {
    const name = 'ctfiles';
    const dataDir = join(work, name);
    const config = join(work, `${name}.json`);
    const file = (ids: number[]) =>
      Buffer.from(encodeParquet([{ name: 'id', type: 'INT64', data: ids.map((id) => BigInt(id)) }, { name: 'name', type: 'STRING', data: ids.map((id) => `item-${id}`) }]));
    await writeFile(config, JSON.stringify({ datasets: [{ name, prefix: `${name}/`, target: { schema: 'public', table: 'ct_files' }, keyColumns: ['id'], loadMode: 'upsert', columns: [{ name: 'id', type: 'BIGINT' }, { name: 'name', type: 'VARCHAR(32)' }] }] }));
    await seedLocalS3Store(join(dataDir, 's3'), BUCKET, [
      { key: `${name}/a.parquet`, body: file([1, 2, 3]) },
      { key: `${name}/b.parquet`, body: file([4, 5]) },
    ]);
    const sync = await runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
    expect([sync.code, sync.stderr]).toEqual([0, '']);

    const passed = await verify(name, config, dataDir, []);
    expect([passed.code, passed.report.mode, passed.report.status]).toEqual([0, 'file', 'PASSED']);
    expect(passed.stdout).toContain('5 rows the 2 loaded files say the target holds');

    await warehouse("UPDATE public.ct_files SET name = 'edited' WHERE id = 4");
    const failed = await verify(name, config, dataDir, []);

    expect(failed.code).toBe(2);
    expect(failed.stdout).toContain('  changed (4): name\n');
    expect(failed.stdout).not.toContain('edited');
  });

  it('runs ContentCheck in the VerifyStateMachine for tier content: FAILED fails the execution with the report URI; deletes propagate through PropagateDeletes', async () => {
    for (const t of ['smcheck', 'smprop']) {
      await db.exec(
        `CREATE TABLE ${t} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); ` +
          `INSERT INTO ${t} (id, customer, updated_at) SELECT g, 'c-' || g, TIMESTAMP '2024-03-01 10:00:00' + g * INTERVAL '1 second' FROM generate_series(1, 6) g`,
      );
    }
    const rt = await startDbRuntime('postgres', db, [
      { name: 'smcheck', table: 'smcheck' },
      { name: 'smprop', table: 'smprop', settings: { deletes: 'propagate' } },
    ]);
    try {
      expect((await rt.sync('smcheck')).status).toBe('SUCCEEDED');
      expect((await rt.sync('smprop')).status).toBe('SUCCEEDED');

      const passed = await rt.runtime.startExecution({ dataset: 'smcheck', tier: 'content' }, 'verify-smcheck-1', 'verify');
      expect([passed.status, passed.run?.status, passed.error]).toEqual(['SUCCEEDED', 'PASSED', undefined]);
      const report = (await rt.runtime.deps.objects.getJson('_syncproof/reports/smcheck/verify-smcheck-1/content-tier.json')) as ContentTierReport;
      expect([report.status, report.comparison?.compared.rowsA, report.comparison?.compared.rowsB]).toEqual(['PASSED', 6, 6]);

      // Tier counts skips ContentCheck: a changed value passes the counts.
      await rt.query(`UPDATE ${rt.target('smcheck')} SET customer = 'edited' WHERE id = 4`);
      const counts = await rt.runtime.startExecution({ dataset: 'smcheck', tier: 'counts' }, 'verify-smcheck-2', 'verify');
      expect([counts.status, counts.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
      expect(await rt.runtime.deps.objects.head('_syncproof/reports/smcheck/verify-smcheck-2/content-tier.json')).toBeUndefined();

      const failed = await rt.runtime.startExecution({ dataset: 'smcheck', tier: 'content' }, 'verify-smcheck-3', 'verify');
      expect([failed.status, failed.run?.status, failed.error]).toEqual(['FAILED', 'FAILED', 'VerificationFailedError']);
      expect(failed.cause).toContain('content FAILED (s3://syncproof-local/_syncproof/reports/smcheck/verify-smcheck-3/content-tier.json)');
      expect(failed.cause).toContain('1 changed ((4); columns customer)');
      expect(failed.cause).not.toContain('edited');

      // deletes "propagate": ContentCheck proves the deletion, PropagateDeletes (the load stage) applies it, ContentCheckAfter passes.
      await db.exec('DELETE FROM smprop WHERE id = 2');
      const propagated = await rt.runtime.startExecution({ dataset: 'smprop', tier: 'content' }, 'verify-smprop-1', 'verify');
      expect([propagated.status, propagated.run?.status, propagated.error, propagated.cause]).toEqual(['SUCCEEDED', 'PASSED', undefined, undefined]);
      expect((await rt.query(`SELECT id FROM ${rt.target('smprop')} ORDER BY id`)).map((r) => Number(r.id))).toEqual([1, 3, 4, 5, 6]);
      const after = (await rt.runtime.deps.objects.getJson('_syncproof/reports/smprop/verify-smprop-1-after/content-tier.json')) as ContentTierReport;
      expect([after.status, after.propagated?.keys, after.propagated?.rowsDeleted]).toEqual(['PASSED', 1, 1]);
    } finally {
      await rt.stop();
    }
  });
});
