/**
 * `syncproof clean` against the local state after real runs (issue #16 item 3): a dry run deletes
 * nothing; a clean removes loaded files verified before the last passed verification (file
 * datasets' data, a database dataset's extraction files) and old run documents, marks them
 * `deleted` in the ledger, and never removes an unloaded, a quarantined or a newer object (one test
 * each); the next verification passes with nothing missing and the count chain holding; identical
 * bytes uploaded again are not loaded again. The clock of the clean is moved 30 days on
 * (`SYNCPROOF_NOW`), so every object is past a 7-day retention and only the guards keep any.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '../../lambdas/adapters/clients';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { LOCAL_BINDINGS } from '../../lambdas/adapters/stage-handler';
import type { CleanOutput } from '../../lambdas/clean/clean';
import { handler as cleanHandler } from '../../lambdas/clean/handler';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { parseConfig, type SyncproofConfigInput } from '../../lambdas/core/config';
import type { LedgerEntry } from '../../lambdas/core/ports';
import { DEMO_DATASET } from '../../local/demo';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../local/emulators';
import { LOCAL_TABLES, LocalRuntime } from '../../local/runtime';
import { runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';
import { useTestDatabase } from '../support/postgres';
import { eventsFile, ordersFile, queryUrl, range } from './support';

jest.setTimeout(900_000);

const BUCKET = 'syncproof-local';
const LATER = new Date(Date.now() + 30 * 86_400_000).toISOString();

describe('syncproof clean on the local state after real runs', () => {
  let work: string;
  let dataDir: string;
  let configFile: string;
  let config: ReturnType<typeof parseConfig>;
  /** Run ids: the first reconcile of orders (its batch goes), and the newest run of orders (its stays). */
  const runs: Record<string, string> = {};
  /** What the clean kept, by dataset and reason (its --json report). */
  const kept: Record<string, Record<string, number>> = {};

  // A PostgreSQL warehouse loaded directly: its load views report each file's rows, which the file
  // count chain (manifests → ledger → audit) needs (the embedded Data API path records none).
  const warehouseUrl = useTestDatabase();
  const start = () => LocalRuntime.start({ config, dataDir, s3Events: false, warehouse: warehouseUrl(), warehouseApi: 'direct' });
  const clean = (...args: string[]) => {
    process.env.SYNCPROOF_NOW = LATER;
    try {
      return runCli(['clean', ...args, '--config', configFile, '--data-dir', dataDir]);
    } finally {
      delete process.env.SYNCPROOF_NOW;
    }
  };
  async function listing(): Promise<string[]> {
    const s3 = await startLocalS3({ bucket: BUCKET, directory: join(dataDir, 's3') });
    const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      const keys: string[] = [];
      for await (const o of new S3ObjectStore(client, BUCKET).list('')) keys.push(`${o.key}@${o.etag}`);
      return keys;
    } finally {
      client.destroy();
      await s3.stop();
    }
  }
  const keys = async (prefix: string) => (await listing()).map((k) => k.split('@')[0]!).filter((k) => k.startsWith(prefix));
  const ledger = (dataset: string): Promise<LedgerEntry[]> =>
    withLocalDynamoDb(dataDir, async (client) => {
      const out: LedgerEntry[] = [];
      for await (const e of new DynamoDbLedgerStore(client, LOCAL_TABLES.ledger).listDataset(dataset)) out.push(e);
      return out.sort((a, b) => a.key.localeCompare(b.key));
    });
  const statusOf = async (dataset: string, key: string) => (await ledger(dataset)).filter((e) => e.key === key).map((e) => e.status);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-clean-'));
    dataDir = join(work, 'state');
    configFile = join(work, 'config.json');
    const source = await createPglite(join(work, 'source'));
    await source.exec(
      'CREATE SCHEMA shop; CREATE TABLE shop.items (id BIGINT PRIMARY KEY, note VARCHAR(20), updated_at TIMESTAMP(6) NOT NULL); ' +
        "INSERT INTO shop.items SELECT i, 'n' || i, TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL '1 second' FROM generate_series(1, 6) AS i",
    );
    await source.close();
    const input: SyncproofConfigInput = {
      datasets: [
        // The demo dataset without its version column: with one, the load records no per-file rows
        // in the ledger (null), and the file count chain's ledger → audit hop fails on that alone.
        { ...DEMO_DATASET, versionColumn: undefined },
        { name: 'events', prefix: 'events/', target: { schema: 'public', table: 'events' }, loadMode: 'append', columns: [{ name: 'event_id', type: 'BIGINT' }, { name: 'kind', type: 'VARCHAR(16)' }] },
        // The first run's file is verified; the second run's (rows added after) is newer.
        { name: 'shop', target: { schema: 'public', table: 'shop_items' }, source: { engine: 'postgres', url: `pglite:${join(work, 'source')}`, table: 'shop.items', cursorColumn: 'updated_at' } },
      ],
    };
    await writeFile(configFile, JSON.stringify(input));
    config = parseConfig(input);

    const runtime = await start();
    try {
      const objects = runtime.deps.objects;
      // With a producer manifest (rows, MD5): the checksum sample has an expected side, and the
      // next inventory would report a removed file as missing from its manifest.
      const manifest = async (name: string, files: Record<string, Uint8Array>) => {
        for (const [key, body] of Object.entries(files)) await objects.put(key, body);
        const entries = Object.entries(files).map(([key, body]) => ({ key, size: body.length, rows: 3, checksums: { md5: createHash('md5').update(body).digest('hex') } }));
        await objects.putJson(`_syncproof/manifests/orders/${name}.json`, { dataset: 'orders', files: entries });
      };
      await manifest('m1', { 'orders/a.parquet': ordersFile(range(1, 3), 0, 'new'), 'orders/b.parquet': ordersFile(range(4, 3), 0, 'new') });
      runs.ordersFirst = (await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' }, 'orders-1')).name;
      await objects.put('events/e1.parquet', eventsFile(range(1, 3)));
      await objects.put('events/bad.parquet', eventsFile(range(10, 50)).slice(0, 120));
      await runtime.startExecution({ dataset: 'events', mode: 'reconcile' }, 'events-1');
      // Discovered, not loaded yet (what Discover records before a load claims it).
      const waiting = await objects.put('events/waiting.parquet', eventsFile(range(100, 2)));
      await runtime.deps.ledger.discover({ dataset: 'events', key: waiting.key, etag: waiting.etag, size: waiting.size, lastModified: waiting.lastModified }, new Date().toISOString());
      expect((await runtime.startExecution({ dataset: 'shop' }, 'shop-1')).run?.status).toBe('PASSED');

      const verify = async (dataset: string) => {
        const v = await runtime.startScheduledVerification(dataset, { name: `verify-${dataset}-1` });
        return [dataset, v.run?.status, v.run?.error ?? v.error ?? null];
      };
      expect(await verify('orders')).toEqual(['orders', 'PASSED', null]);
      expect(await verify('events')).toEqual(['events', 'PASSED_WITH_WARNINGS', null]);
      expect(await verify('shop')).toEqual(['shop', 'PASSED', null]);

      // Loaded after the last passed verification started.
      await manifest('m2', { 'orders/c.parquet': ordersFile(range(7, 3), 0, 'new') });
      runs.ordersNewest = (await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' }, 'orders-2')).name;
      const more = await createPglite(join(work, 'source'));
      // Written now (UTC, as the cursor is read): after the first run's window, inside the second's.
      const written = new Date().toISOString().replace('T', ' ').replace('Z', '');
      await more.exec(`INSERT INTO shop.items SELECT i, 'n' || i, TIMESTAMP '${written}' + i * INTERVAL '1 microsecond' FROM generate_series(7, 9) AS i`);
      await more.close();
      expect((await runtime.startExecution({ dataset: 'shop' }, 'shop-2')).run?.status).toBe('PASSED');
    } finally {
      await runtime.stop();
    }
    expect((await ledger('events')).map((e) => `${e.key}:${e.status}`)).toEqual(['events/bad.parquet:quarantined', 'events/e1.parquet:loaded', 'events/waiting.parquet:discovered']);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ['an unknown dataset', ['ordres', '--older-than', '7d', '--dry-run', '--data-dir', 'DIR'], /unknown dataset 'ordres'; did you mean 'orders'\?/],
    ['an age that is not one', ['orders', '--older-than', '7 days', '--dry-run', '--data-dir', 'DIR'], /--older-than '7 days' is not an age: give a whole number of minutes, hours or days/],
    ['a dataset and --all', ['orders', '--all', '--dry-run', '--data-dir', 'DIR'], /name a dataset or pass --all, not both/],
    ['no state named', ['orders', '--dry-run'], /give exactly one of --data-dir DIR \(the local state\) or --stack NAME/],
    ['a data dir that does not exist', ['orders', '--older-than', '7d', '--dry-run', '--data-dir', 'NOWHERE'], /--data-dir '.*nowhere' does not exist/],
  ])('refuses %s with one line and exit 3, deleting nothing', async (_what, args, message) => {
    const before = await listing();
    const r = await runCli(['clean', ...args.map((a) => (a === 'DIR' ? dataDir : a === 'NOWHERE' ? join(work, 'nowhere') : a)), '--config', configFile]);
    expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trim().split('\n').length }).toEqual({ code: 3, stdout: '', lines: 1 });
    expect(r.stderr).toMatch(message);
    expect(await listing()).toEqual(before);
  });

  it('deletes nothing with --dry-run, and says what a clean would free', async () => {
    const before = await listing();
    const ledgerBefore = await ledger('orders');
    const r = await clean('--all', '--older-than', '7d', '--dry-run');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^clean orders \(older than 7d, .*\n {2}frees \d+ objects, .*data files 2 objects/m);
    expect(r.stdout).toContain('dry run: nothing deleted');
    expect(await listing()).toEqual(before);
    expect(await ledger('orders')).toEqual(ledgerBefore);
  });

  it('refuses to delete without --yes when stdin is not a terminal (exit 3), deleting nothing', async () => {
    const before = await listing();
    const r = await clean('orders', '--older-than', '7d');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: '' });
    expect(r.stderr).toContain('pass --yes to delete, or --dry-run to see what would go');
    expect(await listing()).toEqual(before);
  });

  it('removes the loaded files verified before the last passed verification and marks them deleted in the ledger', async () => {
    const json = join(work, 'clean.json');
    const r = await clean('--all', '--older-than', '7d', '--yes', '--json', json);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(await readFile(json, 'utf8')) as { datasets: { dataset: string; kept: Record<string, number> }[] };
    for (const d of report.datasets) kept[d.dataset] = d.kept;
    expect(r.stdout).toMatch(/keeps \d+ objects: .*1 newer than the last passed verification/);
    expect(r.stdout).toMatch(/^deleted \d+ objects/m);
    expect(await keys('orders/')).toEqual(['orders/c.parquet']);
    expect((await ledger('orders')).map((e) => `${e.key}:${e.status}`)).toEqual(['orders/a.parquet:deleted', 'orders/b.parquet:deleted', 'orders/c.parquet:loaded']);
    expect(await statusOf('events', 'events/e1.parquet')).toEqual(['deleted']);
  });

  it('never removes an object that is not loaded', async () => {
    expect([await keys('events/waiting'), await statusOf('events', 'events/waiting.parquet'), kept.events?.['not-loaded']]).toEqual([['events/waiting.parquet'], ['discovered'], 1]);
  });

  it('never removes a quarantined object', async () => {
    expect([await keys('events/bad'), await statusOf('events', 'events/bad.parquet'), kept.events?.quarantined]).toEqual([['events/bad.parquet'], ['quarantined'], 1]);
  });

  it('never removes an object loaded after the start of the last passed verification', async () => {
    expect([await keys('orders/c'), await statusOf('orders', 'orders/c.parquet'), kept.orders?.['newer-than-verification']]).toEqual([['orders/c.parquet'], ['loaded'], 1]);
  });

  it("removes a database dataset's extraction files of the verified run and keeps the newer run's; keeps manifests, extraction and schema documents", async () => {
    expect(await keys('_syncproof/extracts/shop/')).toEqual([expect.stringMatching(/^_syncproof\/extracts\/shop\/shop-2\//)]);
    expect((await ledger('shop')).map((e) => `${e.key.split('/')[3]}:${e.status}`)).toEqual(['shop-1:deleted', 'shop-2:loaded']);
    expect(await keys('_syncproof/extractions/shop/')).toHaveLength(2);
    expect(await keys('_syncproof/schemas/shop')).toHaveLength(1);
    expect((await keys('_syncproof/manifests/shop/')).length).toBeGreaterThan(0);
  });

  it('removes old run documents, keeping those of the newest run and of the last passed verification', async () => {
    const batches = await keys('_syncproof/batches/orders/');
    expect(batches.some((k) => k.includes(`/${runs.ordersFirst}/`))).toBe(false);
    expect(batches.some((k) => k.includes(`/${runs.ordersNewest}/`))).toBe(true);
    expect(await keys('_syncproof/inventory/orders/verify-orders-1')).not.toEqual([]);
  });

  it('passes the next verification with nothing missing and the count chain holding; identical bytes uploaded again are not loaded again', async () => {
    const runtime = await start();
    try {
      for (const dataset of ['orders', 'shop']) {
        const v = await runtime.startScheduledVerification(dataset, { name: `verify-${dataset}-2` });
        const inventory = v.run?.stages?.inventory as { missing: number; loadedDeleted: number; notLoaded: number };
        const chain = (await runtime.deps.objects.getJson(`_syncproof/reports/${dataset}/verify-${dataset}-2/count-chain.json`)) as { status: string; hops: { status: string }[] };
        expect([dataset, v.run?.status, inventory.missing, inventory.loadedDeleted, inventory.notLoaded, chain.status, chain.hops.every((h) => h.status === 'PASSED')]).toEqual([dataset, 'PASSED', 0, 0, 0, 'PASSED', true]);
      }
      expect(await queryUrl(warehouseUrl(), 'SELECT COUNT(*)::int AS n FROM public.orders')).toEqual([{ n: 9 }]);
      await runtime.deps.objects.put('events/e1.parquet', eventsFile(range(1, 3)));
      await runtime.startExecution({ dataset: 'events', mode: 'reconcile' }, 'events-2');
      expect(await queryUrl(warehouseUrl(), 'SELECT event_id::int AS id, COUNT(*)::int AS n FROM public.events WHERE event_id < 100 GROUP BY event_id ORDER BY event_id')).toEqual([1, 2, 3].map((id) => ({ id, n: 1 })));
    } finally {
      await runtime.stop();
    }
    expect(await statusOf('events', 'events/e1.parquet')).toEqual(['deleted']);
  });

  it("the stack's scheduled clean (the clean Lambda, as its role) removes what the last verification proved, and the verification after it passes", async () => {
    const runtime = await start();
    try {
      const stageDeps = { ...runtime.depsOf('clean'), clock: { now: () => new Date(LATER) } };
      const out = (await cleanHandler({ dataset: 'orders', olderThan: '7d' }, { [LOCAL_BINDINGS]: { stageDeps, starter: { start: () => Promise.resolve('started' as const) } } })) as CleanOutput;
      expect([out.status, out.datasets[0]?.verification?.runId, out.results[0]?.removed.data]).toEqual(['OK', 'verify-orders-2', { objects: 1, bytes: expect.any(Number) }]);
      const v = await runtime.startScheduledVerification('orders', { name: 'verify-orders-3' });
      expect([v.run?.status, (v.run?.stages?.inventory as { missing: number }).missing]).toEqual(['PASSED', 0]);
    } finally {
      await runtime.stop();
    }
    expect([await keys('orders/'), (await ledger('orders')).map((e) => e.status)]).toEqual([[], ['deleted', 'deleted', 'deleted']]);
  });
});
