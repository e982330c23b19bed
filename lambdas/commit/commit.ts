import { z } from 'zod';
import { wasLoaded } from '../core/ledger-status';
import { requireDataset, type DatasetConfig } from '../core/config';
import { ConfigurationError, TerminalError } from '../core/errors';
import { extractionDocumentKey, extractionDocumentSchema, type ExtractionDocument } from '../core/extraction';
import { comparePositions, countThroughQuery, keyEncodings, type Position } from '../core/keyset';
import { schemaDocumentKey, schemaDocumentSchema, type SchemaDocument } from '../core/source-schema';
import { qualifiedName, quoteIdent, quoteLiteral } from '../core/sql';
import type { StageDeps } from '../core/stage-deps';
import type { WatermarkRecord, WatermarkRun } from '../core/watermark';
import type { RepairOutcome } from '../core/repair';
import { checkContent, checksContent, type ContentSummary } from './content-check';
import { commitRepair } from './repair';

export const commitInputSchema = z.object({ runId: z.string().min(1), dataset: z.string().min(1) });
export type CommitInput = z.input<typeof commitInputSchema>;

export type CommitOutput =
  | { readonly status: 'SKIPPED' }
  | {
      readonly status: 'MOVED' | 'UNCHANGED';
      readonly version: number;
      readonly position: Position | null;
      readonly rows: number;
      readonly loadedRows: number;
      readonly note?: string;
      /** What the content check of the run's window compared (absent: the run was not checked). */
      readonly content?: ContentSummary;
      /** A `repair` run: what its report asked, what it extracted, where its proof is. */
      readonly repair?: RepairOutcome;
    };

/** The run's files are not all proven loaded: the watermark stays where it was. */
export class WatermarkNotProvenError extends TerminalError {
  override readonly name = 'VerificationFailedError';
}

/** The source holds rows behind the watermark that the warehouse lacks (committed late, outside `lag`). */
export class RowsBehindWatermarkError extends TerminalError {
  override readonly name = 'VerificationFailedError';
}

function behindMessage(dataset: string, cursor: string, before: string, n: number): string {
  return `dataset '${dataset}': at least ${n} source rows with ${cursor} < '${before}' (behind the watermark) are not in the warehouse: they were committed after a run had read past their cursor, later than source.lag allows; raise source.lag or source.lookback, and reset the watermark (syncproof watermark reset ${dataset}) to extract them`;
}

/**
 * Rows behind the previous watermark that the source has and the warehouse lacks, at least:
 * count(source rows with cursor < W) − count(target rows with cursor < W). Every source row behind
 * W was loaded by an earlier run with that cursor, and a row updated since has a newer cursor on
 * both sides once its run ended, so without late rows the source's count never exceeds the
 * warehouse's (deletes and rows updated after this run's end only lower the source's side).
 */
async function rowsMissingBehind(dataset: DatasetConfig, schema: SchemaDocument, before: string, deps: StageDeps): Promise<number> {
  if (!deps.sources) return 0;
  const query = countThroughQuery(schema, before);
  const cursor = schema.columns.find((c) => c.source === schema.cursorColumn)!;
  // The two counts are independent (each side's rows behind W): asked at once.
  const [sourceRows, warehouseRows] = await Promise.all([
    (async () => {
      const db = await deps.sources!(dataset);
      try {
        return await db.snapshot(async (s) => Number((await s.query(query.sql, query.params))[0]?.[0] ?? 0));
      } finally {
        await db.close();
      }
    })(),
    (async () => {
      const rows = await (await deps.warehouse()).query(
        `SELECT COUNT(*) AS n FROM ${qualifiedName(dataset.target.schema, dataset.target.table)} WHERE ${quoteIdent(cursor.name)} < CAST(${quoteLiteral(before)} AS ${cursor.type.redshift})`,
      );
      return Number(rows[0]?.n ?? 0);
    })(),
  ]);
  return Math.max(0, sourceRows - warehouseRows);
}

/** How often the commit re-reads a watermark another run moved meanwhile. */
const MAX_RACES = 5;

/**
 * Moves a dataset's watermark to the last row its run extracted — only once that run is proven in
 * the warehouse (invariant I6): every file the run's extraction wrote is `loaded` in the ledger,
 * with the rows the warehouse counted equal to the rows written. Runs after Verify passed every
 * batch. The write is conditional on the version the run read at its start; when another run moved
 * the watermark meanwhile, this one moves it further only if it is ahead, and never backwards.
 * The record holds this run's counts only (absolute, never accumulated).
 */
export async function runCommit(raw: CommitInput, deps: StageDeps): Promise<CommitOutput> {
  const input = commitInputSchema.parse(raw);
  const dataset = requireDataset(deps.config, input.dataset);
  if (!dataset.source) return { status: 'SKIPPED' };
  if (!deps.watermarks) throw new ConfigurationError('the commit stage has no watermark store configured; redeploy the stack');
  const docKey = extractionDocumentKey(dataset.name, input.runId);
  const doc = extractionDocumentSchema.parse(await deps.objects.getJson(docKey));
  const schema = schemaDocumentSchema.parse(await deps.objects.getJson(schemaDocumentKey(dataset.name)));
  if (doc.mode === 'extract-only') return commitExtracted(doc, schema, input.runId, deps);
  const loadedRows = await proveLoaded(doc, deps);
  if (doc.mode === 'repair') return commitRepair(dataset, schema, doc, loadedRows, deps);
  // A full run replaced the target with the whole table; a load-only run does not read the source.
  const checksBehind = doc.mode !== 'full' && doc.mode !== 'load-only';
  const behind = checksBehind && doc.watermark.position ? await rowsMissingBehind(dataset, schema, doc.watermark.position.cursor, deps) : 0;
  // The run's window proven by content before the watermark moves (I6); a failure throws here.
  const content = checksContent(doc, deps) ? await checkContent(dataset, schema, doc, deps) : undefined;
  const contentWarned = content?.status === 'PASSED_WITH_WARNINGS' || content?.status === 'NOT_CHECKED';

  const now = deps.clock.now().toISOString();
  const lastRun: WatermarkRun = {
    runId: input.runId,
    mode: doc.mode,
    startedAt: doc.startedAt,
    endedAt: now,
    status: behind > 0 ? 'FAILED' : contentWarned || doc.warnings.length > 0 || doc.nullCursorRows > 0 || Object.keys(doc.zeroDates).length > 0 ? 'PASSED_WITH_WARNINGS' : 'PASSED',
    extraction: { rows: doc.rows, files: doc.files.length, bytes: doc.bytes, nullCursorRows: doc.nullCursorRows, zeroDates: doc.zeroDates, hasMore: doc.hasMore, end: doc.end },
    loadedRows,
    filesUri: `s3://${deps.objects.bucket}/${docKey}`,
    ...(behind > 0 ? { note: behindMessage(dataset.name, schema.cursorColumn, doc.watermark.position!.cursor, behind) } : {}),
  };

  const recorded = async (moved: CommitOutput): Promise<CommitOutput> => {
    const output: CommitOutput = content && moved.status !== 'SKIPPED' ? { ...moved, content } : moved;
    // Rows the run could not extract (NULL cursors, zero dates) or a lossy mapping are warnings of the run.
    const warn = lastRun.status === 'PASSED_WITH_WARNINGS' ? { status: 'PASSED_WITH_WARNINGS' as const } : {};
    await deps.runs.update(input.runId, { stage: 'commit', output, dataset: dataset.name, ...warn }, now);
    // The run's own rows are proven and the watermark moved past them; rows the source holds behind
    // it that the warehouse lacks are a failure of the dataset, reported loudly.
    if (behind > 0) throw new RowsBehindWatermarkError(behindMessage(dataset.name, schema.cursorColumn, doc.watermark.position!.cursor, behind));
    return output;
  };
  if (doc.files.length === 0 && doc.rows === 0) {
    // Nothing was extracted, so nothing moves: the watermark is not written (no new version, no
    // lastRun of an empty run), and the run ends NO_WORK unless it has warnings of its own.
    const current = await deps.watermarks.get(dataset.name);
    deps.log.info('watermark not moved: the run found no rows', { version: current?.version ?? 0 });
    return recorded({ status: 'UNCHANGED', version: current?.version ?? 0, position: current?.position ?? null, rows: 0, loadedRows: 0, note: 'nothing new since the watermark' });
  }
  let expected = doc.watermark.version;
  let base: Position | undefined = doc.watermark.position;
  let note: string | undefined;
  let held = await deps.watermarks.get(dataset.name);
  for (let race = 0; race <= MAX_RACES; race++) {
    // A full run replaced the target with everything through its `last`: the watermark goes there,
    // even back (the next incremental run re-reads what came after; never ahead of the proof).
    // Another run ends ahead of it only if it read past it; a run that only re-read its lookback
    // window ends behind the watermark: keep the watermark.
    const target =
      doc.mode === 'full'
        ? doc.last && base && race > 0 && comparePositions(schema.cursorKind, base, doc.last) < 0
          ? base
          : doc.last
        : doc.last && (!base || comparePositions(schema.cursorKind, doc.last, base) > 0)
          ? doc.last
          : base;
    const next: WatermarkRecord = {
      dataset: dataset.name,
      version: expected + 1,
      ...(target ? { position: { cursor: target.cursor, key: [...target.key] } } : {}),
      keyEncoding: keyEncodings(schema),
      strategy: 'keyset',
      lastRun: note ? { ...lastRun, note } : lastRun,
      ...(held?.extracted && target && comparePositions(schema.cursorKind, held.extracted.position, target) > 0 ? { extracted: held.extracted } : {}),
      updatedAt: now,
    };
    if (await deps.watermarks.put(next, expected)) {
      deps.log.info('watermark moved', { version: next.version, rows: doc.rows, loadedRows });
      return recorded({ status: 'MOVED', version: next.version, position: target ?? null, rows: doc.rows, loadedRows, ...(note ? { note } : {}) });
    }
    const current = await deps.watermarks.get(dataset.name);
    held = current;
    const currentPos = current?.position;
    if (current?.lastRun?.runId === input.runId) {
      // A retry of this commit whose first write landed (a crashed invocation, a lost reply).
      return recorded({ status: 'MOVED', version: current.version, position: currentPos ?? null, rows: doc.rows, loadedRows, ...(current.lastRun.note ? { note: current.lastRun.note } : {}) });
    }
    if (doc.mode === 'full') {
      // The replace may have removed rows another run loaded meanwhile: never leave the watermark past the snapshot.
      expected = current?.version ?? 0;
      base = currentPos;
      note = `run ${current?.lastRun?.runId ?? '(unknown)'} committed while this full run ran; the watermark is left no further than this run's snapshot, so the next run re-reads what came after`;
      continue;
    }
    if (currentPos && doc.last && comparePositions(schema.cursorKind, currentPos, doc.last) >= 0) {
      const why = `run ${current?.lastRun?.runId ?? '(unknown)'} moved the watermark to or past this run's last row meanwhile; it stays there`;
      deps.log.info('watermark not moved', { reason: why });
      return recorded({ status: 'UNCHANGED', version: current!.version, position: currentPos, rows: doc.rows, loadedRows, note: why });
    }
    if (currentPos && doc.watermark.position && comparePositions(schema.cursorKind, currentPos, doc.watermark.position) < 0) {
      const why = `the watermark was set back (to ${currentPos.cursor}) while this run ran; it is left as set`;
      return recorded({ status: 'UNCHANGED', version: current!.version, position: currentPos, rows: doc.rows, loadedRows, note: why });
    }
    // Another run moved it, but less far than this one, whose rows from its own start on are proven.
    expected = current?.version ?? 0;
    base = currentPos;
    note = `moved after run ${current?.lastRun?.runId ?? '(unknown)'}, which committed while this run ran`;
  }
  throw new TerminalError(`the watermark of dataset '${dataset.name}' kept changing under this run (${MAX_RACES} concurrent writes); run again`);
}

/**
 * An `extract-only` run: its files are proven on S3 (each object still the version written, of its
 * size — S3 checked the MD5 and CRC64NVME sent with it on upload), the warehouse is left alone, and
 * the watermark record's `extracted` moves to the run's last row (never its `position`, which
 * stays what the warehouse proves).
 */
async function commitExtracted(doc: ExtractionDocument, schema: SchemaDocument, runId: string, deps: StageDeps): Promise<CommitOutput> {
  const problems: string[] = [];
  for (const f of doc.files) {
    const o = await deps.objects.head(f.key);
    if (!o) problems.push(`${f.key} is gone`);
    else if (o.etag !== f.etag || o.size !== f.size) problems.push(`${f.key} changed since it was written (ETag ${o.etag}, ${o.size} bytes; written ${f.etag}, ${f.size} bytes)`);
  }
  if (problems.length > 0) {
    throw new WatermarkNotProvenError(
      `dataset '${doc.dataset}': the extraction was not recorded, because ${problems.length} of the run's ${doc.files.length} files are not on S3 as written: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}. The next extract-only run extracts the same rows again`,
    );
  }
  const now = deps.clock.now().toISOString();
  // Files written and proven on S3 are the run's result; a run that found nothing stays NO_WORK.
  const warned = doc.warnings.length > 0 || doc.nullCursorRows > 0 || Object.keys(doc.zeroDates).length > 0;
  const status = doc.files.length === 0 ? {} : { status: warned ? ('PASSED_WITH_WARNINGS' as const) : ('PASSED' as const) };
  for (let race = 0; race <= MAX_RACES; race++) {
    const current = await deps.watermarks!.get(doc.dataset);
    const was = current?.extracted;
    const further = doc.last && (!was || comparePositions(schema.cursorKind, doc.last, was.position) > 0);
    const version = current?.version ?? 0;
    if (was?.runId === runId || !further) {
      const note = was?.runId === runId ? undefined : 'an extract-only run ended at or past this one meanwhile (or this run extracted nothing)';
      await deps.runs.update(runId, { stage: 'commit', output: { status: 'UNCHANGED', extracted: was ?? null, ...(note ? { note } : {}) }, dataset: doc.dataset, ...status }, now);
      return { status: was?.runId === runId ? 'MOVED' : 'UNCHANGED', version, position: current?.position ?? null, rows: doc.rows, loadedRows: 0, ...(note ? { note } : {}) };
    }
    const next: WatermarkRecord = {
      ...(current ?? { dataset: doc.dataset, strategy: 'keyset' as const }),
      keyEncoding: keyEncodings(schema),
      version: version + 1,
      extracted: { position: { cursor: doc.last!.cursor, key: [...doc.last!.key] }, runId, at: now, rows: doc.rows, files: doc.files.length },
      updatedAt: now,
    };
    if (await deps.watermarks!.put(next, version)) {
      deps.log.info('extraction recorded', { version: next.version, rows: doc.rows, files: doc.files.length });
      await deps.runs.update(runId, { stage: 'commit', output: { status: 'MOVED', extracted: next.extracted }, dataset: doc.dataset, ...status }, now);
      return { status: 'MOVED', version: next.version, position: current?.position ?? null, rows: doc.rows, loadedRows: 0 };
    }
  }
  throw new TerminalError(`the watermark of dataset '${doc.dataset}' kept changing under this run (${MAX_RACES} concurrent writes); run again`);
}

/** Every file of the extraction loaded, with the warehouse's row count equal to the rows written; returns the rows loaded. */
async function proveLoaded(doc: ExtractionDocument, deps: StageDeps): Promise<number> {
  const entries = await deps.ledger.getMany(doc.files.map((f) => ({ key: f.key, etag: f.etag })));
  const problems: string[] = [];
  let loaded = 0;
  doc.files.forEach((f, i) => {
    const e = entries[i];
    if (!e) problems.push(`${f.key} was never discovered`);
    else if (!wasLoaded(e.status)) problems.push(`${f.key} is ${e.status}${e.reason ? ` (${e.reason})` : ''}`);
    else if (e.rows !== null && e.rows !== undefined && e.rows !== f.rows) problems.push(`${f.key}: the warehouse counted ${e.rows} rows, the extraction wrote ${f.rows}`);
    else loaded += e.rows ?? f.rows;
  });
  if (problems.length > 0) {
    throw new WatermarkNotProvenError(
      `dataset '${doc.dataset}': the watermark was not moved, because ${problems.length} of the run's ${doc.files.length} files are not proven loaded: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}. The next run extracts the same rows again`,
    );
  }
  return loaded;
}
