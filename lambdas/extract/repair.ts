/**
 * The extract stage of a `repair` run (lambdas/core/repair.ts): reads, by key, the rows a content
 * report lists as missing in the warehouse or changed, in one snapshot of the source, keeps those
 * at or before the watermark (a row past it is the next incremental run's), and writes them as
 * Parquet chunks with manifests like any run, so Inventory, ChecksumSample, the exactly-once load
 * and the commit's proof treat them as usual. The watermark is not read past, nor moved.
 */
import { sharedParquetEncoder } from '../adapters/parquet/encoder';
import { DEFAULT_CHUNK_ROWS, type DatasetConfig } from '../core/config';
import { bind } from '../core/content/window-check';
import { InvalidInputError } from '../core/errors';
import type { ExtractionDocument } from '../core/extraction';
import { comparePositions, positionText, qualifiedTable, selectedColumns, type Position } from '../core/keyset';
import { readRepairRequest, repairRecordKey, repairRecordSchema, type RepairOutcome, type RepairRequest } from '../core/repair';
import type { SourceParam, SourceSession, SourceValue } from '../core/source';
import { readSchemaDocument, schemaDocumentKey, type SchemaDocument } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import { encodeChunk, writeChunkFile, type ExtractOutput } from './extract';

/** Keys per source query (an OR of key equalities), as the window check's recheck batches them. */
const KEYS_PER_QUERY = 100;

/** Reads the rows of `keys` (normalized key texts, as the report lists them) in one query per batch. */
async function rowsByKey(session: SourceSession, schema: SchemaDocument, keys: readonly (readonly (string | null)[])[]): Promise<SourceValue[][]> {
  const q = (name: string) => (schema.engine === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`);
  const keyColumns = schema.keyColumns.map((k) => schema.columns.find((c) => c.source === k)!);
  const list = selectedColumns(schema).map((c) => q(c.source)).join(', ');
  const rows: SourceValue[][] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
    const batch = keys.slice(i, i + KEYS_PER_QUERY).filter((k) => k.length === keyColumns.length && k.every((v) => v !== null));
    if (batch.length === 0) continue;
    const params: SourceParam[] = [];
    const where = batch.map((key) => `(${keyColumns.map((c, j) => `${q(c.source)} = ${bind(schema.engine, c, key[j]!, params)}`).join(' AND ')})`);
    rows.push(...(await session.query(`SELECT ${list} FROM ${qualifiedTable(schema.engine, schema.table)} WHERE ${where.join(' OR ')}`, params)));
  }
  return rows;
}

/**
 * Runs a repair's extraction and writes its extraction document (mode `repair`, its `repair`
 * outcome; no `last`, so nothing could move the watermark). A report already repaired and proven
 * (its record under `_syncproof/repairs/`) extracts nothing: a second repair of it loads nothing.
 */
export async function extractRepair(dataset: DatasetConfig, reportUri: string, runId: string, documentKey: string, deps: StageDeps): Promise<ExtractOutput> {
  const request = await readRepairRequest(deps.objects, reportUri, dataset.name);
  const schema = await readSchemaDocument(deps.objects, dataset.name);
  if (!schema) throw new InvalidInputError(`dataset '${dataset.name}' was never extracted (no ${schemaDocumentKey(dataset.name)}): run syncproof sync ${dataset.name} first`);
  const watermark = await deps.watermarks!.get(dataset.name);
  const started = deps.clock.now().toISOString();
  const outcome = (o: Partial<RepairOutcome>): RepairOutcome => ({
    reportUri,
    requested: request.keys.length,
    extracted: 0,
    pastWatermark: 0,
    notAtSource: 0,
    nullCursor: 0,
    notListed: request.notListed,
    leftToDeletes: request.extra + request.deleted + request.duplicates,
    ...o,
  });
  let doc: ExtractionDocument = {
    dataset: dataset.name,
    runId,
    mode: 'repair',
    startedAt: started,
    updatedAt: started,
    end: watermark?.position?.cursor ?? null,
    watermark: { version: watermark?.version ?? 0, ...(watermark?.position ? { position: { cursor: watermark.position.cursor, key: [...watermark.position.key] } } : {}) },
    limit: dataset.source?.limit ?? DEFAULT_CHUNK_ROWS,
    maxChunks: null,
    next: { kind: 'beginning' },
    files: [],
    rows: 0,
    bytes: 0,
    nullCursorRows: 0,
    zeroDates: {},
    warnings: [],
    done: true,
    hasMore: false,
    repair: outcome({}),
  };

  const record = await deps.objects.head(repairRecordKey(dataset.name, reportUri));
  if (record) {
    const done = repairRecordSchema.parse(await deps.objects.getJson(repairRecordKey(dataset.name, reportUri)));
    doc = { ...doc, repair: outcome({ alreadyRepairedBy: done.runId }) };
  } else if (request.keys.length > 0 && watermark?.position) {
    doc = await extractKeys(dataset, schema, request, watermark.position, doc, runId, deps, outcome);
  } else if (request.keys.length > 0) {
    // No watermark: nothing is behind it; the first incremental run extracts every row.
    doc = { ...doc, repair: outcome({ pastWatermark: request.keys.length }) };
  }
  doc = { ...doc, warnings: repairWarnings(request, doc.repair!), updatedAt: deps.clock.now().toISOString() };
  await deps.objects.putJson(documentKey, doc);
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt: doc.startedAt, updatedAt: doc.updatedAt, stages: {} });
  await deps.runs.update(
    runId,
    { stage: 'extract', output: { mode: 'repair', rows: doc.rows, files: doc.files.length, bytes: doc.bytes, repair: doc.repair, documentUri: `s3://${deps.objects.bucket}/${documentKey}`, ...(doc.warnings.length ? { warnings: doc.warnings } : {}) }, dataset: dataset.name },
    doc.updatedAt,
  );
  deps.log.info('repair extracted', { rows: doc.rows, files: doc.files.length, requested: request.keys.length, pastWatermark: doc.repair!.pastWatermark, notAtSource: doc.repair!.notAtSource });
  return { status: 'DONE', documentKey, rows: doc.rows, files: doc.files.length, hasMore: false };
}

async function extractKeys(
  dataset: DatasetConfig,
  schema: SchemaDocument,
  request: RepairRequest,
  watermark: Position,
  doc: ExtractionDocument,
  runId: string,
  deps: StageDeps,
  outcome: (o: Partial<RepairOutcome>) => RepairOutcome,
): Promise<ExtractionDocument> {
  const index = new Map(selectedColumns(schema).map((c, i) => [c.source, i]));
  const keyOf = (row: SourceValue[]): string[] => schema.keyColumns.map((k) => positionText(row[index.get(k)!]!));
  const cursorAt = index.get(schema.cursorColumn)!;
  const db = await deps.sources!(dataset);
  let rows: SourceValue[][];
  try {
    rows = await db.snapshot((session) => rowsByKey(session, schema, request.keys));
  } finally {
    await db.close();
  }
  const behind: { row: SourceValue[]; position: Position }[] = [];
  let past = 0;
  let nullCursor = 0;
  for (const row of rows) {
    if (row[cursorAt] === null || row[cursorAt] === undefined) {
      nullCursor++;
      continue;
    }
    const position = { cursor: positionText(row[cursorAt]!), key: keyOf(row) };
    if (comparePositions(schema.cursorKind, position, watermark) > 0) past++;
    else behind.push({ row, position });
  }
  behind.sort((a, b) => comparePositions(schema.cursorKind, a.position, b.position));
  const encoder = sharedParquetEncoder();
  let d = doc;
  for (let i = 0, chunkNo = 1; i < behind.length; i += d.limit, chunkNo++) {
    const part = behind.slice(i, i + d.limit);
    const chunkRows = part.map((p) => p.row);
    const first = part[0]!.position;
    const last = part[part.length - 1]!.position;
    const chunk = { chunkNo, rows: part.length, first, last, minCursor: first.cursor, maxCursor: last.cursor, encoded: encodeChunk(schema, chunkRows, encoder, keyOf), cut: false };
    d = await writeChunkFile(chunk, schema, dataset, d, runId, deps);
    d = { ...d, rows: d.rows + part.length };
  }
  return { ...d, repaired: behind.map((b) => b.position), repair: outcome({ extracted: behind.length, pastWatermark: past, nullCursor, notAtSource: Math.max(0, request.keys.length - rows.length) }) };
}

/**
 * The run's warnings: what the repair could not do, each with what to do. (Rows now past the
 * watermark and the keys left to deletes are expected, not warnings: `syncproof sync` prints them
 * from the `repair` outcome.)
 */
function repairWarnings(request: RepairRequest, o: RepairOutcome): string[] {
  const w: string[] = [];
  if (o.notAtSource) w.push(`${o.notAtSource} of the report's keys are no longer at the source: not repaired (deletes handles the warehouse's copy)`);
  if (o.nullCursor) w.push(`${o.nullCursor} of the report's rows have a NULL cursor: only a full run (--mode full) loads them`);
  if (!request.allKeysListed) w.push(`the report listed the first keys only (${o.notListed} more missing or changed were counted, not listed): this run repaired those listed; run syncproof verify ${request.dataset} --tier content again, then repair its report`);
  return w;
}
