/**
 * The count tier of verification (DESIGN.md §8 tier 3): gathers the row-count chain of one
 * dataset — source, manifests, ledger, audit, target — judges it (lambdas/core/count-chain.ts),
 * stores the report in S3 and returns its verdict. Run by the VerifyStateMachine's CountChain
 * state and by `syncproof verify --tier counts`.
 */
import { z } from 'zod';
import { wasLoaded } from '../core/ledger-status';
import { INTERNAL_PREFIX, requireDataset, type DatasetConfig } from '../core/config';
import { chainStatus, hopLine, judgeDatabaseChain, judgeFileChain, type ChainHop, type ChainNode, type FileCountMismatch } from '../core/count-chain';
import { InvalidInputError } from '../core/errors';
import { extractionDocumentPrefix, extractionDocumentSchema, type ExtractionDocument } from '../core/extraction';
import { comparePositions, timeMicros, windowCountQuery, type Position } from '../core/keyset';
import { AUDIT_FILES_TABLE, AUDIT_LOADS_TABLE, AUDIT_SCHEMA } from '../core/load-plan';
import { readManifests } from '../core/manifests';
import type { Warehouse } from '../core/ports';
import { datasetWithSchema, readSchemaDocument, type SchemaDocument } from '../core/source-schema';
import { qualifiedName, quoteIdent, quoteLiteral } from '../core/sql';
import type { StageDeps } from '../core/stage-deps';
import type { VerificationStatus } from '../core/verification';

export const countChainInputSchema = z.object({
  runId: z.string().min(1),
  /** The execution input (`{"dataset": …, "tier"?: …}`) or the dataset's name. */
  input: z.unknown().optional(),
  dataset: z.string().min(1).optional(),
  /** Database datasets: a cursor value (only rows at or after it, and runs reaching past it); file datasets: an ISO time (loads committed at or after it). */
  since: z.string().min(1).optional(),
});
export type CountChainInput = z.input<typeof countChainInputSchema>;

/** One run's own counts (database datasets: one extraction; file datasets: the loads of one run). */
export interface RunCounts {
  readonly runId: string;
  readonly startedAt?: string;
  /** Database datasets: the run's keyset window (after `from`, cursor before `end`). */
  readonly window?: { readonly from?: { readonly cursor: string; readonly key: readonly string[] }; readonly end: string | null };
  /** Source rows in the run's window now (an update since moves a row out of it: at most the extracted rows). */
  readonly sourceRows?: number;
  readonly manifestRows?: number;
  readonly auditRows: number;
  readonly files: number;
  readonly status: 'PASSED' | 'FAILED';
  readonly problems: readonly string[];
}

/** The JSON report of the count tier, stored in S3. */
export interface CountChainReport {
  readonly tier: 'counts';
  readonly runId: string;
  readonly dataset: string;
  readonly status: VerificationStatus;
  readonly verifiedAt: string;
  readonly since?: string;
  readonly nodes: readonly ChainNode[];
  readonly hops: readonly ChainHop[];
  readonly runs: readonly RunCounts[];
  /** Runs in scope beyond MAX_RUNS, not counted one by one (the dataset's chain covers them). */
  readonly runsNotShown: number;
  /** Manifested files not loaded yet (a run in progress, extract-only): outside the chain's sums. */
  readonly notLoadedFiles: number;
  readonly summary: string;
}

export interface CountChainOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly status: VerificationStatus;
  readonly reportUri: string;
  /** One line per hop. */
  readonly hops: readonly string[];
}

/** Most runs counted one by one (newest first); each costs one source query. */
export const MAX_RUNS = 50;

/**
 * Rows behind the watermark: every row with a cursor at or before its position's (inclusive: the
 * run that set it read every row before its end bound), or strictly before it when that run stopped
 * at limit × maxChunks (rows of the position's own cursor value may still wait, as the commit stage counts them).
 */
interface Behind {
  readonly value: string;
  readonly inclusive: boolean;
}

interface AuditFile {
  readonly key: string;
  readonly etag: string;
  readonly rows: number;
  readonly runId: string;
  readonly loadedAt: string;
}

async function auditTablesExist(wh: Warehouse): Promise<boolean> {
  const rows = await wh.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = :schema AND table_name = :table', { schema: AUDIT_SCHEMA, table: AUDIT_FILES_TABLE });
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Committed audit rows of the dataset: per loaded object version, the rows the warehouse counted (the footer's where the load view gave none). */
async function auditFiles(wh: Warehouse, dataset: string): Promise<AuditFile[]> {
  if (!(await auditTablesExist(wh))) return [];
  const rows = await wh.query(
    `SELECT f.object_key, f.etag, COALESCE(f."rows", f.file_rows) AS n, l.run_id, CAST(l.loaded_at AS VARCHAR(32)) AS loaded_at FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} f ` +
      `JOIN ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} l ON l.load_id = f.load_id WHERE l.dataset = ${quoteLiteral(dataset)} AND l.status = 'committed'`,
  );
  return rows.map((r) => ({ key: String(r.object_key), etag: String(r.etag), rows: Number(r.n), runId: String(r.run_id), loadedAt: String(r.loaded_at) }));
}

/**
 * Rows and distinct keys of the target, and (database datasets) rows behind the watermark — cursor
 * before `behind.value`, or at or before it when `behind.inclusive` — each at or after `since` when given.
 */
async function targetCounts(wh: Warehouse, dataset: DatasetConfig, cursor?: { name: string; type: string; since?: string; behind?: Behind }): Promise<{ rows: number; keys: number; window?: number }> {
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  const exists = await wh.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = :schema AND table_name = :table', { schema: dataset.target.schema, table: dataset.target.table });
  if (Number(exists[0]?.n ?? 0) === 0) return { rows: 0, keys: 0, ...(cursor?.behind !== undefined ? { window: 0 } : {}) };
  const bound = (op: string, v: string) => `${quoteIdent(cursor!.name)} ${op} CAST(${quoteLiteral(v)} AS ${cursor!.type})`;
  const since = cursor?.since !== undefined ? ` WHERE ${bound('>=', cursor.since)}` : '';
  const keys = dataset.keyColumns.length > 0 ? dataset.keyColumns.map(quoteIdent).join(', ') : undefined;
  const [c] = await wh.query(
    `SELECT (SELECT COUNT(*) FROM ${target}${since}) AS total, ` +
      (keys ? `(SELECT COUNT(*) FROM (SELECT DISTINCT ${keys} FROM ${target}${since}) d) AS distinct_keys` : '0 AS distinct_keys') +
      (cursor?.behind !== undefined ? `, (SELECT COUNT(*) FROM ${target} WHERE ${since ? `${bound('>=', cursor.since!)} AND ` : ''}${bound(cursor.behind.inclusive ? '<=' : '<', cursor.behind.value)}) AS window_rows` : ''),
  );
  return { rows: Number(c?.total ?? 0), keys: keys ? Number(c?.distinct_keys ?? 0) : Number(c?.total ?? 0), ...(cursor?.behind !== undefined ? { window: Number(c?.window_rows ?? 0) } : {}) };
}

/** Manifest rows by key (the last manifest listing a key wins), only entries that state rows. */
async function manifestRows(deps: StageDeps, dataset: DatasetConfig): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  for await (const { manifest } of readManifests(deps.objects, dataset)) for (const f of manifest.files) if (f.rows !== undefined) rows.set(f.key, f.rows);
  return rows;
}

function cursorAfter(schema: SchemaDocument, a: string, b: string): boolean {
  return schema.cursorKind === 'time' ? timeMicros(a) > timeMicros(b) : BigInt(a) > BigInt(b);
}

async function extractionDocuments(deps: StageDeps, dataset: string): Promise<ExtractionDocument[]> {
  const docs: ExtractionDocument[] = [];
  for await (const o of deps.objects.list(extractionDocumentPrefix(dataset))) {
    if (o.key.endsWith('.json')) docs.push(extractionDocumentSchema.parse(await deps.objects.getJson(o.key)));
  }
  return docs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

const n = (x: number) => x.toLocaleString('en-US');

/** A database dataset's chain (see judgeDatabaseChain) and its runs. */
async function databaseChain(dataset: DatasetConfig, since: string | undefined, deps: StageDeps, wh: Warehouse) {
  const schema = await readSchemaDocument(deps.objects, dataset.name);
  if (!schema) throw new InvalidInputError(`dataset '${dataset.name}' has not been extracted yet (no schema document): run syncproof sync ${dataset.name} first`);
  if (!deps.sources) throw new InvalidInputError(`dataset '${dataset.name}' has a source, but this stage cannot open source databases`);
  const loadable = datasetWithSchema(dataset, schema);
  const cursorColumn = schema.columns.find((c) => c.source === schema.cursorColumn)!;
  if (since !== undefined && !(schema.cursorKind === 'integer' ? /^-?\d+$/.test(since) : !Number.isNaN(Number(timeMicros(since))))) {
    throw new InvalidInputError(`--since '${since}' is not a value of the cursor column '${schema.cursorColumn}' (${schema.cursorKind === 'integer' ? 'a whole number' : "a time such as '2024-03-01 10:00:00'"})`);
  }
  const watermark = await deps.watermarks?.get(dataset.name);
  const behind: Behind | undefined = watermark?.position ? { value: watermark.position.cursor, inclusive: !watermark.lastRun?.extraction.hasMore } : undefined;
  const docs = (await extractionDocuments(deps, dataset.name)).filter((d) => since === undefined || d.end === null || cursorAfter(schema, d.end, since));
  const docFiles = new Set(docs.flatMap((d) => d.files.map((f) => f.key)));
  const audit = await auditFiles(wh, dataset.name);
  const auditByKey = new Map<string, AuditFile[]>();
  for (const a of audit) auditByKey.set(a.key, [...(auditByKey.get(a.key) ?? []), a]);
  const manifests = await manifestRows(deps, dataset);
  const loaded = new Map<string, boolean>();
  for await (const e of deps.ledger.listDataset(dataset.name)) if (wasLoaded(e.status)) loaded.set(e.key, true);

  // Manifested files in scope: with --since, those of the runs reaching past it.
  let mRows = 0;
  let mFiles = 0;
  let aRows = 0;
  let aFiles = 0;
  let notLoaded = 0;
  const mismatches: FileCountMismatch[] = [];
  for (const [key, rows] of manifests) {
    if (since !== undefined && !docFiles.has(key)) continue;
    const audited = auditByKey.get(key) ?? [];
    if (audited.length === 0 && !loaded.has(key)) {
      notLoaded++;
      continue;
    }
    mRows += rows;
    mFiles++;
    const total = audited.reduce((s, a) => s + a.rows, 0);
    if (audited.length !== 1 || total !== rows) mismatches.push({ key, expected: rows, actual: audited.length === 0 ? null : total });
  }
  // The audit side on its own: every audited file in scope, and those no manifest lists.
  for (const [key, audited] of auditByKey) {
    if (since !== undefined && !docFiles.has(key)) continue;
    aRows += audited.reduce((s, a) => s + a.rows, 0);
    aFiles += audited.length;
    if (!manifests.has(key)) mismatches.push({ key, expected: null, actual: audited.reduce((s, a) => s + a.rows, 0) });
  }
  const db = await deps.sources(dataset);
  let source: { window?: number; total: number; runs: number[] };
  try {
    source = await db.snapshot(async (s) => {
      const count = async (q: { sql: string; params: unknown[] }) => Number((await s.query(q.sql, q.params as never))[0]?.[0] ?? 0);
      const total = await count(windowCountQuery(schema, { ...(since !== undefined ? { since } : {}) }));
      const window = behind === undefined ? undefined : await count(windowCountQuery(schema, { ...(since !== undefined ? { since } : {}), ...(behind.inclusive ? { through: behind.value } : { end: behind.value }) }));
      const runs: number[] = [];
      // A repair run's rows are keys, not a window: it is counted by its files alone.
      for (const d of docs.slice(0, MAX_RUNS)) runs.push(d.end === null || d.mode === 'repair' ? 0 : await count(windowCountQuery(schema, { ...(d.from ? { from: d.from } : {}), end: d.end })));
      return { window, total, runs };
    });
  } finally {
    await db.close();
  }
  const target = await targetCounts(wh, loadable, { name: cursorColumn.name, type: cursorColumn.type.redshift, ...(since !== undefined ? { since } : {}), ...(behind !== undefined ? { behind } : {}) });
  const chain = judgeDatabaseChain({
    loadMode: loadable.loadMode,
    sourceWindowRows: source.window,
    sourceTotalRows: source.total,
    manifestRows: mRows,
    manifestFiles: mFiles,
    auditRows: aRows,
    auditFiles: aFiles,
    manifestAuditMismatches: mismatches,
    targetRows: target.rows,
    targetDistinctKeys: target.keys,
    targetWindowRows: target.window,
  });
  // Rows repaired later (loaded repair runs) count in the window of the run they were late for.
  const repaired = docs.filter((d) => d.mode === 'repair' && d.files.every((f) => auditByKey.has(f.key) || loaded.has(f.key))).flatMap((d) => d.repaired ?? []);
  const inWindow = (d: (typeof docs)[number], p: Position) =>
    d.end !== null && (!d.from || comparePositions(schema.cursorKind, p, d.from) > 0) && comparePositions(schema.cursorKind, { cursor: p.cursor, key: [] }, { cursor: d.end, key: [] }) < 0;
  const runs: RunCounts[] = docs.slice(0, MAX_RUNS).map((d, i) => {
    const files = d.files.filter((f) => auditByKey.has(f.key) || loaded.has(f.key));
    const m = files.reduce((s, f) => s + (manifests.get(f.key) ?? f.rows), 0);
    const late = d.mode === 'repair' ? 0 : repaired.filter((p) => inWindow(d, p)).length;
    if (d.mode === 'repair') source.runs[i] = d.rows;
    const a = files.reduce((s, f) => s + (auditByKey.get(f.key) ?? []).reduce((t, x) => t + x.rows, 0), 0);
    const problems: string[] = [];
    if (source.runs[i]! > m + late && files.length === d.files.length) problems.push(`run ${d.runId}: source → manifests: ${n(source.runs[i]!)} source rows in its window, ${n(m)} in its manifests${late ? ` and ${n(late)} repaired since` : ''}`);
    if (m !== a) problems.push(`run ${d.runId}: manifests → audit: ${n(m)} in its manifests, ${n(a)} audited`);
    return { runId: d.runId, startedAt: d.startedAt, window: { ...(d.from ? { from: d.from } : {}), end: d.end }, sourceRows: source.runs[i]!, manifestRows: m, auditRows: a, files: files.length, status: problems.length ? 'FAILED' : 'PASSED', problems };
  });
  return { ...chain, runs, runsNotShown: Math.max(0, docs.length - MAX_RUNS), notLoaded };
}

/** A file dataset's chain (see judgeFileChain) and its runs. */
async function fileChain(dataset: DatasetConfig, since: string | undefined, deps: StageDeps, wh: Warehouse) {
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw new InvalidInputError(`--since '${since}' is not a time: for a file dataset give when loads committed from, e.g. '2024-03-01T00:00:00Z'`);
  const sinceMs = since === undefined ? undefined : Date.parse(since);
  const audit = (await auditFiles(wh, dataset.name)).filter((a) => sinceMs === undefined || Date.parse(`${a.loadedAt.replace(' ', 'T')}Z`) >= sinceMs);
  const auditById = new Map<string, AuditFile[]>();
  for (const a of audit) auditById.set(`${a.key}\u0000${a.etag}`, [...(auditById.get(`${a.key}\u0000${a.etag}`) ?? []), a]);
  const manifests = await manifestRows(deps, dataset);
  let lRows = 0;
  let lFiles = 0;
  let mRows = 0;
  let mFiles = 0;
  let notLoaded = 0;
  const manifestMismatches: FileCountMismatch[] = [];
  const ledgerMismatches: FileCountMismatch[] = [];
  const seen = new Set<string>();
  for await (const e of deps.ledger.listDataset(dataset.name)) {
    if (!wasLoaded(e.status)) continue;
    const id = `${e.key}\u0000${e.etag}`;
    const audited = auditById.get(id) ?? [];
    if (sinceMs !== undefined && audited.length === 0) continue;
    seen.add(id);
    lFiles++;
    const total = audited.reduce((s, a) => s + a.rows, 0);
    // Rows the load view did not report (null) are not a ledger count: the entry holds the audited
    // rows, as its per-file check below and the manifests hop take it.
    lRows += e.rows ?? total;
    if (audited.length !== 1 || (e.rows != null && e.rows !== total)) ledgerMismatches.push({ key: e.key, etag: e.etag, expected: e.rows ?? null, actual: audited.length === 0 ? null : total });
    const m = manifests.get(e.key);
    if (m !== undefined) {
      mRows += m;
      mFiles++;
      if (m !== (e.rows ?? total)) manifestMismatches.push({ key: e.key, etag: e.etag, expected: m, actual: e.rows ?? total });
    }
  }
  for (const [key] of manifests) if (!audit.some((a) => a.key === key) && sinceMs === undefined) notLoaded++;
  // Audited versions with no loaded ledger entry (I3 from the other side).
  for (const [id, list] of auditById) if (!seen.has(id)) ledgerMismatches.push({ key: list[0]!.key, etag: list[0]!.etag, expected: null, actual: list.reduce((s, a) => s + a.rows, 0) });
  const aRows = audit.reduce((s, a) => s + a.rows, 0);
  const target = await targetCounts(wh, dataset);
  const chain = judgeFileChain({
    loadMode: dataset.loadMode,
    manifestRows: manifests.size > 0 ? mRows : undefined,
    manifestFiles: mFiles,
    manifestLedgerMismatches: manifestMismatches,
    ledgerRows: lRows,
    ledgerFiles: lFiles,
    ledgerAuditMismatches: ledgerMismatches,
    auditRows: aRows,
    auditFiles: audit.length,
    targetRows: target.rows,
    targetDistinctKeys: target.keys,
  });
  const byRun = new Map<string, AuditFile[]>();
  for (const a of audit) byRun.set(a.runId, [...(byRun.get(a.runId) ?? []), a]);
  const runs: RunCounts[] = [...byRun].slice(-MAX_RUNS).map(([runId, files]) => ({ runId, auditRows: files.reduce((s, a) => s + a.rows, 0), files: files.length, status: 'PASSED', problems: [] }));
  return { ...chain, runs, runsNotShown: Math.max(0, byRun.size - MAX_RUNS), notLoaded: sinceMs === undefined ? notLoaded : 0 };
}

/** Where a count-chain report is stored. */
export function countChainReportKey(dataset: string, runId: string): string {
  return `${INTERNAL_PREFIX}reports/${dataset}/${runId}/count-chain.json`;
}

/**
 * Counts the dataset's rows at every hop, judges the chain, stores the report
 * (`_syncproof/reports/<dataset>/<runId>/count-chain.json`) and returns the verdict. A FAILED
 * chain is returned, not thrown: the VerifyStateMachine folds it into Record like the other tiers.
 */
export async function runCountChain(raw: CountChainInput, deps: StageDeps): Promise<CountChainOutput & { report: CountChainReport }> {
  const input = countChainInputSchema.parse(raw);
  const fromInput = (input.input ?? {}) as { dataset?: unknown; since?: unknown };
  const name = input.dataset ?? fromInput.dataset;
  if (typeof name !== 'string') throw new InvalidInputError('invalid execution input: dataset: required: the name of a configured dataset; start the execution with {"dataset": "<name>"}');
  const dataset = requireDataset(deps.config, name);
  const since = input.since ?? (typeof fromInput.since === 'string' ? fromInput.since : undefined);
  const wh = await deps.warehouse();
  const chain = dataset.source ? await databaseChain(dataset, since, deps, wh) : await fileChain(dataset, since, deps, wh);
  const runFailed = chain.runs.some((r) => r.status === 'FAILED');
  const status = runFailed ? 'FAILED' : chainStatus(chain.hops);
  const failedHops = chain.hops.filter((h) => h.status !== 'PASSED').map((h) => h.name);
  const summary = `${dataset.name} count chain: ${status}${failedHops.length ? ` at ${failedHops.join(', ')}` : ''}; ${chain.nodes.map((nd) => `${nd.name} ${n(nd.rows)}`).join(' → ')}`;
  const report: CountChainReport = {
    tier: 'counts',
    runId: input.runId,
    dataset: dataset.name,
    status,
    verifiedAt: deps.clock.now().toISOString(),
    ...(since !== undefined ? { since } : {}),
    nodes: chain.nodes,
    hops: chain.hops,
    runs: chain.runs,
    runsNotShown: chain.runsNotShown,
    notLoadedFiles: chain.notLoaded,
    summary,
  };
  const key = countChainReportKey(dataset.name, input.runId);
  await deps.objects.putJson(key, report);
  const reportUri = `s3://${deps.objects.bucket}/${key}`;
  deps.log.info('count chain', { status, reportUri, hops: failedHops });
  return { runId: input.runId, dataset: dataset.name, status, reportUri, hops: chain.hops.map(hopLine), report };
}
