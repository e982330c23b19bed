/**
 * Figure — content comparison (`syncproof diff`, lambdas/core/content): two 1,000,000-row
 * PostgreSQL tables differing in 10 rows; compareContent's wall time against one portable checksum
 * scan per side (`SELECT count(*), sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint)
 * FROM t`, both sides at once as the diff runs them), alternated, medians of BENCH_ROUNDS (default
 * 3). Target: the scan's time / the diff's ≥ 0.8. Also the segment queries issued beside k·log n.
 */
import { Client } from 'pg';
import { openPostgresSide } from '../lambdas/adapters/content/postgres-side';
import { compareContent, contentPassed } from '../lambdas/core/content/bisect';
import { buildPlan } from '../lambdas/core/content/plan';
import { startPostgresServer } from '../local/postgres-server';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const K = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

export async function benchContent(rows: number): Promise<string[]> {
  const server = await startPostgresServer();
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    for (const t of ['a', 'b']) {
      await admin.query(`DROP TABLE IF EXISTS ${t}`);
      await admin.query(`CREATE TABLE ${t} (id BIGINT PRIMARY KEY, name VARCHAR(40), price NUMERIC(12,2), ratio DOUBLE PRECISION, at TIMESTAMP(6), note TEXT)`);
      await admin.query(
        `INSERT INTO ${t} SELECT i, 'name ' || i, (i % 100000) / 100.0, i / 7.0, TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', CASE WHEN i % 5 = 0 THEN NULL ELSE 'note' END FROM generate_series(1, ${rows}) i`,
      );
    }
    const changed = Array.from({ length: K }, (_, i) => 1 + Math.floor(((i + 0.5) * rows) / K));
    await admin.query(`UPDATE b SET name = name || '!' WHERE id IN (${changed.join(', ')})`);
    await admin.query('VACUUM ANALYZE a');
    await admin.query('VACUUM ANALYZE b');

    const scanSql = (t: string) => `SELECT count(*), sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint) FROM ${t} t`;
    const scan = async () => {
      const clients = [new Client({ connectionString: server.url }), new Client({ connectionString: server.url })];
      await Promise.all(clients.map((c) => c.connect()));
      try {
        return await timed(() => Promise.all(clients.map((c, i) => c.query(scanSql(i ? 'b' : 'a')))));
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    };
    const diff = async () => {
      const a = await openPostgresSide(server.url, 'a');
      const b = await openPostgresSide(server.url, 'b');
      try {
        const { plan } = buildPlan(a.catalog, b.catalog, { key: ['id'] });
        return { ...(await timed(() => compareContent(a, b, plan))), plan };
      } finally {
        await a.close();
        await b.close();
      }
    };
    await scan(); // warm the cache for both
    const scans: number[] = [];
    const diffs: number[] = [];
    let last: Awaited<ReturnType<typeof diff>> | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        scans.push((await scan()).seconds);
        last = await diff();
        diffs.push(last.seconds);
      } else {
        last = await diff();
        diffs.push(last.seconds);
        scans.push((await scan()).seconds);
      }
    }
    const result = last!.value;
    if (contentPassed(result) || result.changedCount !== K) throw new Error(`the diff found ${result.changedCount} changed rows, not ${K}`);
    const plan = last!.plan;
    const depth = Math.ceil(Math.log(rows / plan.fetchRows) / Math.log(plan.factor)) + 1;
    const s = median(scans);
    const d = median(diffs);
    return [
      `Content comparison (${rows.toLocaleString('en-US')} rows a side, ${K} changed, PostgreSQL, medians of ${ROUNDS})`,
      `  checksum scan, both sides: ${s.toFixed(2)} s`,
      `  syncproof diff:            ${d.toFixed(2)} s  → ratio ${(s / d).toFixed(2)}× (target ≥ 0.8×)`,
      `  segment queries: ${result.compared.segmentQueries} (k·log_${plan.factor}(n/fetchRows) ≈ ${K}·${depth} = ${K * depth} per side), rows fetched ${result.compared.fetchedRows}`,
    ];
  } finally {
    await admin.end();
    await server.stop();
  }
}
