/**
 * The demo's database step (issue #8): an embedded PGlite source table extracted incrementally by
 * its (updated_at, id) watermark through the synthesized SyncStateMachine, proven by reading the
 * warehouse, the extraction documents and the watermark back.
 */
import { mkdir } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import { createPglite } from '../lambdas/adapters/pglite-loader';
import { PgliteSource } from '../lambdas/adapters/postgres-source';
import { parseConfig, type DatasetConfig } from '../lambdas/core/config';
import { extractionDocumentKey, extractionDocumentSchema } from '../lambdas/core/extraction';
import { formatMicros, timeMicros } from '../lambdas/core/keyset';
import { ConfigurationError, TerminalError } from '../lambdas/core/errors';
import type { SourceDatabase } from '../lambdas/core/source';
import type { LocalRuntime } from './runtime';

/** The source table, its rows and changes (ids 1..SEED_ROWS, then NEW_ROWS more, then one late row). */
const SOURCE_TABLE = 'shop.customers';
const SEED_ROWS = 20_000;
/** Every UPDATE_EVERY-th seeded row is updated after the first run. */
const UPDATE_EVERY = 20;
const UPDATED_ROWS = SEED_ROWS / UPDATE_EVERY;
const NEW_ROWS = 1_200;
const LATE_ID = SEED_ROWS + NEW_ROWS + 1;
/** Rows per chunk of the dataset (the first run writes SEED_ROWS / CHUNK_ROWS chunks). */
const CHUNK_ROWS = 5_000;
/** The second run's own limit: its chunks split the rows that share one updated_at. */
const SECOND_RUN_CHUNK_ROWS = 1_000;
/** Changed rows 998..1003 (1-based, in keyset order) share one updated_at: chunk 1 of run 2 ends in them. */
const TIE_FROM = SECOND_RUN_CHUNK_ROWS - 3;
const TIE_ROWS = 6;
const LAG_SECONDS = 2;

/** The demo's database dataset: `shop.customers` of an embedded PGlite source into public.customers. */
export function customersDataset(sourceDir: string): DatasetConfig {
  const [dataset] = parseConfig({
    datasets: [
      {
        name: 'customers',
        target: { schema: 'public', table: 'customers' },
        source: { engine: 'postgres', url: `pglite:${sourceDir}`, table: SOURCE_TABLE, cursorColumn: 'updated_at', lag: `${LAG_SECONDS}s`, limit: CHUNK_ROWS },
      },
    ],
  }).datasets;
  return dataset!;
}

/** One SyncStateMachine execution of the database step, as its extraction document tells it. */
export interface DatabaseRunReport {
  /** What the run was for. */
  readonly purpose: string;
  readonly status: string;
  /** Rows the run should extract, from what the demo changed. */
  readonly expectedRows: number;
  /** Rows its extraction document says it extracted, and per chunk. */
  readonly extractedRows: number;
  readonly chunkRows: readonly number[];
  /** Chunk boundaries inside rows that share one updated_at: the last key before and the first key after. */
  readonly tiedBoundaries: readonly { readonly cursor: string; readonly before: readonly string[]; readonly after: readonly string[] }[];
}

/** The database step's evidence: everything but `runs` and `watermark` is read back from the source and the warehouse. */
export interface DatabaseStepReport {
  readonly source: string;
  readonly target: string;
  /** Rows in the source table at the end, read back. */
  readonly sourceRows: number;
  readonly runs: readonly DatabaseRunReport[];
  /** Rows in the target, read back; how many equal their source row in every column. */
  readonly loadedRows: number;
  readonly rowsEqualToSource: number;
  readonly duplicateKeys: number;
  /** The watermark after the last run, and the last source row in (updated_at, id) order. */
  readonly watermark: { readonly cursor: string; readonly key: readonly string[]; readonly version: number } | null;
  readonly lastSourceRow: { readonly cursor: string; readonly key: readonly string[] } | null;
  readonly seconds: number;
  readonly problems: readonly string[];
}

/** The embedded source of the step: one PGlite instance, written by the demo and read by the extract stage. */
export interface DemoSource {
  readonly dataset: DatasetConfig;
  readonly db: PGlite;
  /** For LocalRuntimeOptions.sources: the extract stage reads `db` (PgliteSource leaves it open). */
  open(dataset: DatasetConfig): Promise<SourceDatabase>;
}

/** Creates the PGlite source database in `dir`; the caller closes `db` after the runtime stopped. */
export async function openDemoSource(dir: string): Promise<DemoSource> {
  await mkdir(dir, { recursive: true });
  const db = await createPglite(dir);
  const dataset = customersDataset(dir);
  return {
    dataset,
    db,
    open: async (d) => {
      if (d.name !== dataset.name) throw new ConfigurationError(`the demo has no source database for dataset '${d.name}'`);
      return new PgliteSource(db);
    },
  };
}

const ts = (micros: bigint): string => `TIMESTAMP '${formatMicros(micros)}'`;
const norm = (t: unknown): string => formatMicros(timeMicros(String(t)));

/** `id|name|balance|region|updated_at` per row, by id; both sides are PostgreSQL-family, so casts print alike. */
async function sourceLines(db: PGlite): Promise<string[]> {
  const r = await db.query<{ line: string; t: string }>(
    `SELECT CAST(id AS VARCHAR) || '|' || name || '|' || COALESCE(CAST(balance AS VARCHAR), 'null') || '|' || COALESCE("Region", 'null') AS line, CAST(updated_at AS VARCHAR) AS t FROM ${SOURCE_TABLE} ORDER BY id`,
  );
  return r.rows.map((x) => `${x.line}|${norm(x.t)}`);
}

async function warehouseLines(runtime: LocalRuntime, dataset: DatasetConfig): Promise<string[]> {
  const rows = await (await runtime.warehouse()).query(
    `SELECT CAST(id AS VARCHAR(40)) AS id, name, CAST(balance AS VARCHAR(40)) AS balance, region, CAST(updated_at AS VARCHAR(40)) AS t FROM ${dataset.target.schema}.${dataset.target.table} ORDER BY id`,
  );
  return rows.map((x) => `${String(x.id)}|${String(x.name)}|${x.balance === null ? 'null' : String(x.balance)}|${x.region === null ? 'null' : String(x.region)}|${norm(x.t)}`);
}

/**
 * Runs the database step on `source` (a fresh data dir):
 * 1. seeds SEED_ROWS rows (updated_at a day back) and runs once: SEED_ROWS rows in chunks of CHUNK_ROWS;
 * 2. updates every UPDATE_EVERY-th row and inserts NEW_ROWS, TIE_ROWS of them sharing one updated_at
 *    across the second run's first chunk boundary, then inserts one row stamped "now" (inside lag)
 *    and runs with a limit of SECOND_RUN_CHUNK_ROWS: exactly the updated and inserted rows, not
 *    the row inside lag;
 * 3. once lag has passed, a third run extracts exactly that one row;
 * then compares the warehouse with the source value by value and the watermark with the last row.
 */
export async function runDatabaseStep(runtime: LocalRuntime, source: DemoSource, say: (line: string) => void): Promise<DatabaseStepReport> {
  const started = Date.now();
  const { dataset, db } = source;
  const problems: string[] = [];
  const runs: DatabaseRunReport[] = [];

  async function run(purpose: string, expectedRows: number, extra: Record<string, unknown> = {}): Promise<DatabaseRunReport> {
    const e = await runtime.startExecution({ dataset: dataset.name, ...extra });
    const status = e.status === 'FAILED' ? 'FAILED' : (e.run?.status ?? 'UNKNOWN');
    const doc = extractionDocumentSchema.safeParse(await runtime.deps.objects.getJson(extractionDocumentKey(dataset.name, e.name)).catch(() => undefined));
    const files = doc.success ? doc.data.files : [];
    const tiedBoundaries = files
      .slice(1)
      .filter((f, i) => f.first.cursor === files[i]!.last.cursor)
      .map((f, i) => ({ cursor: norm(f.first.cursor), before: files[i]!.last.key, after: f.first.key }));
    const report = { purpose, status, expectedRows, extractedRows: doc.success ? doc.data.rows : 0, chunkRows: files.map((f) => f.rows), tiedBoundaries };
    runs.push(report);
    if (status !== 'PASSED') problems.push(`run ${runs.length} (${purpose}): ${status}${e.error ? ` (${e.error}: ${e.cause ?? ''})` : ''}`);
    if (report.extractedRows !== expectedRows) problems.push(`run ${runs.length} (${purpose}) extracted ${report.extractedRows} rows, expected exactly ${expectedRows}`);
    return report;
  }

  const [clock] = (await db.query<{ now: string }>(`SELECT CAST(date_trunc('second', now() AT TIME ZONE 'UTC') AS VARCHAR) AS now`)).rows;
  const base = timeMicros(clock!.now) - 86_400_000_000n; // a day back: far outside lag
  await db.exec(
    `CREATE SCHEMA shop; ` +
      `CREATE TABLE ${SOURCE_TABLE} (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, balance NUMERIC(12,2), "Region" VARCHAR(16), updated_at TIMESTAMP(6) NOT NULL); ` +
      `CREATE INDEX customers_cursor ON ${SOURCE_TABLE} (updated_at, id); ` +
      `INSERT INTO ${SOURCE_TABLE} SELECT i, 'customer ' || i, CASE WHEN i % 997 = 0 THEN NULL ELSE ((i * 37) % 1000000) / 100.0 END, ` +
      `(ARRAY['north', 'south', 'east', 'west'])[i % 4 + 1], ${ts(base)} + i * INTERVAL '100 milliseconds' FROM generate_series(1, ${SEED_ROWS}) AS i`,
  );
  say(`database: ${SEED_ROWS} rows in ${SOURCE_TABLE} (embedded PGlite); run 1 extracts them in chunks of ${CHUNK_ROWS}`);
  await run('the seeded rows', SEED_ROWS);

  // Change k (0-based, keyset order: updates by id, then inserts) is stamped base + 1 h + k × 10 ms;
  // changes TIE_FROM..TIE_FROM+TIE_ROWS-1 share one stamp, across the second run's first chunk boundary.
  const stamp = (k: string) => `${ts(base + 3_600_000_000n)} + (CASE WHEN ${k} BETWEEN ${TIE_FROM} AND ${TIE_FROM + TIE_ROWS - 1} THEN ${TIE_FROM} ELSE ${k} END) * INTERVAL '10 milliseconds'`;
  await db.exec(
    `UPDATE ${SOURCE_TABLE} SET name = name || ' (updated)', balance = COALESCE(balance, 0) + 1, updated_at = ${stamp(`id / ${UPDATE_EVERY} - 1`)} WHERE id % ${UPDATE_EVERY} = 0; ` +
      `INSERT INTO ${SOURCE_TABLE} SELECT ${SEED_ROWS} + j, 'customer ' || (${SEED_ROWS} + j), j / 4.0, NULL, ${stamp(`${UPDATED_ROWS - 1} + j`)} FROM generate_series(1, ${NEW_ROWS}) AS j; ` +
      // Committed as run 2 starts: inside its lag, so run 2 must leave it for the next run.
      `INSERT INTO ${SOURCE_TABLE} VALUES (${LATE_ID}, 'late customer', 0.01, 'north', now() AT TIME ZONE 'UTC')`,
  );
  const changed = UPDATED_ROWS + NEW_ROWS;
  say(`database: ${UPDATED_ROWS} rows updated, ${NEW_ROWS} inserted (${TIE_ROWS} sharing one updated_at), 1 inserted inside lag; run 2 in chunks of ${SECOND_RUN_CHUNK_ROWS}`);
  const second = await run(`${UPDATED_ROWS} updated + ${NEW_ROWS} inserted, not the row inside lag`, changed, { limit: SECOND_RUN_CHUNK_ROWS });
  if (second.tiedBoundaries.length === 0) problems.push(`run 2 has no chunk boundary inside the ${TIE_ROWS} rows that share one updated_at`);

  const [late] = (await db.query<{ wait: number }>(
    `SELECT EXTRACT(EPOCH FROM (updated_at + INTERVAL '${LAG_SECONDS} seconds' - now() AT TIME ZONE 'UTC')) AS wait FROM ${SOURCE_TABLE} WHERE id = ${LATE_ID}`,
  )).rows;
  const waitMs = Math.max(0, Math.ceil(Number(late?.wait ?? 0) * 1000) + 100);
  say(`database: run 3 after the lag has passed (${waitMs} ms from now)`);
  await new Promise((r) => setTimeout(r, waitMs));
  await run('the row inside lag', 1);

  const src = await sourceLines(db);
  // A failed run is the finding; comparing a target it never created would only hide it.
  if (runs.some((r) => r.status === 'FAILED')) throw new TerminalError(`the demo's database step did not sync: ${problems.join('; ')}`);
  const wh = await warehouseLines(runtime, dataset);
  const inSource = new Set(src);
  const equal = wh.filter((line) => inSource.has(line)).length;
  const keys = new Set(wh.map((line) => line.split('|')[0]));
  const [last] = (await db.query<{ id: string; t: string }>(`SELECT CAST(id AS VARCHAR) AS id, CAST(updated_at AS VARCHAR) AS t FROM ${SOURCE_TABLE} ORDER BY updated_at DESC, id DESC LIMIT 1`)).rows;
  const wm = await runtime.watermarks().get(dataset.name);
  const report: DatabaseStepReport = {
    source: `embedded PGlite ${SOURCE_TABLE}`,
    target: `${dataset.target.schema}.${dataset.target.table}`,
    sourceRows: src.length,
    runs,
    loadedRows: wh.length,
    rowsEqualToSource: equal,
    duplicateKeys: wh.length - keys.size,
    watermark: wm?.position ? { cursor: norm(wm.position.cursor), key: wm.position.key, version: wm.version } : null,
    lastSourceRow: last ? { cursor: norm(last.t), key: [last.id] } : null,
    seconds: (Date.now() - started) / 1000,
    problems,
  };
  if (report.sourceRows !== LATE_ID) problems.push(`source rows: expected ${LATE_ID}, present ${report.sourceRows}`);
  if (report.loadedRows !== report.sourceRows || equal !== report.sourceRows) {
    problems.push(`warehouse differs from the source: ${report.loadedRows} rows, ${equal} of ${report.sourceRows} source rows equal`);
  }
  if (report.duplicateKeys !== 0) problems.push(`${report.duplicateKeys} duplicate keys in ${report.target}`);
  const wmAt = report.watermark ? `${report.watermark.cursor} [${report.watermark.key.join(', ')}]` : 'none';
  const lastAt = report.lastSourceRow ? `${report.lastSourceRow.cursor} [${report.lastSourceRow.key.join(', ')}]` : 'none';
  if (wmAt !== lastAt) problems.push(`watermark at ${wmAt}, the last source row is ${lastAt}`);
  if (report.watermark?.version !== runs.length) problems.push(`watermark version ${report.watermark?.version ?? 'none'}, expected ${runs.length} (one move per run)`);
  return report;
}

/** The summary lines of the database step. */
export function formatDatabaseStep(d: DatabaseStepReport): string[] {
  const wm = d.watermark ? `cursor ${d.watermark.cursor}, key [${d.watermark.key.join(', ')}], version ${d.watermark.version}` : 'none';
  return [
    `  database        ${d.source} → ${d.target} (${d.seconds.toFixed(1)} s)`,
    `  source rows     ${d.sourceRows}`,
    ...d.runs.map((r, i) => `  extracted       run ${i + 1}: ${r.extractedRows} of ${r.expectedRows} expected (${r.purpose}; chunks ${r.chunkRows.join(' + ') || 'none'}) ${r.status}`),
    ...d.runs.flatMap((r, i) =>
      r.tiedBoundaries.map((b) => `  tied cursor     run ${i + 1}: a chunk ends at key [${b.before.join(', ')}], the next starts at [${b.after.join(', ')}], both at ${b.cursor}`),
    ),
    `  loaded          ${d.loadedRows} rows, ${d.rowsEqualToSource} equal to their source row in every column, ${d.duplicateKeys} duplicate keys`,
    `  watermark       ${wm}`,
  ];
}
