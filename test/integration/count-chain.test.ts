/**
 * The row-count chain through the CLI as a user runs it: `syncproof sync` of a PostgreSQL-source
 * dataset and of a file dataset into a PostgreSQL warehouse (`--warehouse`), state kept in a data
 * dir, then `syncproof verify --tier counts` on that state. Untouched, every hop PASSES with its
 * numbers; rows removed from the target, rows deleted at the source and a manifest that no longer
 * states its file's rows each FAIL naming their hop. Assertions read the CLI's output and its JSON
 * report.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryUrl } from './support';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import type { CountChainReport } from '../../lambdas/verify/count-chain';
import { seedLocalS3Store } from '../../local/emulators';
import { runCli, type CliResult } from '../support/cli';
import { useTestDatabase } from '../support/postgres';
import { startDbRuntime } from '../support/db-runtime';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(400_000);

const BUCKET = 'syncproof-local';

function ordersFile(ids: readonly number[]): Buffer {
  return Buffer.from(
    encodeParquet([
      { name: 'id', type: 'INT64', data: ids.map((id) => BigInt(id)) },
      { name: 'name', type: 'STRING', data: ids.map((id) => `item-${id}`) },
    ]),
  );
}

describe('syncproof verify --tier counts', () => {
  const warehouseUrl = useTestDatabase();
  let db: TestSourceDb;
  let work: string;

  beforeAll(async () => {
    db = await startTestSource('postgres');
    work = await mkdtemp(join(tmpdir(), 'syncproof-count-chain-'));
  });

  afterAll(async () => {
    await db?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const warehouse = (sql: string): Promise<Record<string, unknown>[]> => queryUrl(warehouseUrl(), sql);

  /** A PostgreSQL-source dataset `name` over source table `name` with rows 1..rows, synced once. */
  async function syncedSourceDataset(name: string, rows: number) {
    await db.exec(
      `CREATE TABLE ${name} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); ` +
        `INSERT INTO ${name} (id, customer, updated_at) SELECT g, 'c-' || g, TIMESTAMP '2024-03-01 10:00:00' + g * INTERVAL '1 second' FROM generate_series(1, ${rows}) g`,
    );
    const dataDir = join(work, name);
    const config = join(work, `${name}.json`);
    await writeFile(config, JSON.stringify({ datasets: [{ name, target: { schema: 'public', table: `cc_${name}` }, source: { engine: 'postgres', url: db.url, table: `public.${name}`, cursorColumn: 'updated_at', limit: 4 } }] }));
    const sync = await runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    return { dataDir, config, verify: (...extra: string[]) => verify(name, config, dataDir, extra) };
  }

  async function verify(name: string, config: string, dataDir: string, extra: readonly string[]): Promise<CliResult & { report: CountChainReport }> {
    const json = join(work, `${name}-${Date.now()}.report.json`);
    const result = await runCli(['verify', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl(), '--tier', 'counts', '--json', json, ...extra]);
    const report = result.code !== null && result.code < 3 ? (JSON.parse(await readFile(json, 'utf8')) as CountChainReport) : (undefined as never);
    return { ...result, report };
  }

  const hop = (report: CountChainReport, name: string) => report.hops.find((h) => h.name === name);

  it('passes every hop of a synced PostgreSQL dataset, with the numbers of each', async () => {
    const d = await syncedSourceDataset('pgpass', 10);

    const result = await d.verify();

    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout.split('\n')).toEqual([
      'verify pgpass (counts): PASSED',
      '  PASSED source → manifests: 10 → 10',
      '  PASSED manifests → audit: 10 → 10',
      '  PASSED audit → target: 10 → 10',
      '  PASSED source → target: 10 → 10',
      '',
    ]);
    expect(result.report.nodes).toEqual([
      { name: 'source', rows: 10, windowRows: 10 },
      { name: 'manifests', rows: 10, files: 3 },
      { name: 'audit', rows: 10, files: 3 },
      { name: 'target', rows: 10, distinctKeys: 10, windowRows: 10 },
    ]);
    expect(result.report.runs).toHaveLength(1);
    expect(result.report.runs[0]).toMatchObject({ sourceRows: 10, manifestRows: 10, auditRows: 10, files: 3, status: 'PASSED' });
    // The verification is a run, as on a stack: `runs` lists it with its report (and `clean` trusts it).
    const runs = await runCli(['runs', 'pgpass', '--data-dir', d.dataDir, '--json']);
    expect(JSON.parse(runs.stdout)[0]).toMatchObject({ kind: 'verification', status: 'PASSED', tier: 'counts', reportUri: expect.stringMatching(/count-chain\.json$/) });

    // --since: only the rows at or after that cursor value, on both sides.
    const since = await d.verify('--since', '2024-03-01 10:00:07');
    expect([since.code, since.report.since]).toEqual([0, '2024-03-01 10:00:07']);
    expect(since.report.nodes.find((n) => n.name === 'source')).toEqual({ name: 'source', rows: 4, windowRows: 4 });
    expect(since.report.nodes.find((n) => n.name === 'target')).toEqual({ name: 'target', rows: 4, distinctKeys: 4, windowRows: 4 });
  });

  it('passes every hop of a synced MariaDB dataset', async () => {
    const maria = await startTestSource('mysql');
    try {
      await maria.exec(
        'CREATE TABLE mdb (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at DATETIME(6) NOT NULL); ' +
          "INSERT INTO mdb (id, customer, updated_at) SELECT seq, CONCAT('c-', seq), TIMESTAMP '2024-03-01 10:00:00' + INTERVAL seq SECOND FROM seq_1_to_7",
      );
      const dataDir = join(work, 'mdb');
      const config = join(work, 'mdb.json');
      await writeFile(config, JSON.stringify({ datasets: [{ name: 'mdb', target: { schema: 'public', table: 'cc_mdb' }, source: { engine: 'mysql', url: maria.url, table: `${maria.schema}.mdb`, cursorColumn: 'updated_at', limit: 4 } }] }));
      const sync = await runCli(['sync', 'mdb', '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
      expect([sync.code, sync.stderr]).toEqual([0, '']);

      const result = await verify('mdb', config, dataDir, []);

      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.report.nodes.map((n) => [n.name, n.rows, n.windowRows])).toEqual([
        ['source', 7, 7],
        ['manifests', 7, undefined],
        ['audit', 7, undefined],
        ['target', 7, 7],
      ]);
      expect(result.report.runs[0]).toMatchObject({ sourceRows: 7, manifestRows: 7, status: 'PASSED' });
    } finally {
      await maria.stop();
    }
  });

  it('fails at the target hop when rows are removed from the target after their load', async () => {
    const d = await syncedSourceDataset('pgtarget', 10);
    await warehouse('DELETE FROM public.cc_pgtarget WHERE id IN (3, 7)');

    const result = await d.verify();

    expect(result.code).toBe(2);
    expect(result.stdout).toContain('FAILED audit → target: 10 source rows behind the watermark, 8 in the target');
    expect(hop(result.report, 'audit → target')?.status).toBe('FAILED');
    expect(result.report.hops.filter((h) => h.status === 'FAILED').map((h) => h.name)).toEqual(['audit → target']);
  });

  it('fails at the source hop when rows are deleted at the source', async () => {
    const d = await syncedSourceDataset('pgsource', 10);
    await db.exec('DELETE FROM pgsource WHERE id IN (2, 4, 6)');

    const result = await d.verify();

    expect(result.code).toBe(2);
    expect(result.stdout).toContain('FAILED source → target: 7 rows in the source, 10 keys in the target');
    expect(result.report.hops.filter((h) => h.status === 'FAILED').map((h) => h.name)).toEqual(['source → target']);
  });

  it('fails at the manifests hop when a manifest no longer states its file\'s rows', async () => {
    const d = await syncedSourceDataset('pgmanifest', 10);
    const report = (await d.verify()).report;
    expect(report.status).toBe('PASSED');
    // A later manifest (its key sorts last, so it wins) states one row more for the first chunk.
    const first = await firstExtractedKey(d.dataDir, 'pgmanifest');
    await seedLocalS3Store(join(d.dataDir, 's3'), BUCKET, [
      { key: '_syncproof/manifests/pgmanifest/zz-edited.json', body: Buffer.from(JSON.stringify({ dataset: 'pgmanifest', files: [{ key: first, size: 1, rows: 5 }] })) },
    ]);

    const result = await d.verify();

    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`FAILED manifests → audit: 1 files differ, first '${first}': 5 in the manifest, 4 audited`);
    expect(hop(result.report, 'manifests → audit')?.status).toBe('FAILED');
  });

  it('passes every hop of a synced file dataset: manifests → ledger → audit → target', async () => {
    const name = 'files';
    const dataDir = join(work, name);
    const config = join(work, `${name}.json`);
    await writeFile(config, JSON.stringify({ datasets: [{ name, prefix: `${name}/`, target: { schema: 'public', table: 'cc_files' }, keyColumns: ['id'], loadMode: 'upsert', columns: [{ name: 'id', type: 'BIGINT' }, { name: 'name', type: 'VARCHAR(32)' }] }] }));
    await seedLocalS3Store(join(dataDir, 's3'), BUCKET, [
      { key: 'files/a.parquet', body: ordersFile([1, 2, 3]) },
      { key: 'files/b.parquet', body: ordersFile([4, 5]) },
      { key: '_syncproof/manifests/files/m.json', body: Buffer.from(JSON.stringify({ dataset: name, files: [{ key: 'files/a.parquet', size: ordersFile([1, 2, 3]).length, rows: 3 }, { key: 'files/b.parquet', size: ordersFile([4, 5]).length, rows: 2 }] })) },
    ]);
    const sync = await runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
    expect([sync.code, sync.stderr]).toEqual([0, '']);

    const result = await verify(name, config, dataDir, []);

    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout.split('\n')).toEqual([
      'verify files (counts): PASSED',
      '  PASSED manifests → ledger: 5 → 5',
      '  PASSED ledger → audit: 5 → 5',
      '  PASSED audit → target: 5 → 5',
      '',
    ]);
    expect(result.report.nodes.map((n) => [n.name, n.rows])).toEqual([
      ['manifests', 5],
      ['ledger', 5],
      ['audit', 5],
      ['target', 5],
    ]);
  });

  it("runs the count chain in the VerifyStateMachine under the counts stage's synthesized role, and fails the execution naming the hop", async () => {
    await db.exec(
      `CREATE TABLE pgmachine (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); ` +
        `INSERT INTO pgmachine (id, customer, updated_at) SELECT g, 'c-' || g, TIMESTAMP '2024-03-01 10:00:00' + g * INTERVAL '1 second' FROM generate_series(1, 6) g`,
    );
    const rt = await startDbRuntime('postgres', db, [{ name: 'pgmachine', table: 'pgmachine' }]);
    try {
      expect((await rt.sync('pgmachine')).status).toBe('SUCCEEDED');

      const passed = await rt.runtime.startExecution({ dataset: 'pgmachine', tier: 'counts' }, 'verify-pgmachine-1', 'verify');
      expect([passed.status, passed.run?.status, passed.error]).toEqual(['SUCCEEDED', 'PASSED', undefined]);
      const report = (await rt.runtime.deps.objects.getJson('_syncproof/reports/pgmachine/verify-pgmachine-1/count-chain.json')) as CountChainReport;
      expect(report.nodes.map((n) => [n.name, n.rows])).toEqual([['source', 6], ['manifests', 6], ['audit', 6], ['target', 6]]);

      // `since` in the execution input (what `verify --stack --since` sends) reaches the count chain.
      const windowed = await rt.runtime.startExecution({ dataset: 'pgmachine', tier: 'counts', since: '2024-03-01 10:00:04' }, 'verify-pgmachine-since', 'verify');
      expect([windowed.status, windowed.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
      const since = (await rt.runtime.deps.objects.getJson('_syncproof/reports/pgmachine/verify-pgmachine-since/count-chain.json')) as CountChainReport;
      expect(since.since).toBe('2024-03-01 10:00:04');
      expect(since.nodes.map((n) => [n.name, n.rows])).toEqual([['source', 3], ['manifests', 6], ['audit', 6], ['target', 3]]);

      await rt.query(`DELETE FROM ${rt.target('pgmachine')} WHERE id = 4`);
      const failed = await rt.runtime.startExecution({ dataset: 'pgmachine', tier: 'counts' }, 'verify-pgmachine-2', 'verify');
      expect([failed.status, failed.run?.status, failed.error]).toEqual(['FAILED', 'FAILED', 'VerificationFailedError']);
      expect(failed.cause).toContain('count chain FAILED');
      expect(failed.cause).toContain('FAILED audit → target: 6 source rows behind the watermark, 5 in the target');
    } finally {
      await rt.stop();
    }
  });
});

/** The key of the first chunk file an extraction wrote (from the run's manifests on disk). */
async function firstExtractedKey(dataDir: string, dataset: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const root = join(dataDir, 's3', BUCKET, '_syncproof', 'manifests', dataset);
  // s3rver keeps an object's body as `<name>._S3rver_object`.
  const names = (await readdir(root)).filter((f) => f.endsWith('.json._S3rver_object') && !f.startsWith('zz-')).sort();
  const manifest = JSON.parse(await readFile(join(root, names[0]!), 'utf8')) as { files: { key: string }[] };
  return manifest.files[0]!.key;
}
