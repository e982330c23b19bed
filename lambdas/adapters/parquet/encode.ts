/**
 * Parquet writing for the extraction (and the demo, tests and bench): flat columns of the types
 * the MySQL/PostgreSQL extraction produces, written the way Redshift's Parquet COPY reads them.
 *
 * The file is hyparquet-writer's (DataPage V2 pages, PLAIN/dictionary/RLE encodings, statistics,
 * footer, its Snappy); Node's zlib compresses GZIP pages. What is ours is the value conversion
 * (./column-values.ts): source values, often driver text, parsed exactly into the physical values
 * and handed over in the form the writer handles fastest.
 */
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { convertColumn, type WriterSchemaElement } from './column-values';

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
  /**
   * Page compression. SNAPPY is hyparquet-writer's own compressor; GZIP is Node's zlib (level 1),
   * which Redshift's Parquet COPY also reads.
   * @default 'SNAPPY'
   */
  readonly codec?: 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED';
}

/** Node's zlib for GZIP pages: at level 1, the compression a load path wants (fast, still smaller than Snappy). */
const COMPRESSORS = { GZIP: (bytes: Uint8Array): Uint8Array => gzipSync(bytes, { level: 1 }) };

/**
 * Writes columns to Parquet bytes with hyparquet-writer (Snappy by default, column statistics
 * with null counts and min/max, dictionary encoding where it pays). All columns must have the
 * same length. A value a column cannot hold exactly throws a RangeError naming the column and
 * row (see {@link ParquetColumnInput}), as does a null in a `nullable: false` column.
 */
export function encodeParquet(columns: readonly ParquetColumnInput[], options: EncodeParquetOptions = {}): Uint8Array {
  const rows = columns[0]?.data.length ?? 0;
  for (const c of columns) {
    if (c.data.length !== rows) throw new RangeError(`column '${c.name}' has ${c.data.length} values, expected ${rows}`);
  }
  const size = options.rowGroupSize;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 1)) throw new RangeError(`rowGroupSize must be a positive integer, not ${size}`);
  const converted = columns.map(convertColumn);
  const schema: WriterSchemaElement[] = [{ name: 'root', num_children: columns.length }, ...converted.map((c) => c.element)];
  const buffer = parquetWriteBuffer({
    schema,
    columnData: converted.map((c) => ({ name: c.element.name, data: c.data, ...(c.encoding ? { encoding: c.encoding } : {}) })),
    codec: options.codec ?? 'SNAPPY',
    compressors: COMPRESSORS,
    createdBy: 'syncproof',
    ...(size === undefined ? {} : { rowGroupSize: size }),
  });
  return new Uint8Array(buffer);
}
