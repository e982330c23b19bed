/**
 * `npm run bench`: performance figures, each a ratio against a baseline measured in the same run on
 * the same machine. No figure here is asserted by a test.
 *
 * Figure 1 — local load path: N rows as Parquet objects on the S3 emulator → the warehouse, through
 * the exact statements the load stage submits (staging COPY, per-file audit, merge, audit row, one
 * transaction), against `psql \copy` of the same rows as CSV into the same PostgreSQL server.
 * Figure 2 — checksums (bench/checksums.ts): MD5, multipart ETags, CRC64NVME, CRC32C over a 1 GiB
 * file against `openssl dgst -md5`.
 * Figure 3 — verify-local list + diff (bench/list-diff.ts) against `rclone check` / `rclone lsf`,
 * and the bytes a `--detailed` run downloads when S3 holds checksum evidence.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createS3Client } from '../lambdas/adapters/clients';
import { openPostgresWarehouse } from '../lambdas/adapters/postgres-warehouse';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { INTERNAL_PREFIX } from '../lambdas/core/config';
import { auditTableDdl, copyManifestKey, planLoad, targetTableDdl } from '../lambdas/core/load-plan';
import { DEMO_DATASET, ordersFile } from '../local/demo';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../local/emulators';
import { startPostgresServer } from '../local/postgres-server';
import { benchChecksums } from './checksums';
import { benchListDiff } from './list-diff';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const FILES = Number(process.env.BENCH_FILES ?? 10);

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

async function benchLoadPath(): Promise<string[]> {
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-'));
  const pg = await startPostgresServer();
  const s3 = await startLocalS3({ bucket: 'bench', directory: join(work, 's3') });
  try {
    const objects = new S3ObjectStore(createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'bench');
    const perFile = Math.ceil(ROWS / FILES);
    const parts: number[][] = [];
    for (let start = 1; start <= ROWS; start += perFile) {
      parts.push(Array.from({ length: Math.min(perFile, ROWS - start + 1) }, (_, i) => start + i));
    }
    const keys: { key: string; etag: string; size: number; fileRows: number }[] = [];
    for (const [i, ids] of parts.entries()) {
      const key = `orders/part-${i}.parquet`;
      const put = await objects.put(key, ordersFile(ids, 0, 'new'));
      keys.push({ key, etag: put.etag, size: put.size, fileRows: ids.length });
    }
    const csvPath = join(work, 'orders.csv');
    await writeFile(csvPath, parts.map(csvOf).join(''));

    // Baseline: psql \copy of the same rows as CSV into the same server.
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    await client.query(
      'CREATE TABLE psql_orders (order_id BIGINT PRIMARY KEY, customer_id BIGINT, status VARCHAR(32), amount DECIMAL(12,2), updated_at TIMESTAMP)',
    );
    let t = process.hrtime.bigint();
    execFileSync('psql', [pg.url, '-q', '-c', `\\copy psql_orders FROM '${csvPath}' WITH (FORMAT csv)`], { stdio: 'inherit' });
    const psqlSeconds = seconds(t);

    // Ours: the load stage's transaction, from Parquet objects on the S3 emulator.
    const warehouse = await openPostgresWarehouse(pg.url, { objects });
    await warehouse.executeTransaction([...auditTableDdl(), ...targetTableDdl(DEMO_DATASET)], 'bench-ddl');
    const columns = (DEMO_DATASET.columns ?? []).map((c) => c.name);
    const manifestKey = copyManifestKey(INTERNAL_PREFIX, DEMO_DATASET.name, 'ld_bench');
    const plan = planLoad({
      dataset: DEMO_DATASET,
      runId: 'bench',
      loadId: 'ld_bench',
      bucket: 'bench',
      iamRole: 'arn:aws:iam::000000000000:role/bench',
      files: keys,
      manifestKey,
      targetColumns: columns,
    });
    if (plan.manifest) await objects.putJson(manifestKey, plan.manifest);
    t = process.hrtime.bigint();
    await warehouse.executeTransaction(plan.statements, 'ld_bench');
    const oursSeconds = seconds(t);

    const [ours] = (await client.query('SELECT COUNT(*)::int AS n FROM public.orders')).rows as { n: number }[];
    const [theirs] = (await client.query('SELECT COUNT(*)::int AS n FROM psql_orders')).rows as { n: number }[];
    if (ours?.n !== ROWS || theirs?.n !== ROWS) throw new Error(`row counts differ: ours ${ours?.n}, psql ${theirs?.n}, expected ${ROWS}`);
    await client.end();
    await warehouse.close();

    const oursRate = ROWS / oursSeconds;
    const psqlRate = ROWS / psqlSeconds;
    const lines = [
      `load path, ${ROWS} rows in ${keys.length} Parquet files (S3 emulator → PostgreSQL ${pg.port}):`,
      `  syncproof load transaction  ${oursSeconds.toFixed(2)} s  ${Math.round(oursRate).toLocaleString('en-US')} rows/s`,
      `  psql \\copy of the same CSV  ${psqlSeconds.toFixed(2)} s  ${Math.round(psqlRate).toLocaleString('en-US')} rows/s`,
      `  ratio                       ${(oursRate / psqlRate).toFixed(2)}× psql \\copy (target ≥ 0.70×)`,
    ];
    return lines;
  } finally {
    await s3.stop();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** BENCH_ONLY=load,checksums,list runs a subset (default: all, in this order). */
const FIGURES: Record<string, () => Promise<string[]>> = {
  load: benchLoadPath,
  checksums: benchChecksums,
  list: benchListDiff,
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
