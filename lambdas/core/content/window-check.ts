/**
 * The in-pipeline content check (DESIGN.md §8 tier 4, invariant I6): before the watermark moves,
 * the run's window is compared source ↔ warehouse by content (./bisect.ts compareContent), and
 * every difference found is re-read at the source by key before it counts. Ports only.
 *
 * The window: rows whose cursor lies in [from.cursor, to.cursor] — `from` the watermark the run
 * started after, `to` the run's last row (where the watermark moves); a full run: the whole table.
 * The filter is by cursor value, a superset of the keyset window (from, to]: rows sharing the
 * boundary cursors are compared too, and a difference is then judged by the key's position.
 *
 * Concurrent writes at the source are normal, so a difference counts only after its key is
 * re-read at the source ({@link classify}). An equal window costs one sums query per side (two
 * more for the bounds of an integer key), plus the segment queries and re-reads of differences.
 */
import type { DatasetConfig } from '../config';
import { INTERNAL_PREFIX } from '../config';
import { comparePositions, isBinaryColumn, positionText, qualifiedTable, type Position } from '../keyset';
import type { Clock, ObjectStore } from '../ports';
import type { SourceDatabase, SourceParam, SourceSession, SourceValue } from '../source';
import type { SchemaColumn, SchemaDocument } from '../source-schema';
import type { StageLog } from '../stage-deps';
import { compareContent } from './bisect';
import { REPORT_KEYS_MAX, type ChangedRow, type ComparisonPlan, type ContentResult, type ContentSide, type RowFilter } from './model';
import { canonicalRow, normalizeValue, timestampText } from './normalize';
import { comparedType, cursorFilter, datasetPlan, kindOf, type PlanColumn } from './plan';
import { SessionContentSide } from './session-side';
import { contentSettingsOf, deletesOf } from '../verify-config';

export interface WindowCheckInput {
  readonly dataset: DatasetConfig;
  readonly schema: SchemaDocument;
  /** The watermark the run started after (exclusive); undefined: from the table's first row. */
  readonly from?: Position;
  /** The run's last row (inclusive): where the watermark moves. */
  readonly to?: Position;
  /** A full (replace) run: the whole table is compared, whatever the cursors. */
  readonly whole?: boolean;
  readonly runId: string;
  /** Where the report goes (default {@link windowReportKey}). */
  readonly reportKey?: string;
  /** Compare a seeded subset of top-level segments only (./bisect.ts sampleSegments): a PARTIAL comparison. */
  readonly sample?: { readonly segments: number; readonly seed: string };
  /**
   * Whether the comparison covers every row the dataset holds (the verification of everything up
   * to the watermark), which a deletion's proof needs; a run's window, `from` or a sample do not.
   */
  readonly complete?: boolean;
}

export interface WindowCheckDeps {
  readonly objects: ObjectStore;
  readonly clock: Clock;
  readonly sources: (dataset: DatasetConfig) => Promise<SourceDatabase>;
  /** The warehouse side of `schema.table` (lambdas/adapters/content/warehouse-side.ts over deps.warehouse()). */
  readonly warehouseSide: (table: string) => Promise<ContentSide>;
  /**
   * The dataset's committed loads (lambdas/core/deletes.ts committedLoadCount), read just before the
   * comparison reads the target: the proof a deletion of the keys found carries.
   */
  readonly targetLoads?: () => Promise<number>;
  readonly log?: StageLog;
}

type Key = readonly (string | null)[];

/** Why a difference is not one of this window (it stays in the report, never in the verdict). */
export type NotDivergence = 'written-after-extraction' | 'deleted-since-compared';

/** What the check found and covered: the report object's body (values only in `changed`). */
export interface WindowReport {
  readonly dataset: string;
  readonly runId: string;
  readonly status: 'PASSED' | 'PASSED_WITH_WARNINGS' | 'FAILED';
  readonly checkedAt: string;
  readonly window: { readonly whole: boolean; readonly from: Position | null; readonly to: Position | null; readonly cursorColumn: string; readonly filter: { readonly from?: string; readonly to?: string } | null };
  /** Columns left out of the comparison, and why ({@link comparableSchema}). */
  readonly notCompared: readonly { readonly column: string; readonly why: string }[];
  readonly compared: ContentResult['compared'] & { readonly source: string; readonly warehouse: string; readonly table: string; readonly recheckedKeys: number; readonly recheckQueries: number; readonly ms: number };
  readonly missing: { readonly count: number; readonly keys: readonly Key[] };
  readonly extra: { readonly count: number; readonly keys: readonly Key[] };
  readonly changed: { readonly count: number; readonly rows: readonly { readonly key: Key; readonly columns: readonly { readonly column: string; readonly source: string | null; readonly warehouse: string | null }[] }[] };
  /** Keys the warehouse holds that the source no longer has (`deletes` decides the verdict). */
  readonly deleted: { readonly count: number; readonly keys: readonly Key[]; readonly policy: 'report' | 'propagate' };
  readonly duplicates: ContentResult['duplicates'];
  readonly notDivergences: { readonly count: number; readonly keys: readonly { readonly key: Key; readonly reason: NotDivergence }[] };
  /** Rows whose only differences are MySQL zero or partial dates loaded as NULL (the extraction's documented mapping). */
  readonly zeroDatesAsNull: number;
  /** The top-level segments drawn, when sampled (repeat the check with the same seed). */
  readonly sample?: { readonly segments: number; readonly seed: string };
  /** What a deletion of `deleted.keys` may rely on (lambdas/core/deletes.ts DeletionProof). */
  readonly proof: { readonly status: 'COMPLETE' | 'PARTIAL'; readonly allKeysListed: boolean; readonly targetLoads?: number };
}

export interface WindowCheckOutcome {
  readonly report: WindowReport;
  readonly reportUri: string;
  /** Up to 5 differing keys, as text (keys may be shown; values never). */
  readonly keys: readonly string[];
}

/** Where the report of a run's window check lives. */
export function windowReportKey(dataset: string, runId: string): string {
  return `${INTERNAL_PREFIX}reports/${dataset}/${runId}/content.json`;
}

/**
 * The columns compared, and those left out with why: a column is compared when its source type
 * and the warehouse type it was mapped to have a kind in common (./plan.ts comparedType) and the
 * mapping kept every value (no mapping warning: a DECIMAL wider than 38 digits loaded as VARCHAR
 * is not the same value text on both sides). Types without a kind (TIME, INTERVAL, arrays…) are
 * left out: no dialect normalizes them identically on both sides yet.
 */
export function comparableSchema(schema: SchemaDocument): { schema: SchemaDocument; left: readonly { readonly column: string; readonly why: string }[] } {
  const left: { column: string; why: string }[] = [];
  const columns = schema.columns.map((c) => {
    // The key and the cursor are always compared: without them there is no window to check.
    if (c.dropped || c.source === schema.cursorColumn || schema.keyColumns.includes(c.source)) return c;
    const scale = c.type.parquet.scale !== undefined ? { scale: c.type.parquet.scale } : {};
    const source: PlanColumn = { name: c.source, type: c.columnType || c.dataType, ...scale };
    const warehouse: PlanColumn = { name: c.name, type: c.type.redshift.toLowerCase(), ...scale };
    let why: string | undefined;
    if (c.type.warning) why = `mapped with a loss (${c.dataType} → ${c.type.redshift})`;
    else if (schema.engine === 'mysql' && /json/i.test(c.dataType) && /super/i.test(c.type.redshift)) why = 'MySQL JSON loaded as SUPER: the two canonical texts are not normalized alike yet';
    else if (!kindOf(source.type) && !kindOf(c.dataType)) why = `${c.dataType} has no compared normalization`;
    else {
      try {
        comparedType(source, warehouse, 1e-9, schema.engine === 'mysql' ? 'a' : undefined);
      } catch {
        why = `${c.dataType} and ${c.type.redshift} do not compare`;
      }
    }
    if (!why) return c;
    left.push({ column: c.source, why });
    return { ...c, dropped: true };
  });
  return { schema: { ...schema, columns }, left };
}

/** A boundary cursor as normalized filter text (timestamps at full microseconds, so no bound is cut). */
function boundText(plan: ComparisonPlan, schema: SchemaDocument, cursor: string): string {
  const filter = cursorFilter(plan, schema);
  return filter.type.kind === 'timestamp' ? timestampText(cursor, 6) : (normalizeValue(cursor, filter.type) ?? cursor);
}

/** The dataset's `deletes` option, read defensively (the option lands with the deletes work). */
function deletePolicy(dataset: DatasetConfig): 'report' | 'propagate' {
  return deletesOf(dataset);
}

const RECHECK_BATCH = 100;

/** A MySQL zero or partial date's normalized text (`0000-00-00`, `2024-00-10`, `0000-11-30 …`). */
const ZERO_DATE = /^(0000-\d\d-\d\d|\d{4}-00-\d\d|\d{4}-\d\d-00)/;

/** A placeholder binding a key's normalized text as its column compares (cf. keyset.ts Params). */
export function bind(engine: SchemaDocument['engine'], column: SchemaColumn, value: string, params: SourceParam[]): string {
  if (isBinaryColumn(column)) {
    const bytes = Buffer.from(value, 'hex');
    if (engine === 'postgres') {
      params.push(bytes);
      return `$${params.length}::bytea`;
    }
    if (column.type.rule === 'bit') {
      params.push(bytes.length ? BigInt(`0x${value}`).toString() : '0');
      return 'CAST(? AS UNSIGNED)';
    }
    params.push(bytes);
    return '?';
  }
  params.push(value);
  if (engine === 'postgres') return `$${params.length}`;
  const t = column.dataType;
  if (['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year'].includes(t)) return /unsigned/i.test(column.columnType) ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)';
  if (t === 'decimal' || t === 'numeric') return 'CAST(? AS DECIMAL(65,30))';
  if (t === 'date') return 'CAST(? AS DATE)';
  if (t === 'datetime' || t === 'timestamp') return 'CAST(? AS DATETIME(6))';
  return '?';
}

/** The source's current position of each key (absent: the source no longer has it), by canonical key. */
async function sourcePositions(session: SourceSession, schema: SchemaDocument, plan: ComparisonPlan, keys: readonly Key[]): Promise<{ positions: Map<string, Position | null>; queries: number }> {
  const engine = schema.engine;
  const q = (name: string) => (engine === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`);
  const keyColumns = plan.key.map((k) => schema.columns.find((c) => c.source === k.a)!);
  const positions = new Map<string, Position | null>();
  let queries = 0;
  for (let i = 0; i < keys.length; i += RECHECK_BATCH) {
    const batch = keys.slice(i, i + RECHECK_BATCH).filter((k) => k.every((v) => v !== null));
    if (!batch.length) continue;
    const params: SourceParam[] = [];
    const where = batch.map((key) => `(${keyColumns.map((c, j) => `${q(c.source)} = ${bind(engine, c, key[j]!, params)}`).join(' AND ')})`);
    const sql = `SELECT ${[schema.cursorColumn, ...keyColumns.map((c) => c.source)].map(q).join(', ')} FROM ${qualifiedTable(engine, schema.table)} WHERE ${where.join(' OR ')}`;
    const rows: SourceValue[][] = await session.query(sql, params);
    queries++;
    for (const row of rows) {
      const keyValues = row.slice(1);
      const normalized = keyValues.map((v, j) => normalizeValue(v, plan.key[j]!.type));
      const cursor = row[0];
      positions.set(canonicalRow(normalized), cursor === null || cursor === undefined ? null : { cursor: positionText(cursor), key: keyValues.map((v) => positionText(v as SourceValue)) });
    }
  }
  return { positions, queries };
}

/**
 * Judges each difference by the key's row re-read at the source now (`current`: its position;
 * null: its cursor is NULL; absent: the source has no such key). Not divergences of this window:
 * - the source row's position is past `to` (the run's last row): it was written after the run's
 *   extraction read the window — its cursor moved on — and the next run, which reads from `to` on,
 *   brings it to the warehouse (the upsert replaces the version held there);
 * - a key the comparison found only at the source (missing) that the source no longer has: it was
 *   deleted since the comparison read it, and the warehouse does not hold it either.
 * Real, and why:
 * - missing, with the source row at or before `to`: the source holds a row of this window (or one
 *   behind it, committed late) the warehouse lacks; no later run reads it, positions only go on;
 * - changed, with the source row at or before `to`: the values differ while the source's cursor did
 *   not move past the window (an unchanged or backwards cursor, or a late update behind the run's
 *   end): no run will bring the source's values;
 * - extra, with the source row at or before `to`: the warehouse holds the key at a cursor inside the
 *   window while the source's row lies before it (a cursor moved backwards, or a row written to
 *   the warehouse): it differs and nothing will replace it;
 * - extra or changed, the source no longer has the key: deleted at the source; an incremental run
 *   never sees a delete, so the warehouse keeps the row (reported as a deletion, per `deletes`);
 * - duplicates (a key held twice in the target): never rechecked, always real.
 */
function classify(kind: 'missing' | 'extra' | 'changed', current: Position | null | undefined, to: Position | undefined, schema: SchemaDocument): 'real' | 'deleted' | NotDivergence {
  if (current === undefined) return kind === 'missing' ? 'deleted-since-compared' : 'deleted';
  if (current !== null && to && comparePositions(schema.cursorKind, current, to) > 0) return 'written-after-extraction';
  return 'real';
}

function keyText(key: Key): string {
  return key.map((v) => (v === null ? 'NULL' : v)).join(', ');
}

/**
 * Compares the run's window source ↔ warehouse by content, re-reads every differing key at the
 * source, writes the report to S3 ({@link windowReportKey}) and returns it. FAILED: a real
 * difference (see {@link classify}) or, under `deletes: "report"` (the default), a deletion;
 * PASSED_WITH_WARNINGS: only deletions under `deletes: "propagate"` (removed by that path).
 */
export async function checkRunWindow(input: WindowCheckInput, deps: WindowCheckDeps): Promise<WindowCheckOutcome> {
  const { dataset, schema } = input;
  const started = Date.now();
  const comparable = comparableSchema(schema);
  const settings = contentSettingsOf(dataset);
  const plan = datasetPlan(comparable.schema, { factor: settings.factor, fetchRows: settings.fetchRows, floatTolerance: settings.floatTolerance });
  const filter: RowFilter | undefined = input.whole
    ? undefined
    : cursorFilter(plan, schema, input.from ? boundText(plan, schema, input.from.cursor) : undefined, input.to ? boundText(plan, schema, input.to.cursor) : undefined);
  const target = `${dataset.target.schema}.${dataset.target.table}`;
  const warehouse = await deps.warehouseSide(target);
  const db = await deps.sources(dataset);
  let result: ContentResult;
  let rechecked: { positions: Map<string, Position | null>; queries: number };
  const differing = (r: ContentResult) => [...r.missing, ...r.extra, ...r.changed.map((c) => c.key)];
  let targetLoads: number | undefined;
  try {
    // Read before the comparison reads the target: a load committed after it refuses a deletion.
    if (deps.targetLoads) targetLoads = await deps.targetLoads();
    result = await db.snapshot(async (session) => {
      const side = new SessionContentSide(session, comparable.schema);
      return compareContent(side, warehouse, plan, { ...(filter ? { filter } : {}), ...(input.sample ? { sample: input.sample } : {}), concurrency: side.queuesReads ? 4 : 1 });
    });
    // Re-read in a snapshot of its own, after the comparison: the source as it is now.
    rechecked = differing(result).length ? await db.snapshot((session) => sourcePositions(session, schema, plan, differing(result))) : { positions: new Map(), queries: 0 };
  } finally {
    await Promise.all([db.close(), warehouse.close()]);
  }

  const policy = deletePolicy(dataset);
  const missing: Key[] = [];
  const extra: Key[] = [];
  const changed: ChangedRow[] = [];
  const deleted: Key[] = [];
  const ignored: { key: Key; reason: NotDivergence }[] = [];
  const judge = (kind: 'missing' | 'extra' | 'changed', key: Key, onReal: () => void) => {
    const verdict = classify(kind, rechecked.positions.get(canonicalRow(key)), input.to, schema);
    if (verdict === 'real') onReal();
    else if (verdict === 'deleted') deleted.push(key);
    else ignored.push({ key, reason: verdict });
  };
  for (const key of result.missing) judge('missing', key, () => missing.push(key));
  for (const key of result.extra) judge('extra', key, () => extra.push(key));
  let zeroDates = 0;
  for (const row of result.changed) {
    // MySQL zero and partial dates are loaded as NULL by design (counted as the run's warnings).
    const columns = row.columns.filter((d) => !(schema.engine === 'mysql' && d.b === null && d.a !== null && ZERO_DATE.test(d.a)));
    if (columns.length < row.columns.length) zeroDates++;
    if (columns.length) judge('changed', row.key, () => changed.push({ key: row.key, columns }));
  }
  // Differences beyond the listed keys were not re-read: they count as found.
  const beyond = (count: number, listed: number) => Math.max(0, count - listed);
  const counts = {
    missing: missing.length + beyond(result.missingCount, result.missing.length),
    extra: extra.length + beyond(result.extraCount, result.extra.length),
    changed: changed.length + beyond(result.changedCount, result.changed.length),
  };
  const failed = counts.missing + counts.extra + counts.changed + result.duplicates.length > 0 || (deleted.length > 0 && policy === 'report');
  const status = failed ? 'FAILED' : deleted.length > 0 ? 'PASSED_WITH_WARNINGS' : 'PASSED';
  const report: WindowReport = {
    dataset: dataset.name,
    runId: input.runId,
    status,
    checkedAt: deps.clock.now().toISOString(),
    window: { whole: input.whole === true, from: input.from ?? null, to: input.to ?? null, cursorColumn: schema.cursorColumn, filter: filter ? { ...(filter.from !== undefined ? { from: filter.from } : {}), ...(filter.to !== undefined ? { to: filter.to } : {}) } : null },
    notCompared: comparable.left,
    compared: { ...result.compared, source: schema.engine, warehouse: warehouse.label, table: target, recheckedKeys: differing(result).length, recheckQueries: rechecked.queries, ms: Date.now() - started },
    missing: { count: counts.missing, keys: missing.slice(0, REPORT_KEYS_MAX) },
    extra: { count: counts.extra, keys: extra.slice(0, REPORT_KEYS_MAX) },
    changed: { count: counts.changed, rows: changed.slice(0, REPORT_KEYS_MAX).map((c) => ({ key: c.key, columns: c.columns.map((d) => ({ column: d.column, source: d.a, warehouse: d.b })) })) },
    deleted: { count: deleted.length, keys: deleted, policy },
    duplicates: result.duplicates,
    notDivergences: { count: ignored.length, keys: ignored },
    zeroDatesAsNull: zeroDates,
    ...(input.sample ? { sample: input.sample } : {}),
    proof: {
      status: input.complete && !input.sample ? 'COMPLETE' : 'PARTIAL',
      allKeysListed: result.missingCount <= result.missing.length && result.extraCount <= result.extra.length && result.changedCount <= result.changed.length,
      ...(targetLoads !== undefined ? { targetLoads } : {}),
    },
  };
  const key = input.reportKey ?? windowReportKey(dataset.name, input.runId);
  await deps.objects.putJson(key, report);
  const keys = [...missing, ...extra, ...changed.map((c) => c.key), ...deleted, ...result.duplicates.map((d) => d.key)].slice(0, 5).map(keyText);
  deps.log?.info('content check of the run window', { status, rowsSource: result.compared.rowsA, rowsWarehouse: result.compared.rowsB, segmentQueries: result.compared.segmentQueries, ...counts, deleted: deleted.length, notDivergences: ignored.length });
  return { report, reportUri: `s3://${deps.objects.bucket}/${key}`, keys };
}

/** The failure sentence: counts, up to 5 keys, the report's URI, what to do. No values. */
export function windowFailureMessage(outcome: WindowCheckOutcome): string {
  const r = outcome.report;
  const parts = [
    r.missing.count && `${r.missing.count} missing in the warehouse`,
    r.extra.count && `${r.extra.count} extra in the warehouse`,
    r.changed.count && `${r.changed.count} changed (${[...new Set(r.changed.rows.flatMap((c) => c.columns.map((d) => d.column)))].slice(0, 5).join(', ')})`,
    r.deleted.count && `${r.deleted.count} deleted at the source`,
    r.duplicates.length && `${r.duplicates.length} duplicated keys`,
  ].filter(Boolean);
  return `dataset '${r.dataset}': the content check of run ${r.runId}'s window found ${parts.join(', ')} (keys ${schemaKeyList(outcome.keys)}); the watermark was not moved. See ${outcome.reportUri}; fix the target or the source, then run again`;
}

function schemaKeyList(keys: readonly string[]): string {
  return keys.map((k) => `(${k})`).join(', ');
}
