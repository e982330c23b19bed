/**
 * One writer per column type: turns a non-null source value into its PLAIN Parquet bytes in the
 * page buffer and tracks the column chunk's min/max, without per-value allocations on the common
 * paths (int64s are written as two 32-bit halves, min/max of INT64 columns are read back from the
 * bytes just written). A value that cannot be written exactly throws a RangeError or TypeError
 * that encode.ts prefixes with the column and row.
 */
import type { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import type { ParquetColumnInput } from './encode';
import * as text from './text-values';

// Module-local aliases: a transpiled import is a property read (a getter in some bundlers) per use.
const { MAX_DAY, MAX_SECOND, MIN_DAY, MIN_SECOND, daysFromDateText, fastUnscaled, parseTimestampText, parsedTimestamp, unscaledFromValue } = text;

/** The footer as hyparquet-writer types it (it bundles its own hyparquet, whose types are distinct). */
export type FooterMetadata = Parameters<typeof writeMetadata>[1];
type SchemaElement = FooterMetadata['schema'][number];
type ChunkMetadata = NonNullable<FooterMetadata['row_groups'][number]['columns'][number]['meta_data']>;
type MinMaxType = NonNullable<ChunkMetadata['statistics']>['min_value'];

/** The page buffer being filled. */
export interface Sink {
  buf: Buffer;
  pos: number;
  ensure(extra: number): void;
}

export interface ColumnWriter {
  /** The column's schema element (name, physical type, annotations, repetition). */
  readonly element: SchemaElement;
  /** Starts a column chunk: forgets the previous chunk's min/max. */
  startChunk(): void;
  /** Appends one non-null value. */
  put(sink: Sink, v: unknown): void;
  /** Completes the page's values (BOOLEAN's last partial byte). */
  endPage(sink: Sink): void;
  /** The chunk's min/max as hyparquet-writer's footer converts them (absent when all null). */
  statistics(): { min_value?: MinMaxType; max_value?: MinMaxType };
}

const TWO_26 = 67108864;
const TWO_32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MIN_MICROS = BigInt(MIN_SECOND) * 1_000_000n;
const MAX_MICROS = BigInt(MAX_SECOND) * 1_000_000n + 999_999n;
const FLOAT32_MAX = 3.4028234663852886e38;

function put32(buf: Buffer, p: number, v: number): void {
  buf[p] = v & 0xff;
  buf[p + 1] = (v >>> 8) & 0xff;
  buf[p + 2] = (v >>> 16) & 0xff;
  buf[p + 3] = (v >>> 24) & 0xff;
}

/** A safe integer as a little-endian int64. */
function putInt64(buf: Buffer, p: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  put32(buf, p, n - hi * TWO_32);
  put32(buf, p + 4, hi);
}

/** `seconds * 10^6 + micros` as a little-endian int64, exactly (the product exceeds 2^53). */
function putMicros(buf: Buffer, p: number, seconds: number, micros: number): void {
  const q = seconds * 15625; // seconds * 10^6 = q * 64; |q| < 2^53
  let hi = Math.floor(q / TWO_26);
  let lo = (q - hi * TWO_26) * 64 + micros;
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi++;
  }
  put32(buf, p, lo);
  put32(buf, p + 4, hi);
}

function putBigInt64(buf: Buffer, p: number, v: bigint): void {
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${v} is outside the INT64 range`);
  buf.writeBigInt64LE(v, p);
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

/** Min/max of an INT64 column as signed (hi, lo) halves read back from the written bytes. */
class Int64Range {
  has = false;
  minHi = 0;
  minLo = 0;
  maxHi = 0;
  maxLo = 0;

  update(buf: Buffer, p: number): void {
    const lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    const hi = buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24);
    if (!this.has) {
      this.has = true;
      this.minHi = this.maxHi = hi;
      this.minLo = this.maxLo = lo;
    } else if (hi < this.minHi || (hi === this.minHi && lo < this.minLo)) {
      this.minHi = hi;
      this.minLo = lo;
    } else if (hi > this.maxHi || (hi === this.maxHi && lo > this.maxLo)) {
      this.maxHi = hi;
      this.maxLo = lo;
    }
  }

  result(): { min_value?: bigint; max_value?: bigint } {
    if (!this.has) return {};
    return { min_value: (BigInt(this.minHi) << 32n) + BigInt(this.minLo), max_value: (BigInt(this.maxHi) << 32n) + BigInt(this.maxLo) };
  }
}

/** The min/max of a column chunk's values. */
interface ValueRange<T> {
  readonly has: boolean;
  readonly min: T;
  readonly max: T;
  update(v: T): void;
  reset(): void;
}

/** Min/max by a comparison (numbers, bigints, bytes). */
class Range<T> implements ValueRange<T> {
  has = false;
  min!: T;
  max!: T;

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  reset(): void {
    this.has = false;
  }

  update(v: T): void {
    if (!this.has) {
      this.has = true;
      this.min = this.max = v;
    } else if (this.less(v, this.min)) this.min = v;
    else if (this.less(this.max, v)) this.max = v;
  }
}

const numberLess = (a: number | bigint, b: number | bigint): boolean => a < b;

/**
 * UTF-8 byte order (= code point order) of two strings: UTF-16 order differs from it only
 * between surrogates and U+E000–U+FFFF, which are remapped before comparing.
 */
function utf8Less(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      return x < y;
    }
  }
  return a.length < b.length;
}

function bytesLess(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return a.length < b.length;
}

abstract class BaseWriter implements ColumnWriter {
  constructor(readonly element: SchemaElement) {}
  abstract startChunk(): void;
  abstract put(sink: Sink, v: unknown): void;
  endPage(_sink: Sink): void {}
  abstract statistics(): { min_value?: MinMaxType; max_value?: MinMaxType };
}

/** A writer whose min/max are the values it was given (or, via `statistics`, derived from them). */
abstract class RangedWriter<T> extends BaseWriter {
  constructor(
    element: SchemaElement,
    protected readonly range: ValueRange<T>,
  ) {
    super(element);
  }

  startChunk(): void {
    this.range.reset();
  }

  statistics(): { min_value?: MinMaxType; max_value?: MinMaxType } {
    return this.range.has ? { min_value: this.range.min as MinMaxType, max_value: this.range.max as MinMaxType } : {};
  }
}

/** INT64 columns and INT64-backed annotations (TIMESTAMP, DECIMAL up to 18 digits). */
abstract class Int64Writer extends BaseWriter {
  protected readonly range = new Int64Range();

  startChunk(): void {
    this.range.has = false;
  }

  put(sink: Sink, v: unknown): void {
    sink.ensure(8);
    this.write(sink.buf, sink.pos, v);
    this.range.update(sink.buf, sink.pos);
    sink.pos += 8;
  }

  protected abstract write(buf: Buffer, p: number, v: unknown): void;

  statistics(): { min_value?: bigint; max_value?: bigint } {
    return this.range.result();
  }
}

class BigIntWriter extends Int64Writer {
  protected write(buf: Buffer, p: number, v: unknown): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer; pass a bigint or its text for INT64`);
      putInt64(buf, p, v);
    } else if (typeof v === 'bigint') {
      const n = Number(v); // exact exactly when it is a safe integer
      if (Number.isSafeInteger(n)) putInt64(buf, p, n);
      else putBigInt64(buf, p, v);
    } else if (typeof v === 'string') {
      const n = v.length <= 15 && /^-?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isNaN(n)) putInt64(buf, p, n);
      else if (/^\s*[+-]?\d+\s*$/.test(v)) putBigInt64(buf, p, BigInt(v.trim()));
      else throw new RangeError(`'${v}' is not an integer`);
    } else throw new TypeError(`a ${typeof v} is not an INT64 value (bigint, integer number or integer text)`);
  }
}

class TimestampWriter extends Int64Writer {
  constructor(
    element: SchemaElement,
    private readonly utc: boolean,
  ) {
    super(element);
  }

  protected write(buf: Buffer, p: number, v: unknown): void {
    let seconds: number;
    let micros: number;
    if (typeof v === 'string') {
      parseTimestampText(v);
      seconds = parsedTimestamp.seconds;
      micros = parsedTimestamp.micros;
      if (parsedTimestamp.offsetSeconds !== 0) {
        if (!this.utc) {
          throw new RangeError(`'${v}' has a UTC offset, but this TIMESTAMP is wall-clock (adjustedToUtc: false): give its local digits without an offset`);
        }
        seconds -= parsedTimestamp.offsetSeconds;
      }
    } else if (typeof v === 'bigint') {
      if (v < MIN_MICROS || v > MAX_MICROS) throw new RangeError(`${v} µs since the epoch is outside years 0001–9999`);
      buf.writeBigInt64LE(v, p);
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
    putMicros(buf, p, seconds, micros);
  }
}

class Decimal64Writer extends Int64Writer {
  constructor(
    element: SchemaElement,
    private readonly precision: number,
    private readonly scale: number,
  ) {
    super(element);
  }

  protected write(buf: Buffer, p: number, v: unknown): void {
    const fast = typeof v === 'string' ? fastUnscaled(v, this.precision, this.scale) : NaN;
    if (!Number.isNaN(fast)) putInt64(buf, p, fast);
    else buf.writeBigInt64LE(unscaledFromValue(v, this.precision, this.scale), p);
  }
}

/** DECIMAL up to 9 digits (INT32) or more than 18 (FIXED_LEN_BYTE_ARRAY, big-endian two's complement). */
class DecimalWriter extends RangedWriter<number | bigint> {
  constructor(
    element: SchemaElement,
    private readonly precision: number,
    private readonly scale: number,
    private readonly width: number,
  ) {
    super(element, new Range<number | bigint>(numberLess));
  }

  put(sink: Sink, v: unknown): void {
    const fast = typeof v === 'string' ? fastUnscaled(v, this.precision, this.scale) : NaN;
    const unscaled = Number.isNaN(fast) ? unscaledFromValue(v, this.precision, this.scale) : fast;
    const width = this.width;
    sink.ensure(width);
    const buf = sink.buf;
    const p = sink.pos;
    if (width === 4) buf.writeInt32LE(Number(unscaled), p);
    else if (typeof unscaled === 'number') {
      const hi = Math.floor(unscaled / TWO_32);
      const lo = unscaled - hi * TWO_32;
      const end = p + width;
      buf.writeUInt32BE(lo, end - 4);
      buf.writeInt32BE(hi, end - 8);
      buf.fill(hi < 0 ? 0xff : 0, p, end - 8);
    } else {
      let x = unscaled;
      for (let i = p + width - 1; i >= p; i--) {
        buf[i] = Number(x & 0xffn);
        x >>= 8n;
      }
    }
    this.range.update(unscaled);
    sink.pos = p + width;
  }

  statistics(): { min_value?: bigint; max_value?: bigint } {
    const r = this.range;
    return r.has ? { min_value: BigInt(r.min), max_value: BigInt(r.max) } : {};
  }
}

/** INT32 columns and DATE (days since the epoch). */
class Int32Writer extends RangedWriter<number> {
  constructor(
    element: SchemaElement,
    private readonly date: boolean,
  ) {
    super(element, new Range<number>(numberLess));
  }

  put(sink: Sink, v: unknown): void {
    let n: number;
    if (!this.date) {
      n = toNumber(v);
      if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) throw new RangeError(`${String(v)} is not an integer in the INT32 range`);
    } else if (typeof v === 'string') n = daysFromDateText(v);
    else {
      n = v instanceof Date ? Math.floor(v.getTime() / 86400000) : typeof v === 'number' && Number.isInteger(v) ? v : NaN;
      if (!(n >= MIN_DAY && n <= MAX_DAY)) throw new RangeError(`DATE value ${String(v)} is not a date between 0001-01-01 and 9999-12-31 (text, Date or days since 1970-01-01)`);
    }
    sink.ensure(4);
    put32(sink.buf, sink.pos, n);
    sink.pos += 4;
    this.range.update(n);
  }
}

/** DOUBLE and FLOAT; NaN is written but left out of min/max (Parquet's rule), -0/+0 normalized. */
class FloatingWriter extends RangedWriter<number> {
  constructor(
    element: SchemaElement,
    private readonly single: boolean,
  ) {
    super(element, new Range<number>(numberLess));
  }

  put(sink: Sink, v: unknown): void {
    let n = toNumber(v);
    if (this.single) {
      const f = Math.fround(n);
      if (!Number.isFinite(f) && Number.isFinite(n)) throw new RangeError(`${n} is beyond FLOAT (REAL) range ±${FLOAT32_MAX}`);
      n = f;
      sink.ensure(4);
      sink.buf.writeFloatLE(n, sink.pos);
      sink.pos += 4;
    } else {
      sink.ensure(8);
      sink.buf.writeDoubleLE(n, sink.pos);
      sink.pos += 8;
    }
    if (n === n) this.range.update(n);
  }

  statistics(): { min_value?: number; max_value?: number } {
    const r = this.range;
    if (!r.has) return {};
    return { min_value: r.min === 0 ? -0 : r.min, max_value: r.max === 0 ? 0 : r.max };
  }
}

const TRUE_TEXT = new Set(['true', 't', '1', 'yes', 'y', 'on']);
const FALSE_TEXT = new Set(['false', 'f', '0', 'no', 'n', 'off']);

/** BOOLEAN: bit-packed, least significant bit first, the last byte of a page padded. */
class BooleanWriter extends BaseWriter {
  private bit = 0;
  private seen = 0; // bit 0: a false was written, bit 1: a true

  startChunk(): void {
    this.seen = 0;
  }

  put(sink: Sink, v: unknown): void {
    let b: boolean;
    if (typeof v === 'string') {
      const t = v.trim().toLowerCase();
      if (TRUE_TEXT.has(t)) b = true;
      else if (FALSE_TEXT.has(t)) b = false;
      else throw new RangeError(`'${v}' is not a boolean (true/false, t/f, 1/0, yes/no, on/off)`);
    } else b = Boolean(v);
    if (this.bit === 0) {
      sink.ensure(1);
      sink.buf[sink.pos++] = 0;
    }
    if (b) sink.buf[sink.pos - 1] |= 1 << this.bit;
    this.bit = (this.bit + 1) & 7;
    this.seen |= b ? 2 : 1;
  }

  endPage(): void {
    this.bit = 0;
  }

  statistics(): { min_value?: boolean; max_value?: boolean } {
    return this.seen === 0 ? {} : { min_value: (this.seen & 1) === 0, max_value: (this.seen & 2) !== 0 };
  }
}

/** Min/max of strings; a value whose first code unit lies strictly between theirs is neither. */
class StringRange implements ValueRange<string> {
  has = false;
  min = '';
  max = '';
  private minFirst = 0;
  private maxFirst = 0;

  reset(): void {
    this.has = false;
  }

  update(s: string): void {
    const first = s.charCodeAt(0);
    if (!this.has) {
      this.has = true;
      this.min = this.max = s;
      this.minFirst = this.maxFirst = first;
    } else if (first > this.minFirst && first < this.maxFirst && first < 0xd800) return;
    else if (utf8Less(s, this.min)) {
      this.min = s;
      this.minFirst = s.charCodeAt(0);
    } else if (utf8Less(this.max, s)) {
      this.max = s;
      this.maxFirst = s.charCodeAt(0);
    }
  }
}

/** STRING: 4-byte length, then UTF-8 (ASCII copied by hand, the rest by Buffer#write). */
class StringWriter extends RangedWriter<string> {
  constructor(element: SchemaElement) {
    super(element, new StringRange());
  }

  put(sink: Sink, v: unknown): void {
    const s = typeof v === 'string' ? v : String(v);
    const length = s.length;
    sink.ensure(4 + length * 3);
    const buf = sink.buf;
    const start = sink.pos + 4;
    let p = start;
    if (length <= 64) {
      for (let i = 0; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = start + buf.write(s, start, 'utf8');
          break;
        }
        buf[p++] = c;
      }
    } else p = start + buf.write(s, start, 'utf8');
    put32(buf, sink.pos, p - start);
    sink.pos = p;
    this.range.update(s);
  }
}

/** BYTES: 4-byte length, then the bytes. */
class BytesWriter extends RangedWriter<Uint8Array> {
  constructor(element: SchemaElement) {
    super(element, new Range<Uint8Array>(bytesLess));
  }

  put(sink: Sink, v: unknown): void {
    if (!(v instanceof Uint8Array)) throw new TypeError(`a ${typeof v} is not a BYTES value (Uint8Array or Buffer)`);
    sink.ensure(4 + v.length);
    put32(sink.buf, sink.pos, v.length);
    sink.buf.set(v, sink.pos + 4);
    sink.pos += 4 + v.length;
    this.range.update(v);
  }
}

/** The writer and schema element of a column; throws RangeError for an impossible declaration. */
export function columnWriter(c: ParquetColumnInput): ColumnWriter {
  const base = { name: c.name, repetition_type: c.nullable === false ? 'REQUIRED' : 'OPTIONAL' } as const;
  if (c.adjustedToUtc !== undefined && c.type !== 'TIMESTAMP') throw new RangeError(`column '${c.name}': adjustedToUtc applies to TIMESTAMP columns only`);
  switch (c.type) {
    case 'INT64':
      return new BigIntWriter({ ...base, type: 'INT64' });
    case 'INT32':
      return new Int32Writer({ ...base, type: 'INT32' }, false);
    case 'DATE':
      return new Int32Writer({ ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }, true);
    case 'DOUBLE':
      return new FloatingWriter({ ...base, type: 'DOUBLE' }, false);
    case 'FLOAT':
      return new FloatingWriter({ ...base, type: 'FLOAT' }, true);
    case 'BOOLEAN':
      return new BooleanWriter({ ...base, type: 'BOOLEAN' });
    case 'STRING':
      return new StringWriter({ ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } });
    case 'BYTES':
      return new BytesWriter({ ...base, type: 'BYTE_ARRAY' });
    case 'TIMESTAMP': {
      const utc = c.adjustedToUtc ?? true;
      // The converted type is set for wall-clock values too, as Arrow does (ARROW-5878), for
      // readers that know only converted types; the logical type tells the two apart.
      return new TimestampWriter(
        { ...base, type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: utc, unit: 'MICROS' } },
        utc,
      );
    }
    case 'DECIMAL': {
      const precision = c.precision ?? 38;
      const scale = c.scale ?? 0;
      if (!Number.isInteger(precision) || !Number.isInteger(scale) || precision < 1 || precision > 76 || scale < 0 || scale > precision) {
        throw new RangeError(`column '${c.name}': DECIMAL(${precision},${scale}) is not a valid precision and scale`);
      }
      const annotation = { converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } } as const;
      if (precision <= 9) return new DecimalWriter({ ...base, type: 'INT32', ...annotation }, precision, scale, 4);
      if (precision <= 18) return new Decimal64Writer({ ...base, type: 'INT64', ...annotation }, precision, scale);
      const width = Math.ceil((Math.log2(10 ** precision) + 1) / 8);
      return new DecimalWriter({ ...base, type: 'FIXED_LEN_BYTE_ARRAY', type_length: width, ...annotation }, precision, scale, width);
    }
    default:
      throw new RangeError(`column '${c.name}': unknown type '${String((c as { type: unknown }).type)}'`);
  }
}
