/**
 * Source values → the physical values hyparquet-writer writes, one column at a time: the schema
 * element of each column type and its values in the form the writer handles fastest (measured):
 * INT32 and DATE in an Int32Array, DOUBLE and FLOAT in a Float64Array/Float32Array, INT64,
 * TIMESTAMP micros and DECIMAL unscaled integers as an array of bigints (a BigInt64Array would
 * box a new bigint on each of the writer's passes), STRING pre-encoded as UTF-8 views of a few
 * large buffers. A column with nulls is handed over as an array with `null` in place. Every value
 * a column cannot hold exactly is refused with a RangeError naming the column and row; nothing is
 * rounded, truncated or shifted.
 */
import type { parquetWriteBuffer } from 'hyparquet-writer';
import type { ParquetColumnInput } from './encode';
import * as text from './text-values';

// Module-local aliases: a transpiled import is a property read (a getter in some bundlers) per use.
const { MAX_DAY, MAX_SECOND, MIN_DAY, MIN_SECOND, daysFromDateText, fastUnscaled, parseTimestampText, parsedTimestamp, unscaledFromValue } = text;

type WriteOptions = Parameters<typeof parquetWriteBuffer>[0];
/** A schema element as hyparquet-writer types it (it bundles its own hyparquet, whose types are distinct). */
export type WriterSchemaElement = NonNullable<WriteOptions['schema']>[number];
/** Column values as hyparquet-writer takes them. */
export type WriterValues = WriteOptions['columnData'][number]['data'];

/** A column ready for hyparquet-writer: its schema element and its physical values. */
export interface ConvertedColumn {
  readonly element: WriterSchemaElement;
  readonly data: WriterValues;
  /** PLAIN where hyparquet-writer's dictionary would change a value (its Map takes -0 for 0). */
  readonly encoding?: 'PLAIN';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MIN_MICROS = BigInt(MIN_SECOND) * 1_000_000n;
const MAX_MICROS = BigInt(MAX_SECOND) * 1_000_000n + 999_999n;
const FLOAT32_MAX = 3.4028234663852886e38;

/** `seconds * 10^6 + micros` as a bigint, exactly (the product exceeds 2^53 for years far from 1970). */
function microsBigInt(seconds: number, micros: number): bigint {
  // seconds * 10^6 is a multiple of 64 below 2^59, so exact; the sum is exact when it is a safe integer.
  const n = seconds * 1_000_000 + micros;
  return Number.isSafeInteger(n) ? BigInt(n) : BigInt(seconds) * 1_000_000n + BigInt(micros);
}

function checkInt64(v: bigint): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${v} is outside the INT64 range`);
  return v;
}

/** A number from a number, or from numeric text; refuses what would silently become NaN or 0. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  const n = Number(v);
  if ((Number.isNaN(n) && !/^\s*[+-]?nan\s*$/i.test(String(v))) || (typeof v === 'string' && v.trim() === '') || typeof v === 'object' || typeof v === 'boolean') {
    throw new RangeError(`${typeof v} ${JSON.stringify(String(v))} is not a number`);
  }
  return n;
}

function putInt64(out: unknown[], i: number, v: unknown): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer; pass a bigint or its text for INT64`);
    out[i] = BigInt(v);
  } else if (typeof v === 'bigint') out[i] = checkInt64(v);
  else if (typeof v === 'string') {
    if (/^\s*[+-]?\d+\s*$/.test(v)) out[i] = checkInt64(BigInt(v.trim()));
    else throw new RangeError(`'${v}' is not an integer`);
  } else throw new TypeError(`a ${typeof v} is not an INT64 value (bigint, integer number or integer text)`);
}

function putTimestamp(out: unknown[], i: number, v: unknown, utc: boolean): void {
  let seconds: number;
  let micros: number;
  if (typeof v === 'string') {
    parseTimestampText(v);
    seconds = parsedTimestamp.seconds;
    micros = parsedTimestamp.micros;
    if (parsedTimestamp.offsetSeconds !== 0) {
      if (!utc) throw new RangeError(`'${v}' has a UTC offset, but this TIMESTAMP is wall-clock (adjustedToUtc: false): give its local digits without an offset`);
      seconds -= parsedTimestamp.offsetSeconds;
    }
  } else if (typeof v === 'bigint') {
    if (v < MIN_MICROS || v > MAX_MICROS) throw new RangeError(`${v} µs since the epoch is outside years 0001–9999`);
    out[i] = v;
    return;
  } else {
    const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? Math.round(v) : NaN;
    if (!Number.isFinite(ms)) {
      throw new TypeError(v instanceof Date ? 'TIMESTAMP value is an invalid Date' : `TIMESTAMP value of type ${typeof v} is not a Date, timestamp text, bigint µs or number ms`);
    }
    seconds = Math.floor(ms / 1000);
    micros = (ms - seconds * 1000) * 1000;
  }
  if (seconds < MIN_SECOND || seconds > MAX_SECOND) throw new RangeError(`${String(v)} is outside years 0001–9999`);
  out[i] = microsBigInt(seconds, micros);
}

function putInt32(out: Int32Array, i: number, v: unknown): void {
  const n = toNumber(v);
  if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) throw new RangeError(`${String(v)} is not an integer in the INT32 range`);
  out[i] = n;
}

function putDate(out: Int32Array, i: number, v: unknown): void {
  if (typeof v === 'string') {
    out[i] = daysFromDateText(v);
    return;
  }
  const n = v instanceof Date ? Math.floor(v.getTime() / 86400000) : typeof v === 'number' && Number.isInteger(v) ? v : NaN;
  if (!(n >= MIN_DAY && n <= MAX_DAY)) throw new RangeError(`DATE value ${String(v)} is not a date between 0001-01-01 and 9999-12-31 (text, Date or days since 1970-01-01)`);
  out[i] = n;
}

function toFloat(v: unknown): number {
  const n = toNumber(v);
  const f = Math.fround(n);
  if (!Number.isFinite(f) && Number.isFinite(n)) throw new RangeError(`${n} is beyond FLOAT (REAL) range ±${FLOAT32_MAX}`);
  return f;
}

/**
 * DOUBLE and FLOAT. A dictionary keys values by SameValueZero, so a chunk holding -0 and 0 would
 * read back one of them twice: a column with a negative zero is written PLAIN.
 */
function floatingColumn(c: ParquetColumnInput, element: WriterSchemaElement, out: Float32Array | Float64Array, convert: (v: unknown) => number): ConvertedColumn {
  let negativeZero = false;
  const data = fill(c, element, out, (i, v) => {
    const n = convert(v);
    if (n === 0 && 1 / n < 0) negativeZero = true;
    out[i] = n;
  });
  return negativeZero ? { element, data, encoding: 'PLAIN' } : { element, data };
}

const TRUE_TEXT = new Set(['true', 't', '1', 'yes', 'y', 'on']);
const FALSE_TEXT = new Set(['false', 'f', '0', 'no', 'n', 'off']);

function putBoolean(out: unknown[], i: number, v: unknown): void {
  if (typeof v !== 'string') out[i] = Boolean(v);
  else {
    const t = v.trim().toLowerCase();
    if (TRUE_TEXT.has(t)) out[i] = true;
    else if (FALSE_TEXT.has(t)) out[i] = false;
    else throw new RangeError(`'${v}' is not a boolean (true/false, t/f, 1/0, yes/no, on/off)`);
  }
}

/**
 * STRING values as UTF-8 bytes, views of a few large buffers (Node's encoder), so that
 * hyparquet-writer compares, sizes and copies bytes instead of encoding each string itself.
 */
class Utf8Values {
  private buf = Buffer.allocUnsafe(0);
  private pos = 0;

  put(out: unknown[], i: number, v: unknown): void {
    const s = typeof v === 'string' ? v : String(v);
    if (this.pos + s.length * 3 > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(UTF8_CHUNK, s.length * 3));
      this.pos = 0;
    }
    const length = this.buf.write(s, this.pos, 'utf8');
    out[i] = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, length);
    this.pos += length;
  }
}

const UTF8_CHUNK = 1 << 20;

function putBytes(out: unknown[], i: number, v: unknown): void {
  if (!(v instanceof Uint8Array)) throw new TypeError(`a ${typeof v} is not a BYTES value (Uint8Array or Buffer)`);
  out[i] = v;
}

/** DECIMAL: the unscaled integer as a bigint (hyparquet-writer writes a bigint as it is, a number would be scaled). */
function putDecimal(out: unknown[], i: number, v: unknown, precision: number, scale: number): void {
  const fast = typeof v === 'string' ? fastUnscaled(v, precision, scale) : NaN;
  out[i] = Number.isNaN(fast) ? unscaledFromValue(v, precision, scale) : BigInt(fast);
}

/**
 * Calls `put` for each non-null value of `c`, refusing nulls in a `nullable: false` column;
 * returns `values`, or, when the column has nulls, an array of them with `null` in place.
 */
function fill<T extends ArrayLike<unknown>>(c: ParquetColumnInput, element: WriterSchemaElement, values: T, put: (i: number, v: unknown) => void): WriterValues {
  const data = c.data;
  const nullable = c.nullable !== false;
  let nulls: number[] | undefined;
  let r = 0;
  try {
    for (; r < data.length; r++) {
      const v = data[r];
      if (v !== null && v !== undefined) put(r, v);
      else if (nullable) (nulls ??= []).push(r);
      else throw new RangeError('is null, but the column is not nullable');
    }
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new RangeError(`column '${c.name}' (${element.type}) row ${r}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (!nulls) return values as unknown as WriterValues;
  const out: unknown[] = Array.isArray(values) ? values : Array.from(values);
  for (const i of nulls) out[i] = null;
  return out;
}

function typedColumn<T extends Int32Array>(c: ParquetColumnInput, element: WriterSchemaElement, out: T, put: (out: T, i: number, v: unknown) => void): ConvertedColumn {
  return { element, data: fill(c, element, out, (i, v) => put(out, i, v)) };
}

function arrayColumn(c: ParquetColumnInput, element: WriterSchemaElement, put: (out: unknown[], i: number, v: unknown) => void): ConvertedColumn {
  const out: unknown[] = new Array(c.data.length);
  return { element, data: fill(c, element, out, (i, v) => put(out, i, v)) };
}

/** The schema element and physical values of a column; throws RangeError for an impossible declaration or value. */
export function convertColumn(c: ParquetColumnInput): ConvertedColumn {
  const base = { name: c.name, repetition_type: c.nullable === false ? 'REQUIRED' : 'OPTIONAL' } as const;
  if (c.adjustedToUtc !== undefined && c.type !== 'TIMESTAMP') throw new RangeError(`column '${c.name}': adjustedToUtc applies to TIMESTAMP columns only`);
  const n = c.data.length;
  switch (c.type) {
    case 'INT64':
      return arrayColumn(c, { ...base, type: 'INT64' }, putInt64);
    case 'INT32':
      return typedColumn(c, { ...base, type: 'INT32' }, new Int32Array(n), putInt32);
    case 'DATE':
      return typedColumn(c, { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }, new Int32Array(n), putDate);
    case 'DOUBLE':
      return floatingColumn(c, { ...base, type: 'DOUBLE' }, new Float64Array(n), toNumber);
    case 'FLOAT':
      return floatingColumn(c, { ...base, type: 'FLOAT' }, new Float32Array(n), toFloat);
    case 'BOOLEAN':
      return arrayColumn(c, { ...base, type: 'BOOLEAN' }, putBoolean);
    case 'STRING': {
      const utf8 = new Utf8Values();
      return arrayColumn(c, { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }, (out, i, v) => utf8.put(out, i, v));
    }
    case 'BYTES':
      return arrayColumn(c, { ...base, type: 'BYTE_ARRAY' }, putBytes);
    case 'TIMESTAMP': {
      const utc = c.adjustedToUtc ?? true;
      // The converted type is set for wall-clock values too, as Arrow does (ARROW-5878), for
      // readers that know only converted types; the logical type tells the two apart.
      const element = { ...base, type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: utc, unit: 'MICROS' } } as const;
      return arrayColumn(c, element, (out, i, v) => putTimestamp(out, i, v, utc));
    }
    case 'DECIMAL': {
      const precision = c.precision ?? 38;
      const scale = c.scale ?? 0;
      if (!Number.isInteger(precision) || !Number.isInteger(scale) || precision < 1 || precision > 76 || scale < 0 || scale > precision) {
        throw new RangeError(`column '${c.name}': DECIMAL(${precision},${scale}) is not a valid precision and scale`);
      }
      const annotation = { converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } } as const;
      const physical =
        precision <= 9
          ? ({ type: 'INT32' } as const)
          : precision <= 18
            ? ({ type: 'INT64' } as const)
            : ({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: Math.ceil((Math.log2(10 ** precision) + 1) / 8) } as const);
      return arrayColumn(c, { ...base, ...physical, ...annotation }, (out, i, v) => putDecimal(out, i, v, precision, scale));
    }
    default:
      throw new RangeError(`column '${c.name}': unknown type '${String((c as { type: unknown }).type)}'`);
  }
}
