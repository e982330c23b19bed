import { z } from 'zod';
import { INTERNAL_PREFIX, requireDataset } from '../core/config';
import { TerminalError } from '../core/errors';
import { AUDIT_FILES_TABLE, AUDIT_LOADS_TABLE, AUDIT_SCHEMA } from '../core/load-plan';
import { keyInBucket } from '../core/s3-uri';
import { qualifiedName, quoteIdent } from '../core/sql';
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
 * Proves one load by reading it back: each file's footer row count against the warehouse's audit
 * row for it, the load's audit total, and the target's row and distinct-key counts. Stores the
 * report in S3, folds the verdict into the run record, and fails when the evidence disagrees.
 */
export async function runVerify(raw: VerifyInput, deps: StageDeps): Promise<VerifyOutput> {
  const input = verifyInputSchema.parse(raw);
  const dataset = requireDataset(deps.config, input.dataset);
  const load = (await deps.objects.getJson(keyInBucket(input.loadUri, deps.objects.bucket))) as LoadResultDocument;
  const wh = await deps.warehouse();

  const fileRows = await wh.query(
    `SELECT object_key, etag, "rows" FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} WHERE load_id = :loadId`,
    { loadId: input.loadId },
  );
  const audit = new Map(fileRows.map((r) => [`${String(r.object_key)}\u0000${String(r.etag)}`, Number(r.rows)]));
  const totals = await wh.query(`SELECT "rows" FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} WHERE load_id = :loadId`, {
    loadId: input.loadId,
  });
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  const keys = dataset.keyColumns.map(quoteIdent).join(', ');
  const counts = await wh.query(
    dataset.loadMode === 'upsert'
      ? `SELECT (SELECT COUNT(*) FROM ${target}) AS total, (SELECT COUNT(*) FROM (SELECT DISTINCT ${keys} FROM ${target}) d) AS distinct_keys`
      : `SELECT COUNT(*) AS total FROM ${target}`,
  );
  const evidence: LoadEvidence = {
    loadId: input.loadId,
    files: load.loaded.map((f) => ({ key: f.key, etag: f.etag, fileRows: f.fileRows, auditRows: audit.get(`${f.key}\u0000${f.etag}`) })),
    quarantined: load.quarantined,
    auditTotalRows: totals.length ? Number(totals[0]?.rows) : undefined,
    targetRows: Number(counts[0]?.total ?? 0),
    targetDistinctKeys: dataset.loadMode === 'upsert' ? Number(counts[0]?.distinct_keys ?? 0) : undefined,
  };
  const verdict = judgeLoad(evidence);
  const fileTotal = evidence.files.reduce((s, f) => s + f.fileRows, 0);
  const summary =
    `${dataset.name} load ${input.loadId}: ${verdict.status} — ${evidence.files.length} files (${fileTotal} rows) loaded, ` +
    `${evidence.quarantined.length} quarantined; target ${evidence.targetRows} rows, ${verdict.duplicateKeys} duplicate keys`;
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
