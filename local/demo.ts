import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeParquet } from '../lambdas/adapters/parquet-file';
import type { DatasetConfig, SyncproofConfig } from '../lambdas/core/config';
import { AUDIT_FILES_TABLE, AUDIT_SCHEMA } from '../lambdas/core/load-plan';
import { qualifiedName, quoteLiteral } from '../lambdas/core/sql';
import { formatDatabaseStep, openDemoSource, runDatabaseStep, type DatabaseStepReport } from './demo-database';
import { TerminalError } from '../lambdas/core/errors';
import { keyInBucket } from '../lambdas/core/s3-uri';
import { LEFT_TO_OTHER_LOAD, type Finding } from '../lambdas/core/verification';
import { LocalRuntime, type ExecutionSummary } from './runtime';
import type { LocalRuntimeOptions } from './runtime-options';
import type { WarehouseApi } from './local-warehouse';

/** The demo's dataset: orders, upserted by order_id. */
export const DEMO_DATASET: DatasetConfig = {
  name: 'orders',
  prefix: 'orders/',
  target: { schema: 'public', table: 'orders' },
  keyColumns: ['order_id'],
  loadMode: 'upsert',
  format: 'parquet',
  versionColumn: 'updated_at',
  columns: [
    { name: 'order_id', type: 'BIGINT' },
    { name: 'customer_id', type: 'BIGINT' },
    { name: 'status', type: 'VARCHAR(32)' },
    { name: 'amount', type: 'DECIMAL(12,2)' },
    { name: 'updated_at', type: 'TIMESTAMP' },
  ],
};

export const DEMO_CONFIG: SyncproofConfig = { datasets: [DEMO_DATASET], maxFilesPerBatch: 100 };

export interface DemoOptions {
  /** Rows of the first wave. @default 200000 */
  readonly rows: number;
  /** Files of the first wave. @default 20 */
  readonly files: number;
  /** postgres://… instead of the embedded warehouse. */
  readonly warehouse?: string;
  /**
   * How the stages reach the warehouse (see LocalRuntimeOptions.warehouseApi).
   * @default 'direct' with `warehouse` (a PostgreSQL server is loaded directly), else 'data-api'
   */
  readonly warehouseApi?: WarehouseApi;
  /** Keep the local state (S3, DynamoDB, warehouse data dir, the database step's source in `source/`) here. */
  readonly keep?: string;
  /** Write the report as JSON here. */
  readonly json?: string;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
  /** Passed to the runtime (LocalRuntimeOptions.editTemplate): tests remove a grant with it. */
  readonly editTemplate?: LocalRuntimeOptions['editTemplate'];
  /** Passed to the runtime (LocalRuntimeOptions.onStateEntered): the CLI's progress line. */
  readonly onStateEntered?: LocalRuntimeOptions['onStateEntered'];
}

export interface DemoReport {
  readonly status: 'PASSED' | 'FAILED';
  readonly warehouse: string;
  readonly dataDir: string | null;
  readonly waves: readonly { files: number; rows: number; updatedRows: number; newRows: number }[];
  readonly rowsExpected: number;
  readonly rowsPresent: number;
  readonly distinctKeys: number;
  readonly duplicateKeys: number;
  readonly updatedRowsExpected: number;
  readonly updatedRowsPresent: number;
  /** SUM(amount) in cents: generated vs read back. */
  readonly amountCentsExpected: number;
  readonly amountCentsPresent: number;
  readonly filesUploaded: number;
  readonly filesLoaded: number;
  /** Each execution; a run that passed with warnings lists them (`left-to-other-load`: a file another run holds and proves). */
  readonly runs: readonly { name: string; execution: string; status: string; error?: string; warnings?: readonly Finding[] }[];
  /** The database step, after the S3 waves; its problems are also in `problems`. */
  readonly database: DatabaseStepReport;
  readonly problems: readonly string[];
}

const BASE_TIME = Date.UTC(2026, 0, 1);

function amountCents(id: number, wave: number): number {
  return ((id * 37) % 1_000_000) + wave;
}

function centsToDecimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** Builds one Parquet file of orders with ids `ids`. */
export function ordersFile(ids: readonly number[], wave: number, status: string): Uint8Array {
  return encodeParquet([
    { name: 'order_id', type: 'INT64', data: ids.map((id) => BigInt(id)) },
    { name: 'customer_id', type: 'INT64', data: ids.map((id) => BigInt((id * 7919) % 100_000)) },
    { name: 'status', type: 'STRING', data: ids.map(() => status) },
    { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ids.map((id) => centsToDecimal(amountCents(id, wave))) },
    { name: 'updated_at', type: 'TIMESTAMP', data: ids.map((id) => new Date(BASE_TIME + id * 1000 + wave * 3_600_000)) },
  ]);
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function uploadAll(runtime: LocalRuntime, files: { key: string; body: Uint8Array }[]): Promise<void> {
  const queue = [...files];
  const workers = Array.from({ length: 4 }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await runtime.deps.objects.put(f.key, f.body, 'application/vnd.apache.parquet');
  });
  await Promise.all(workers);
}

/**
 * The demo: uploads a first wave of orders and a second wave that updates 5% of them and adds
 * new ones, lets S3 events drive the synthesized state machine, and then reads the warehouse
 * back; then the database step (local/demo-database.ts) extracts an embedded PGlite table
 * incrementally in three runs. PASSED only when every count and the amount total agree with what
 * was generated and the database step's read-back agrees with its source.
 */
/** The warnings of a run's verification reports (one per load, at `verify_<loadId>` in its run record). */
async function runWarnings(runtime: LocalRuntime, e: ExecutionSummary): Promise<Finding[]> {
  const reports = Object.entries(e.run?.stages ?? {})
    .filter(([stage]) => stage.startsWith('verify_'))
    .map(([, output]) => (output as { reportUri?: string }).reportUri)
    .filter((uri): uri is string => typeof uri === 'string');
  const findings = await Promise.all(
    reports.map(async (uri) => ((await runtime.deps.objects.getJson(keyInBucket(uri, runtime.bucket))) as { findings?: Finding[] } | undefined)?.findings ?? []),
  );
  return findings.flat().filter((f) => f.level === 'warning');
}

/** Stops the demo at the first failed execution, saying what it failed with (the report would only show its effects). */
function failOnFailedExecution(runtime: LocalRuntime, wave: string): void {
  const failed = runtime.executions().find((e) => e.status === 'FAILED');
  if (!failed) return;
  let said = failed.cause ?? '';
  try {
    said = String((JSON.parse(said) as { errorMessage?: unknown }).errorMessage ?? said);
  } catch {
    // the cause is plain text
  }
  throw new TerminalError(`the demo's ${wave} did not sync: execution ${failed.name} failed with ${failed.error ?? 'an error'}: ${said}`);
}

/** The demo's configuration, written into a `--keep` directory. */
export const DEMO_CONFIG_FILE = 'syncproof.config.json';

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const say = options.progress ?? (() => undefined);
  const warehouseApi = options.warehouseApi ?? (options.warehouse ? 'direct' : 'data-api');
  const ownedSourceDir = options.keep ? undefined : await mkdtemp(join(tmpdir(), 'syncproof-demo-source-'));
  const source = await openDemoSource(options.keep ? join(options.keep, 'source') : (ownedSourceDir as string));
  const config: SyncproofConfig = { ...DEMO_CONFIG, datasets: [...DEMO_CONFIG.datasets, source.dataset] };
  // The kept state comes with its configuration, so `status`, `runs`, `sample` and `clean` can read it.
  if (options.keep) {
    await mkdir(options.keep, { recursive: true });
    await writeFile(join(options.keep, DEMO_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  }
  let runtime: LocalRuntime | undefined;
  try {
    runtime = await LocalRuntime.start({
      config,
      warehouse: options.warehouse,
      warehouseApi,
      dataDir: options.keep,
      owner: 'syncproof demo',
      sources: source.open,
      ...(options.editTemplate ? { editTemplate: options.editTemplate } : {}),
      ...(options.onStateEntered ? { onStateEntered: options.onStateEntered } : {}),
    });
    const ids1 = Array.from({ length: options.rows }, (_, i) => i + 1);
    const wave1 = split(ids1, options.files).map((ids, i) => ({ key: `orders/wave-1/part-${String(i).padStart(4, '0')}.parquet`, body: ordersFile(ids, 0, 'new') }));
    say(`wave 1: uploading ${wave1.length} files, ${ids1.length} rows to s3://${runtime.bucket}/orders/`);
    await uploadAll(runtime, wave1);
    await runtime.waitForIdle();
    failOnFailedExecution(runtime, 'wave 1');

    const updated = ids1.filter((id) => id % 20 === 0);
    const added = Array.from({ length: Math.max(1, Math.floor(options.rows / 20)) }, (_, i) => options.rows + i + 1);
    const wave2Files = Math.max(2, Math.ceil(options.files / 4));
    const wave2 = [
      ...split(updated, Math.ceil(wave2Files / 2)).map((ids) => ({ ids, status: 'updated' })),
      ...split(added, Math.floor(wave2Files / 2) || 1).map((ids) => ({ ids, status: 'new' })),
    ].map((p, i) => ({ key: `orders/wave-2/part-${String(i).padStart(4, '0')}.parquet`, body: ordersFile(p.ids, 1, p.status) }));
    say(`wave 2: uploading ${wave2.length} files: ${updated.length} updated rows, ${added.length} new rows`);
    await uploadAll(runtime, wave2);
    await runtime.waitForIdle();
    failOnFailedExecution(runtime, 'wave 2');

    const expectedCents =
      ids1.reduce((s, id) => s + (id % 20 === 0 ? amountCents(id, 1) : amountCents(id, 0)), 0) +
      added.reduce((s, id) => s + amountCents(id, 1), 0);
    const wh = await runtime.warehouse();
    const target = qualifiedName(DEMO_DATASET.target.schema, DEMO_DATASET.target.table);
    const [counts] = await wh.query(
      `SELECT COUNT(*) AS total, COUNT(DISTINCT order_id) AS keys, ` +
        `SUM(CASE WHEN status = 'updated' THEN 1 ELSE 0 END) AS updated, CAST(SUM(amount) * 100 AS BIGINT) AS cents FROM ${target}`,
    );
    const [loaded] = await wh.query(
      `SELECT COUNT(*) AS files FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} WHERE dataset = ${quoteLiteral(DEMO_DATASET.name)}`,
    );
    const runs = await Promise.all(
      runtime.executions().map(async (e: ExecutionSummary) => {
        const warnings = e.run?.status === 'PASSED_WITH_WARNINGS' ? await runWarnings(runtime!, e) : [];
        return {
          name: e.run?.runId ?? e.name,
          execution: e.status,
          status: e.status === 'FAILED' ? 'FAILED' : (e.run?.status ?? 'UNKNOWN'),
          ...(e.status === 'FAILED' ? { error: `${e.error}: ${e.run?.error ?? e.cause}` } : {}),
          ...(warnings.length > 0 ? { warnings } : {}),
        };
      }),
    );
    const report = {
      warehouse: `${options.warehouse ? 'postgresql server' : 'embedded (PGlite)'}${warehouseApi === 'data-api' ? ' via the local Redshift Data API' : ''}`,
      dataDir: options.keep ?? null,
      waves: [
        { files: wave1.length, rows: ids1.length, updatedRows: 0, newRows: ids1.length },
        { files: wave2.length, rows: updated.length + added.length, updatedRows: updated.length, newRows: added.length },
      ],
      rowsExpected: ids1.length + added.length,
      rowsPresent: Number(counts?.total ?? 0),
      distinctKeys: Number(counts?.keys ?? 0),
      duplicateKeys: Number(counts?.total ?? 0) - Number(counts?.keys ?? 0),
      updatedRowsExpected: updated.length,
      updatedRowsPresent: Number(counts?.updated ?? 0),
      amountCentsExpected: expectedCents,
      amountCentsPresent: Number(counts?.cents ?? 0),
      filesUploaded: wave1.length + wave2.length,
      filesLoaded: Number(loaded?.files ?? 0),
      runs,
    };
    const problems: string[] = [];
    if (report.rowsPresent !== report.rowsExpected) problems.push(`rows: expected ${report.rowsExpected}, present ${report.rowsPresent}`);
    if (report.duplicateKeys !== 0) problems.push(`${report.duplicateKeys} duplicate keys`);
    if (report.updatedRowsPresent !== report.updatedRowsExpected) problems.push(`updated rows: expected ${report.updatedRowsExpected}, present ${report.updatedRowsPresent}`);
    if (report.amountCentsPresent !== report.amountCentsExpected) problems.push(`amount total differs: expected ${report.amountCentsExpected} cents, present ${report.amountCentsPresent}`);
    if (report.filesLoaded !== report.filesUploaded) problems.push(`files: uploaded ${report.filesUploaded}, loaded ${report.filesLoaded}`);
    for (const r of runs) {
      // A file its event also gave to another run is left to that run, which proves it (the
      // demo's S3 events arrive duplicated and reordered, as AWS may deliver them): not a problem.
      const otherWarnings = (r.warnings ?? []).filter((w) => w.check !== LEFT_TO_OTHER_LOAD);
      if (r.status === 'PASSED_WITH_WARNINGS' && r.warnings && otherWarnings.length === 0) continue;
      if (r.status !== 'PASSED' && r.status !== 'NO_WORK') {
        const why = r.error ?? otherWarnings.map((w) => w.message).join('; ');
        problems.push(`run ${r.name}: ${r.status}${why ? ` (${why})` : ''}`);
      }
    }

    const database = await runDatabaseStep(runtime, source, say);
    problems.push(...database.problems.map((p) => `database: ${p}`));
    const result: DemoReport = { status: problems.length ? 'FAILED' : 'PASSED', ...report, database, problems };
    if (options.json) await writeFile(options.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    try {
      await runtime?.stop();
    } finally {
      await source.db.close();
      if (ownedSourceDir) await rm(ownedSourceDir, { recursive: true, force: true });
    }
  }
}

/** The human summary of a demo report. */
export function formatDemoReport(r: DemoReport): string {
  const passedRuns = r.runs.filter((x) => x.status === 'PASSED').length;
  const idle = r.runs.filter((x) => x.status === 'NO_WORK').length;
  const leftOnly = r.runs.filter((x) => x.status === 'PASSED_WITH_WARNINGS' && (x.warnings ?? []).length > 0 && x.warnings!.every((w) => w.check === LEFT_TO_OTHER_LOAD)).length;
  const other = r.runs.length - passedRuns - idle - leftOnly;
  const lines = [
    `syncproof demo — warehouse: ${r.warehouse}`,
    `  uploaded        ${r.waves.map((w, i) => `wave ${i + 1}: ${w.files} files, ${w.rows} rows`).join('; ')}`,
    `  rows expected   ${r.rowsExpected}`,
    `  rows present    ${r.rowsPresent}  (read back from the warehouse)`,
    `  duplicate keys  ${r.duplicateKeys}`,
    `  updated rows    ${r.updatedRowsPresent} of ${r.updatedRowsExpected}`,
    `  amount total    ${r.amountCentsPresent === r.amountCentsExpected ? 'matches' : 'DIFFERS'} (${centsToDecimal(r.amountCentsPresent)} of ${centsToDecimal(r.amountCentsExpected)})`,
    `  files loaded    ${r.filesLoaded} of ${r.filesUploaded}`,
    `  runs            ${r.runs.length} (${passedRuns} PASSED, ${leftOnly} PASSED_WITH_WARNINGS only for files another run loaded, ${idle} with nothing new, ${other} other)`,
    ...formatDatabaseStep(r.database),
    ...(r.dataDir ? [`  local state     ${r.dataDir} (syncproof status --config ${join(r.dataDir, DEMO_CONFIG_FILE)} --data-dir ${r.dataDir})`] : []),
    ...r.problems.map((p) => `  problem         ${p}`),
    `  status          ${r.status}`,
  ];
  return lines.join('\n');
}
