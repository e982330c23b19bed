import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import type { InventoryFinding, InventoryOutput, InventorySummary } from '../../lambdas/inventory/inventory';
import type { AwsCall } from '../../local/call-observer';
import { LOCAL_TABLES, type ExecutionSummary, type LocalRuntime } from '../../local/runtime';
import { seedLocalS3Store } from '../../local/emulators';
import { describeMemory, measureMemory } from '../support/memory';
import { ordersFile, range, startRuntime, uploadAndSettle } from './support';

async function readFindings(runtime: LocalRuntime, summaryUri: string): Promise<InventoryFinding[]> {
  const summary = (await runtime.deps.objects.getJson(summaryUri.replace(`s3://${runtime.bucket}/`, ''))) as InventorySummary;
  const lines: InventoryFinding[] = [];
  for (const key of summary.partKeys) {
    const text = new TextDecoder().decode(await runtime.deps.objects.getBytes(key));
    for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as InventoryFinding);
  }
  return lines;
}

/**
 * The inventory stage on the local runtime: files loaded by the SyncStateMachine, then changed
 * behind its back, then inventoried by a VerifyStateMachine execution. Assertions read the
 * findings back from S3 and the run record back from DynamoDB.
 */
describe('inventory on the local runtime', () => {
  let runtime: LocalRuntime;
  let verification: ExecutionSummary;
  const sizes: Record<string, number> = {};

  beforeAll(async () => {
    runtime = await startRuntime();
    const files = {
      a: ordersFile(range(1, 100), 0, 'new'),
      b: ordersFile(range(101, 100), 0, 'new'),
      c: ordersFile(range(201, 100), 0, 'new'),
    };
    await uploadAndSettle(runtime, [
      { key: 'orders/inv/a.parquet', body: files.a },
      { key: 'orders/inv/b.parquet', body: files.b },
      { key: 'orders/inv/c.parquet', body: files.c },
    ]);
    const a2 = ordersFile(range(1, 100), 1, 'updated');
    await uploadAndSettle(runtime, [{ key: 'orders/inv/a.parquet', body: a2 }]);
    const stray = ordersFile(range(401, 10), 0, 'new');
    const truncated = ordersFile(range(501, 10), 0, 'new').slice(0, 200);
    await uploadAndSettle(runtime, [
      { key: 'orders/inv/stray.parquet', body: stray },
      { key: 'orders/inv/truncated.parquet', body: truncated },
    ]);
    Object.assign(sizes, { a: a2.length, b: files.b.length, c: files.c.length, truncated: truncated.length });
    const s3 = createS3Client({ region: runtime.region, credentials: runtime.credentials, s3: runtime.s3Endpoint });
    await s3.send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: 'orders/inv/c.parquet' }));
    await runtime.deps.objects.putJson('_syncproof/manifests/orders/extract-1.json', {
      dataset: 'orders',
      files: [
        { key: 'orders/inv/a.parquet', size: sizes.a, rows: 100, checksums: {} },
        { key: 'orders/inv/b.parquet', size: sizes.b + 1, rows: 100, checksums: {} },
        { key: 'orders/inv/c.parquet', size: sizes.c, rows: 100, checksums: {} },
        { key: 'orders/inv/truncated.parquet', size: sizes.truncated, checksums: {} },
      ],
    });
    // One verification, read by the two tests below (they assert on different parts of it).
    verification = await runtime.startVerification('orders', { checksumSample: '1' });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('reaches every category, fails the verification, and records counts and URIs in the run record', async () => {
    const execution = verification;

    expect(execution).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError', machine: 'verify' });
    expect(execution.run?.status).toBe('FAILED');
    const inventory = execution.run?.stages?.inventory as InventoryOutput;
    expect(inventory).toMatchObject({
      mode: 'verify',
      status: 'FAILED',
      objects: 4,
      manifests: 1,
      manifestFiles: 4,
      missing: 1,
      unexpected: 1,
      sizeMismatch: 1,
      notLoaded: 1,
      loadedDeleted: 1,
      loadedOverwritten: 1,
    });
    expect(Object.values(inventory).every((v) => typeof v !== 'object')).toBe(true);
    expect(inventory.summaryUri).toBe(`s3://${runtime.bucket}/_syncproof/inventory/orders/${execution.name}.json`);
  });

  it('stores one JSON line per finding, each with its evidence', async () => {
    const execution = verification;
    const inventory = execution.run?.stages?.inventory as InventoryOutput;
    const lines = await readFindings(runtime, inventory.summaryUri);
    expect(lines).toHaveLength(inventory.findings);
    const byCategory = (c: string) => lines.filter((l) => l.category === c);
    expect(byCategory('missing')).toEqual([{ category: 'missing', key: 'orders/inv/c.parquet', manifestSize: sizes.c, manifest: '_syncproof/manifests/orders/extract-1.json' }]);
    expect(byCategory('unexpected')).toEqual([expect.objectContaining({ key: 'orders/inv/stray.parquet' })]);
    expect(byCategory('size-mismatch')).toEqual([
      expect.objectContaining({ key: 'orders/inv/b.parquet', against: 'manifest', expectedSize: sizes.b! + 1, actualSize: sizes.b }),
    ]);
    expect(byCategory('not-loaded')).toEqual([expect.objectContaining({ key: 'orders/inv/truncated.parquet', ledgerStatus: 'quarantined' })]);
    expect(byCategory('loaded-gone').map((l) => [l.key, (l as { reason: string }).reason]).sort()).toEqual([
      ['orders/inv/a.parquet', 'overwritten'],
      ['orders/inv/c.parquet', 'deleted'],
    ]);
    expect(Object.keys(execution.stateOutputBytes).sort()).toEqual(['ChecksumSample', 'CountChain', 'ContentTier', 'ContentSkipped', 'Inventory', 'Record', 'Verdict'].sort());
  });

  it('is part of every event run, in sync mode, and looks at the run\'s own files only', async () => {
    const before = runtime.executions().length;
    await uploadAndSettle(runtime, [{ key: 'orders/inv/d.parquet', body: ordersFile(range(601, 10), 0, 'new') }]);
    const [sync] = runtime.executions().slice(before);
    // b's size contradicts the manifest, but b is not this run's: the event run loads d.
    expect(sync).toMatchObject({ machine: 'sync', status: 'SUCCEEDED' });
    expect(sync?.run?.stages?.inventory).toMatchObject({ mode: 'sync', scope: 'batch', objects: 1, notLoaded: 1, sizeMismatch: 0, status: 'PASSED' });
    const [loaded] = await (await runtime.warehouse()).query('SELECT COUNT(*) AS n FROM public.orders WHERE order_id BETWEEN 601 AND 610');
    expect(Number(loaded?.n)).toBe(10);
  });

  it('stops a reconcile run before anything is loaded when a file contradicts its manifest', async () => {
    const sync = await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' });
    expect(sync).toMatchObject({ machine: 'sync', status: 'FAILED', error: 'IntegrityCheckFailedError' });
    expect(sync.run?.stages?.inventory).toMatchObject({ mode: 'sync', scope: 'prefix', sizeMismatch: 1, missing: 1, status: 'FAILED' });
    expect(sync.run?.stages?.discover).toBeUndefined();
  });
});

/**
 * Memory per listed object, as first asserted on a 100,000-object prefix (live heap under 64 MB,
 * RSS growth under 128 MB): the same bounds per object, at a prefix of N objects. Memory is
 * allowed to grow with the manifest entries (one map entry each, see lambdas/inventory), never
 * with a held listing or held findings; holding either costs some hundreds of bytes per object,
 * which the per-object bound catches at any N (fixed costs count against it too, so a smaller N
 * only tightens it). N = 20,000 still makes 5 findings parts of 5,000 lines, 20 size mismatches and
 * a sample capped at 20 of a 10% draw; at 100,000 the suite spent ~200 s seeding and listing.
 */
const LIVE_HEAP_MB_PER_OBJECT = 64 / 100_000;
const RSS_MB_PER_OBJECT = 128 / 100_000;

describe('inventory of a large prefix', () => {
  const N = 20_000;
  let runtime: LocalRuntime;
  let dir: string;
  const calls: AwsCall[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncproof-inventory-'));
    // Staged straight into s3rver's store (the files a PUT writes): N PUTs through HTTP take
    // minutes; reading them back is what this test measures. Seeded while the runtime starts.
    const bucket = 'syncproof-inventory';
    const seeded = seedLocalS3Store(join(dir, 's3'), bucket, (function* () {
      for (let i = 0; i < N; i++) yield { key: `orders/big/f-${String(i).padStart(6, '0')}.parquet`, body: Buffer.from('x') };
    })());
    runtime = await startRuntime({ s3Events: false, s3InChildProcess: true, dataDir: dir, bucket, observeAwsCalls: (call) => calls.push(call) });
    await seeded;
    // Ten manifests of N/10 files; every 1000th file is listed with a wrong size.
    for (let m = 0; m < 10; m += 1) {
      const files = range(m * (N / 10), N / 10).map((i) => ({ key: `orders/big/f-${String(i).padStart(6, '0')}.parquet`, size: i % 1000 === 0 ? 2 : 1, checksums: {} }));
      await runtime.deps.objects.putJson(`_syncproof/manifests/orders/big-${m}.json`, { dataset: 'orders', files });
    }
  }, 300_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`keeps memory under ${LIVE_HEAP_MB_PER_OBJECT * 2 ** 20 | 0} B of live heap per listed object and every state output under 8 KB`, async () => {
    const started = Date.now();
    const { result: execution, memory } = await measureMemory(() => runtime.startVerification('orders', { checksumSample: '10%' }));
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `${N} object prefix: verification ${seconds.toFixed(1)} s, ${describeMemory(memory)}, state outputs ${JSON.stringify(execution.stateOutputBytes)} ${execution.error ?? ''} ${execution.cause ?? ''}\n`,
    );

    const inventory = execution.run?.stages?.inventory as InventoryOutput;
    expect(inventory).toMatchObject({ objects: N, manifestFiles: N, sizeMismatch: N / 1000, notLoaded: N, missing: 0, unexpected: 0 });
    expect(inventory.parts).toBe(Math.ceil(inventory.findings / 5000));
    expect(execution.run?.stages?.checksum).toMatchObject({ population: N, sampled: 20 });
    expect(memory.rssGrowthMb).toBeLessThan(RSS_MB_PER_OBJECT * N);
    // RSS can stay flat while the heap refills pages V8 already holds: bound what stays reachable.
    // (Measured: 17.2 MB at 100,000 objects.)
    if (memory.liveHeapGrowthMb !== undefined) expect(memory.liveHeapGrowthMb).toBeLessThan(LIVE_HEAP_MB_PER_OBJECT * N);
    for (const [state, bytes] of Object.entries(execution.stateOutputBytes)) expect([state, bytes < 8 * 1024]).toEqual([state, true]);
    expect(Object.keys(execution.stateOutputBytes)).toEqual(expect.arrayContaining(['Inventory', 'ChecksumSample', 'Record']));
  }, 400_000);

  it('runs an event run of k new files among N loaded with no listing and O(k) ledger reads', async () => {
    // The first LOADED objects of the prefix are recorded as loaded (through the ledger's own
    // protocol calls); then k new files arrive and the trigger's input names them.
    const LOADED = 1_000;
    const k = 10;
    const ledger = runtime.deps.ledger;
    const now = new Date().toISOString();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < LOADED; i = next++) {
          const key = `orders/big/f-${String(i).padStart(6, '0')}.parquet`;
          const head = (await runtime.deps.objects.head(key))!;
          await ledger.discover({ dataset: 'orders', key, etag: head.etag, size: head.size, lastModified: head.lastModified }, now);
          const fence = (await ledger.claim(key, head.etag, 0, { loadId: 'seed', expiresAt: '2999-01-01T00:00:00.000Z' }, now))!;
          await ledger.markLoaded({ key, etag: head.etag, fence }, 'seed', 1, now);
        }
      }),
    );
    const events = [];
    for (let i = 0; i < k; i += 1) {
      const o = await runtime.deps.objects.put(`orders/new/n-${i}.parquet`, ordersFile([900_000 + i], 0, 'new'));
      events.push({ key: o.key, etag: o.etag, size: o.size });
    }
    calls.length = 0;

    const execution = await runtime.startExecution({ dataset: 'orders', trigger: { source: 's3', objects: k, events } });

    expect(execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(execution.run?.stages?.inventory).toMatchObject({ scope: 'batch', objects: k, notLoaded: k });
    const [state] = await (await runtime.warehouse()).query('SELECT COUNT(*) AS n FROM public.orders WHERE order_id >= 900000');
    expect(Number(state?.n)).toBe(k);
    // Counted at the SDK clients of the stage Lambdas.
    expect(calls.filter((c) => c.operation === 'ListObjectsV2')).toEqual([]);
    const ledgerCalls = calls.filter((c) => c.service === 'dynamodb' && JSON.stringify(c.input).includes(LOCAL_TABLES.ledger));
    const reads = ledgerCalls.filter((c) => ['GetItem', 'BatchGetItem', 'Query', 'Scan'].includes(c.operation));
    expect(reads.filter((c) => c.operation === 'Scan' || c.input.IndexName !== undefined)).toEqual([]);
    const keysRead = reads.reduce((n, c) => n + (c.operation === 'BatchGetItem' ? ledgerKeysOf(c.input) : 1), 0);
    expect(keysRead).toBeLessThanOrEqual(20 * k);
    expect(keysRead).toBeGreaterThanOrEqual(k);
  }, 300_000);
});

/** Keys a BatchGetItem asks of the ledger table. */
function ledgerKeysOf(input: Readonly<Record<string, unknown>>): number {
  const items = input.RequestItems as Record<string, { Keys: unknown[] }> | undefined;
  return items?.[LOCAL_TABLES.ledger]?.Keys.length ?? 0;
}
