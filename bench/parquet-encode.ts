/**
 * Figure 5 — the extraction's writer: encodeParquet over N rows × (bigint key, timestamp,
 * decimal(12,2), varchar ~20 chars, int, double, date, boolean), the values in the form the
 * database drivers hand them over (timestamps, decimals and dates as flat text), against
 * `psql \copy (…) TO STDOUT` of the same rows from a PostgreSQL server. The extraction's target
 * is ≥ 0.5× psql's rows/s, so the writer alone must stay well above it.
 */
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { encodeParquet, type ParquetColumnInput } from '../lambdas/adapters/parquet-file';
import { startPostgresServer } from '../local/postgres-server';

const TABLE_SQL = (rows: number) =>
  `CREATE TABLE bench_rows AS SELECT i::bigint AS id, timestamp '2026-01-01' + i * interval '1.000001 second' AS ts,
     ((i::bigint * 37) % 100000000 / 100.0)::decimal(12,2) AS amount, left('customer-' || ((i::bigint * 7919) % 1000003) || '-abcdefgh', 20)::varchar(20) AS name,
     ((i * 31) % 100000)::int AS qty, i / 7.0::double precision AS score, date '2026-01-01' + (i / 86400)::int AS day, i % 3 = 0 AS flag
   FROM generate_series(1, ${rows}) i`;

/** A string as a driver produces it (flat, not a rope of concatenations). */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function columnsOf(rows: number): ParquetColumnInput[] {
  const id: bigint[] = new Array(rows);
  const ts: string[] = new Array(rows);
  const amount: string[] = new Array(rows);
  const name: string[] = new Array(rows);
  const qty: number[] = new Array(rows);
  const score: number[] = new Array(rows);
  const day: string[] = new Array(rows);
  const flag: boolean[] = new Array(rows);
  const base = Date.UTC(2026, 0, 1);
  for (let r = 0; r < rows; r++) {
    const i = r + 1;
    const iso = new Date(base + i * 1000).toISOString();
    const cents = (i * 37) % 100_000_000;
    id[r] = BigInt(i);
    ts[r] = flat(`${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(i % 1_000_000).padStart(6, '0')}`);
    amount[r] = flat(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`);
    name[r] = flat(`customer-${(i * 7919) % 1_000_003}-abcdefgh`.slice(0, 20));
    qty[r] = (i * 31) % 100_000;
    score[r] = i / 7;
    day[r] = flat(iso.slice(0, 10));
    flag[r] = i % 3 === 0;
  }
  return [
    { name: 'id', type: 'INT64', nullable: false, data: id },
    { name: 'ts', type: 'TIMESTAMP', adjustedToUtc: false, data: ts },
    { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: amount },
    { name: 'name', type: 'STRING', data: name },
    { name: 'qty', type: 'INT32', data: qty },
    { name: 'score', type: 'DOUBLE', data: score },
    { name: 'day', type: 'DATE', data: day },
    { name: 'flag', type: 'BOOLEAN', data: flag },
  ];
}

/** Best of `runs` timings of `fn`, in seconds. */
function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return min;
}

export async function benchParquetEncode(rows: number): Promise<string[]> {
  const pg = await startPostgresServer();
  try {
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    await client.query(TABLE_SQL(rows));
    await client.end();
    const psql = best(3, () => execFileSync('psql', [pg.url, '-c', '\\copy bench_rows TO STDOUT'], { stdio: ['ignore', 'ignore', 'inherit'] }));
    const columns = columnsOf(rows);
    let bytes = 0;
    const snappy = best(3, () => (bytes = encodeParquet(columns).length));
    let gzipBytes = 0;
    const gzip = best(3, () => (gzipBytes = encodeParquet(columns, { codec: 'GZIP' }).length));
    const plain = best(3, () => encodeParquet(columns, { codec: 'UNCOMPRESSED' }));
    const rate = (s: number) => `${Math.round(rows / s).toLocaleString('en-US')} rows/s`;
    return [
      `Parquet writer, ${rows} rows × 8 columns (bigint, timestamp, decimal(12,2), varchar(20), int, double, date, boolean), best of 3:`,
      `  psql \\copy TO STDOUT (baseline)  ${rate(psql)}`,
      `  encodeParquet, SNAPPY            ${rate(snappy)}  ${(psql / snappy).toFixed(2)}× psql, ${(bytes / 1e6).toFixed(1)} MB`,
      `  encodeParquet, GZIP (zlib, 1)    ${rate(gzip)}  ${(psql / gzip).toFixed(2)}× psql, ${(gzipBytes / 1e6).toFixed(1)} MB`,
      `  encodeParquet, UNCOMPRESSED      ${rate(plain)}  ${(psql / plain).toFixed(2)}× psql`,
    ];
  } finally {
    await pg.stop();
  }
}
