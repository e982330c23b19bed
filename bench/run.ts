/**
 * `npm run bench`: performance figures, each a ratio against a baseline measured in the same run on
 * the same machine. No figure here is asserted by a test.
 *
 * Figure 1 — the load stage (benchLoadPath): an upsert of N rows in 100 files into an N-row target
 * through the local Data API, against `psql \copy`; and the protocol's overhead against a bare COPY.
 * Figure 2 — checksums (bench/checksums.ts): MD5, multipart ETags, CRC64NVME, CRC32C over a 1 GiB
 * file against `openssl dgst -md5`.
 * Figure 3 — verify-local list + diff (bench/list-diff.ts) against `rclone check` / `rclone lsf`,
 * and the bytes a `--detailed` run downloads when S3 holds checksum evidence.
 * Figure 4 — burst (benchBurst): 10,000 small objects as S3 events through the local runtime;
 * 4b (benchEventRunCost, `event-cost`): an event run of 100 new files among 100,000 loaded.
 * Figure 5 — the extraction's Parquet writer (bench/parquet-encode.ts) against `psql \copy TO STDOUT`.
 * Figure 6 — the database path (bench/extract.ts): runExtract from PostgreSQL and MariaDB against
 * `psql \copy` / `mariadb -e`, and an incremental run through the whole pipeline against a full one.
 * Figure 7 — content comparison (bench/content.ts): `syncproof diff` of two tables differing in 10
 * rows against one checksum scan per side: 7a PostgreSQL ↔ PostgreSQL (`content`), 7b MariaDB →
 * PostgreSQL (`content-mariadb`), 7c a SQLite file → PostgreSQL (`content-sqlite`).
 * Figure 8 — cost (bench/cost.ts, `cost`): cost per 1,000 files and per 1M rows at list prices,
 * from the usage metered in local runs of the burst path, with every assumption printed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { Client } from 'pg';
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { ParquetInspector } from '../lambdas/adapters/parquet-inspector';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { systemClock, type ObjectStore, type ObjectSummary } from '../lambdas/core/ports';
import { eventsDocumentKey } from '../lambdas/core/execution-input';
import { executionName } from '../lambdas/core/ids';
import { copyFromS3ParquetManifest } from '../lambdas/core/sql';
import type { StageDeps } from '../lambdas/core/stage-deps';
import { runLoad } from '../lambdas/load/load';
import { DEMO_DATASET, ordersFile } from '../local/demo';
import type { AwsCall } from '../local/call-observer';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, seedLocalS3Store, startLocalDynamoDb, startLocalS3 } from '../local/emulators';
import { LOCAL_REDSHIFT, openLocalWarehouse } from '../local/local-warehouse';
import { startPostgresServer } from '../local/postgres-server';
import { LOCAL_COPY_ROLE, LOCAL_TABLES, LocalRuntime } from '../local/runtime';
import { benchChecksums } from './checksums';
import { benchContent, benchContentMariadb, benchContentSqlite } from './content';
import { benchCost } from './cost';
import { benchExtract } from './extract';
import { benchListDiff } from './list-diff';
import { benchParquetEncode } from './parquet-encode';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const FILES = Number(process.env.BENCH_FILES ?? 100);

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function csvOf(ids: readonly number[]): string {
  const base = Date.UTC(2026, 0, 1);
  let out = '';
  for (const id of ids) {
    const cents = (id * 37) % 1_000_000;
    const ts = new Date(base + id * 1000).toISOString().replace('T', ' ').replace('Z', '');
    out += `${id},${(id * 7919) % 100_000},new,${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')},${ts}\n`;
  }
  return out;
}

/** Waits for an S3 emulator PUT stream: 8 at a time. */
async function putAll(objects: ObjectStore, files: { key: string; body: Uint8Array }[]): Promise<ObjectSummary[]> {
  const out: ObjectSummary[] = new Array(files.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < files.length; i = next++) out[i] = await objects.put(files[i]!.key, files[i]!.body);
    }),
  );
  return out;
}

/**
 * Figures 1a and 1b: the load stage itself (runLoad: ledger claims, one guarded COPY per batch
 * with a manifest, merge, audit, settle), through the production RedshiftDataWarehouse and the
 * local Data API, into a PostgreSQL server.
 * - 1a: ROWS rows in FILES files upserted into a target that already holds the same ROWS keys,
 *   against `psql \copy` of the same rows as CSV into the same server.
 * - 1b: the exactly-once protocol's overhead: the same path loading the first wave into the empty
 *   target, against a bare manifest COPY of the same files (no guard, no merge, no audit, no ledger).
 */
async function benchLoadPath(): Promise<string[]> {
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-'));
  const pg = await startPostgresServer();
  const s3 = await startLocalS3({ bucket: 'bench', directory: join(work, 's3') });
  const dynamo = await startLocalDynamoDb();
  try {
    const objects = new S3ObjectStore(createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'bench');
    await ensureTables(dynamo.endpoint, LOCAL_TABLES);
    const ddb = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const ledger = new DynamoDbLedgerStore(ddb, LOCAL_TABLES.ledger);
    const local = await openLocalWarehouse({ url: pg.url, objects, api: 'data-api', redshift: { ...LOCAL_REDSHIFT, copyRoleArn: LOCAL_COPY_ROLE }, region: LOCAL_REGION, account: '000000000000', credentials: LOCAL_CREDENTIALS });
    const config = { datasets: [DEMO_DATASET], maxFilesPerBatch: 1000 };
    const deps: StageDeps = {
      config,
      objects,
      ledger,
      runs: new DynamoDbRunStore(ddb, LOCAL_TABLES.runs),
      files: new ParquetInspector(objects),
      clock: systemClock,
      copyRoleArn: LOCAL_COPY_ROLE,
      maxStatementsPerTransaction: local.maxStatementsPerTransaction,
      log: { info: () => undefined, warn: () => undefined },
      warehouse: async () => local.stages,
    };
    const perFile = Math.ceil(ROWS / FILES);
    const parts: number[][] = [];
    for (let start = 1; start <= ROWS; start += perFile) parts.push(Array.from({ length: Math.min(perFile, ROWS - start + 1) }, (_, i) => start + i));

    const wave = async (n: number): Promise<{ seconds: number; files: ObjectSummary[] }> => {
      const files = await putAll(objects, parts.map((ids, i) => ({ key: `orders/wave-${n}/part-${i}.parquet`, body: ordersFile(ids, n, n === 0 ? 'new' : 'updated') })));
      for (const f of files) await ledger.discover({ dataset: 'orders', key: f.key, etag: f.etag, size: f.size, lastModified: f.lastModified }, new Date().toISOString());
      const batchKey = `_syncproof/batches/orders/bench-${n}.json`;
      await objects.putJson(batchKey, { runId: `bench-${n}`, dataset: 'orders', files });
      const t = process.hrtime.bigint();
      const out = await runLoad({ runId: `bench-${n}`, dataset: 'orders', batchUri: `s3://bench/${batchKey}`, files: files.length, hasMore: false }, deps);
      const took = seconds(t);
      if (out.filesLoaded !== files.length) throw new Error(`wave ${n}: ${out.filesLoaded} of ${files.length} files loaded`);
      return { seconds: took, files };
    };
    const first = await wave(0);
    const second = await wave(1);

    const client = new Client({ connectionString: pg.url });
    await client.connect();
    const [state] = (await client.query("SELECT COUNT(*)::int AS n, COUNT(DISTINCT order_id)::int AS k, SUM(CASE WHEN status = 'updated' THEN 1 ELSE 0 END)::int AS u FROM public.orders")).rows as { n: number; k: number; u: number }[];
    if (state?.n !== ROWS || state.k !== ROWS || state.u !== ROWS) throw new Error(`target after the upsert: ${JSON.stringify(state)}, expected ${ROWS} rows, all updated`);

    // Baseline 1a: psql \copy of the same rows as CSV into the same server.
    const csvPath = join(work, 'orders.csv');
    await writeFile(csvPath, parts.map(csvOf).join(''));
    await client.query('CREATE TABLE psql_orders (order_id BIGINT, customer_id BIGINT, status VARCHAR(32), amount DECIMAL(12,2), updated_at TIMESTAMP)');
    let t = process.hrtime.bigint();
    execFileSync('psql', [pg.url, '-q', '-c', `\\copy psql_orders FROM '${csvPath}' WITH (FORMAT csv)`], { stdio: 'inherit' });
    const psqlSeconds = seconds(t);

    // Baseline 1b: a bare COPY of the first wave's files through the same Data API, nothing else.
    await client.query('CREATE TABLE bare_orders (LIKE public.orders)');
    const manifestKey = '_syncproof/bench/bare-manifest.json';
    await objects.putJson(manifestKey, { entries: first.files.map((f) => ({ url: `s3://bench/${f.key}`, mandatory: true, meta: { content_length: f.size } })) });
    t = process.hrtime.bigint();
    await local.stages.executeTransaction([copyFromS3ParquetManifest({ table: '"public"."bare_orders"', bucket: 'bench', manifestKey, iamRole: LOCAL_COPY_ROLE })], 'bench-bare');
    const bareSeconds = seconds(t);
    const [bare] = (await client.query('SELECT COUNT(*)::int AS n FROM bare_orders')).rows as { n: number }[];
    if (bare?.n !== ROWS) throw new Error(`bare COPY loaded ${bare?.n} rows, expected ${ROWS}`);
    await client.end();
    await local.close();

    const rate = (secs: number) => `${Math.round(ROWS / secs).toLocaleString('en-US')} rows/s`;
    return [
      `load path, ${ROWS} rows in ${parts.length} Parquet files (S3 emulator → local Data API → PostgreSQL ${pg.port}):`,
      `  upsert into a ${ROWS}-row target   ${second.seconds.toFixed(2)} s  ${rate(second.seconds)}`,
      `  psql \\copy of the same CSV         ${psqlSeconds.toFixed(2)} s  ${rate(psqlSeconds)}`,
      `  ratio                              ${(psqlSeconds / second.seconds).toFixed(2)}× psql \\copy (target ≥ 0.70×)`,
      `  first wave into the empty target   ${first.seconds.toFixed(2)} s  ${rate(first.seconds)}`,
      `  bare manifest COPY of those files  ${bareSeconds.toFixed(2)} s  ${rate(bareSeconds)}`,
      `  protocol overhead                  ${(first.seconds / bareSeconds).toFixed(2)}× a bare COPY (target ≤ 1.30×)`,
    ];
  } finally {
    await dynamo.stop();
    await s3.stop();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** ListObjectsV2 calls and ledger keys read, from the calls the stages made (counted at their SDK clients). */
function listAndLedgerReads(calls: readonly AwsCall[]): { lists: number; ledgerCalls: number; ledgerKeys: number; ledgerScans: number } {
  let lists = 0;
  let ledgerCalls = 0;
  let ledgerKeys = 0;
  let ledgerScans = 0;
  for (const c of calls) {
    if (c.operation === 'ListObjectsV2') lists += 1;
    if (c.service !== 'dynamodb' || !JSON.stringify(c.input).includes(LOCAL_TABLES.ledger)) continue;
    if (c.operation === 'GetItem') (ledgerCalls += 1), (ledgerKeys += 1);
    else if (c.operation === 'BatchGetItem') (ledgerCalls += 1), (ledgerKeys += ((c.input.RequestItems as Record<string, { Keys: unknown[] }>)[LOCAL_TABLES.ledger]?.Keys.length ?? 0));
    else if (c.operation === 'Query' || c.operation === 'Scan') {
      ledgerCalls += 1;
      if (c.operation === 'Scan' || c.input.IndexName !== undefined) ledgerScans += 1;
    }
  }
  return { lists, ledgerCalls, ledgerKeys, ledgerScans };
}

/**
 * Figure 4 — burst: BURST small objects uploaded as fast as the emulator takes them, every event
 * delivered to the trigger in the stack's SQS batches (BatchSize 10,000) gathered for the stack's
 * batching window (20 s; BENCH_BURST_WINDOW_MS); the local runtime runs the synthesized state
 * machines over the local Data API. Every object must end loaded once (read back); reports
 * executions, state transitions and Data API statements per file, S3 listings and ledger reads
 * (counted at the stages' SDK clients), and the wall time from the last upload to idle.
 */
async function benchBurst(): Promise<string[]> {
  const count = Number(process.env.BENCH_BURST ?? 10_000);
  const windowMs = Number(process.env.BENCH_BURST_WINDOW_MS ?? 20_000);
  const calls: AwsCall[] = [];
  const runtime = await LocalRuntime.start({ config: { datasets: [DEMO_DATASET], maxFilesPerBatch: 1000 }, eventBatchingWindowMs: windowMs, observeAwsCalls: (c) => calls.push(c) });
  try {
    const files = Array.from({ length: count }, (_, i) => ({ key: `orders/burst/f-${String(i).padStart(6, '0')}.parquet`, body: ordersFile([i + 1], 0, 'new') }));
    const t = process.hrtime.bigint();
    await putAll(runtime.deps.objects, files);
    const uploaded = seconds(t);
    const last = process.hrtime.bigint();
    await runtime.waitForIdle();
    const wall = seconds(t);
    const afterLast = seconds(last);
    const [r] = await (await runtime.warehouse()).query('SELECT COUNT(*) AS n, COUNT(DISTINCT order_id) AS k FROM public.orders');
    if (Number(r?.n) !== count || Number(r?.k) !== count) throw new Error(`burst: ${String(r?.n)} rows, ${String(r?.k)} keys, expected ${count} of each`);
    const runs = runtime.executions();
    const transitions = runs.reduce((n, e) => n + e.transitions, 0);
    const stats = runtime.dataApi()?.stats() ?? { submissions: 0, sqlStatements: 0 };
    const reads = listAndLedgerReads(calls);
    return [
      `burst, ${count} one-row objects (uploads took ${uploaded.toFixed(1)} s), trigger batches of up to 10,000 within ${windowMs / 1000} s, local runtime over the local Data API on PGlite:`,
      `  every object loaded once         ${r?.n} rows, ${r?.k} keys`,
      `  executions started               ${runs.length} (${runs.filter((e) => e.status === 'FAILED').length} failed)`,
      `  state transitions per file       ${(transitions / count).toFixed(3)} (target ≤ 0.2)`,
      `  Data API submissions per file    ${(stats.submissions / count).toFixed(4)} (${(stats.sqlStatements / count).toFixed(3)} SQL statements per file)`,
      `  S3 ListObjectsV2 calls           ${reads.lists}`,
      `  ledger reads                     ${reads.ledgerCalls} calls, ${reads.ledgerKeys} keys (${(reads.ledgerKeys / count).toFixed(2)} per file), ${reads.ledgerScans} whole-ledger queries`,
      `  wall time, first PUT to idle     ${wall.toFixed(1)} s`,
      `  last upload to idle              ${afterLast.toFixed(1)} s (target ≤ 300 s)`,
    ];
  } finally {
    await runtime.stop();
  }
}

/**
 * Figure 4b — an event run's cost does not grow with the prefix: BENCH_LOADED (100,000) objects
 * already loaded (seeded straight into the S3 store and the ledger), then BENCH_NEW (100) new ones
 * uploaded and named in one event run's input (what the trigger passes). Counts the ListObjectsV2 calls and ledger reads of that event run, against
 * a reconcile run (`mode: 'reconcile'`) of the same prefix afterwards (the baseline: the same
 * question asked by listing).
 */
async function benchEventRunCost(): Promise<string[]> {
  const loaded = Number(process.env.BENCH_LOADED ?? 100_000);
  const fresh = Number(process.env.BENCH_NEW ?? 100);
  const dir = await mkdtemp(join(tmpdir(), 'syncproof-bench-events-'));
  const calls: AwsCall[] = [];
  // The seeded store is served by an S3 emulator process of its own; its events cannot reach the
  // trigger from there, so the new files' execution is started with the input the trigger gives it.
  const runtime = await LocalRuntime.start({ config: { datasets: [DEMO_DATASET], maxFilesPerBatch: 1000 }, dataDir: dir, s3InChildProcess: true, s3Events: false, observeAwsCalls: (c) => calls.push(c) });
  try {
    const body = Buffer.from(ordersFile([1], 0, 'new'));
    const etag = createHash('md5').update(body).digest('hex');
    const keyOf = (i: number) => `orders/loaded/f-${String(i).padStart(6, '0')}.parquet`;
    await seedLocalS3Store(join(dir, 's3'), runtime.bucket, (function* () {
      for (let i = 0; i < loaded; i++) yield { key: keyOf(i), body };
    })());
    const ddb = createDocumentClient({ dynamodb: runtime.dynamoDbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const now = new Date().toISOString();
    for (let i = 0; i < loaded; i += 25 * 8) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const from = i + w * 25;
          const items = [];
          for (let j = from; j < Math.min(from + 25, loaded); j++) {
            items.push({ PutRequest: { Item: { objectKey: keyOf(j), etag, dataset: 'orders', size: body.length, lastModified: now, status: 'loaded', fence: 1, loadId: 'seed', loadedBy: 'seed', rows: 1, updatedAt: now } } });
          }
          let pending: Record<string, unknown>[] | undefined = items;
          while (pending && pending.length > 0) {
            const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [LOCAL_TABLES.ledger]: pending } }));
            pending = out.UnprocessedItems?.[LOCAL_TABLES.ledger] as Record<string, unknown>[] | undefined;
          }
        }),
      );
    }
    ddb.destroy();
    calls.length = 0;
    const before = runtime.executions().length;
    const t = process.hrtime.bigint();
    const put = await putAll(runtime.deps.objects, Array.from({ length: fresh }, (_, i) => ({ key: `orders/new/n-${i}.parquet`, body: ordersFile([loaded + i + 1], 0, 'new') })));
    const objects = put.map((o) => ({ key: o.key, etag: o.etag, size: o.size }));
    const name = executionName('orders', objects);
    const eventsKey = eventsDocumentKey('orders', name);
    await runtime.deps.objects.putJson(eventsKey, { dataset: 'orders', executionName: name, objects });
    await runtime.startExecution({ dataset: 'orders', trigger: { source: 's3', objects: objects.length, eventsUri: `s3://${runtime.bucket}/${eventsKey}` } }, name);
    const eventSeconds = seconds(t);
    const eventRuns = runtime.executions().slice(before);
    const event = listAndLedgerReads(calls);
    calls.length = 0;
    const r = process.hrtime.bigint();
    const reconcile = await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' });
    const reconcileSeconds = seconds(r);
    const base = listAndLedgerReads(calls);
    const [rows] = await (await runtime.warehouse()).query(`SELECT COUNT(*) AS n FROM public.orders WHERE order_id > ${loaded}`);
    if (Number(rows?.n) !== fresh) throw new Error(`event runs loaded ${String(rows?.n)} of ${fresh} new rows`);
    return [
      `event run among ${loaded} loaded objects, ${fresh} new ones in one event run's input (${eventRuns.length} executions, ${eventRuns.filter((e) => e.status === 'FAILED').length} failed; every new row read back):`,
      `  S3 ListObjectsV2 calls           ${event.lists}   (reconcile run of the same prefix: ${base.lists}; command: startExecution {"dataset":"orders","mode":"reconcile"})`,
      `  ledger reads                     ${event.ledgerCalls} calls, ${event.ledgerKeys} keys, ${event.ledgerScans} whole-ledger queries   (reconcile: ${base.ledgerCalls} calls, ${base.ledgerKeys} keys, ${base.ledgerScans} whole-ledger queries)`,
      `  wall time                        ${eventSeconds.toFixed(1)} s, first PUT to idle   (reconcile run: ${reconcileSeconds.toFixed(1)} s, ${reconcile.status}${reconcile.error ? ` ${reconcile.error}: ${String(reconcile.cause).slice(0, 200)}` : ''}; ratio ${(eventSeconds / reconcileSeconds).toFixed(3)}×)`,
    ];
  } finally {
    await runtime.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** BENCH_ONLY=load,checksums,list runs a subset (default: all, in this order). */
const FIGURES: Record<string, () => Promise<string[]>> = {
  load: benchLoadPath,
  checksums: benchChecksums,
  list: benchListDiff,
  burst: benchBurst,
  'event-cost': benchEventRunCost,
  encode: () => benchParquetEncode(ROWS),
  extract: () => benchExtract(ROWS),
  content: () => benchContent(ROWS),
  'content-mariadb': () => benchContentMariadb(ROWS),
  'content-sqlite': () => benchContentSqlite(ROWS),
  cost: () => benchCost(),
};

async function main(): Promise<void> {
  const only = (process.env.BENCH_ONLY ?? Object.keys(FIGURES).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of only) {
    const figure = FIGURES[name];
    if (!figure) throw new Error(`BENCH_ONLY names an unknown figure "${name}": use ${Object.keys(FIGURES).join(', ')}`);
    const lines = await figure();
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
