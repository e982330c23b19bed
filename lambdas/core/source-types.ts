/**
 * Type mapping from a source column (MySQL/MariaDB or PostgreSQL) to the Parquet the extract
 * stage writes and the Redshift column it loads into. The README's "Type mapping" table is this
 * module; keep the two together. Pure.
 */
import type { JsonType } from './config';
import type { SourceColumn, SourceEngine, SourceValue } from './source';

/** Redshift's longest VARCHAR, in bytes. */
export const MAX_VARCHAR_BYTES = 65_535;
/** Redshift's longest VARBYTE, in bytes. */
export const MAX_VARBYTE_BYTES = 1_024_000;
/** Redshift's largest DECIMAL precision. */
export const MAX_DECIMAL_PRECISION = 38;

/** How a column is written to Parquet (the types `encodeParquet` takes). */
export interface ParquetSpec {
  readonly type: 'INT32' | 'INT64' | 'DECIMAL' | 'FLOAT' | 'DOUBLE' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP' | 'STRING' | 'BYTES';
  readonly precision?: number;
  readonly scale?: number;
  /** TIMESTAMP: the value is a UTC instant (MySQL TIMESTAMP, PostgreSQL timestamptz), not a wall-clock time. */
  readonly adjustedToUtc?: boolean;
}

/**
 * How values of a column are converted (see {@link convertValue}):
 * `int` (number), `bigint` (exact), `decimal` (exact text), `float`, `bool`, `bit` (bytes → integer),
 * `date` and `timestamp` (text; MySQL zero dates become NULL and are counted), `text` (checked
 * against the column's byte limit), `bytes` (checked likewise).
 */
export type ValueRule = 'int' | 'bigint' | 'decimal' | 'float' | 'bool' | 'bit' | 'date' | 'timestamp' | 'text' | 'bytes';

/** One source column, mapped. Persisted per dataset (lambdas/core/source-schema.ts). */
export interface MappedType {
  readonly parquet: ParquetSpec;
  /** The Redshift column type (`BIGINT`, `DECIMAL(12,2)`, `VARCHAR(400)`, `TIMESTAMPTZ`, …). */
  readonly redshift: string;
  readonly rule: ValueRule;
  /** VARCHAR/VARBYTE: the most bytes a value may have; longer values are an error, never cut. */
  readonly maxBytes?: number;
  /** Said once per extraction when the mapping loses something (precision > 38 → VARCHAR). */
  readonly warning?: string;
}

export type TypeMapping = { readonly ok: true; readonly type: MappedType } | { readonly ok: false; readonly reason: string };

/** Options of a dataset's source that change the mapping. */
export interface MappingOptions {
  /** MySQL TINYINT(1) columns that load as BOOLEAN (source names). */
  readonly booleanColumns?: ReadonlySet<string>;
  /** What JSON columns load as (`source.jsonType`). @default 'varchar' */
  readonly json?: JsonType;
}

const BYTES_PER_CHAR: Record<string, number> = { utf8mb4: 4, utf8mb3: 3, utf8: 3, utf16: 4, utf16le: 4, utf32: 4, ucs2: 2, latin1: 1, ascii: 1, binary: 1 };

/** VARCHAR bytes for `chars` characters of `charset` (unknown charsets count 4 bytes a character), capped at 65,535. */
export function varcharBytes(chars: number | null, charset: string | null): number {
  if (chars === null) return MAX_VARCHAR_BYTES;
  const per = BYTES_PER_CHAR[(charset ?? '').toLowerCase()] ?? 4;
  return Math.max(1, Math.min(MAX_VARCHAR_BYTES, chars * per));
}

function varchar(bytes: number, warning?: string): MappedType {
  return { parquet: { type: 'STRING' }, redshift: `VARCHAR(${bytes})`, rule: 'text', maxBytes: bytes, ...(warning ? { warning } : {}) };
}

function varbyte(bytes: number | null): MappedType {
  const n = Math.max(1, Math.min(MAX_VARBYTE_BYTES, bytes ?? MAX_VARBYTE_BYTES));
  return { parquet: { type: 'BYTES' }, redshift: `VARBYTE(${n})`, rule: 'bytes', maxBytes: n };
}

function decimal(precision: number, scale: number, where: string): MappedType {
  if (precision > MAX_DECIMAL_PRECISION) {
    // sign, digits, point
    return varchar(precision + 2, `${where} is DECIMAL(${precision},${scale}); Redshift's DECIMAL holds at most ${MAX_DECIMAL_PRECISION} digits, so it loads as VARCHAR(${precision + 2}) text`);
  }
  return { parquet: { type: 'DECIMAL', precision, scale }, redshift: `DECIMAL(${precision},${scale})`, rule: 'decimal' };
}

const SMALLINT: MappedType = { parquet: { type: 'INT32' }, redshift: 'SMALLINT', rule: 'int' };
const INTEGER: MappedType = { parquet: { type: 'INT32' }, redshift: 'INTEGER', rule: 'int' };
const BIGINT: MappedType = { parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' };
const REAL: MappedType = { parquet: { type: 'FLOAT' }, redshift: 'REAL', rule: 'float' };
const DOUBLE: MappedType = { parquet: { type: 'DOUBLE' }, redshift: 'DOUBLE PRECISION', rule: 'float' };
const BOOLEAN: MappedType = { parquet: { type: 'BOOLEAN' }, redshift: 'BOOLEAN', rule: 'bool' };
const DATE: MappedType = { parquet: { type: 'DATE' }, redshift: 'DATE', rule: 'date' };
const WALL_CLOCK: MappedType = { parquet: { type: 'TIMESTAMP', adjustedToUtc: false }, redshift: 'TIMESTAMP', rule: 'timestamp' };
/** TIME as text: Redshift cannot load TIME from Parquet. MySQL's range is -838:59:59.999999. */
const TIME_TEXT = varchar(24);
/**
 * INTERVAL as text (the source session's IntervalStyle `postgres`); the longest PostgreSQL prints is
 * 67 bytes: `-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808`.
 */
const INTERVAL_TEXT = varchar(67);

/** The Redshift type of a JSON column loaded as a document (`source.jsonType: 'super'`). */
export const SUPER = 'SUPER';

/**
 * A JSON column as a SUPER document. The file still carries the JSON text (a Parquet string): the
 * load stages it as VARCHAR and inserts `JSON_PARSE(text)` (lambdas/core/load-plan.ts), so the
 * text is held to the staging VARCHAR's 65,535 bytes here, at extraction, naming the row.
 */
const SUPER_JSON: MappedType = { parquet: { type: 'STRING' }, redshift: SUPER, rule: 'text', maxBytes: MAX_VARCHAR_BYTES };

function json(options: MappingOptions): MappedType {
  return options.json === 'super' ? SUPER_JSON : varchar(MAX_VARCHAR_BYTES);
}

/** Maps one column; `where` names it in messages (`db.table.column`). */
export function mapSourceType(engine: SourceEngine, column: SourceColumn, where: string, options: MappingOptions = {}): TypeMapping {
  const type = engine === 'mysql' ? mapMysql(column, where, options) : mapPostgres(column, where, options);
  if (type) return { ok: true, type };
  return {
    ok: false,
    reason: `${where} has type ${column.columnType} (${column.dataType}), which syncproof cannot load into Redshift; exclude the column from the source (a view without it) or cast it to a supported type`,
  };
}

function mapMysql(c: SourceColumn, where: string, options: MappingOptions): MappedType | undefined {
  const unsigned = /\bunsigned\b/i.test(c.columnType);
  switch (c.dataType) {
    case 'tinyint':
      if (options.booleanColumns?.has(c.name)) return BOOLEAN;
      return SMALLINT;
    case 'smallint':
      return unsigned ? INTEGER : SMALLINT;
    case 'mediumint':
      return INTEGER;
    case 'int':
    case 'integer':
      return unsigned ? BIGINT : INTEGER;
    case 'bigint':
      return unsigned ? decimal(20, 0, where) : BIGINT;
    case 'decimal':
    case 'numeric':
      return decimal(c.numericPrecision ?? 10, c.numericScale ?? 0, where);
    case 'float':
      return REAL;
    case 'double':
    case 'real':
      return DOUBLE;
    case 'bit':
      return (c.numericPrecision ?? 1) === 1 ? { ...BOOLEAN, rule: 'bit' } : { ...BIGINT, rule: 'bit' };
    case 'year':
      return SMALLINT;
    case 'date':
      return DATE;
    case 'datetime':
      return WALL_CLOCK;
    case 'timestamp':
      // Read in a +00:00 session: the values are UTC.
      return { ...WALL_CLOCK, parquet: { type: 'TIMESTAMP', adjustedToUtc: true } };
    case 'time':
      return TIME_TEXT;
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'enum':
    case 'set':
      return varchar(varcharBytes(c.maxLength, c.charset));
    case 'json':
      return json(options);
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return varbyte(c.maxLength);
    default:
      return undefined;
  }
}

function mapPostgres(c: SourceColumn, where: string, options: MappingOptions): MappedType | undefined {
  switch (c.dataType) {
    case 'smallint':
      return SMALLINT;
    case 'integer':
      return INTEGER;
    case 'bigint':
      return BIGINT;
    case 'numeric':
      if (c.numericPrecision === null) {
        return varchar(MAX_VARCHAR_BYTES, `${where} is NUMERIC without a precision, which Redshift's DECIMAL cannot hold exactly, so it loads as VARCHAR text; declare NUMERIC(p,s) with p ≤ 38 to load it as DECIMAL`);
      }
      return decimal(c.numericPrecision, c.numericScale ?? 0, where);
    case 'real':
      return REAL;
    case 'double precision':
      return DOUBLE;
    case 'boolean':
      return BOOLEAN;
    case 'date':
      return DATE;
    case 'timestamp without time zone':
      return WALL_CLOCK;
    case 'timestamp with time zone':
      return { parquet: { type: 'TIMESTAMP', adjustedToUtc: true }, redshift: 'TIMESTAMPTZ', rule: 'timestamp' };
    case 'time without time zone':
    case 'time with time zone':
      return TIME_TEXT;
    case 'interval':
      return INTERVAL_TEXT;
    case 'character':
    case 'character varying':
      return varchar(varcharBytes(c.maxLength, 'utf8mb4'));
    case 'text':
      return varchar(MAX_VARCHAR_BYTES);
    case 'uuid':
      return varchar(36);
    case 'json':
    case 'jsonb':
      return json(options);
    case 'bytea':
      return varbyte(null);
    case 'user-defined':
      // Enum labels are at most 63 bytes; citext is unbounded text.
      return c.columnType === 'citext' ? varchar(MAX_VARCHAR_BYTES) : varchar(63);
    default:
      return undefined;
  }
}

/** A value that becomes NULL because MySQL stored a zero or partial date (`0000-00-00`, `2024-00-10`). */
export const ZERO_DATE = Symbol('zero date');

/** Is `c` an ASCII digit's code? */
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Does `text` start with a MySQL zero or partial date: `0000-`, `YYYY-00-` or `YYYY-MM-00`
 * (what the pattern `^(0000-|\d{4}-00-|\d{4}-\d{2}-00)` matches), tested by character codes
 * since it runs once per date and timestamp value of an extraction.
 */
export function isZeroDate(text: string): boolean {
  const c0 = text.charCodeAt(0);
  const c1 = text.charCodeAt(1);
  const c2 = text.charCodeAt(2);
  const c3 = text.charCodeAt(3);
  if (!isDigit(c0) || !isDigit(c1) || !isDigit(c2) || !isDigit(c3) || text.charCodeAt(4) !== 45) return false;
  if (c0 === 48 && c1 === 48 && c2 === 48 && c3 === 48) return true;
  const m0 = text.charCodeAt(5);
  const m1 = text.charCodeAt(6);
  if (m0 === 48 && m1 === 48 && text.charCodeAt(7) === 45) return true;
  return isDigit(m0) && isDigit(m1) && text.charCodeAt(7) === 45 && text.charCodeAt(8) === 48 && text.charCodeAt(9) === 48;
}

/** Why a value cannot be written; the caller names table, column and key. `advice` says what to do when widening the column would not help. */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly advice?: string,
  ) {
    super(message);
  }
}

const NOT_REPRESENTABLE = 'change the row, or exclude the column from the source (a view that casts it to text)';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Converts one non-null source value of a column; see {@link valueConverter}. */
export type ValueConverter = (value: Exclude<SourceValue, null>) => unknown;

const converters = new WeakMap<MappedType, ValueConverter>();

/**
 * The converter of a mapped type's values (what {@link convertValue} does for a non-null value),
 * made once per type, so that a column's values are converted without deciding their rule again
 * for each one. Values already in their final form (numbers, bigints, booleans, strings the
 * column holds) are returned as they are.
 */
export function valueConverter(type: MappedType): ValueConverter {
  let convert = converters.get(type);
  if (!convert) {
    convert = makeConverter(type);
    converters.set(type, convert);
  }
  return convert;
}

function makeConverter(type: MappedType): ValueConverter {
  switch (type.rule) {
    case 'int':
    case 'float':
      return (value) => (typeof value === 'number' ? value : Number(value));
    case 'bigint':
      return (value) => (typeof value === 'bigint' ? value : BigInt(value as string | number));
    case 'decimal': {
      const redshift = type.redshift;
      return (value) => {
        const text = typeof value === 'string' ? value : String(value);
        // PostgreSQL's NUMERIC(p,s) holds NaN; a DECIMAL has no such value.
        if (text === 'NaN' || text.endsWith('Infinity')) throw new ValueError(`is ${text}, which its ${redshift} column cannot hold`, NOT_REPRESENTABLE);
        return text;
      };
    }
    case 'bool':
      return (value) => (typeof value === 'boolean' ? value : Number(value) !== 0);
    case 'bit': {
      const boolean = type.parquet.type === 'BOOLEAN';
      return (value) => {
        const bytes = value instanceof Uint8Array ? value : encoder.encode(String(value));
        let n = 0n;
        for (const b of bytes) n = (n << 8n) | BigInt(b);
        return boolean ? n !== 0n : n;
      };
    }
    case 'date':
    case 'timestamp': {
      const redshift = type.redshift;
      return (value) => {
        const text = typeof value === 'string' ? value : String(value);
        if (isZeroDate(text)) return ZERO_DATE;
        // PostgreSQL's infinity, BC dates and years past 9999: the Parquet file holds years 0001-9999.
        if (text.charCodeAt(4) !== 0x2d || text.endsWith(' BC')) throw new ValueError(`is outside the years 0001 to 9999 (or infinite), which syncproof cannot write to its ${redshift} column`, NOT_REPRESENTABLE);
        return text;
      };
    }
    case 'text': {
      const max = type.maxBytes ?? MAX_VARCHAR_BYTES;
      const redshift = type.redshift;
      // A UTF-16 length within max/3 is within max bytes (at most 3 bytes per UTF-16 unit).
      const safeLength = Math.floor(max / 3);
      return (value) => {
        const text = typeof value === 'string' ? value : value instanceof Uint8Array ? decoder.decode(value) : String(value);
        if (text.length > safeLength) {
          const bytes = Buffer.byteLength(text, 'utf8');
          if (bytes > max && redshift === SUPER) {
            throw new ValueError(
              `is ${bytes} bytes of JSON text, more than the ${max} bytes a SUPER column can take through the VARCHAR(${max}) the load parses it from`,
              "shorten the document, or exclude the column from the source (a view without it): loaded as VARCHAR it would hit the same 65,535-byte limit",
            );
          }
          if (bytes > max) throw new ValueError(`is ${bytes} bytes long, more than the ${max} bytes of its ${redshift} column`);
        }
        return text;
      };
    }
    case 'bytes': {
      const max = type.maxBytes ?? MAX_VARBYTE_BYTES;
      const redshift = type.redshift;
      return (value) => {
        const bytes = value instanceof Uint8Array ? value : encoder.encode(String(value));
        if (bytes.length > max) throw new ValueError(`is ${bytes.length} bytes long, more than the ${max} bytes of its ${redshift} column`);
        return bytes;
      };
    }
  }
}

/**
 * Converts one source value to what `encodeParquet` takes for the mapped type, or {@link ZERO_DATE}.
 * Throws ValueError for a value the column cannot hold: a string longer than its VARCHAR bytes, a
 * NUMERIC NaN, a PostgreSQL date or timestamp outside the years 0001-9999 (infinity, BC).
 */
export function convertValue(type: MappedType, value: SourceValue): unknown {
  return value === null ? null : valueConverter(type)(value);
}
