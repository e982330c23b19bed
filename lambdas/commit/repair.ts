/**
 * The commit of a `repair` run (lambdas/core/repair.ts): proves the run's files loaded, then proves
 * the repair by content — the report's window (from its start to the watermark) compared again
 * source ↔ warehouse, with every difference re-read at the source — and passes only when none of
 * the keys the report asked to repair still differs. The watermark is never moved. A proven repair
 * is recorded under `_syncproof/repairs/`, so a second repair of the same report extracts nothing.
 */
import { openWarehouseSide } from '../adapters/content/warehouse-side';
import type { DatasetConfig } from '../core/config';
import { checkRunWindow, windowReportKey, type WindowCheckOutcome } from '../core/content/window-check';
import { TerminalError } from '../core/errors';
import type { ExtractionDocument } from '../core/extraction';
import { readRepairRequest, repairRecordKey, type RepairOutcome, type RepairRecord } from '../core/repair';
import type { SchemaDocument } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import type { CommitOutput } from './commit';
import { contentSummary } from './content-check';

/** A repaired key still differs after the load: the repair is not proven. */
export class RepairNotProvenError extends TerminalError {
  override readonly name = 'VerificationFailedError';
}

type Key = readonly (string | null)[];

export async function commitRepair(dataset: DatasetConfig, schema: SchemaDocument, doc: ExtractionDocument, loadedRows: number, deps: StageDeps): Promise<CommitOutput> {
  const repair = doc.repair!;
  const now = deps.clock.now().toISOString();
  const watermark = { version: doc.watermark.version, position: doc.watermark.position ?? null };
  // Rows it could not repair (gone from the source, NULL cursors, keys the report did not list) are warnings of the run.
  const warned = doc.warnings.length > 0 && !repair.alreadyRepairedBy;
  const warn = warned ? { status: 'PASSED_WITH_WARNINGS' as const } : {};
  if (doc.files.length === 0) {
    const note = repair.alreadyRepairedBy ? `report already repaired by run ${repair.alreadyRepairedBy}: nothing loaded` : 'nothing to repair behind the watermark: nothing loaded';
    const output: CommitOutput = { status: 'UNCHANGED', version: watermark.version, position: watermark.position, rows: 0, loadedRows: 0, note, repair };
    await deps.runs.update(doc.runId, { stage: 'commit', output, dataset: dataset.name, ...warn }, now);
    return output;
  }
  const request = await readRepairRequest(deps.objects, repair.reportUri, dataset.name);
  const to = doc.watermark.position;
  const from = request.window.whole ? undefined : (request.window.from ?? undefined);
  const outcome: WindowCheckOutcome = await checkRunWindow(
    { dataset, schema, runId: doc.runId, ...(from ? { from } : {}), ...(to ? { to } : { whole: true }), reportKey: windowReportKey(dataset.name, doc.runId) },
    { objects: deps.objects, clock: deps.clock, sources: deps.sources!, warehouseSide: async (table) => openWarehouseSide(await deps.warehouse(), table), log: deps.log },
  );
  const after = outcome.report;
  const differing = new Set([...after.missing.keys, ...after.changed.rows.map((c) => c.key)].map((k: Key) => JSON.stringify(k)));
  const still = request.keys.filter((k) => differing.has(JSON.stringify(k)));
  const unsure = !after.proof.allKeysListed && still.length === 0;
  const proven: RepairOutcome = { ...repair, proofUri: outcome.reportUri };
  const content = contentSummary(outcome);
  if (still.length > 0 || unsure) {
    const why = unsure
      ? `the comparison after the load found more differences than it lists, so the repaired keys could not all be checked`
      : `${still.length} of the ${request.keys.length} keys it repaired still differ (${still.slice(0, 5).map((k) => `(${k.map((v) => v ?? 'NULL').join(', ')})`).join(', ')})`;
    const message = `dataset '${dataset.name}': the repair of ${repair.reportUri} is not proven: ${why}; see ${outcome.reportUri}. The watermark was not moved; run syncproof verify ${dataset.name} --tier content and repair its report`;
    const output: CommitOutput = { status: 'UNCHANGED', version: watermark.version, position: watermark.position, rows: doc.rows, loadedRows, repair: proven, content };
    await deps.runs.update(doc.runId, { stage: 'commit', output, dataset: dataset.name, status: 'FAILED', reportUri: outcome.reportUri, error: `VerificationFailedError: ${message}` }, now);
    throw new RepairNotProvenError(message);
  }
  // None of the report's keys is among them: every one left is another difference.
  const remaining = after.missing.count + after.changed.count;
  const note =
    `repaired ${doc.rows} rows: none of the report's keys differs now` +
    (remaining > 0 ? `; ${remaining} other missing or changed keys the report did not list remain in the window: run syncproof verify ${dataset.name} --tier content and repair its report` : '');
  const record: RepairRecord = { reportUri: repair.reportUri, runId: doc.runId, repairedAt: now, keys: doc.rows };
  await deps.objects.putJson(repairRecordKey(dataset.name, repair.reportUri), record);
  const output: CommitOutput = { status: 'UNCHANGED', version: watermark.version, position: watermark.position, rows: doc.rows, loadedRows, note, repair: proven, content };
  await deps.runs.update(doc.runId, { stage: 'commit', output, dataset: dataset.name, ...(warned || remaining > 0 ? { status: 'PASSED_WITH_WARNINGS' as const } : {}) }, now);
  deps.log.info('repair proven', { rows: doc.rows, loadedRows, proofUri: outcome.reportUri });
  return output;
}
