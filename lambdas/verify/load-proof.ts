import { z } from 'zod';
import { INTERNAL_PREFIX, requireDataset, type DatasetConfig } from '../core/config';
import { duplicateKeysQuery, duplicateKeysRepair } from '../core/duplicate-keys';
import { TerminalError } from '../core/errors';
import { AUDIT_FILES_TABLE, AUDIT_LOADS_TABLE, AUDIT_SCHEMA, pinnedCopyKey } from '../core/load-plan';
import { keyInBucket } from '../core/s3-uri';
import { inListStatements, qualifiedName, quoteIdent, quoteLiteral, statementBytes } from '../core/sql';
import { loadableDataset } from '../core/source-schema';
import type { Row, Warehouse } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';
import { judgeLoad, warningLine, worstStatus, type LoadEvidence, type Verdict, type VerificationStatus } from '../core/verification';
import type { LoadResultDocument } from '../core/documents';

export const verifyInputSchema = z.object({
  runId: z.string().min(1),
  dataset: z.string().min(1),
  loadId: z.string().min(1),
  loadUri: z.string().startsWith('s3://'),
  hasMore: z.boolean(),
});
export type VerifyInput = z.input<typeof verifyInputSchema>;

/** The JSON report stored in S3: the verdict and the evidence behind it. */
export interface LoadReport {
  readonly runId: string;
  readonly dataset: string;
  readonly loadId: string;
  readonly status: VerificationStatus;
  readonly verifiedAt: string;
  readonly evidence: LoadEvidence;
  readonly findings: Verdict['findings'];
  readonly duplicateKeys: number;
  /** With duplicate keys: which keys, and the SQL that repairs them. */
  readonly repair?: string;
  readonly summary: string;
}

export interface VerifyOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly status: VerificationStatus;
  readonly reportUri: string;
  readonly hasMore: boolean;
}

/** A load of at most this many rows is counted for its own keys (read from its files), not over the whole target. */
export const LOADED_KEYS_MAX_ROWS = 5_000;
/** The scoped count's SQL stays well under the Data API's 100 KB statement limit, or the whole target is counted. */
const LOADED_KEYS_MAX_SQL = 64 * 1024;
/** Key types whose values the Parquet reader gives as text Redshift casts back exactly. */
const LITERAL_KEY_TYPE = /^(?:SMALLINT|INT2|INTEGER|INT|INT4|BIGINT|INT8|DECIMAL|NUMERIC|(?:VAR)?CHAR|CHARACTER(?:\s+VARYING)?|NVARCHAR|NCHAR|TEXT|BPCHAR|DATE|BOOLEAN|BOOL)\b/i;

/**
 * An upsert load of few rows (at most LOADED_KEYS_MAX_ROWS): the target's rows and distinct keys
 * among the keys its files hold, read back from the files, so an incremental run's proof costs what
 * it loaded, not the table's size (a whole-table COUNT(DISTINCT) on every run). Each key must be in
 * the target exactly once. Undefined, and the whole target is counted, for a larger load, a key
 * that is NULL or of a type not written back as a literal exactly, a file that cannot be read, or
 * a statement that would be too long.
 */
async function loadedKeyCounts(dataset: DatasetConfig, load: LoadResultDocument, target: string, wh: Warehouse, files: StageDeps['files']): Promise<{ counts: Row; keys: number } | undefined> {
  const rows = load.loaded.reduce((n, f) => n + f.fileRows, 0);
  const columns = dataset.columns;
  if (!files.columnValues || !columns || rows > LOADED_KEYS_MAX_ROWS || load.loaded.length === 0) return undefined;
  const positions = dataset.keyColumns.map((k) => columns.findIndex((c) => c.name === k));
  if (positions.some((p) => p < 0 || !LITERAL_KEY_TYPE.test(columns[p]!.type))) return undefined;
  const keys = new Map<string, string[]>();
  try {
    for (const f of load.loaded) {
      for (const row of await files.columnValues(f.key, f.etag, positions)) {
        const literals: string[] = [];
        for (const [i, v] of row.entries()) {
          if (v === null || v instanceof Uint8Array) return undefined;
          literals.push(`CAST(${quoteLiteral(String(v))} AS ${columns[positions[i]!]!.type})`);
        }
        keys.set(literals.join('\u0000'), literals);
      }
    }
  } catch {
    return undefined;
  }
  const names = dataset.keyColumns.map(quoteIdent);
  const predicate =
    names.length === 1
      ? `${names[0]!} IN (${[...keys.values()].map((l) => l[0]!).join(', ')})`
      : [...keys.values()].map((l) => `(${l.map((lit, i) => `${names[i]!} = ${lit}`).join(' AND ')})`).join(' OR ');
  const sql = `SELECT COALESCE(SUM(n), 0) AS total, COUNT(*) AS distinct_keys FROM (SELECT COUNT(*) AS n FROM ${target} WHERE ${predicate} GROUP BY ${names.join(', ')}) k`;
  if (statementBytes(sql) > LOADED_KEYS_MAX_SQL) return undefined;
  const [counts] = await wh.query(sql);
  return { counts: counts ?? { total: 0, distinct_keys: 0 }, keys: keys.size };
}

/** Thrown after the report is stored when the evidence disagrees: the execution must fail. */
export class VerificationFailedError extends TerminalError {
  override readonly name = 'VerificationFailedError';
}

/**
 * Proves one load by reading it back: each file's footer row count against the warehouse's count
 * of it, that no object version is held by more than one committed load (I1), each attempt's staged
 * rows against its files' footers, and the target: distinct keys (upsert), or every audited row and
 * no other (append). Stores the
 * report in S3, folds the verdict into the run record, and fails when the evidence disagrees.
 */
export async function runVerify(raw: VerifyInput, deps: StageDeps): Promise<VerifyOutput> {
  const input = verifyInputSchema.parse(raw);
  const dataset = await loadableDataset(requireDataset(deps.config, input.dataset), deps.objects);
  const load = (await deps.objects.getJson(keyInBucket(input.loadUri, deps.objects.bucket))) as LoadResultDocument;
  const wh = await deps.warehouse();

  const auditFiles = qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE);
  const auditLoads = qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE);
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  // Per object version, across every load: the warehouse's rows, and how many committed loads hold it (I1).
  const audit = new Map<string, { rows: number | null; loads: number; loadIds: string[] }>();
  const keys = [...new Set(load.loaded.map((f) => f.key))];
  for (const sql of inListStatements(keys.map(quoteLiteral), (list) => `SELECT object_key, etag, load_id, "rows" FROM ${auditFiles} WHERE object_key IN (${list})`)) {
    for (const r of await wh.query(sql)) {
      const id = `${String(r.object_key)}\u0000${String(r.etag)}`;
      const a = audit.get(id) ?? { rows: null, loads: 0, loadIds: [] };
      audit.set(id, { rows: r.rows === null ? a.rows : Number(r.rows), loads: a.loads + 1, loadIds: [...a.loadIds, String(r.load_id)] });
    }
  }
  // After commit, the load views tell what each committed COPY read, by its query id: the rows of
  // each file (where the transaction could not count them itself, "rows" is NULL) and, on
  // Serverless, the ETag it read. A file is named by its pinned copy (pinnedCopyKey), or by its own
  // key for a load from before pinning. The pinned copy's ETag (a HEAD) must be the one read (I5).
  const read = new Map<string, { viewEtag: string; pinnedEtag: string }>();
  const loadedBy = [...new Set(load.loaded.map((f) => f.loadedBy))];
  if (loadedBy.length > 0) {
    const provisioned = deps.loadViews === 'provisioned';
    const [view, query, name] = provisioned ? ['stl_load_commits', 'query', 'filename'] : ['sys_load_detail', 'query_id', 'file_name'];
    const etag = provisioned ? 'CAST(NULL AS VARCHAR(256))' : `MAX(REPLACE(TRIM(d.file_etag), '"', ''))`;
    const lines: Row[] = [];
    for (const sql of inListStatements(
      loadedBy.map(quoteLiteral),
      (list) =>
        `SELECT TRIM(d.${name}) AS file_name, SUM(d.lines_scanned) AS lines, ${etag} AS file_etag FROM ${auditLoads} l JOIN ${view} d ON d.${query} = l.copy_query_id ` +
        `WHERE l.load_id IN (${list}) GROUP BY TRIM(d.${name})`,
    )) {
      lines.push(...(await wh.query(sql)));
    }
    const byUri = new Map(lines.map((r) => [String(r.file_name), { lines: Number(r.lines), etag: r.file_etag === null ? undefined : String(r.file_etag) }]));
    const uri = (key: string) => `s3://${deps.objects.bucket}/${key}`;
    await Promise.all(
      load.loaded.map(async (f) => {
        const id = `${f.key}\u0000${f.etag}`;
        const pinned = pinnedCopyKey(INTERNAL_PREFIX, dataset.name, f.loadedBy, f.key, f.etag);
        const viewed = byUri.get(uri(pinned)) ?? byUri.get(uri(f.key));
        const a = audit.get(id);
        if (a && a.rows === null && viewed) audit.set(id, { ...a, rows: viewed.lines });
        if (viewed?.etag === undefined || !byUri.has(uri(pinned))) return;
        const copy = await deps.objects.head(pinned);
        if (copy) read.set(id, { viewEtag: viewed.etag, pinnedEtag: copy.etag });
      }),
    );
  }
  // Each load attempt that holds a file of this batch: its staged rows against its files' footers.
  const attempts = [...new Set(load.loaded.map((f) => f.loadedBy))];
  const attemptTotals: Row[] = [];
  for (const sql of inListStatements(
    attempts.map(quoteLiteral),
    (list) =>
      `SELECT l.load_id, l."rows" AS staged, SUM(f.file_rows) AS declared FROM ${auditLoads} l JOIN ${auditFiles} f ON f.load_id = l.load_id ` +
      `WHERE l.load_id IN (${list}) GROUP BY l.load_id, l."rows"`,
  )) {
    attemptTotals.push(...(await wh.query(sql)));
  }
  const keyList = dataset.keyColumns.map(quoteIdent).join(', ');
  const onlyKey = dataset.keyColumns.length === 1 ? quoteIdent(dataset.keyColumns[0]!) : undefined;
  const scoped = dataset.loadMode === 'upsert' && !load.replace ? await loadedKeyCounts(dataset, load, target, wh, deps.files) : undefined;
  const counts = scoped ? [scoped.counts] : await wh.query(
    dataset.loadMode === 'upsert'
      ? onlyKey
        ? // One scan of the whole target; a NULL key counts as one more distinct key, as SELECT DISTINCT counts it.
          `SELECT COUNT(*) AS total, COUNT(DISTINCT ${onlyKey}) + COALESCE(MAX(CASE WHEN ${onlyKey} IS NULL THEN 1 ELSE 0 END), 0) AS distinct_keys FROM ${target}`
        : `SELECT (SELECT COUNT(*) FROM ${target}) AS total, (SELECT COUNT(*) FROM (SELECT DISTINCT ${keyList} FROM ${target}) d) AS distinct_keys`
      : `SELECT (SELECT COUNT(*) FROM ${target}) AS total, (SELECT COALESCE(SUM(COALESCE(f."rows", f.file_rows)), 0) FROM ${auditFiles} f JOIN ${auditLoads} l ON l.load_id = f.load_id ` +
          `WHERE l.dataset = ${quoteLiteral(dataset.name)} AND l.status = 'committed') AS audited_rows`,
  );
  const evidence: LoadEvidence = {
    loadId: input.loadId,
    files: load.loaded.map((f) => {
      const a = audit.get(`${f.key}\u0000${f.etag}`);
      const r = read.get(`${f.key}\u0000${f.etag}`);
      return { key: f.key, etag: f.etag, fileRows: f.fileRows, auditRows: a?.rows ?? undefined, ...(r ? { read: r } : {}), committedLoads: a?.loads ?? 0, loadIds: a?.loadIds ?? [] };
    }),
    quarantined: load.quarantined,
    attempts: attemptTotals.map((r) => ({ loadId: String(r.load_id), stagedRows: Number(r.staged), declaredRows: Number(r.declared) })),
    targetRows: Number(counts[0]?.total ?? 0),
    targetDistinctKeys: dataset.loadMode === 'upsert' ? Number(counts[0]?.distinct_keys ?? 0) : undefined,
    ...(scoped ? { loadedKeys: scoped.keys } : {}),
    auditedRows: dataset.loadMode === 'append' ? Number(counts[0]?.audited_rows ?? 0) : undefined,
    ...(load.replace ? { replacedRows: load.loaded.reduce((n, f) => n + f.fileRows, 0) } : {}),
    leftToOtherLoads: load.skipped.map((f) => ({ key: f.key, etag: f.etag, heldBy: f.heldBy })),
    retryable: load.retryable.length,
  };
  const verdict = judgeLoad(evidence);
  // Duplicate keys: which ones, and the SQL that repairs them (lambdas/core/duplicate-keys.ts).
  let repair: string | undefined;
  if (verdict.duplicateKeys > 0) {
    const sample = await wh.query(duplicateKeysQuery(dataset));
    const columns = dataset.columns?.map((c) => c.name) ??
      (await wh.query('SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position', { schema: dataset.target.schema, table: dataset.target.table })).map((r) => String(r.column_name));
    repair = duplicateKeysRepair(dataset, sample, columns);
  }
  const fileTotal = evidence.files.reduce((s, f) => s + f.fileRows, 0);
  const summary =
    `${dataset.name} load ${input.loadId}: ${verdict.status} — ${evidence.files.length} files (${fileTotal} rows) loaded, ` +
    `${evidence.quarantined.length} quarantined` +
    (evidence.leftToOtherLoads.length > 0 ? `, ${evidence.leftToOtherLoads.length} left to another live load (its own run proves them)` : '') +
    (evidence.loadedKeys === undefined
      ? `; target ${evidence.targetRows} rows, ${verdict.duplicateKeys} duplicate keys`
      : `; target ${evidence.targetRows} rows for its ${evidence.loadedKeys} keys, ${verdict.duplicateKeys} duplicate keys`);
  const now = deps.clock.now().toISOString();
  const report: LoadReport = {
    runId: input.runId,
    dataset: dataset.name,
    loadId: input.loadId,
    status: verdict.status,
    verifiedAt: now,
    evidence,
    findings: verdict.findings,
    duplicateKeys: verdict.duplicateKeys,
    ...(repair ? { repair } : {}),
    summary,
  };
  const key = `${INTERNAL_PREFIX}reports/${dataset.name}/${input.runId}/${input.loadId}.json`;
  await deps.objects.putJson(key, report);
  const reportUri = `s3://${deps.objects.bucket}/${key}`;

  const run = await deps.runs.get(input.runId);
  const previous = run?.status === 'PASSED' || run?.status === 'PASSED_WITH_WARNINGS' || run?.status === 'FAILED' ? run.status : 'PASSED';
  const status = worstStatus(previous, verdict.status);
  // Warnings travel with the run record (a few; the report holds every finding), so the run says why it warned.
  const warnings = verdict.findings.filter((f) => f.level === 'warning').map(warningLine);
  const recordedWarnings = warnings.length > 0 ? { warnings: warnings.slice(0, 20), ...(warnings.length > 20 ? { moreWarnings: warnings.length - 20 } : {}) } : {};
  await deps.runs.update(input.runId, { stage: `verify_${input.loadId}`, output: { status: verdict.status, reportUri, ...recordedWarnings }, status, reportUri }, now);
  deps.log.info('verified', { status: verdict.status, reportUri, summary });
  if (verdict.status === 'FAILED') {
    throw new VerificationFailedError(
      `${summary}. ${verdict.findings.filter((f) => f.level === 'error').map((f) => f.message).join('; ')}. ${repair ? `${repair}. ` : ''}Report: ${reportUri}`,
    );
  }
  return { runId: input.runId, dataset: dataset.name, status: verdict.status, reportUri, hasMore: input.hasMore };
}
