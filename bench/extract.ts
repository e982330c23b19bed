/**
 * Figure 6 — the database path's extraction (issue #8), each against a client program of the same
 * engine reading the same rows in the same run:
 * - 6a: runExtract (the extract stage's core) with its real deps — a PostgresSource on a throwaway
 *   server, the S3 emulator (in process) as the ObjectStore, the DynamoDB emulator's watermark and
 *   run stores, the default chunk limit — over ROWS rows, against `psql -c "\copy (SELECT …) TO
 *   STDOUT"` of the same SELECT (columns and keyset order) to /dev/null;
 * - 6b: the same for MariaDB, against `mariadb -e "SELECT …" > file`;
 * - 6c: an incremental run through the whole pipeline (LocalRuntime: the synthesized state machine,
 *   extract, load into the embedded warehouse through the local Data API, verify, commit) after
 *   0.1% of the rows changed: rows read against 2 × (changed + inserted + lookback rows), and its
 *   wall time against the full run of the same pipeline over the same table.
 * Where 6a/6b's time goes is measured by timing the waits for the source's rows, the encoder thread and the
 * object store's writes during the run (the S3 emulator in its own process); the encoder's own work
 * is measured by re-running the first chunk on this thread.
 * 6c times each stage's handler, so the note can say which stage an incremental run waits on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import * as checksumHandler from '../lambdas/checksum/handler';
import * as commitHandler from '../lambdas/commit/handler';
import * as discoverHandler from '../lambdas/discover/handler';
import * as extractHandler from '../lambdas/extract/handler';
import * as inventoryHandler from '../lambdas/inventory/handler';
import * as loadHandler from '../lambdas/load/handler';
import * as recordHandler from '../lambdas/record/handler';
import * as verifyHandler from '../lambdas/verify/handler';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import { encodeChunk } from '../lambdas/adapters/parquet/chunk-columns';
import { sharedParquetEncoder, type ParquetEncoder } from '../lambdas/adapters/parquet/encoder';
import { ParquetInspector } from '../lambdas/adapters/parquet-inspector';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { openSourceUrl } from '../lambdas/adapters/sources';
import { StreamingDigest } from '../lambdas/core/checksums';
import { DEFAULT_CHUNK_ROWS, parseConfig, type SyncproofConfig } from '../lambdas/core/config';
import { extractionDocumentKey, extractionDocumentSchema } from '../lambdas/core/extraction';
import { formatMicros, selectedColumns, timeMicros } from '../lambdas/core/keyset';
import { systemClock, type ObjectStore } from '../lambdas/core/ports';
import type { SourceDatabase } from '../lambdas/core/source';
import { schemaDocumentKey, schemaDocumentSchema } from '../lambdas/core/source-schema';
import type { StageDeps } from '../lambdas/core/stage-deps';
import { chunkColumns, runExtract } from '../lambdas/extract/extract';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb, startLocalS3Process } from '../local/emulators';
import { startMariadbServer } from '../local/mariadb-server';
import { startPostgresServer } from '../local/postgres-server';
import type { LocalHandler } from '../local/lambda-sandbox';
import { LOCAL_COPY_ROLE, LOCAL_TABLES, LocalRuntime } from '../local/runtime';

const COLUMNS = 'id, customer_id, status, amount, updated_at, note';
/** The extraction's rows in its order: the union of its keyset chunks. */
const selectAll = (table: string) => `SELECT ${COLUMNS} FROM ${table} ORDER BY updated_at, id`;
/** Rows are 1 ms apart from T0, so a lookback of 1 s holds ~1,000 rows behind the watermark. */
const T0 = '2024-01-01 00:00:00';

const postgresTable = (table: string, rows: number) => [
  `CREATE TABLE ${table} (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, status VARCHAR(16) NOT NULL, amount NUMERIC(12,2), updated_at TIMESTAMP(6) NOT NULL, note VARCHAR(40))`,
  `INSERT INTO ${table} SELECT i, (i * 7919) % 100000, (ARRAY['new','paid','shipped','cancelled'])[i % 4 + 1], ((i * 37) % 100000000) / 100.0,
     timestamp '${T0}' + i * interval '1 millisecond', 'order ' || i || ' of customer ' || (i * 7919) % 100000 FROM generate_series(1::bigint, ${rows}::bigint) i`,
  `CREATE INDEX ${table.replace('.', '_')}_cursor ON ${table} (updated_at, id)`,
  `ANALYZE ${table}`,
];

const mariadbTable = (table: string, rows: number) => [
  `CREATE TABLE ${table} (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, status VARCHAR(16) NOT NULL, amount DECIMAL(12,2), updated_at DATETIME(6) NOT NULL, note VARCHAR(40)) ENGINE=InnoDB`,
  `INSERT INTO ${table} SELECT seq, (seq * 7919) % 100000, ELT(seq % 4 + 1, 'new','paid','shipped','cancelled'), ((seq * 37) % 100000000) / 100.0,
     TIMESTAMP '${T0}' + INTERVAL seq * 1000 MICROSECOND, CONCAT('order ', seq, ' of customer ', (seq * 7919) % 100000) FROM seq_1_to_${rows}`,
  `CREATE INDEX ${table.replace('.', '_')}_cursor ON ${table} (updated_at, id)`,
  `ANALYZE TABLE ${table}`,
];

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Best of `runs` timings of a client program, in seconds. */
function bestOf(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, seconds(t));
  }
  return min;
}

const rate = (rows: number, secs: number) => `${Math.round(rows / secs).toLocaleString('en-US')} rows/s`;

/** Time spent in the source's reads and the object store's writes, summed over a run. */
interface Timings {
  query: number;
  upload: number;
  encoder: number;
}

function timedSource(db: SourceDatabase, timings: Timings): SourceDatabase {
  return {
    engine: db.engine,
    describeTable: (ref) => db.describeTable(ref),
    listTables: (schema) => db.listTables(schema),
    close: () => db.close(),
    snapshot: (fn) =>
      db.snapshot((session) =>
        fn({
          ...(session.queuesReads ? { queuesReads: true } : {}),
          query: (sql, params) => waitTimed(session.query(sql, params), timings),
        }),
      ),
  };
}

/**
 * `rows`, counting in `timings.query` only the time the extraction waits for it: from when it is
 * awaited (then with a fulfilment handler) until it settles. A chunk read ahead is sent while
 * the previous chunk is encoded and uploaded; that overlap is not waiting.
 */
function waitTimed<T>(rows: Promise<T>, timings: Timings, what: 'query' | 'encoder' = 'query'): Promise<T> {
  const thenable = {
    then<A = T, B = never>(onFulfilled?: ((v: T) => A | PromiseLike<A>) | null, onRejected?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
      if (!onFulfilled) return rows.then(undefined, onRejected);
      const t = process.hrtime.bigint();
      const done = () => {
        timings[what] += seconds(t);
      };
      return rows.then(
        (v) => (done(), onFulfilled(v)),
        (e: unknown) => {
          done();
          if (onRejected) return onRejected(e);
          throw e;
        },
      );
    },
    // A promise derived by catch is timed the same way (the extraction awaits encodings through one).
    catch<B = never>(onRejected?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
      return waitTimed(rows.catch(onRejected), timings, what);
    },
    finally(onFinally?: (() => void) | null): Promise<T> {
      return rows.finally(onFinally);
    },
    [Symbol.toStringTag]: 'Promise',
  };
  return thenable as Promise<T>;
}

function timedObjects(objects: ObjectStore, timings: Timings): ObjectStore {
  return new Proxy(objects, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop !== 'put' && prop !== 'putJson') || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: unknown[]) => {
        const t = process.hrtime.bigint();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          timings.upload += seconds(t);
        }
      };
    },
  });
}

/**
 * One full extraction of `table` through runExtract with real deps, then the first chunk's convert,
 * encode and checksum re-run alone to split the time between query and upload.
 */
async function extractOnce(engine: 'postgres' | 'mysql', url: string, table: string, rows: number): Promise<{ seconds: number; files: number; bytes: number; lines: string[] }> {
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-extract-'));
  // In its own process, as S3 is not on the Lambda's CPU: the extraction's side of each PUT is measured, not the emulator's.
  const s3 = await startLocalS3Process({ bucket: 'bench', directory: join(work, 's3') });
  const dynamo = await startLocalDynamoDb();
  try {
    const raw = new S3ObjectStore(createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'bench');
    await ensureTables(dynamo.endpoint, LOCAL_TABLES);
    const ddb = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const config: SyncproofConfig = parseConfig({
      datasets: [{ name: 'bench-orders', target: { schema: 'public', table: 'bench_orders' }, source: { engine, url, table, cursorColumn: 'updated_at' } }],
    });
    const timings: Timings = { query: 0, upload: 0, encoder: 0 };
    // The process's encoder, its waits timed like the source's (a chunk encoded while the next is read is not waited for).
    const encoder = sharedParquetEncoder() as { encode: ParquetEncoder['encode']; threads: number };
    const sharedEncode = encoder.encode;
    encoder.encode = (columns, n, options) => waitTimed(sharedEncode(columns, n, options), timings, 'encoder');
    const deps: StageDeps = {
      config,
      objects: timedObjects(raw, timings),
      ledger: new DynamoDbLedgerStore(ddb, LOCAL_TABLES.ledger),
      runs: new DynamoDbRunStore(ddb, LOCAL_TABLES.runs),
      watermarks: new DynamoDbWatermarkStore(ddb, LOCAL_TABLES.watermarks),
      sources: async (dataset) => timedSource(await openSourceUrl(dataset.source!.url!), timings),
      files: new ParquetInspector(raw),
      clock: systemClock,
      copyRoleArn: LOCAL_COPY_ROLE,
      log: { info: () => undefined, warn: () => undefined },
      warehouse: () => Promise.reject(new Error('the extract stage does not use the warehouse')),
    };
    const t = process.hrtime.bigint();
    let out: Awaited<ReturnType<typeof runExtract>>;
    try {
      out = await runExtract({ input: { dataset: 'bench-orders' }, runId: `bench-${engine}` }, deps);
    } finally {
      encoder.encode = sharedEncode;
    }
    const took = seconds(t);
    if (out.status !== 'DONE' || out.rows !== rows) throw new Error(`${engine} extraction: ${JSON.stringify(out)}, expected DONE with ${rows} rows`);
    const doc = extractionDocumentSchema.parse(await raw.getJson(extractionDocumentKey('bench-orders', `bench-${engine}`)));

    // The split of what is neither query nor upload, from the first chunk re-run alone.
    const schema = schemaDocumentSchema.parse(await raw.getJson(schemaDocumentKey('bench-orders')));
    const db = await openSourceUrl(url);
    const list = selectedColumns(schema).map((c) => (engine === 'mysql' ? `\`${c.source}\`` : `"${c.source}"`)).join(', ');
    const chunkRows = await db.snapshot((s) => s.query(`SELECT ${list} FROM ${table} ORDER BY updated_at, id LIMIT ${DEFAULT_CHUNK_ROWS}`, []));
    await db.close();
    const columns = chunkColumns(schema, chunkRows);
    let t1 = process.hrtime.bigint();
    const body = encodeChunk(columns, chunkRows.length, { codec: 'GZIP' }).body;
    const encode = seconds(t1);
    t1 = process.hrtime.bigint();
    encodeChunk(columns, chunkRows.length, { codec: 'UNCOMPRESSED' });
    const uncompressed = seconds(t1);
    t1 = process.hrtime.bigint();
    const hashing = new StreamingDigest({ checksums: ['crc64nvme'] });
    hashing.update(body);
    await hashing.digestAsync();
    const hash = seconds(t1);
    const perRow = (s: number) => (s / chunkRows.length) * rows;
    const other = took - timings.query - timings.upload - timings.encoder;
    const share = (s: number) => `${s.toFixed(2)} s ${((100 * s) / took).toFixed(0).padStart(3)}%`;
    const lines = [
      `  where the time goes (${doc.files.length} chunks of ≤ ${DEFAULT_CHUNK_ROWS.toLocaleString('en-US')} rows, ${(doc.bytes / 1e6).toFixed(1)} MB GZIP Parquet; ${encoder.threads} encoder thread${encoder.threads === 1 ? '' : 's'}, ${availableParallelism()} cores):`,
      `    waiting for source rows (driver parse incl.; a chunk read ahead while the last one is encoded is not waited for)  ${share(timings.query)}`,
      `    waiting for the encoder (convert + encode a chunk; one encoded while the next is read is not waited for)  ${share(timings.encoder)}`,
      `    S3 emulator writes (chunks, manifests, documents; the emulator in its own process)  ${share(timings.upload)}`,
      `    the rest (columns handed to the encoder, checksums, watermark, run record, schema, GC)  ${share(other)}`,
      `  the encoder's work, the first chunk re-run on this thread and scaled: convert + encode ~${perRow(encode).toFixed(2)} s GZIP (~${perRow(uncompressed).toFixed(2)} s UNCOMPRESSED), CRC64NVME + MD5 ~${perRow(hash).toFixed(2)} s`,
    ];
    return { seconds: took, files: doc.files.length, bytes: doc.bytes, lines };
  } finally {
    await dynamo.stop();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** 6a: PostgreSQL → Parquet on the S3 emulator, against psql \copy of the same SELECT. */
async function benchPostgresExtract(url: string, rows: number): Promise<string[]> {
  const table = 'public.extract_orders';
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const sql of postgresTable(table, rows)) await client.query(sql);
  } finally {
    await client.end();
  }
  const psql = bestOf(3, () => execFileSync('psql', [url, '-q', '-c', `\\copy (${selectAll(table)}) TO STDOUT`], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const run = await extractOnce('postgres', url, table, rows);
  return [
    `extraction, PostgreSQL → Parquet on the S3 emulator, ${rows} rows × 6 columns (bigint ×2, varchar(16), numeric(12,2), timestamp(6), varchar(40)):`,
    `  psql \\copy (SELECT …) TO STDOUT, best of 3  ${psql.toFixed(2)} s  ${rate(rows, psql)}`,
    `  runExtract (PostgresSource, S3 emulator, DynamoDB emulator), once  ${run.seconds.toFixed(2)} s  ${rate(rows, run.seconds)}`,
    `  ratio  ${(psql / run.seconds).toFixed(2)}× psql (target ≥ 0.50×)`,
    ...run.lines,
  ];
}

/** 6b: MariaDB → Parquet on the S3 emulator, against `mariadb -e "SELECT …" > file`. */
async function benchMariadbExtract(rows: number): Promise<string[]> {
  const server = await startMariadbServer();
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-mariadb-'));
  try {
    const admin = await createConnection({ uri: server.url });
    await admin.query('CREATE DATABASE shop');
    await admin.query('USE shop');
    for (const sql of mariadbTable('extract_orders', rows)) await admin.query(sql);
    await admin.end();
    const url = `${server.url.replace(/\/$/, '')}/shop`;
    const client = ['mariadb', 'mysql'].find((c) => {
      try {
        execFileSync(c, ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (!client) throw new Error('neither the mariadb nor the mysql client is installed (bench/ensure-tools.sh installs mariadb-client)');
    const out = join(work, 'rows.tsv');
    const args = ['-h', '127.0.0.1', '-P', String(server.port), '-u', 'root', 'shop', '-e', selectAll('extract_orders')];
    const cli = bestOf(3, () => execFileSync('sh', ['-c', `"$0" "$@" > '${out}'`, client, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }));
    const run = await extractOnce('mysql', url, 'shop.extract_orders', rows);
    return [
      `extraction, MariaDB → Parquet on the S3 emulator, ${rows} rows × 6 columns (bigint ×2, varchar(16), decimal(12,2), datetime(6), varchar(40)):`,
      `  ${client} -e "SELECT …" > file, best of 3  ${cli.toFixed(2)} s  ${rate(rows, cli)}`,
      `  runExtract (MysqlSource, S3 emulator, DynamoDB emulator), once  ${run.seconds.toFixed(2)} s  ${rate(rows, run.seconds)}`,
      `  ratio  ${(cli / run.seconds).toFixed(2)}× ${client} (target ≥ 0.50×)`,
      ...run.lines,
    ];
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * 6c: a full run, then an incremental run after CHANGED rows' updated_at moved and INSERTED rows
 * were added, both through the whole pipeline on the local runtime, with a 1 s lookback.
 */
async function benchIncremental(url: string, rows: number): Promise<string[]> {
  const changed = Math.max(1, Math.round(rows / 1000));
  const inserted = 5;
  const table = 'pipeline_orders';
  const client = new Client({ connectionString: url, types: { getTypeParser: () => (v: string) => v } });
  client.on('error', () => undefined);
  await client.connect();
  for (const sql of postgresTable(table, rows)) await client.query(sql);
  const config: SyncproofConfig = parseConfig({
    datasets: [{ name: 'pipeline-orders', target: { schema: 'public', table: 'pipeline_orders' }, source: { engine: 'postgres', url, table: `public.${table}`, cursorColumn: 'updated_at', lookback: '1s' } }],
  });
  // Each stage's handler module, timed: seconds per stage of the execution running now.
  let stageSeconds = new Map<string, number>();
  const modules: Record<string, { handler: unknown }> = {
    extract: extractHandler,
    discover: discoverHandler,
    load: loadHandler,
    verify: verifyHandler,
    commit: commitHandler,
    record: recordHandler,
    inventory: inventoryHandler,
    checksum: checksumHandler,
  };
  const stageHandlers = Object.fromEntries(
    Object.entries(modules).map(([stage, m]) => {
      const timed: LocalHandler = async (event, context) => {
        const t = process.hrtime.bigint();
        try {
          return await (m.handler as LocalHandler)(event, context);
        } finally {
          stageSeconds.set(stage, (stageSeconds.get(stage) ?? 0) + seconds(t));
        }
      };
      return [stage, timed];
    }),
  );
  const runtime = await LocalRuntime.start({ config, s3Events: false, stageHandlers });
  try {
    const sync = async (name: string) => {
      stageSeconds = new Map();
      const t = process.hrtime.bigint();
      const e = await runtime.startExecution({ dataset: 'pipeline-orders' }, name);
      const took = seconds(t);
      if (e.status !== 'SUCCEEDED' || e.run?.status !== 'PASSED') throw new Error(`${name}: ${e.status} ${String(e.run?.status)} ${e.error ?? ''} ${e.cause ?? ''}`);
      const doc = extractionDocumentSchema.parse(await runtime.deps.objects.getJson(extractionDocumentKey('pipeline-orders', name)));
      const stages = [...stageSeconds].map(([stage, s]) => `${stage} ${s.toFixed(2)}`).join(', ');
      return { seconds: took, rows: doc.rows, files: doc.files.length, stages };
    };
    const full = await sync('full');
    if (full.rows !== rows) throw new Error(`the full run read ${full.rows} rows, expected ${rows}`);
    const watermark = (await runtime.watermarks().get('pipeline-orders'))?.position;
    if (!watermark) throw new Error('the full run left no watermark');

    // 0.1% of the rows change (spread over the table), a few are inserted, all after the watermark.
    const step = Math.floor(rows / changed);
    const moved = await client.query(`UPDATE ${table} SET updated_at = timestamp '2025-06-01' + id * interval '1 microsecond', status = 'changed' WHERE id % ${step} = 0`);
    await client.query(
      `INSERT INTO ${table} SELECT i, 1, 'new', 1.00, timestamp '2025-06-02' + i * interval '1 microsecond', 'inserted' FROM generate_series(${rows + 1}, ${rows + inserted}) i`,
    );
    const from = formatMicros(timeMicros(watermark.cursor) - 1_000_000n);
    const [window] = (await client.query(`SELECT COUNT(*) AS n FROM ${table} WHERE updated_at >= $1`, [from])).rows as { n: string }[];
    const expected = Number(window?.n);
    const lookbackRows = expected - (moved.rowCount ?? 0) - inserted;
    const bound = 2 * expected;

    const incremental = await sync('incremental');
    const [target] = await (await runtime.warehouse()).query(`SELECT COUNT(*) AS n, SUM(CASE WHEN status = 'changed' THEN 1 ELSE 0 END) AS c FROM public.pipeline_orders`);
    if (Number(target?.n) !== rows + inserted || Number(target?.c) !== moved.rowCount) throw new Error(`warehouse after the incremental run: ${JSON.stringify(target)}`);
    return [
      `incremental run, whole pipeline on the local runtime (extract → load via the local Data API into PGlite → verify → commit), PostgreSQL source, ${rows} rows, lookback 1s:`,
      `  full run (first sync, ${full.files} chunks)        ${full.seconds.toFixed(1)} s  ${rate(rows, full.seconds)} end to end`,
      `    seconds per stage: ${full.stages}`,
      `  changes: ${moved.rowCount} rows' updated_at moved, ${inserted} inserted; the 1s lookback holds ${lookbackRows} more`,
      `  rows read by the incremental run  ${incremental.rows} (changed + inserted + lookback = ${expected}; bound 2 × that = ${bound}: ${incremental.rows <= bound ? 'within' : 'OVER'})`,
      `  incremental run                  ${incremental.seconds.toFixed(2)} s`,
      `    seconds per stage: ${incremental.stages}`,
      `  ratio                            ${((100 * incremental.seconds) / full.seconds).toFixed(2)}% of the full run (target ≤ 5%)`,
    ];
  } finally {
    await runtime.stop();
    await client.end();
  }
}

/** Figure 6: BENCH_ROWS rows (6c: BENCH_PIPELINE_ROWS, default BENCH_ROWS) per engine. */
export async function benchExtract(rows: number): Promise<string[]> {
  const pipelineRows = Number(process.env.BENCH_PIPELINE_ROWS ?? rows);
  const pg = await startPostgresServer();
  const lines: string[] = [];
  try {
    lines.push(...(await benchPostgresExtract(pg.url, rows)), '');
    lines.push(...(await benchMariadbExtract(rows)), '');
    lines.push(...(await benchIncremental(pg.url, pipelineRows)));
  } finally {
    await pg.stop();
  }
  return lines;
}
