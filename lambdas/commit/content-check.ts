/**
 * The commit's content gate (invariant I6): the run's window compared source ↔ warehouse by content
 * (lambdas/core/content/window-check.ts) before the watermark moves. PASSED: the commit output and
 * the run record say what was compared (counts, never values); FAILED: the run record is FAILED
 * with the report's URI and {@link ContentCheckFailedError} fails the execution.
 */
import { openWarehouseSide } from '../adapters/content/warehouse-side';
import type { DatasetConfig } from '../core/config';
import { checkRunWindow, windowFailureMessage, type WindowCheckOutcome } from '../core/content/window-check';
import { TerminalError, TransientError, describeError } from '../core/errors';
import type { ExtractionDocument } from '../core/extraction';
import type { SchemaDocument } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';

/** The run's window differs by content between the source and the warehouse: the watermark stays. */
export class ContentCheckFailedError extends TerminalError {
  override readonly name = 'VerificationFailedError';
}

/** What the content check compared, as the commit output and the run record carry it (counts only). */
export type ContentSummary = ContentCompared | ContentNotChecked;

/** The comparison could not run (`note` says why): the run passes with a warning. */
export interface ContentNotChecked {
  readonly status: 'NOT_CHECKED';
  readonly note: string;
}

export interface ContentCompared {
  readonly status: 'PASSED' | 'PASSED_WITH_WARNINGS' | 'FAILED';
  readonly reportUri: string;
  /** `whole table`, or the cursor bounds compared (inclusive). */
  readonly window: string;
  readonly columns: number;
  /** Columns left out (types without a common normalization, lossy mappings); named in the report. */
  readonly notCompared: number;
  readonly rowsSource: number;
  readonly rowsWarehouse: number;
  readonly segments: number;
  readonly segmentQueries: number;
  readonly fetchedRows: number;
  readonly recheckedKeys: number;
  readonly missing: number;
  readonly extra: number;
  readonly changed: number;
  readonly deleted: number;
  /** Differences the recheck showed to be rows written after the extraction (the next run brings them). */
  readonly notDivergences: number;
  readonly ms: number;
}

/** Whether a run's commit checks its window by content: a run that read the source and extracted rows. */
export function checksContent(doc: ExtractionDocument, deps: StageDeps): boolean {
  return doc.mode !== 'load-only' && doc.mode !== 'extract-only' && deps.sources !== undefined && (doc.files.length > 0 || doc.rows > 0);
}

/** What a window check compared, as the commit output and the run record carry it (counts only). */
export function contentSummary(outcome: WindowCheckOutcome): ContentCompared {
  const r = outcome.report;
  const f = r.window.filter;
  return {
    status: r.status,
    reportUri: outcome.reportUri,
    window: r.window.whole ? 'whole table' : `${r.window.cursorColumn} from ${f?.from ?? '(first row)'} to ${f?.to ?? '(last row)'}`,
    columns: r.compared.columns.length,
    notCompared: r.notCompared.length,
    rowsSource: r.compared.rowsA,
    rowsWarehouse: r.compared.rowsB,
    segments: r.compared.segments,
    segmentQueries: r.compared.segmentQueries,
    fetchedRows: r.compared.fetchedRows,
    recheckedKeys: r.compared.recheckedKeys,
    missing: r.missing.count,
    extra: r.extra.count,
    changed: r.changed.count,
    deleted: r.deleted.count,
    notDivergences: r.notDivergences.count,
    ms: r.compared.ms,
  };
}

/**
 * Checks the run's window (from the watermark the run read, exclusive, to its last row, inclusive;
 * a full run: the whole table). Returns the summary when it passed; when it failed, records the run
 * FAILED (stage `commit`, the summary, the report's URI) and throws {@link ContentCheckFailedError};
 * when the comparison could not run, status NOT_CHECKED with the reason.
 */
export async function checkContent(dataset: DatasetConfig, schema: SchemaDocument, doc: ExtractionDocument, deps: StageDeps): Promise<ContentSummary> {
  let outcome: WindowCheckOutcome;
  try {
    outcome = await runCheck(dataset, schema, doc, deps);
  } catch (error) {
    // A source or warehouse that cannot be reached is retried; a comparison query an engine
    // refuses (a value its normalization overflows) proves nothing either way: a warning of the run.
    if (error instanceof TransientError) throw error;
    const note = `the content check of the run window could not run: ${describeError(error)}`;
    deps.log.warn('content not checked', { reason: note });
    return { status: 'NOT_CHECKED', note };
  }
  const content = contentSummary(outcome);
  if (content.status !== 'FAILED') return content;
  const message = windowFailureMessage(outcome);
  await deps.runs.update(
    doc.runId,
    { stage: 'commit', output: { status: 'UNCHANGED', content }, dataset: dataset.name, status: 'FAILED', reportUri: outcome.reportUri, error: `VerificationFailedError: ${message}` },
    deps.clock.now().toISOString(),
  );
  deps.log.warn('watermark not moved: the content check failed', { reportUri: outcome.reportUri, missing: content.missing, extra: content.extra, changed: content.changed, deleted: content.deleted });
  throw new ContentCheckFailedError(message);
}

function runCheck(dataset: DatasetConfig, schema: SchemaDocument, doc: ExtractionDocument, deps: StageDeps): Promise<WindowCheckOutcome> {
  return checkRunWindow(
    {
      dataset,
      schema,
      runId: doc.runId,
      ...(doc.mode === 'full' ? { whole: true } : doc.watermark.position ? { from: doc.watermark.position } : {}),
      ...(doc.last ? { to: doc.last } : {}),
    },
    {
      objects: deps.objects,
      clock: deps.clock,
      sources: deps.sources!,
      warehouseSide: async (table) => openWarehouseSide(await deps.warehouse(), table),
      log: deps.log,
    },
  );
}
