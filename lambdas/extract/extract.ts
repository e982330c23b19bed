import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ChunkValueError, type ChunkColumn, type EncodedChunk } from '../adapters/parquet/chunk-columns';
import { sharedParquetEncoder, type ParquetEncoder } from '../adapters/parquet/encoder';
import { StreamingDigest } from '../core/checksums';
import { DEFAULT_CHUNK_ROWS, formatIssues, requireDataset, timeZoneOf, type DatasetConfig } from '../core/config';
import { ConfigurationError, InvalidInputError, TerminalError } from '../core/errors';
import { executionInputSchema } from '../core/execution-input';
import {
  extractionDocumentKey,
  extractionDocumentPrefix,
  extractionDocumentSchema,
  chunkStartSchema,
  type ExtractedFile,
  type ExtractionDocument,
} from '../core/extraction';
import { canonicalPosition, chunkQuery, comparePositions, endBound, endQuery, firstChunkStart, lastBeforeQuery, nullCursorQuery, parseWindow, positionText, selectedColumns, type ChunkStart, type Position } from '../core/keyset';
import { manifestPrefix } from '../core/manifests';
import type { SourceParam, SourceSession, SourceValue } from '../core/source';
import { readSchemaDocument, resolveSourceSchema, schemaDocumentKey, schemaDocumentSchema, tableRef, type SchemaDocument } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import { extractRepair } from './repair';

export const extractInputSchema = z.object({
  input: z.unknown(),
  runId: z.string().min(1),
  /** Present when an earlier invocation of this run returned `MORE`. */
  continuation: z.strictObject({ documentKey: z.string(), next: chunkStartSchema }).optional(),
});
export type ExtractInput = z.input<typeof extractInputSchema>;

export type ExtractOutput =
  /** The dataset has no source: nothing to extract (an S3-fed dataset). */
  | { readonly status: 'SKIPPED' }
  /** The Lambda's budget ran low: call again with `continuation`. */
  | { readonly status: 'MORE'; readonly continuation: { readonly documentKey: string; readonly next: ChunkStart }; readonly rows: number; readonly files: number }
  | {
      readonly status: 'DONE';
      readonly documentKey: string;
      readonly rows: number;
      readonly files: number;
      readonly hasMore: boolean;
      /** `extract-only`: the state machine proves the files on S3 and skips the load. */
      readonly extractOnly?: true;
    };

/** An invocation stops starting chunks when less than this plus twice its slowest chunk remains. */
const BUDGET_RESERVE_MS = 30_000;

/** Warnings kept in the run record's extract stage (the extraction document on S3 holds them all). */
const MAX_RECORDED_WARNINGS = 20;

/** A source value the mapping refuses: names the table, column and row key, and what to do. */
export class SourceValueError extends TerminalError {
  override readonly name = 'SourceValueError';
}

/** The run's Parquet files: under the dataset's extract prefix, one folder per run. */
export function chunkKey(dataset: DatasetConfig, runId: string, chunk: number): string {
  return `${dataset.prefix}${runId}/chunk-${String(chunk).padStart(6, '0')}.parquet`;
}

/**
 * Extracts what changed in a dataset's source since its watermark into Parquet chunks on S3
 * (lambdas/core/keyset.ts has the window rules). The first invocation maps the table (persisting
 * the column names), reads the watermark, and fixes the run's `:end` in its snapshot; every
 * invocation writes chunks until the run is done (caught up, or limit × maxChunks) or the Lambda's
 * budget runs low, and then returns `MORE` with a continuation. Each chunk is one Parquet file,
 * uploaded with checksums S3 checks and stores, plus a manifest. The watermark is not moved here:
 * the commit does that once the run's loads are verified.
 */
export async function runExtract(raw: ExtractInput, deps: StageDeps): Promise<ExtractOutput> {
  const started = Date.now();
  const envelope = extractInputSchema.parse(raw);
  const parsed = executionInputSchema.safeParse(envelope.input);
  if (!parsed.success) throw new InvalidInputError(`invalid execution input: ${formatIssues(parsed.error)}`);
  const input = parsed.data;
  const dataset = requireDataset(deps.config, input.dataset);
  const source = dataset.source;
  if (!source) return { status: 'SKIPPED' };
  if (!deps.sources || !deps.watermarks) throw new ConfigurationError('the extract stage has no source or watermark store configured; redeploy the stack');
  const remaining = deps.remainingTimeMs ?? (() => 900_000 - (Date.now() - started));
  const runId = envelope.runId;
  const documentKey = extractionDocumentKey(dataset.name, runId);
  const now = (): string => deps.clock.now().toISOString();

  if (input.mode === 'load-only' && !envelope.continuation) return loadOnly(dataset, input.after, runId, documentKey, deps);
  if (input.mode === 'repair') return extractRepair(dataset, input.repair!.reportUri, runId, documentKey, deps);
  const db = await deps.sources(dataset);
  try {
    const schemaKey = schemaDocumentKey(dataset.name);
    let schema: SchemaDocument;
    let first: (session: SourceSession) => Promise<ExtractionDocument>;
    if (envelope.continuation) {
      const resumed = extractionDocumentSchema.parse(await deps.objects.getJson(envelope.continuation.documentKey));
      schema = schemaDocumentSchema.parse(await deps.objects.getJson(schemaKey));
      first = async () => ({ ...resumed, next: envelope.continuation!.next });
    } else {
      const persisted = await readSchemaDocument(deps.objects, dataset.name);
      const resolved = resolveSourceSchema(dataset, await db.describeTable(tableRef(source)), persisted);
      const mapped = resolved.schema;
      schema = mapped;
      if (resolved.changed) await deps.objects.putJson(schemaKey, mapped);
      for (const w of resolved.warnings) deps.log.warn('type mapping', { warning: w });
      const watermark = await deps.watermarks.get(dataset.name);
      const lag = parseWindow(source.lag, mapped.cursorKind, 'source.lag');
      const lookback = parseWindow(source.lookback, mapped.cursorKind, 'source.lookback');
      const mode = input.mode ?? 'incremental';
      // extract-only goes on from where the last extract-only run stopped, when that is further.
      const extracted = watermark?.extracted?.position;
      const from =
        mode === 'full' ? undefined : mode === 'extract-only' && extracted && (!watermark?.position || comparePositions(mapped.cursorKind, extracted, watermark.position) > 0) ? extracted : watermark?.position;
      // The run's bound and NULL count are read in the snapshot its first chunks are read in.
      first = async (session) => {
        const bound = endQuery(mapped, lag);
        const end = endBound(mapped, scalar(await session.query(bound.sql, bound.params)), timeZoneOf(source));
        const nullCursorRows = Number(scalar(await session.query(nullCursorQuery(mapped).sql, [])) ?? 0);
        // A full snapshot reads NULL cursors too; the other modes cannot place them in the keyset.
        if (nullCursorRows > 0 && mode !== 'full') deps.log.warn('rows with a NULL cursor are not extracted', { nullCursorRows, cursorColumn: mapped.cursorColumn });
        let through: Position | undefined;
        if (mode === 'full' && end !== null) {
          const q = lastBeforeQuery(mapped, end);
          const row = (await session.query(q.sql, q.params))[0];
          if (row) through = { cursor: positionText(row[0]!), key: row.slice(1).map((v) => positionText(v)) };
        }
        return {
          dataset: dataset.name,
          runId,
          mode,
          startedAt: now(),
          updatedAt: now(),
          end,
          watermark: { version: watermark?.version ?? 0, ...(watermark?.position ? { position: { cursor: watermark.position.cursor, key: [...watermark.position.key] } } : {}) },
          ...(from ? { from: { cursor: from.cursor, key: [...from.key] } } : {}),
          limit: input.limit ?? source.limit ?? DEFAULT_CHUNK_ROWS,
          maxChunks: input.maxChunks ?? source.maxChunks ?? null,
          next: mode === 'full' ? { kind: 'after-key', key: [] } : firstChunkStart(mapped.cursorKind, from, lookback),
          files: [],
          rows: 0,
          bytes: 0,
          nullCursorRows: mode === 'full' ? 0 : nullCursorRows,
          zeroDates: {},
          warnings: [...resolved.warnings],
          ...(through ? { last: through } : {}),
          // A full snapshot of a table whose cursors are all NULL still reads its rows.
          done: end === null && mode !== 'full',
          hasMore: false,
        };
      };
    }

    let slowest = 0;
    let written = 0;
    const encoder = sharedParquetEncoder();
    const depth = Math.max(1, encoder.threads);
    let doc = await db.snapshot(async (session) => {
      let d = await first(session);
      // Chunks in flight, one per encoder thread (at least one): chunk n is encoded on a thread
      // while chunk n + 1 is read and converted here; then n is uploaded. Files are recorded in
      // chunk order. A chunk read whose successor then fails is not uploaded (the run fails).
      const inFlight: PendingChunk[] = [];
      while (!d.done) {
        // Every invocation writes at least one chunk, so a run always makes progress.
        if (written > 0 && remaining() < BUDGET_RESERVE_MS + (depth + 1) * slowest) break;
        written += 1;
        const t0 = Date.now();
        const read = await readChunkFile(session, schema, d, d.files.length + inFlight.length + 1, encoder);
        d = read.doc;
        if (read.chunk) inFlight.push(read.chunk);
        while (inFlight.length > depth) d = await writeChunkFile(inFlight.shift()!, schema, dataset, d, runId, deps);
        slowest = Math.max(slowest, Date.now() - t0);
      }
      while (inFlight.length > 0) d = await writeChunkFile(inFlight.shift()!, schema, dataset, d, runId, deps);
      return d;
    });
    doc = { ...doc, updatedAt: now() };
    await deps.objects.putJson(documentKey, doc);
    // The warnings (a lossy type mapping) go to the run record too, so whoever reads the run sees why it warned.
    const stats = {
      rows: doc.rows,
      files: doc.files.length,
      bytes: doc.bytes,
      hasMore: doc.hasMore,
      nullCursorRows: doc.nullCursorRows,
      zeroDates: doc.zeroDates,
      end: doc.end,
      documentUri: `s3://${deps.objects.bucket}/${documentKey}`,
      ...(doc.warnings.length > 0 ? { warnings: doc.warnings.slice(0, MAX_RECORDED_WARNINGS) } : {}),
    };
    await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt: doc.startedAt, updatedAt: doc.updatedAt, stages: {} });
    await deps.runs.update(runId, { stage: 'extract', output: stats, dataset: dataset.name }, doc.updatedAt);
    deps.log.info('extracted', { rows: doc.rows, files: doc.files.length, done: doc.done, hasMore: doc.hasMore });
    if (!doc.done) return { status: 'MORE', continuation: { documentKey, next: doc.next }, rows: doc.rows, files: doc.files.length };
    return { status: 'DONE', documentKey, rows: doc.rows, files: doc.files.length, hasMore: doc.hasMore, ...(doc.mode === 'extract-only' ? { extractOnly: true as const } : {}) };
  } finally {
    await db.close();
  }
}

/**
 * A `load-only` run reads no source: its files are those of the `extract-only` runs that chain on
 * from `after` (default: the watermark) — each starting at or before where the one before ended —
 * in the order they ran. It writes them as its own extraction document, so Discover, the loads and
 * the commit treat them as this run's; the watermark moves to where the last of them ended.
 */
async function loadOnly(dataset: DatasetConfig, given: Position | undefined, runId: string, documentKey: string, deps: StageDeps): Promise<ExtractOutput> {
  const schema = await readSchemaDocument(deps.objects, dataset.name);
  if (!schema) throw new InvalidInputError(`dataset '${dataset.name}' was never extracted (no ${schemaDocumentKey(dataset.name)}): run it with mode extract-only first`);
  // Compared with the positions the extractions recorded: binary keys as the same lower-case hex.
  const after = given && canonicalPosition(schema, given, 'the execution input after');
  const watermark = await deps.watermarks!.get(dataset.name);
  const docs: ExtractionDocument[] = [];
  for await (const o of deps.objects.list(extractionDocumentPrefix(dataset.name))) {
    if (!o.key.endsWith('.json') || o.key === documentKey) continue;
    const d = extractionDocumentSchema.safeParse(await deps.objects.getJson(o.key));
    if (d.success && d.data.mode === 'extract-only' && d.data.done && d.data.last) docs.push(d.data);
  }
  docs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  const cmp = (a: Position, b: Position) => comparePositions(schema.cursorKind, a, b);
  let at = after ?? watermark?.position;
  const chained: ExtractionDocument[] = [];
  const gaps: string[] = [];
  for (const d of docs) {
    if (at && cmp(d.last!, at) <= 0) continue; // wholly behind: loaded already, or before `after`
    if (at && d.from && cmp(d.from, at) > 0) {
      gaps.push(`run ${d.runId} starts after (${d.from.cursor}, ${d.from.key.join(', ')}), past (${at.cursor}, ${at.key.join(', ')})`);
      break;
    }
    chained.push(d);
    at = d.last;
  }
  if (gaps.length > 0) deps.log.warn('extract-only runs with a gap are left for later', { gap: gaps[0] });
  const files = chained.flatMap((d) => d.files);
  const t = deps.clock.now().toISOString();
  const doc: ExtractionDocument = {
    dataset: dataset.name,
    runId,
    mode: 'load-only',
    startedAt: t,
    updatedAt: t,
    end: chained.at(-1)?.end ?? null,
    watermark: { version: watermark?.version ?? 0, ...(watermark?.position ? { position: { cursor: watermark.position.cursor, key: [...watermark.position.key] } } : {}) },
    ...(after ?? watermark?.position ? { from: after ?? watermark!.position! } : {}),
    limit: chained[0]?.limit ?? DEFAULT_CHUNK_ROWS,
    maxChunks: null,
    next: { kind: 'beginning' },
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    bytes: files.reduce((n, f) => n + f.size, 0),
    nullCursorRows: chained.at(-1)?.nullCursorRows ?? 0,
    zeroDates: {},
    warnings: gaps.map((g) => `left for a later run: ${g}; the extract-only run that would fill the gap is missing or failed`),
    ...(chained.length > 0 ? { last: chained.at(-1)!.last! } : {}),
    done: true,
    hasMore: false,
  };
  await deps.objects.putJson(documentKey, doc);
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt: t, updatedAt: t, stages: {} });
  await deps.runs.update(runId, { stage: 'extract', output: { mode: 'load-only', runs: chained.map((d) => d.runId), rows: doc.rows, files: files.length, documentUri: `s3://${deps.objects.bucket}/${documentKey}`, ...(doc.warnings.length > 0 ? { warnings: doc.warnings.slice(0, MAX_RECORDED_WARNINGS) } : {}) }, dataset: dataset.name }, t);
  deps.log.info('load-only: files of extract-only runs', { runs: chained.length, files: files.length, rows: doc.rows });
  return { status: 'DONE', documentKey, rows: doc.rows, files: files.length, hasMore: false };
}

function scalar(rows: SourceValue[][]): string | null {
  const v = rows[0]?.[0];
  return v === null || v === undefined ? null : positionText(v);
}

/**
 * A chunk's rows (read with selectedColumns' list) as the encoder takes them: one value array per
 * target column, in the schema's order; a column the source dropped is `null` (written as NULL).
 */
export function chunkColumns(schema: SchemaDocument, rows: readonly SourceValue[][]): ChunkColumn[] {
  const index = new Map(selectedColumns(schema).map((c, i) => [c.source, i]));
  return schema.columns.map((c) => {
    const at = index.get(c.source);
    if (c.dropped || at === undefined) return { name: c.name, type: c.type, nullable: c.nullable, values: null };
    const values: SourceValue[] = [];
    for (let r = 0; r < rows.length; r++) values.push(rows[r]![at]!);
    return { name: c.name, type: c.type, nullable: c.nullable, values };
  });
}

/**
 * Hands a chunk's rows to the encoder (GZIP: faster to write than hyparquet-writer's Snappy and
 * half its size; Redshift reads it). A value the target cannot hold rejects with a
 * SourceValueError naming table, column and key. The promise is observed at once: a later
 * chunk's failure must not leave it unhandled (its reader awaits it).
 */
export function encodeChunk(schema: SchemaDocument, rows: readonly SourceValue[][], encoder: ParquetEncoder, keyOf: (row: SourceValue[]) => string[]): Promise<EncodedChunk> {
  const index = new Map(selectedColumns(schema).map((c, i) => [c.source, i]));
  const encoded = encoder.encode(chunkColumns(schema, rows), rows.length, { codec: 'GZIP' }).catch((error: unknown) => {
    if (!(error instanceof ChunkValueError)) throw error;
    const c = schema.columns[error.column]!;
    const key = keyOf(rows[error.row]!).join(', ');
    if (error.reason.kind === 'value') {
      throw new SourceValueError(
        `${schema.table}.${c.source} of the row with key (${key}) ${error.reason.message}; Redshift would reject or cut it, so nothing of this run was loaded: ${error.reason.advice ?? `shorten the value, or widen the target column and ${schemaDocumentKey(schema.dataset)}`}`,
      );
    }
    throw new SourceValueError(
      `${schema.table}.${c.source} of the row with key (${key}) is the zero date '${String(rows[error.row]![index.get(c.source)!])}' in a NOT NULL column; Redshift has no zero date and the column cannot be NULL: fix the row (or make the column nullable); nothing of this run was loaded`,
    );
  });
  encoded.catch(() => undefined);
  return encoded;
}

/** A chunk read and converted whose Parquet file is being encoded: what {@link writeChunkFile} needs. */
export interface PendingChunk {
  readonly chunkNo: number;
  readonly rows: number;
  readonly first: Position;
  readonly last: Position;
  readonly minCursor: string | null;
  readonly maxCursor: string | null;
  /** Its Parquet file and zero-date counts; a SourceValueError for a value refused. */
  readonly encoded: Promise<EncodedChunk>;
  /** A full snapshot that limit × maxChunks cuts: refused once this chunk is written. */
  readonly cut: boolean;
}

/**
 * Reads one chunk, hands its columns to the encoder (which converts and encodes them; a value the
 * target cannot hold rejects `encoded` with a SourceValueError naming table, column and key), and
 * returns the document advanced past its rows (its file is recorded by {@link writeChunkFile}); no
 * chunk when the window is exhausted.
 */
async function readChunkFile(
  session: SourceSession,
  schema: SchemaDocument,
  doc: ExtractionDocument,
  chunkNo: number,
  encoder: ParquetEncoder,
): Promise<{ doc: ExtractionDocument; chunk?: PendingChunk }> {
  const full = doc.mode === 'full';
  const query = chunkQuery(schema, doc.next, doc.end ?? '', doc.limit);
  const rows = await readChunk(session, query);
  const reachedMax = doc.maxChunks !== null && chunkNo >= doc.maxChunks;
  if (rows.length === 0) return { doc: { ...doc, done: true, hasMore: false } };

  const selected = selectedColumns(schema);
  const index = new Map(selected.map((c, i) => [c.source, i]));
  const keyOf = (row: SourceValue[]): string[] => schema.keyColumns.map((k) => positionText(row[index.get(k)!]!));
  const positionOf = (row: SourceValue[]): Position => ({ cursor: positionText(row[index.get(schema.cursorColumn)!]!), key: keyOf(row) });
  const wasFull = rows.length === doc.limit;
  // Where the next chunk starts: after the last key (a full snapshot), or after the last position.
  const nextStart = (row: SourceValue[]): ChunkStart => (full ? { kind: 'after-key', key: keyOf(row) } : { kind: 'after', position: positionOf(row) });
  // The source reads the next chunk while this one is converted, encoded and uploaded.
  if (wasFull && !reachedMax) readAhead(session, chunkQuery(schema, nextStart(rows[rows.length - 1]!), doc.end ?? '', doc.limit));
  const encoded = encodeChunk(schema, rows, encoder, keyOf);
  // Keyset order: the first and last rows are the chunk's least and greatest cursor. A full
  // snapshot is in key order, so its cursor range is found by looking (NULL cursors left out).
  const cursorAt = index.get(schema.cursorColumn)!;
  let first: Position;
  let last: Position;
  let minCursor: string | null;
  let maxCursor: string | null;
  if (full) {
    const cursors = rows.map((r) => r[cursorAt]!).filter((v) => v !== null).map((v) => positionText(v));
    const cmp = (a: string, b: string) => comparePositions(schema.cursorKind, { cursor: a, key: [] }, { cursor: b, key: [] });
    minCursor = cursors.reduce<string | null>((m, c) => (m === null || cmp(c, m) < 0 ? c : m), null);
    maxCursor = cursors.reduce<string | null>((m, c) => (m === null || cmp(c, m) > 0 ? c : m), null);
    const at = (row: SourceValue[]): Position => ({ cursor: row[cursorAt] === null ? '' : positionText(row[cursorAt]!), key: keyOf(row) });
    first = at(rows[0]!);
    last = at(rows[rows.length - 1]!);
  } else {
    first = positionOf(rows[0]!);
    last = positionOf(rows[rows.length - 1]!);
    minCursor = first.cursor;
    maxCursor = last.cursor;
  }
  return {
    doc: {
      ...doc,
      rows: doc.rows + rows.length,
      // A full run's watermark was fixed at its start (the last row before its bound).
      ...(full ? {} : { last }),
      next: nextStart(rows[rows.length - 1]!),
      done: !wasFull || reachedMax,
      hasMore: wasFull && reachedMax,
    },
    chunk: { chunkNo, rows: rows.length, first, last, minCursor, maxCursor, encoded, cut: full && wasFull && reachedMax },
  };
}

/** Waits for a chunk's Parquet file, uploads it with its checksums and its manifest, and records it in the document. */
export async function writeChunkFile(chunk: PendingChunk, schema: SchemaDocument, dataset: DatasetConfig, doc: ExtractionDocument, runId: string, deps: StageDeps): Promise<ExtractionDocument> {
  const { body, zeroDates } = await chunk.encoded;
  const hashing = new StreamingDigest({ checksums: ['crc64nvme'] });
  hashing.update(body);
  const digest = await hashing.digestAsync();
  const key = chunkKey(dataset, runId, chunk.chunkNo);
  const put = await deps.objects.put(key, body, 'application/vnd.apache.parquet', { checksums: { md5: digest.checksums.md5, crc64nvme: digest.checksums.crc64nvme! } });
  const file: ExtractedFile = { key, etag: put.etag, size: body.byteLength, rows: chunk.rows, first: chunk.first, last: chunk.last };
  await deps.objects.putJson(`${manifestPrefix(dataset.name)}${runId}-chunk-${String(chunk.chunkNo).padStart(6, '0')}.json`, {
    dataset: dataset.name,
    files: [
      {
        key,
        size: body.byteLength,
        rows: chunk.rows,
        checksums: { md5: digest.checksums.md5, crc64nvme: digest.checksums.crc64nvme },
        minCursor: chunk.minCursor,
        maxCursor: chunk.maxCursor,
        firstKey: chunk.first.key,
        lastKey: chunk.last.key,
        schemaHash: schemaHash(schema),
        runId,
      },
    ],
  });
  if (chunk.cut) {
    throw new TerminalError(
      `dataset '${dataset.name}': a full run replaces the whole target, but ${schema.table} holds more than limit × maxChunks = ${doc.limit} × ${doc.maxChunks} rows, so the snapshot would be partial; nothing was loaded: run it without maxChunks, or with a larger limit`,
    );
  }
  const counted = { ...doc.zeroDates };
  for (const [column, n] of Object.entries(zeroDates)) counted[column] = (counted[column] ?? 0) + n;
  return { ...doc, files: [...doc.files, file], bytes: doc.bytes + body.byteLength, zeroDates: counted };
}

/** A chunk read sent ahead on a session, by its SQL text and parameters. */
interface ReadAhead {
  readonly sql: string;
  readonly params: string;
  readonly rows: Promise<SourceValue[][]>;
}

const readsAhead = new WeakMap<SourceSession, ReadAhead>();

/** Parameters as text that tells them apart: bytes by their hex (their UTF-8 reading is lossy). */
const paramsKey = (params: readonly SourceParam[]): string =>
  params.map((p) => (p === null ? 'null' : p instanceof Uint8Array ? `bytes:${Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('hex')}` : `${typeof p}:${String(p)}`)).join('\u0000');

/**
 * Sends `query` on a session that queues reads (SourceSession.queuesReads), to be taken by the
 * next {@link readChunk} of the same query; the snapshot is the same, so are the rows. A read ahead
 * that is never taken (the invocation stops for its time budget) is waited for by the snapshot's
 * end and its failure ignored.
 */
function readAhead(session: SourceSession, query: { sql: string; params: readonly SourceParam[] }): void {
  if (!session.queuesReads) return;
  const rows = session.query(query.sql, query.params);
  rows.catch(() => undefined);
  readsAhead.set(session, { sql: query.sql, params: paramsKey(query.params), rows });
}

/** The rows of `query`: the read sent ahead for it, else a read now. */
function readChunk(session: SourceSession, query: { sql: string; params: readonly SourceParam[] }): Promise<SourceValue[][]> {
  const ahead = readsAhead.get(session);
  readsAhead.delete(session);
  if (ahead && ahead.sql === query.sql && ahead.params === paramsKey(query.params)) return ahead.rows;
  return session.query(query.sql, query.params);
}

/** Hash of the target columns (names and types, in order): which schema a file was written with. */
export function schemaHash(schema: SchemaDocument): string {
  return createHash('sha256')
    .update(JSON.stringify(schema.columns.map((c) => [c.name, c.type.redshift])))
    .digest('hex')
    .slice(0, 16);
}
