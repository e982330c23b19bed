import { z } from 'zod';
import { INTERNAL_PREFIX, requireDataset } from '../core/config';
import { TerminalError } from '../core/errors';
import { AUDIT_FILES_TABLE, AUDIT_LOADS_TABLE, AUDIT_SCHEMA } from '../core/load-plan';
import { keyInBucket } from '../core/s3-uri';
import { qualifiedName, quoteIdent, quoteLiteral } from '../core/sql';
import { loadableDataset } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import { judgeLoad, worstStatus, type LoadEvidence, type Verdict, type VerificationStatus } from '../core/verification';
import type { LoadResultDocument } from '../load/load';

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
  readonly summary: string;
}

export interface VerifyOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly status: VerificationStatus;
  readonly reportUri: string;
  readonly hasMore: boolean;
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
  for (let i = 0; i < keys.length; i += 200) {
    const list = keys.slice(i, i + 200).map(quoteLiteral).join(', ');
    for (const r of await wh.query(`SELECT object_key, etag, load_id, "rows" FROM ${auditFiles} WHERE object_key IN (${list})`)) {
      const id = `${String(r.object_key)}\u0000${String(r.etag)}`;
      const a = audit.get(id) ?? { rows: null, loads: 0, loadIds: [] };
      audit.set(id, { rows: r.rows === null ? a.rows : Number(r.rows), loads: a.loads + 1, loadIds: [...a.loadIds, String(r.load_id)] });
    }
  }
  // Where the load view did not answer inside the transaction (rows NULL), ask it now, after commit,
  // by the COPY's query id: the warehouse's own per-file count, summed over splits.
  const unreported = [...new Set(load.loaded.filter((f) => audit.get(`${f.key}\u0000${f.etag}`)?.rows === null).map((f) => f.loadedBy))];
  if (unreported.length > 0) {
    const [view, query, name] = deps.loadViews === 'provisioned' ? ['stl_load_commits', 'query', 'filename'] : ['sys_load_detail', 'query_id', 'file_name'];
    const lines = await wh.query(
      `SELECT TRIM(d.${name}) AS file_name, SUM(d.lines_scanned) AS lines FROM ${auditLoads} l JOIN ${view} d ON d.${query} = l.copy_query_id ` +
        `WHERE l.load_id IN (${unreported.map(quoteLiteral).join(', ')}) GROUP BY TRIM(d.${name})`,
    );
    const byUri = new Map(lines.map((r) => [String(r.file_name), Number(r.lines)]));
    for (const f of load.loaded) {
      const id = `${f.key}\u0000${f.etag}`;
      const a = audit.get(id);
      const n = byUri.get(`s3://${deps.objects.bucket}/${f.key}`);
      if (a && a.rows === null && n !== undefined) audit.set(id, { ...a, rows: n });
    }
  }
  // Each load attempt that holds a file of this batch: its staged rows against its files' footers.
  const attempts = [...new Set(load.loaded.map((f) => f.loadedBy))];
  const attemptTotals = attempts.length
    ? await wh.query(
        `SELECT l.load_id, l."rows" AS staged, SUM(f.file_rows) AS declared FROM ${auditLoads} l JOIN ${auditFiles} f ON f.load_id = l.load_id ` +
          `WHERE l.load_id IN (${attempts.map(quoteLiteral).join(', ')}) GROUP BY l.load_id, l."rows"`,
      )
    : [];
  const keyList = dataset.keyColumns.map(quoteIdent).join(', ');
  const onlyKey = dataset.keyColumns.length === 1 ? quoteIdent(dataset.keyColumns[0]!) : undefined;
  const counts = await wh.query(
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
      return { key: f.key, etag: f.etag, fileRows: f.fileRows, auditRows: a?.rows ?? undefined, committedLoads: a?.loads ?? 0, loadIds: a?.loadIds ?? [] };
    }),
    quarantined: load.quarantined,
    attempts: attemptTotals.map((r) => ({ loadId: String(r.load_id), stagedRows: Number(r.staged), declaredRows: Number(r.declared) })),
    targetRows: Number(counts[0]?.total ?? 0),
    targetDistinctKeys: dataset.loadMode === 'upsert' ? Number(counts[0]?.distinct_keys ?? 0) : undefined,
    auditedRows: dataset.loadMode === 'append' ? Number(counts[0]?.audited_rows ?? 0) : undefined,
    ...(load.replace ? { replacedRows: load.loaded.reduce((n, f) => n + f.fileRows, 0) } : {}),
    notSettled: load.skipped.length,
    retryable: load.retryable.length,
  };
  const verdict = judgeLoad(evidence);
  const fileTotal = evidence.files.reduce((s, f) => s + f.fileRows, 0);
  const summary =
    `${dataset.name} load ${input.loadId}: ${verdict.status} — ${evidence.files.length} files (${fileTotal} rows) loaded, ` +
    `${evidence.quarantined.length} quarantined` +
    (evidence.notSettled > 0 ? `, ${evidence.notSettled} left to another live load (its own run proves them)` : '') +
    `; target ${evidence.targetRows} rows, ${verdict.duplicateKeys} duplicate keys`;
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
    summary,
  };
  const key = `${INTERNAL_PREFIX}reports/${dataset.name}/${input.runId}/${input.loadId}.json`;
  await deps.objects.putJson(key, report);
  const reportUri = `s3://${deps.objects.bucket}/${key}`;

  const run = await deps.runs.get(input.runId);
  const previous = run?.status === 'PASSED' || run?.status === 'PASSED_WITH_WARNINGS' || run?.status === 'FAILED' ? run.status : 'PASSED';
  const status = worstStatus(previous, verdict.status);
  await deps.runs.update(input.runId, { stage: `verify_${input.loadId}`, output: { status: verdict.status, reportUri }, status, reportUri }, now);
  deps.log.info('verified', { status: verdict.status, reportUri, summary });
  if (verdict.status === 'FAILED') {
    throw new VerificationFailedError(
      `${summary}. ${verdict.findings.filter((f) => f.level === 'error').map((f) => f.message).join('; ')}. Report: ${reportUri}`,
    );
  }
  return { runId: input.runId, dataset: dataset.name, status: verdict.status, reportUri, hasMore: input.hasMore };
}
