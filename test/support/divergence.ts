/**
 * Shared fixtures of the divergence suite (issue #15 acceptance): a source table whose columns
 * cover the content traps (integer key; DECIMAL(12,4), DOUBLE, VARCHAR, a nullable VARCHAR holding
 * '' and NULL, microsecond, millisecond and second timestamps, timestamptz on PostgreSQL, the cursor
 * updated_at) and a text-keyed table (utf8mb4_unicode_ci on MariaDB; the warehouse compares in C),
 * synced once through the real path into the local runtime; then the VerifyStateMachine runs with
 * the tier in its input, and its content report is read back from S3.
 *
 * Every injection is undone by {@link Divergence.restore}: the source and the warehouse tables are
 * put back from copies taken right after the sync, so each case proves its own detection.
 */
import { parseConfig } from '../../lambdas/core/config';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import { contentTierReportKey } from '../../lambdas/verify/content';
import type { Engine, TestSourceDb } from './source-db';

export const T0 = '2024-03-01 10:00:00';
/** `T0 + seconds` (+ micros), as SQL text both engines read. */
export function ts(seconds: number, micros = 0): string {
  return formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n + BigInt(micros));
}

/** Rows of the integer-keyed table: ids 1..INT_ROWS (more than fetchRows, so segments are split). */
export const INT_ROWS = 80;

/** Content settings of both datasets: small fetch threshold, so every target is "large" (bisected by sums). */
export const CONTENT = { fetchRows: 16, factor: 4 } as const;

/** Text keys that sort differently under utf8mb4_unicode_ci (case- and accent-insensitive) and C. */
export const TEXT_KEYS: readonly string[] = (() => {
  const words = ['apple', 'Banana', 'cherry', 'Date', '_under', 'Zeta', 'éclair', 'Ölfeld', '10', '9', 'a-b', 'a b', 'Ab', 'zz'];
  return words.flatMap((w) => [w, `${w}-1`, `${w}_2`]);
})();

export function intsDdl(engine: Engine): string {
  const time = (p: number) => (engine === 'mysql' ? `DATETIME(${p})` : `TIMESTAMP(${p})`);
  const dbl = engine === 'mysql' ? 'DOUBLE' : 'DOUBLE PRECISION';
  const tz = engine === 'postgres' ? ', at_tz TIMESTAMPTZ(6)' : '';
  return (
    `CREATE TABLE ints (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, note VARCHAR(40) NULL, amount DECIMAL(12,4) NOT NULL, ` +
    `score ${dbl} NOT NULL, at ${time(6)} NOT NULL, at_ms ${time(3)} NOT NULL, at_s ${time(0)} NOT NULL${tz}, updated_at ${time(6)} NOT NULL)`
  );
}

/** Values of row `id` of ints, as SQL literals in column order. */
function intsValues(engine: Engine, id: number, cursorSeconds = id): string {
  const note = id % 10 === 0 ? "''" : id % 10 === 5 ? 'NULL' : `'note ${id}'`;
  const amount = `${id}.${String((id * 373) % 10_000).padStart(4, '0')}`;
  const score = String(id / 7 + 1000);
  const tz = engine === 'postgres' ? `, '${ts(id, id)}+02:00'` : '';
  return `(${id}, 'n-${id}', ${note}, ${amount}, ${score}, '${ts(id, id * 7)}', '${ts(id, 123_000)}', '${ts(id)}'${tz}, '${ts(cursorSeconds)}')`;
}

export function intsInsert(engine: Engine, ids: readonly number[], cursorSeconds?: number): string {
  const cols = `id, name, note, amount, score, at, at_ms, at_s${engine === 'postgres' ? ', at_tz' : ''}, updated_at`;
  return `INSERT INTO ints (${cols}) VALUES ${ids.map((id) => intsValues(engine, id, cursorSeconds)).join(', ')}`;
}

export function textsDdl(engine: Engine): string {
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  const collate = engine === 'mysql' ? ' CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci' : '';
  return `CREATE TABLE texts (code VARCHAR(20) NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, updated_at ${time} NOT NULL)${collate}`;
}

export function textsInsert(): string {
  return `INSERT INTO texts (code, label, updated_at) VALUES ${TEXT_KEYS.map((k, i) => `('${k}', 'label ${i}', '${ts(i + 1)}')`).join(', ')}`;
}

/** Keys of a report section, whatever its form: an array of keys, `{keys}`, `{rows: [{key}]}`. */
function keysOf(section: unknown): string[] {
  const s = section as { keys?: unknown[]; rows?: { key: unknown }[] } | unknown[] | undefined;
  const list: unknown[] = Array.isArray(s) ? s : (s?.keys ?? s?.rows ?? []);
  return list.map((k) => {
    const key = (k as { key?: unknown }).key ?? k;
    return Array.isArray(key) ? key.map((v) => (v === null ? 'NULL' : String(v))).join('|') : String(key);
  });
}

/** What a content report names: the keys of each kind of difference, and the columns of each changed row. */
export interface Named {
  readonly missing: string[];
  readonly extra: string[];
  readonly changed: string[];
  /** `key: column, column`. */
  readonly changedColumns: string[];
  readonly deleted: string[];
  readonly duplicates: string[];
}

export function namedIn(whole: Record<string, unknown>): Named {
  // The content tier's report lists the keys under `keys` (values are in its `comparison`).
  const report = (whole.keys && typeof whole.keys === 'object' ? whole.keys : whole) as Record<string, unknown>;
  const changedRows = (() => {
    const c = report.changed as { rows?: unknown[] } | unknown[] | undefined;
    return (Array.isArray(c) ? c : (c?.rows ?? [])) as { key: unknown[]; columns: (string | { column: string })[] }[];
  })();
  return {
    missing: keysOf(report.missing),
    extra: keysOf(report.extra),
    changed: keysOf(changedRows),
    changedColumns: changedRows.map((r) => `${r.key.join('|')}: ${r.columns.map((c) => (typeof c === 'string' ? c : c.column)).join(', ')}`),
    deleted: keysOf(report.deleted),
    duplicates: keysOf(report.duplicates),
  };
}

export const NOTHING: Named = { missing: [], extra: [], changed: [], changedColumns: [], deleted: [], duplicates: [] };

export interface Verification {
  readonly execution: ExecutionSummary;
  /** The execution's verdict (the run record's status). */
  readonly status: string | undefined;
  /** The content tier's report object (S3). */
  readonly report: Record<string, unknown>;
  readonly named: Named;
}

export interface Divergence {
  readonly engine: Engine;
  readonly runtime: LocalRuntime;
  /** `public.<engine>_<dataset>`. */
  target(dataset: string): string;
  warehouse(sql: string): Promise<Record<string, unknown>[]>;
  sync(dataset: string): Promise<ExecutionSummary>;
  /** Runs the VerifyStateMachine for `dataset` with `tier` in its input, as the schedule does. */
  verify(dataset: string, tier?: string): Promise<Verification>;
  /** Copies the source and warehouse tables as they are now (after the sync). */
  snapshot(): Promise<void>;
  /** Puts the source and warehouse tables back as the snapshot holds them. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

export const DATASETS = ['ints', 'texts'] as const;

/** Creates both tables at `db`, starts a runtime whose datasets read them, syncs each once and snapshots. */
export async function startDivergence(engine: Engine, db: TestSourceDb): Promise<Divergence> {
  await db.exec(`${intsDdl(engine)}; ${intsInsert(engine, range(1, INT_ROWS))}; ${textsDdl(engine)}; ${textsInsert()}`);
  const config = parseConfig({
    datasets: DATASETS.map((name) => ({
      name,
      target: { schema: 'public', table: `${engine}_${name}` },
      source: { engine, url: db.url, table: `${db.schema}.${name}`, cursorColumn: 'updated_at', lag: '5s' },
      deletes: 'report',
      content: CONTENT,
    })),
  });
  const runtime = await LocalRuntime.start({ config, s3Events: false });
  let n = 0;
  const target = (dataset: string) => `public.${engine}_${dataset}`;
  const warehouse = async (sql: string) => (await runtime.warehouse()).query(sql);
  const d: Divergence = {
    engine,
    runtime,
    target,
    warehouse,
    sync: (dataset) => runtime.startExecution({ dataset }, `div-${engine}-${dataset}-sync-${++n}`),
    verify: async (dataset, tier = 'content') => {
      const name = `div-${engine}-${dataset}-verify-${++n}`;
      const execution = await runtime.startExecution({ dataset, tier }, name, 'verify');
      const report = await contentReport(runtime, dataset, execution);
      return { execution, status: execution.run?.status, report, named: namedIn(report) };
    },
    snapshot: async () => {
      for (const t of DATASETS) {
        await db.exec(`DROP TABLE IF EXISTS ${t}_as_synced; CREATE TABLE ${t}_as_synced AS SELECT * FROM ${t}`);
        await warehouse(`DROP TABLE IF EXISTS ${target(t)}_as_synced`);
        await warehouse(`CREATE TABLE ${target(t)}_as_synced AS SELECT * FROM ${target(t)}`);
      }
    },
    restore: async () => {
      for (const t of DATASETS) {
        await db.exec(`DELETE FROM ${t}; INSERT INTO ${t} SELECT * FROM ${t}_as_synced`);
        await warehouse(`DELETE FROM ${target(t)}`);
        await warehouse(`INSERT INTO ${target(t)} SELECT * FROM ${target(t)}_as_synced`);
      }
    },
    stop: () => runtime.stop(),
  };
  for (const t of DATASETS) {
    const run = await d.sync(t);
    if (run.status !== 'SUCCEEDED' || run.run?.status !== 'PASSED') throw new Error(`sync of ${t} (${engine}): ${run.status} ${run.run?.status} ${run.error ?? ''} ${run.cause ?? ''}`);
  }
  await d.snapshot();
  return d;
}

/**
 * The content tier's report of a verify execution: the URI its stage output names in the run
 * record (stages.content.reportUri), else where the content tier stores it for a run id.
 */
export async function contentReport(runtime: LocalRuntime, dataset: string, execution: ExecutionSummary): Promise<Record<string, unknown>> {
  const stage = execution.run?.stages?.content as { reportUri?: string } | undefined;
  const key = stage?.reportUri ? stage.reportUri.replace(`s3://${runtime.bucket}/`, '') : contentTierReportKey(dataset, execution.name);
  try {
    return (await runtime.deps.objects.getJson(key)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`no content report for ${execution.name} (${execution.status} ${execution.error ?? ''} ${execution.cause ?? ''}; stages ${Object.keys(execution.run?.stages ?? {}).join(', ')}): ${(e as Error).message}`);
  }
}

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}
