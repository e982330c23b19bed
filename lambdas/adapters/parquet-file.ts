/**
 * Parquet reading with hyparquet (pure JS; DESIGN.md §7 rules out @dsnp/parquetjs, which corrupts
 * DECIMALs); writing is in ./parquet/encode.ts, re-exported here.
 *
 * Values are decoded into exact, SQL-ready JS values (see {@link ParquetValue}): DECIMALs become
 * decimal strings built from the raw unscaled integer (hyparquet alone would give a float),
 * INT64 stays `bigint`, timestamps become ISO-8601 UTC strings that keep micro/nanoseconds.
 * Pages may use any codec in {@link SUPPORTED_CODECS} (see `parquet/codecs.ts`); a file using
 * another (LZO) is refused from its footer before any page is decoded.
 */
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, ColumnData, FileMetaData, ParquetParsers, SchemaElement, SchemaTree } from 'hyparquet';
import { BadFileError } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import { DECOMPRESSORS, SUPPORTED_CODECS, checkCodecs } from './parquet/codecs';

export { encodeParquet, type EncodeParquetOptions, type ParquetColumnInput } from './parquet/encode';

/** One top-level column of a Parquet file. */
export interface ParquetColumn {
  readonly name: string;
  /**
   * Readable type: the physical type, refined by its annotation — `INT64`, `INT32`, `DOUBLE`,
   * `BOOLEAN`, `BYTE_ARRAY/STRING`, `DECIMAL(12,2)`, `TIMESTAMP_MICROS`, `DATE`, `TIME_MILLIS`,
   * `INT96` (legacy timestamp), `FIXED_LEN_BYTE_ARRAY/UUID`, `GROUP`/`LIST`/`MAP` (nested).
   */
  readonly type: string;
  /** False for REQUIRED columns. */
  readonly nullable: boolean;
}

/** What the footer says about a file. */
export interface ParquetFileInfo {
  readonly rows: number;
  readonly columns: readonly ParquetColumn[];
  readonly rowGroups: number;
}

/**
 * A decoded value:
 * - `null` for a null;
 * - `boolean` (BOOLEAN); `number` (INT32 and its INT_8/16/UINT_8/16/32 annotations, FLOAT, DOUBLE, FLOAT16);
 * - `bigint` (INT64, UINT_64): exact beyond 2^53;
 * - `string`: text (STRING/UTF8/ENUM/JSON as text, un-annotated BYTE_ARRAY as UTF-8, UUID as 8-4-4-4-12),
 *   DECIMAL as an exact decimal with exactly `scale` fractional digits (`'-0.05'`),
 *   DATE as `YYYY-MM-DD`, TIME as `HH:MM:SS.fff[fff]`, timestamps (and INT96) as ISO-8601 UTC
 *   `YYYY-MM-DDTHH:MM:SS.sssZ` with 6 or 9 fractional digits when the value has sub-millisecond
 *   precision (so a millisecond value equals `Date#toISOString()`);
 * - `Uint8Array` for FIXED_LEN_BYTE_ARRAY without a text annotation.
 */
export type ParquetValue = null | boolean | number | bigint | string | Uint8Array;

/** A whole file decoded column by column. */
export interface DecodedParquet {
  /** Column names, in the order requested (file order by default). */
  readonly columns: string[];
  /** The columns' descriptions, parallel to `columns`. */
  readonly types: ParquetColumn[];
  readonly rowCount: number;
  /**
   * Column-major data: `data[c][r]` is row `r` of `columns[c]`. A REQUIRED numeric column may be
   * a typed array (BigInt64Array, Int32Array, Float64Array…); others are plain arrays.
   */
  readonly data: ArrayLike<ParquetValue>[];
}

const MAGIC = 0x31524150; // 'PAR1' little-endian
const FOOTER_FETCH = 64 * 1024;
const ACTION = 'export the file again and upload it (or delete it)';

/**
 * Reads only the footer through ranged GETs (`ObjectStore.getBytes` with a range), never the
 * whole file: the last 64 KiB (plus the rest of a larger footer) and the first 4 bytes, fetched
 * concurrently. Throws BadFileError(key, reason) when the file is too short, lacks the 'PAR1'
 * magic at either end, or its footer cannot be parsed or points past the end of the file.
 */
export async function readParquetInfo(store: ObjectStore, key: string, size: number, etag?: string): Promise<ParquetFileInfo> {
  const pin = { ifMatch: etag };
  if (size < 12) throw new BadFileError(key, `only ${size} bytes, too short to be a Parquet file; ${ACTION}`);
  const tailStart = Math.max(0, size - FOOTER_FETCH);
  const [tail, head] = await Promise.all([
    store.getBytes(key, { start: tailStart, end: size }, pin),
    tailStart > 0 ? store.getBytes(key, { start: 0, end: 4 }, pin) : Promise.resolve(undefined),
  ]);
  if (tail.length !== size - tailStart) {
    throw new BadFileError(key, `expected ${size - tailStart} footer bytes but read ${tail.length}; the object changed while it was read, retry`);
  }
  checkMagic(key, head ?? tail, tail);
  const metadataLength = u32(tail, tail.length - 8);
  if (metadataLength > size - 12) throw new BadFileError(key, `footer length ${metadataLength} exceeds the file size ${size}: the footer is corrupt; ${ACTION}`);
  let footer = tail;
  if (metadataLength + 8 > tail.length) {
    const rest = await store.getBytes(key, { start: size - 8 - metadataLength, end: tailStart }, pin);
    footer = new Uint8Array(metadataLength + 8);
    footer.set(rest, 0);
    footer.set(tail, rest.length);
  }
  const metadata = parseFooter(key, footer);
  checkChunkBounds(key, metadata, size - 8 - metadataLength);
  return {
    rows: Number(metadata.num_rows),
    columns: parquetSchema(metadata).children.map(describeColumn),
    rowGroups: metadata.row_groups.length,
  };
}

/**
 * Decodes a whole Parquet file held in memory, column by column (no per-row objects), into the
 * exact values described by {@link ParquetValue}. `columns` selects and orders columns (all, in
 * file order, by default). Throws BadFileError for a corrupt or truncated file, corrupt data
 * pages, an unknown column name, a nested column (lists, maps and structs are not loadable), or
 * a selected column compressed with a codec outside {@link SUPPORTED_CODECS}. An un-annotated
 * BYTE_ARRAY column named in `binaryColumns` is read as bytes (Uint8Array), others as UTF-8 text.
 */
export async function decodeParquet(key: string, bytes: Uint8Array, columns?: readonly string[], options: { binaryColumns?: readonly string[] } = {}): Promise<DecodedParquet> {
  const prepared = prepareRead(key, bytes, columns, false, options.binaryColumns);
  const raw = await readRange(prepared, 0, prepared.rowCount);
  const data = raw.map((c) => {
    const convert = VALUE_CONVERTERS[c.kind];
    const out = new Array<ParquetValue>(c.values.length);
    const values = c.values;
    try {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        out[i] = v === null || v === undefined ? null : convert(v, c.scale);
      }
    } catch (error) {
      throw new BadFileError(key, `column '${c.element.name}' holds a value that cannot be converted (${errorText(error)}); ${ACTION}`, { cause: error });
    }
    return out;
  });
  return { columns: prepared.names, types: raw.map((c) => describeElement(c.element, c.element.name)), rowCount: prepared.rowCount, data };
}

/** A file turned into CSV for `COPY … FROM … WITH (FORMAT csv)`. */
export interface ParquetCsv {
  /** The file's column names, in the order given. */
  readonly columns: readonly string[];
  readonly rowCount: number;
  /**
   * UTF-8 CSV lines, about `chunkBytes` (default 1 MiB) per chunk, decoded (a run of row groups at a time) and
   * formatted lazily as the iterator is consumed, so a COPY can ingest while the rest of the file
   * is decoded and only a slice of the file is ever materialized as JS values. A page that
   * cannot be decoded, or a value that cannot be formatted, throws BadFileError from the iterator.
   */
  readonly chunks: AsyncIterable<Uint8Array>;
}

/**
 * Decodes a Parquet file straight into PostgreSQL CSV (`FORMAT csv`, `,` delimiter, `"` quote),
 * for the COPY path of the Postgres-family warehouses. Exact by construction:
 * - NULL is an unquoted empty field; every string is quoted, `"` doubled (so `''` and `\.` are
 *   data, never NULL or end-of-data);
 * - INT64 via bigint; DECIMAL from the unscaled integer (never a float); DOUBLE as the shortest
 *   round-trip text (`NaN`, `Infinity` as PostgreSQL spells them);
 * - timestamps as ISO-8601 UTC with their micro/nanoseconds (`Z` is ignored by TIMESTAMP and
 *   exact for TIMESTAMPTZ); DATE as `YYYY-MM-DD`; booleans `t`/`f`; binary as `\x…` hex (bytea).
 *
 * An un-annotated BYTE_ARRAY is text (UTF-8, quoted) unless its name is in `binaryColumns` (the
 * file columns that load into bytea, Redshift's VARBYTE): then it is `\x…` hex. A negative zero
 * DOUBLE or FLOAT is `-0`, which PostgreSQL keeps.
 *
 * `columns` are matched by name (exactly, else case-insensitively) and emitted in that order.
 * With `exactColumns`, a file column not in `columns` is a BadFileError too (as Redshift rejects
 * a COPY whose column list and Parquet file differ). So is a column compressed with a codec
 * outside {@link SUPPORTED_CODECS}, raised by this call (from the footer), before any chunk.
 */
export async function parquetToCsv(
  key: string,
  bytes: Uint8Array,
  columns: readonly string[],
  options: { exactColumns?: boolean; chunkBytes?: number; binaryColumns?: readonly string[] } = {},
): Promise<ParquetCsv> {
  const prepared = prepareRead(key, bytes, columns, options.exactColumns ?? false, options.binaryColumns);
  return { columns: prepared.names, rowCount: prepared.rowCount, chunks: csvChunks(prepared, options.chunkBytes ?? 1024 * 1024) };
}

async function* csvChunks(prepared: PreparedRead, chunkBytes: number): AsyncGenerator<Uint8Array> {
  for (const range of prepared.ranges) {
    yield* csvRange(prepared.key, await readRange(prepared, range.start, range.end), range.end - range.start, chunkBytes);
  }
}

function* csvRange(key: string, cols: readonly RawColumn[], rows: number, chunkBytes: number): Generator<Uint8Array> {
  const n = cols.length;
  const kinds = cols.map((c) => KIND_CODES[c.kind]);
  const scales = cols.map((c) => c.scale);
  const values = cols.map((c) => c.values);
  const w = new CsvWriter(chunkBytes + 64 * 1024);
  for (let r = 0; r < rows; r++) {
    let c = 0;
    try {
      for (; c < n; c++) {
        const v = values[c]![r];
        if (v !== null && v !== undefined) writeField(w, kinds[c]!, v, scales[c]!);
        w.ensure(1);
        w.buf[w.pos++] = c === n - 1 ? 10 : 44; // '\n' : ','
      }
    } catch (error) {
      throw new BadFileError(key, `column '${cols[c]?.element.name}' holds a value that cannot be loaded (${errorText(error)}); ${ACTION}`, { cause: error });
    }
    if (w.pos >= chunkBytes) yield w.take();
  }
  if (w.pos > 0) yield w.take();
}

// ---------------------------------------------------------------------------------------------
// footer

function u32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

function checkMagic(key: string, head: Uint8Array, tail: Uint8Array): void {
  if (u32(tail, tail.length - 4) !== MAGIC) {
    throw new BadFileError(key, `does not end with the Parquet magic 'PAR1': it is truncated or not a Parquet file; ${ACTION}`);
  }
  if (u32(head, 0) !== MAGIC) {
    throw new BadFileError(key, `does not start with the Parquet magic 'PAR1': it is not a Parquet file; ${ACTION}`);
  }
}

function parseFooter(key: string, footer: Uint8Array): FileMetaData {
  try {
    return parquetMetadata(footer, { geoparquet: false, parsers: PARSERS });
  } catch (error) {
    throw new BadFileError(key, `the footer cannot be parsed (${errorText(error)}): it is corrupt; ${ACTION}`, { cause: error });
  }
}

/** Every column chunk must lie before the footer; a cut file whose footer survived would not. */
function checkChunkBounds(key: string, metadata: FileMetaData, footerStart: number): void {
  if (!Array.isArray(metadata.schema) || metadata.schema.length < 1 || !Array.isArray(metadata.row_groups)) {
    throw new BadFileError(key, `the footer has no schema or row groups: it is corrupt; ${ACTION}`);
  }
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta) continue;
      const dataStart = Number(meta.data_page_offset);
      const start = meta.dictionary_page_offset === undefined ? dataStart : Math.min(dataStart, Number(meta.dictionary_page_offset));
      const end = start + Number(meta.total_compressed_size);
      if (start < 4 || end > footerStart) {
        throw new BadFileError(
          key,
          `column '${meta.path_in_schema.join('.')}' points to bytes ${start}..${end}, outside the data area 4..${footerStart}: the file is truncated or corrupt; ${ACTION}`,
        );
      }
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// schema descriptions

function isDecimal(e: SchemaElement): boolean {
  return e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
}

function decimalScale(e: SchemaElement): number {
  return e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : (e.scale ?? 0);
}

function decimalPrecision(e: SchemaElement): number {
  return e.logical_type?.type === 'DECIMAL' ? e.logical_type.precision : (e.precision ?? 0);
}

function describeColumn(node: SchemaTree): ParquetColumn {
  return describeElement(node.element, node.element.name, node.children.length > 0);
}

function describeElement(e: SchemaElement, name: string, nested = false): ParquetColumn {
  const nullable = e.repetition_type !== 'REQUIRED';
  const lt = e.logical_type;
  let type: string;
  if (nested || !e.type) type = lt?.type === 'LIST' || lt?.type === 'MAP' ? lt.type : (e.converted_type ?? 'GROUP');
  else if (isDecimal(e)) type = `DECIMAL(${decimalPrecision(e)},${decimalScale(e)})`;
  else if (lt?.type === 'TIMESTAMP') type = `TIMESTAMP_${lt.unit}`;
  else if (lt?.type === 'TIME') type = `TIME_${lt.unit}`;
  else if (lt?.type === 'DATE' || e.converted_type === 'DATE') type = 'DATE';
  else if (e.converted_type?.startsWith('TIMESTAMP_') || e.converted_type?.startsWith('TIME_')) type = e.converted_type;
  else if (e.converted_type === 'UTF8' || lt?.type === 'STRING') type = `${e.type}/STRING`;
  else if (lt && lt.type !== 'INTEGER') type = `${e.type}/${lt.type}`;
  else if (e.converted_type) type = `${e.type}/${e.converted_type}`;
  else if (lt?.type === 'INTEGER') type = `${e.type}/${lt.isSigned ? 'INT' : 'UINT'}_${lt.bitWidth}`;
  else type = e.type;
  return { name, type, nullable };
}

// ---------------------------------------------------------------------------------------------
// decoding

/**
 * How a raw column's values become text. hyparquet's own conversions are bypassed for these
 * annotations (it makes DECIMALs floats and timestamps Dates, both lossy and slow).
 */
type ValueKind = 'plain' | 'decimal' | 'timestamp-millis' | 'timestamp-micros' | 'timestamp-nanos' | 'date' | 'time-millis' | 'time-micros' | 'time-nanos';

interface RawColumn {
  readonly element: SchemaElement;
  readonly kind: ValueKind;
  /** DECIMAL scale (0 otherwise). */
  readonly scale: number;
  /** Raw values: unscaled integers for DECIMAL, epoch units for timestamps, days for DATE. */
  readonly values: Column;
}

/** A file checked and planned for reading: selected columns, stripped schema, row ranges. */
interface PreparedRead {
  readonly key: string;
  readonly names: string[];
  readonly rowCount: number;
  readonly selected: SchemaElement[];
  readonly kinds: Map<SchemaElement, ValueKind>;
  readonly stripped: FileMetaData;
  readonly file: AsyncBuffer;
  /** Un-annotated BYTE_ARRAY columns read as bytes (for bytea targets) rather than as UTF-8 text. */
  readonly bytes: ReadonlySet<SchemaElement>;
  /** Whole row groups, merged up to at least READ_RANGE_ROWS rows each. */
  readonly ranges: { start: number; end: number }[];
}

/** Rows decoded at a time by the CSV path (whole row groups are merged up to this). */
const READ_RANGE_ROWS = 65_536;

function valueKind(e: SchemaElement): ValueKind {
  if (isDecimal(e)) return 'decimal';
  const lt = e.logical_type;
  const ct = e.converted_type;
  if (lt?.type === 'TIMESTAMP') return `timestamp-${lt.unit.toLowerCase()}` as ValueKind;
  if (ct === 'TIMESTAMP_MILLIS') return 'timestamp-millis';
  if (ct === 'TIMESTAMP_MICROS') return 'timestamp-micros';
  if (!ct && !lt && e.type === 'INT96') return 'timestamp-nanos';
  if (lt?.type === 'TIME') return `time-${lt.unit.toLowerCase()}` as ValueKind;
  if (ct === 'TIME_MILLIS') return 'time-millis';
  if (ct === 'TIME_MICROS') return 'time-micros';
  if (lt?.type === 'DATE' || ct === 'DATE') return 'date';
  return 'plain';
}

const textDecoder = new TextDecoder();

/** INT96 stays a timestamp in hyparquet; this parser hands over its nanoseconds untouched. */
const PARSERS: Partial<ParquetParsers> = {
  timestampFromNanoseconds: (nanos: bigint) => nanos,
  jsonFromBytes: (bytes: Uint8Array) => bytes && textDecoder.decode(bytes),
};

function prepareRead(key: string, bytes: Uint8Array, columns: readonly string[] | undefined, exact: boolean, binary: readonly string[] = []): PreparedRead {
  if (bytes.length < 12) throw new BadFileError(key, `only ${bytes.length} bytes, too short to be a Parquet file; ${ACTION}`);
  checkMagic(key, bytes, bytes);
  const metadata = parseFooter(key, bytes);
  checkChunkBounds(key, metadata, bytes.length - 8 - u32(bytes, bytes.length - 8));
  const top = parquetSchema(metadata).children;
  const fileNames = top.map((c) => c.element.name);
  const byName = new Map(top.map((c) => [c.element.name, c]));
  const byLower = new Map<string, SchemaTree | null>();
  for (const c of top) {
    const lower = c.element.name.toLowerCase();
    byLower.set(lower, byLower.has(lower) ? null : c);
  }
  const names = columns ? [...columns] : fileNames;
  const selected = names.map((name) => {
    const node = byName.get(name) ?? byLower.get(name.toLowerCase());
    if (!node) throw new BadFileError(key, `has no column '${name}' (it has ${fileNames.map((n) => `'${n}'`).join(', ')}); rewrite the file with the target's columns`);
    if (node.children.length > 0) {
      throw new BadFileError(key, `column '${node.element.name}' is nested (${describeColumn(node).type}); only flat columns can be loaded, flatten it before export`);
    }
    return node.element;
  });
  if (exact) {
    const used = new Set(selected.map((e) => e.name));
    const extra = fileNames.filter((n) => !used.has(n));
    if (extra.length) {
      throw new BadFileError(key, `has column${extra.length > 1 ? 's' : ''} ${extra.map((n) => `'${n}'`).join(', ')} that the COPY column list does not name; rewrite the file with the target's columns`);
    }
  }
  checkCodecs(key, metadata, selected.map((e) => e.name));
  const rowCount = Number(metadata.num_rows);
  const kinds = new Map(selected.map((e) => [e, valueKind(e)]));
  // Strip the annotations converted here, so hyparquet hands over raw integers.
  const stripped: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map((e) => {
      const kind = kinds.get(e) ?? valueKind(e);
      return kind === 'plain' || kind === 'timestamp-nanos' ? e : { ...e, converted_type: undefined, logical_type: undefined };
    }),
  };
  const ranges: { start: number; end: number }[] = [];
  let start = 0;
  let end = 0;
  for (const group of metadata.row_groups) {
    end += Number(group.num_rows);
    if (end - start >= READ_RANGE_ROWS) {
      ranges.push({ start, end });
      start = end;
    }
  }
  if (end > start) ranges.push({ start, end });
  if (end !== rowCount) {
    throw new BadFileError(key, `its row groups hold ${end} rows but the footer says ${rowCount}: the footer is corrupt; ${ACTION}`);
  }
  const asBytes = new Set(selected.filter((e, i) => e.type === 'BYTE_ARRAY' && !e.converted_type && !e.logical_type && binary.includes(names[i]!)));
  return { key, names, rowCount, selected, kinds, stripped, file: asyncBuffer(bytes), bytes: asBytes, ranges };
}

/** Decodes rows [start, end) (row-group aligned) of the selected columns into raw values. */
async function readRange(prepared: PreparedRead, start: number, end: number): Promise<RawColumn[]> {
  const { key, selected, kinds, stripped, file } = prepared;
  // An un-annotated BYTE_ARRAY is decoded as UTF-8 unless utf8 is off, so binary DECIMALs and bytes get their own pass.
  const binary = [...new Set(selected.filter((e) => (isDecimal(e) && e.type === 'BYTE_ARRAY') || prepared.bytes.has(e)).map((e) => e.name))];
  const textual = [...new Set(selected.map((e) => e.name).filter((n) => !binary.includes(n)))];
  const chunks = new Map<string, ColumnData[]>();
  try {
    if (textual.length) await readColumns(file, stripped, textual, true, start, end, chunks);
    if (binary.length) await readColumns(file, stripped, binary, false, start, end, chunks);
  } catch (error) {
    throw new BadFileError(key, `a data page cannot be decoded (${errorText(error)}): the file is corrupt; ${ACTION}`, { cause: error });
  }
  const assembled = new Map<string, Column>();
  return selected.map((element) => {
    let values = assembled.get(element.name);
    if (!values) {
      values = assemble(key, element.name, chunks.get(element.name) ?? [], start, end);
      assembled.set(element.name, values);
    }
    return { element, kind: kinds.get(element)!, scale: isDecimal(element) ? decimalScale(element) : 0, values };
  });
}

function asyncBuffer(bytes: Uint8Array): AsyncBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return {
    byteLength: bytes.byteLength,
    slice: (start: number, end?: number) =>
      bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + (end ?? bytes.byteLength)) as ArrayBuffer,
  };
}

async function readColumns(
  file: AsyncBuffer,
  metadata: FileMetaData,
  columns: string[],
  utf8: boolean,
  rowStart: number,
  rowEnd: number,
  out: Map<string, ColumnData[]>,
): Promise<void> {
  await parquetRead({
    file,
    metadata,
    columns,
    utf8,
    rowStart,
    rowEnd,
    parsers: PARSERS,
    compressors: DECOMPRESSORS,
    onChunk: (chunk) => {
      const list = out.get(chunk.columnName);
      if (list) list.push(chunk);
      else out.set(chunk.columnName, [chunk]);
    },
  });
}

type Column = ArrayLike<unknown> & { [index: number]: unknown };
type TypedArrayConstructor = new (length: number) => Column & { set(source: ArrayLike<unknown>, offset: number): void };

/** Joins a column's chunks (one per row group or page) into one array of rows [start, end). */
function assemble(key: string, name: string, chunks: ColumnData[], start: number, end: number): Column {
  const rows = end - start;
  const total = chunks.reduce((n, c) => n + (c.rowEnd - c.rowStart), 0);
  if (total !== rows || chunks.some((c) => c.rowStart < start || c.rowEnd > end)) {
    throw new BadFileError(key, `column '${name}' has ${total} values where the footer says ${rows} rows: the file is corrupt; ${ACTION}`);
  }
  if (chunks.length === 1) return chunks[0]!.columnData as Column;
  const first = chunks[0]?.columnData;
  const ctor = first?.constructor;
  const sameTyped = first && !Array.isArray(first) && chunks.every((c) => c.columnData.constructor === ctor);
  if (sameTyped) {
    const out = new (ctor as TypedArrayConstructor)(rows);
    for (const c of chunks) out.set(c.columnData as ArrayLike<unknown>, c.rowStart - start);
    return out;
  }
  const out = new Array<unknown>(rows);
  for (const c of chunks) {
    const d = c.columnData as Column;
    for (let i = 0, r = c.rowStart - start; i < d.length; i++, r++) out[r] = d[i];
  }
  return out;
}

// --- value formatting (shared by decodeParquet and the CSV path) ------------------------------

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedDayPrefix = '';

/** `YYYY-MM-DDT` of a day since the epoch, cached: consecutive rows mostly share a day. */
function dayPrefix(day: number): string {
  if (day !== cachedDay) {
    const iso = new Date(day * DAY_MS).toISOString();
    cachedDayPrefix = iso.slice(0, iso.indexOf('T') + 1);
    cachedDay = day;
  }
  return cachedDayPrefix;
}

/**
 * Epoch milliseconds (+ sub-millisecond digits) → `YYYY-MM-DDTHH:MM:SS.sss[ddd]Z`, equal to
 * Date#toISOString() for the millisecond part. Formats the time of day by hand: Date#toISOString
 * per value was the decode hot spot.
 */
function isoFromMillis(ms: number, subMillis: string): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new RangeError(`timestamp ${ms} ms is out of range`);
  const day = Math.floor(ms / DAY_MS);
  const prefix = dayPrefix(day);
  let r = ms - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const s = Math.floor(r / 1000);
  return `${prefix}${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[s]}.${THREE_DIGITS[r - s * 1000]}${subMillis}Z`;
}

function isoFromMicros(v: number | bigint): string {
  const n = Number(v);
  if (Number.isSafeInteger(n)) {
    const ms = Math.floor(n / 1000);
    const rem = n - ms * 1000;
    return isoFromMillis(ms, rem === 0 ? '' : THREE_DIGITS[rem]!);
  }
  const b = BigInt(v);
  let ms = b / 1000n;
  let rem = b % 1000n;
  if (rem < 0n) {
    ms -= 1n;
    rem += 1000n;
  }
  return isoFromMillis(Number(ms), rem === 0n ? '' : THREE_DIGITS[Number(rem)]!);
}

function isoFromNanos(v: number | bigint): string {
  const b = BigInt(v);
  let ms = b / 1_000_000n;
  let rem = Number(b % 1_000_000n);
  if (rem < 0) {
    ms -= 1n;
    rem += 1_000_000;
  }
  let sub = '';
  if (rem !== 0) sub = rem % 1000 === 0 ? THREE_DIGITS[rem / 1000]! : String(rem).padStart(6, '0');
  return isoFromMillis(Number(ms), sub);
}

function dateFromDays(days: number): string {
  return dayPrefix(Number(days)).slice(0, -1);
}

function formatTime(v: number | bigint, perSecond: bigint, digits: number): string {
  const b = BigInt(v);
  const seconds = Number(b / perSecond);
  const frac = (b % perSecond).toString().padStart(digits, '0');
  return `${TWO_DIGITS[Math.floor(seconds / 3600)] ?? String(Math.floor(seconds / 3600))}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}.${frac}`;
}

function toUnscaled(v: unknown): bigint | number {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof Uint8Array) return twosComplement(v);
  throw new TypeError(`a DECIMAL value has an unexpected physical form (${typeof v})`);
}

/** Big-endian two's complement bytes → integer. */
function twosComplement(bytes: Uint8Array): bigint | number {
  if (bytes.length === 0) return 0;
  if (bytes.length <= 6) {
    let n = 0;
    for (const b of bytes) n = n * 256 + b;
    return bytes[0]! & 0x80 ? n - 2 ** (8 * bytes.length) : n;
  }
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return bytes[0]! & 0x80 ? n - (1n << BigInt(8 * bytes.length)) : n;
}

/** Unscaled integer and scale → exact decimal string (`-5`, 2 → `'-0.05'`). */
export function formatUnscaled(unscaled: bigint | number, scale: number): string {
  let s = String(unscaled);
  if (scale <= 0) return scale === 0 ? s : s + '0'.repeat(-scale);
  const negative = s.charCodeAt(0) === 45;
  if (negative) s = s.slice(1);
  if (s.length <= scale) s = '0'.repeat(scale - s.length + 1) + s;
  const text = `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
  return negative ? `-${text}` : text;
}

/** Raw value of a kind → its friendly string (plain values pass through). */
const VALUE_CONVERTERS: Record<ValueKind, (value: unknown, scale: number) => ParquetValue> = {
  plain: (v) => v as ParquetValue,
  decimal: (v, scale) => formatUnscaled(toUnscaled(v), scale),
  'timestamp-millis': (v) => isoFromMillis(Number(v), ''),
  'timestamp-micros': (v) => isoFromMicros(v as number | bigint),
  'timestamp-nanos': (v) => isoFromNanos(v as number | bigint),
  date: (v) => dateFromDays(v as number),
  'time-millis': (v) => formatTime(v as number, 1000n, 3),
  'time-micros': (v) => formatTime(v as bigint, 1_000_000n, 6),
  'time-nanos': (v) => formatTime(v as bigint, 1_000_000_000n, 9),
};

// --- CSV bytes --------------------------------------------------------------------------------

const KIND_CODES: Record<ValueKind, number> = {
  plain: 0,
  decimal: 1,
  'timestamp-millis': 2,
  'timestamp-micros': 3,
  'timestamp-nanos': 4,
  date: 5,
  'time-millis': 6,
  'time-micros': 7,
  'time-nanos': 8,
};
const KIND_BY_CODE = Object.keys(KIND_CODES) as ValueKind[];
const HEX = new TextEncoder().encode('0123456789abcdef');
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Appends CSV to a Buffer. Numbers, decimals, timestamps and short ASCII text are written byte by
 * byte, without intermediate strings: building one JS string per value and re-encoding it made
 * garbage collection the largest cost of the COPY path.
 */
class CsvWriter {
  buf: Buffer;
  pos = 0;

  constructor(private readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far; starts a new buffer (the returned one is never reused). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.pos = 0;
    return out;
  }

  ascii(s: string, length = s.length): void {
    this.ensure(length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** A non-negative safe integer. */
  uint(n: number): void {
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    this.ensure(digits);
    let p = this.pos + digits;
    const buf = this.buf;
    do {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + n - q * 10;
      n = q;
    } while (n > 0);
    this.pos += digits;
  }

  /** `n` as exactly `width` digits, zero-padded (n < 10^width). */
  fixed(n: number, width: number): void {
    this.ensure(width);
    const buf = this.buf;
    for (let p = this.pos + width - 1; p >= this.pos; p--) {
      const q = Math.floor(n / 10);
      buf[p] = 48 + n - q * 10;
      n = q;
    }
    this.pos += width;
  }

  int(n: number): void {
    if (n < 0) {
      this.ensure(1);
      this.buf[this.pos++] = 45;
      n = -n;
    }
    this.uint(n);
  }

  /** A string, always quoted, `"` doubled. */
  quoted(s: string): void {
    const length = s.length;
    if (length > 32) {
      const text = s.includes('"') ? s.replaceAll('"', '""') : s;
      this.ensure(text.length * 3 + 2);
      this.buf[this.pos++] = 34;
      this.pos += this.buf.write(text, this.pos, 'utf8');
      this.buf[this.pos++] = 34;
      return;
    }
    this.ensure(length * 3 + length + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 34;
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        const rest = s.slice(i);
        pos += buf.write(rest.includes('"') ? rest.replaceAll('"', '""') : rest, pos, 'utf8');
        break;
      }
      if (c === 34) buf[pos++] = 34;
      buf[pos++] = c;
    }
    buf[pos++] = 34;
    this.pos = pos;
  }

  /** Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.sss`, then `sub` extra digits of `subDigits`, then `Z`. */
  timestamp(ms: number, sub: number, subDigits: number): void {
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new RangeError(`timestamp ${ms} ms is out of range`);
    const day = Math.floor(ms / DAY_MS);
    this.ascii(dayPrefix(day));
    let r = ms - day * DAY_MS;
    const h = Math.floor(r / 3_600_000);
    r -= h * 3_600_000;
    const m = Math.floor(r / 60_000);
    r -= m * 60_000;
    const s = Math.floor(r / 1000);
    this.ensure(24);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 48 + Math.floor(h / 10);
    buf[pos++] = 48 + (h % 10);
    buf[pos++] = 58;
    buf[pos++] = 48 + Math.floor(m / 10);
    buf[pos++] = 48 + (m % 10);
    buf[pos++] = 58;
    buf[pos++] = 48 + Math.floor(s / 10);
    buf[pos++] = 48 + (s % 10);
    buf[pos++] = 46;
    this.pos = pos;
    this.fixed(r - s * 1000, 3);
    if (subDigits > 0) this.fixed(sub, subDigits);
    this.buf[this.pos++] = 90; // 'Z'
  }

  /** An unscaled decimal at `scale`, exactly. */
  decimal(unscaled: number | bigint, scale: number): void {
    let n: number;
    if (typeof unscaled === 'bigint') {
      if (unscaled > MAX_SAFE || unscaled < -MAX_SAFE || scale > 15) return this.ascii(formatUnscaled(unscaled, scale));
      n = Number(unscaled);
    } else {
      if (scale > 15) return this.ascii(formatUnscaled(unscaled, scale));
      n = unscaled;
    }
    if (n < 0) {
      this.ensure(1);
      this.buf[this.pos++] = 45;
      n = -n;
    }
    if (scale === 0) return this.uint(n);
    const p10 = POW10[scale]!;
    let whole = Math.floor(n / p10);
    let frac = n - whole * p10;
    // float division can round up across an integer boundary near 2^53
    if (frac < 0) {
      whole--;
      frac += p10;
    } else if (frac >= p10) {
      whole++;
      frac -= p10;
    }
    this.uint(whole);
    this.ensure(1);
    this.buf[this.pos++] = 46;
    this.fixed(frac, scale);
  }

  bytes(v: Uint8Array): void {
    this.ensure(2 + v.length * 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 92; // backslash
    buf[pos++] = 120; // 'x'
    for (let i = 0; i < v.length; i++) {
      const b = v[i]!;
      buf[pos++] = HEX[b >> 4]!;
      buf[pos++] = HEX[b & 15]!;
    }
    this.pos = pos;
  }
}

/** One non-null value of a kind, as a CSV field. */
function writeField(w: CsvWriter, kind: number, v: unknown, scale: number): void {
  switch (kind) {
    case 0:
      switch (typeof v) {
        case 'string':
          return w.quoted(v);
        case 'number':
          if (v === 0 && 1 / v < 0) return w.ascii('-0');
          return Number.isSafeInteger(v) ? w.int(v) : w.ascii(String(v));
        case 'bigint':
          return v <= MAX_SAFE && v >= -MAX_SAFE ? w.int(Number(v)) : w.ascii(v.toString());
        case 'boolean':
          w.ensure(1);
          w.buf[w.pos++] = v ? 116 : 102; // 't' : 'f'
          return;
        default:
          if (v instanceof Uint8Array) return w.bytes(v);
          if (v instanceof Date) return w.ascii(v.toISOString());
          throw new TypeError(`a value of type ${typeof v} has no CSV form`);
      }
    case 1:
      return w.decimal(toUnscaled(v), scale);
    case 2:
      return w.timestamp(Number(v), 0, 0);
    case 3: {
      const n = Number(v);
      if (Number.isSafeInteger(n)) {
        const ms = Math.floor(n / 1000);
        const rem = n - ms * 1000;
        return w.timestamp(ms, rem, rem === 0 ? 0 : 3);
      }
      return w.ascii(isoFromMicros(v as bigint));
    }
    case 5: {
      const prefix = dayPrefix(Number(v));
      return w.ascii(prefix, prefix.length - 1);
    }
    default:
      return w.ascii(VALUE_CONVERTERS[KIND_BY_CODE[kind]!](v, scale) as string);
  }
}
