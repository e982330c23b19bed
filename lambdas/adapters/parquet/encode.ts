/**
 * Parquet writing for the extraction (and the demo, tests and bench): flat columns of the types
 * the MySQL/PostgreSQL extraction produces, written the way Redshift's Parquet COPY reads them.
 *
 * Pages are encoded here, value by value straight into bytes (PLAIN values, RLE/bit-packed
 * definition levels, DataPage V1, the most widely read page format), compressed by our own
 * Snappy (./snappy.ts), and the footer is hyparquet-writer's (thrift, statistics truncation,
 * column orders). hyparquet-writer's own column path was the measured limit (about 0.37M rows/s
 * for eight columns before any value conversion: per-value TextEncoder arrays, BigInt
 * conversions, statistics on rich values and a byte-at-a-time Snappy).
 */
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { serializeTCompactProtocol } from 'hyparquet-writer/src/thrift.js';
import { snappyCompress } from './snappy';
import { columnWriter, type ColumnWriter, type FooterMetadata, type Sink } from './value-writers';

/** A column to write: values in `data`, `null`/`undefined` for nulls. */
export interface ParquetColumnInput {
  readonly name: string;
  /**
   * Parquet written (physical type and annotation) and the values each accepts:
   * - `INT64` (INT64): bigint, safe-integer number or integer text (`'-9223372036854775808'`);
   * - `INT32` (INT32): integer number in the int32 range; `DOUBLE` (DOUBLE): number;
   * - `FLOAT` (FLOAT, 32-bit): number, rounded to the nearest float32; a finite value beyond
   *   float32's range is a RangeError (it would become Infinity);
   * - `BOOLEAN`; `STRING` (BYTE_ARRAY, STRING/UTF8): string (other values via `String(v)`);
   * - `BYTES` (BYTE_ARRAY without annotation; Redshift VARBYTE): Uint8Array (a Buffer is one);
   * - `DATE` (INT32, DATE): `'YYYY-MM-DD'`, a Date (its UTC calendar day) or days since 1970-01-01;
   * - `TIMESTAMP` (INT64, TIMESTAMP MICROS): `'YYYY-MM-DD HH:MM:SS[.ffffff]'` or with `T`, with an
   *   optional `Z`/`±HH`/`±HH:MM` (no zone means UTC), a Date, bigint microseconds or number
   *   milliseconds since the epoch. Microseconds are kept exactly; more precise non-zero digits,
   *   and years outside 0001–9999, are a RangeError. See `adjustedToUtc`.
   * - `DECIMAL` (`precision` default 38, `scale` default 0; INT32 up to 9 digits, INT64 up to 18,
   *   else FIXED_LEN_BYTE_ARRAY): the value itself as a decimal string (`'12345678.91'`, exact),
   *   number or bigint. More fractional digits than `scale`, or more digits than `precision`,
   *   throw a RangeError rather than round. Redshift's DECIMAL holds at most 38 digits: write wider
   *   source decimals as STRING.
   */
  readonly type: 'INT64' | 'INT32' | 'DOUBLE' | 'FLOAT' | 'STRING' | 'BYTES' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP' | 'DECIMAL';
  readonly precision?: number;
  readonly scale?: number;
  /**
   * TIMESTAMP only: the logical type's `isAdjustedToUTC`. `true` (an instant: MySQL TIMESTAMP,
   * PostgreSQL timestamptz) converts a value's UTC offset; `false` (a wall-clock reading: MySQL
   * DATETIME, PostgreSQL timestamp) keeps the digits as written and refuses a non-zero offset
   * (`Z`, `+00` and `+00:00` are accepted). Either way the stored integer is the digits read as
   * UTC, which is what Redshift loads into TIMESTAMP (digits) and TIMESTAMPTZ (that instant).
   * @default true (the TIMESTAMP_MICROS converted type, as before this option existed)
   */
  readonly adjustedToUtc?: boolean;
  /** @default true */
  readonly nullable?: boolean;
  readonly data: readonly unknown[];
}

/** Options of {@link encodeParquet}. */
export interface EncodeParquetOptions {
  /**
   * Rows per row group. Redshift splits a Parquet file for COPY by row group and wants row groups
   * of at most ~128 MB uncompressed (files of 1 MB–1 GB; files under 128 MB are not split), so
   * choose about `128 MB / uncompressed bytes per row`.
   * @default 1,000 rows for the first group, then 100,000 per group (hyparquet-writer's default)
   */
  readonly rowGroupSize?: number;
  /** @default 'SNAPPY' */
  readonly codec?: 'SNAPPY' | 'UNCOMPRESSED';
}

/** Uncompressed value bytes and rows per page (parquet-mr's 1 MB default page size). */
const PAGE_BYTES = 1024 * 1024;
const PAGE_ROWS = 65536;

/**
 * Writes columns to Parquet bytes (Snappy, column statistics with null counts and min/max, no
 * dictionary). All columns must have the same length. A value a column cannot hold exactly
 * throws a RangeError naming the column and row (see {@link ParquetColumnInput}), as does a
 * null in a `nullable: false` column.
 */
export function encodeParquet(columns: readonly ParquetColumnInput[], options: EncodeParquetOptions = {}): Uint8Array {
  const rows = columns[0]?.data.length ?? 0;
  for (const c of columns) {
    if (c.data.length !== rows) throw new RangeError(`column '${c.name}' has ${c.data.length} values, expected ${rows}`);
  }
  const writers = columns.map(columnWriter);
  const codec = options.codec ?? 'SNAPPY';
  const out = new Output();
  out.push(MAGIC);
  const rowGroups: FooterMetadata['row_groups'] = [];
  const sinks = { values: new PageSink(), page: new PageSink(), levels: new Uint8Array(PAGE_ROWS) };
  for (let start = 0, group = 0; start < rows; group++) {
    const size = options.rowGroupSize ?? (group === 0 ? 1000 : 100_000);
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`rowGroupSize must be a positive integer, not ${size}`);
    const end = Math.min(rows, start + size);
    const groupOffset = out.offset;
    const chunks = writers.map((w, i) => writeChunk(out, w, columns[i]!.data, start, end, codec, sinks));
    rowGroups.push({
      columns: chunks,
      total_byte_size: chunks.reduce((n, c) => n + c.meta_data!.total_uncompressed_size, 0n),
      num_rows: BigInt(end - start),
      file_offset: BigInt(groupOffset),
      total_compressed_size: BigInt(out.offset - groupOffset),
    });
    start = end;
  }
  const footer = new ByteWriter();
  const metadata: FooterMetadata = {
    version: 2,
    schema: [{ name: 'root', num_children: columns.length }, ...writers.map((w) => w.element)],
    num_rows: BigInt(rows),
    row_groups: rowGroups,
    created_by: 'syncproof',
    metadata_length: 0,
  };
  delete (metadata as { metadata_length?: number }).metadata_length;
  writeMetadata(footer, metadata);
  out.push(footer.getBytes());
  out.push(MAGIC);
  return out.bytes();
}

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

/** The file as a list of parts, joined once at the end. */
class Output {
  private readonly parts: Uint8Array[] = [];
  offset = 0;

  push(part: Uint8Array): void {
    this.parts.push(part);
    this.offset += part.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.offset);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A growable byte buffer reused from page to page. */
class PageSink implements Sink {
  buf = Buffer.allocUnsafe(PAGE_BYTES + 64 * 1024);
  pos = 0;

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

type ColumnChunk = FooterMetadata['row_groups'][number]['columns'][number];

/** Rows [start, end) of one column as a column chunk of DataPage V1 pages. */
function writeChunk(
  out: Output,
  w: ColumnWriter,
  data: readonly unknown[],
  start: number,
  end: number,
  codec: 'SNAPPY' | 'UNCOMPRESSED',
  sinks: { values: PageSink; page: PageSink; levels: Uint8Array },
): ColumnChunk {
  const chunkOffset = out.offset;
  const { values, levels } = sinks;
  const nullable = w.element.repetition_type !== 'REQUIRED';
  let uncompressed = 0;
  let nulls = 0;
  let pageStart = start;
  let pageNulls = 0;
  const flush = (pageEnd: number) => {
    w.endPage(values);
    uncompressed += writePage(out, sinks, pageEnd - pageStart, nullable ? pageNulls : -1, codec);
    values.pos = 0;
    nulls += pageNulls;
    pageStart = pageEnd;
    pageNulls = 0;
  };
  w.startChunk();
  let r = start;
  try {
    for (; r < end; r++) {
      const v = data[r];
      if (v === null || v === undefined) {
        if (!nullable) throw new RangeError('is null, but the column is not nullable');
        levels[r - pageStart] = 0;
        pageNulls++;
      } else {
        if (nullable) levels[r - pageStart] = 1;
        w.put(values, v);
      }
      if (values.pos >= PAGE_BYTES || r + 1 - pageStart === PAGE_ROWS) flush(r + 1);
    }
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new RangeError(`column '${w.element.name}' (${w.element.type}) row ${r}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (pageStart < end) flush(end);
  return {
    file_offset: BigInt(chunkOffset),
    meta_data: {
      type: w.element.type!,
      encodings: nullable ? ['PLAIN', 'RLE'] : ['PLAIN'],
      path_in_schema: [w.element.name],
      codec,
      num_values: BigInt(end - start),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(out.offset - chunkOffset),
      data_page_offset: BigInt(chunkOffset),
      statistics: { ...w.statistics(), null_count: BigInt(nulls) },
    },
  };
}

/**
 * One DataPage V1: `[levels length][RLE/bit-packed definition levels]` (nullable columns) then
 * the PLAIN values, compressed together; returns its uncompressed size with the header.
 * `nulls` is -1 for a REQUIRED column.
 */
function writePage(out: Output, sinks: { values: PageSink; page: PageSink; levels: Uint8Array }, rows: number, nulls: number, codec: 'SNAPPY' | 'UNCOMPRESSED'): number {
  const { values, page, levels } = sinks;
  let body: Uint8Array;
  if (nulls < 0) body = values.buf.subarray(0, values.pos);
  else {
    page.pos = 0;
    page.ensure(4 + 10 + Math.ceil(rows / 8) + values.pos);
    const buf = page.buf;
    let p = 4;
    if (nulls === 0) {
      p = varint(buf, p, rows * 2); // one RLE run of 1s
      buf[p++] = 1;
    } else {
      const groups = Math.ceil(rows / 8);
      p = varint(buf, p, groups * 2 + 1); // one bit-packed run
      for (let g = 0; g < groups; g++) {
        let byte = 0;
        const base = g * 8;
        const n = Math.min(8, rows - base);
        for (let k = 0; k < n; k++) byte |= levels[base + k]! << k;
        buf[p++] = byte;
      }
    }
    buf.writeUInt32LE(p - 4, 0);
    values.buf.copy(buf, p, 0, values.pos);
    p += values.pos;
    body = buf.subarray(0, p);
  }
  const stored = codec === 'SNAPPY' ? snappyCompress(body) : body.slice();
  const header = new ByteWriter(64);
  serializeTCompactProtocol(header, {
    field_1: 0, // DATA_PAGE
    field_2: body.length,
    field_3: stored.length,
    field_5: { field_1: rows, field_2: 0 /* PLAIN */, field_3: 3 /* RLE */, field_4: 3 /* RLE */ },
  });
  const headerBytes = header.getBytes().slice();
  out.push(headerBytes);
  out.push(stored);
  return headerBytes.length + body.length;
}

function varint(buf: Uint8Array, p: number, v: number): number {
  while (v >= 128) {
    buf[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}
