/**
 * Keyset extraction, written once per dialect (DESIGN.md §4) and tested on the real engines.
 *
 * A run reads the window `(cursor, key…) > (:c, :k…) AND cursor < :end ORDER BY cursor, key…
 * LIMIT n`, chunk after chunk, each chunk starting strictly after the last row of the one before:
 * rows sharing a cursor value across a chunk boundary are ordered by their key, so none is lost
 * or read twice. `:end` is fixed once per run, from the source's own clock read inside the
 * snapshot, minus `lag`; `lookback` moves the first chunk's start back to `cursor >= :c - lookback`
 * (the upsert absorbs rows read again). Rows whose cursor is NULL are never read (counted instead).
 * Pure.
 */
import { InvalidInputError } from './errors';
import type { SourceEngine, SourceParam, SourceValue } from './source';
import type { CursorKind, SchemaColumn, SchemaDocument } from './source-schema';

/**
 * A keyset position: the cursor and key values of a row, as text that keeps every value exactly
 * ({@link positionText}): the cursor and text or number keys as the source printed them, a binary
 * key (MySQL BINARY, VARBINARY, BLOB, BIT; PostgreSQL bytea) as `0x` and its bytes in lower-case
 * hex. Which form a key value has follows from its column's type, never from the text alone; a
 * binary key is bound as its bytes ({@link binaryKeyBytes}), never as text a driver re-encodes.
 */
export interface Position {
  readonly cursor: string;
  readonly key: readonly string[];
}

/** `0x` and hex, in either case (positions hold lower case; `syncproof watermark set` lowers it). */
const BINARY_KEY_ANY_CASE = /^0x(?:[0-9a-f]{2})*$/i;

/** How a key column's values are written in a position: as text, or as `0x` + hex of their bytes. */
export type KeyEncoding = 'text' | 'hex';

/** True for a column whose values the source returns as bytes, so a position holds them as hex. */
export function isBinaryColumn(column: Pick<SchemaColumn, 'type'>): boolean {
  return column.type.rule === 'bytes' || column.type.rule === 'bit';
}

/** The encoding of each key value of the dataset's positions, in key order. */
export function keyEncodings(schema: SchemaDocument): KeyEncoding[] {
  return schema.keyColumns.map((k) => (isBinaryColumn(columnOf(schema, k)) ? 'hex' : 'text'));
}

/** Bytes → the text a position holds for them: `0x` and lower-case hex (`0x` alone when empty). */
export function binaryKeyText(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/**
 * A binary key's text (`0x` + hex, either case) in its canonical form (lower case), or undefined
 * when it is not one: no `0x`, an odd number of digits, or a character that is not a hex digit.
 */
export function canonicalBinaryKey(text: string): string | undefined {
  return BINARY_KEY_ANY_CASE.test(text) ? text.toLowerCase() : undefined;
}

/** The bytes of a binary key's text, or undefined when it is not `0x` + hex. */
export function binaryKeyBytes(text: string): Buffer | undefined {
  const canonical = canonicalBinaryKey(text);
  return canonical === undefined ? undefined : Buffer.from(canonical.slice(2), 'hex');
}

/** Where a chunk starts. */
export type ChunkStart =
  | { readonly kind: 'beginning' }
  | { readonly kind: 'after'; readonly position: Position }
  /** Lookback: every row from this cursor value on (inclusive), whatever its key. */
  | { readonly kind: 'from-cursor'; readonly cursor: string }
  /** A full snapshot, read in key order (NULL cursors included): the rows after this key. */
  | { readonly kind: 'after-key'; readonly key: readonly string[] };

export interface SourceQuery {
  readonly sql: string;
  readonly params: SourceParam[];
}

function quote(engine: SourceEngine, name: string): string {
  return engine === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`;
}

/** `db`.`table` / "schema"."table". */
export function qualifiedTable(engine: SourceEngine, table: string): string {
  const dot = table.indexOf('.');
  return `${quote(engine, table.slice(0, dot))}.${quote(engine, table.slice(dot + 1))}`;
}

const PG_CASTS = new Set(['int2', 'int4', 'int8', 'numeric', 'date', 'timestamp', 'timestamptz', 'text', 'varchar', 'bpchar', 'uuid']);

/**
 * Builds placeholders with the casts that make a text parameter compare as the column's type. A
 * binary key value (`0x` + hex) is bound as its bytes: MySQL compares BINARY, VARBINARY and BLOB
 * byte-wise, and a BIT key as its unsigned number; PostgreSQL compares bytea byte-wise.
 */
class Params {
  readonly values: SourceParam[] = [];
  constructor(
    private readonly engine: SourceEngine,
    private readonly dataset: string,
  ) {}

  add(column: Pick<SchemaColumn, 'source' | 'dataType' | 'columnType' | 'type'>, value: string): string {
    if (isBinaryColumn(column)) return this.addBinary(column, value);
    this.values.push(value);
    if (this.engine === 'postgres') {
      const n = `$${this.values.length}`;
      return PG_CASTS.has(column.columnType) ? `${n}::${column.columnType}` : n;
    }
    const t = column.dataType;
    if (['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year'].includes(t)) {
      // A string compared with an integer column would be compared as a double, inexactly beyond 2^53.
      return /unsigned/i.test(column.columnType) ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)';
    }
    if (t === 'decimal' || t === 'numeric') return 'CAST(? AS DECIMAL(65,30))';
    if (t === 'date') return 'CAST(? AS DATE)';
    if (t === 'datetime' || t === 'timestamp') return 'CAST(? AS DATETIME(6))';
    return '?';
  }

  private addBinary(column: Pick<SchemaColumn, 'source' | 'type'>, value: string): string {
    const bytes = binaryKeyBytes(value);
    if (!bytes) {
      throw new InvalidInputError(
        `dataset '${this.dataset}': the position's value '${value}' for the binary key column '${column.source}' is not 0x followed by its bytes in hex (a watermark written before binary keys were kept as hex?); set it with syncproof watermark set --key 0x…, or reset it`,
      );
    }
    if (this.engine === 'postgres') {
      this.values.push(bytes);
      return `$${this.values.length}::bytea`;
    }
    if (column.type.rule === 'bit') {
      // BIT compares as an unsigned number: bound as the bytes' big-endian value, exactly.
      this.values.push(bytes.length === 0 ? '0' : BigInt(`0x${bytes.toString('hex')}`).toString());
      return 'CAST(? AS UNSIGNED)';
    }
    this.values.push(bytes);
    return '?';
  }
}

function columnOf(schema: SchemaDocument, source: string): SchemaColumn {
  const c = schema.columns.find((x) => x.source === source);
  if (!c) throw new InvalidInputError(`column '${source}' is not in the schema of dataset '${schema.dataset}'`);
  return c;
}

/** The columns a chunk selects: every column the source still has, in target order. */
export function selectedColumns(schema: SchemaDocument): SchemaColumn[] {
  return schema.columns.filter((c) => !c.dropped);
}

/** `(c1, c2, …) > (:v1, :v2, …)` expanded, so MySQL and MariaDB use the index: `c1 >= :v1 AND (c1 > :v1 OR (c1 = :v1 AND (c2 > :v2 OR …)))`. */
function rowAfter(engine: SourceEngine, cols: readonly SchemaColumn[], values: readonly string[], p: Params): string {
  const build = (i: number): string => {
    const col = quote(engine, cols[i]!.source);
    const gt = `${col} > ${p.add(cols[i]!, values[i]!)}`;
    if (i === cols.length - 1) return gt;
    return `(${gt} OR (${col} = ${p.add(cols[i]!, values[i]!)} AND ${build(i + 1)}))`;
  };
  // The leading `c1 >= :v1` is implied by the expansion; stated, it lets the planner range-scan.
  return `${quote(engine, cols[0]!.source)} >= ${p.add(cols[0]!, values[0]!)} AND ${build(0)}`;
}

/**
 * A position given from outside the extraction (execution input `after`, whose key may be left
 * out or cut short), checked against the dataset's key: at most one value per key column, binary
 * ones as `0x` + hex (lowered); refused with an InvalidInputError naming the column otherwise.
 */
export function canonicalPosition(schema: SchemaDocument, position: Position, what: string): Position {
  if (position.key.length > schema.keyColumns.length) {
    throw new InvalidInputError(`${what} has ${position.key.length} key value(s), but the key of dataset '${schema.dataset}' is (${schema.keyColumns.join(', ')}); give at most one per key column, in key order`);
  }
  const key = position.key.map((v, i) => {
    const column = columnOf(schema, schema.keyColumns[i]!);
    if (!isBinaryColumn(column)) return v;
    const canonical = canonicalBinaryKey(v);
    if (canonical === undefined) throw new InvalidInputError(`${what}: '${v}' for the binary key column '${column.source}' is not 0x followed by its bytes in hex (e.g. 0x00ff)`);
    return canonical;
  });
  return { cursor: position.cursor, key };
}

function after(engine: SourceEngine, schema: SchemaDocument, p: Params, position: Position): string {
  const cols = [schema.cursorColumn, ...schema.keyColumns].map((s) => columnOf(schema, s));
  const values = [position.cursor, ...position.key];
  if (values.length !== cols.length) {
    throw new InvalidInputError(`the watermark of dataset '${schema.dataset}' has ${position.key.length} key value(s), but the key is (${schema.keyColumns.join(', ')}); set it again with syncproof watermark set`);
  }
  return rowAfter(engine, cols, values, p);
}

/** One chunk: at most `limit` rows after `start` with cursor < `end`, in keyset order. */
export function chunkQuery(schema: SchemaDocument, start: ChunkStart, end: string, limit: number): SourceQuery {
  const engine = schema.engine;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError(`limit must be a positive whole number of rows, got ${limit}`);
  const p = new Params(engine, schema.dataset);
  const list = selectedColumns(schema).map((c) => quote(engine, c.source)).join(', ');
  const from = qualifiedTable(engine, schema.table);
  if (start.kind === 'after-key') {
    // A full snapshot: every row, in key order, whatever its cursor (NULL and inside lag included).
    const keys = schema.keyColumns.map((k) => columnOf(schema, k));
    const where = start.key.length > 0 ? ` WHERE ${rowAfter(engine, keys, start.key, p)}` : '';
    return { sql: `SELECT ${list} FROM ${from}${where} ORDER BY ${keys.map((k) => quote(engine, k.source)).join(', ')} LIMIT ${limit}`, params: p.values };
  }
  const cursor = columnOf(schema, schema.cursorColumn);
  const where: string[] = [];
  if (start.kind === 'after') where.push(after(engine, schema, p, start.position));
  if (start.kind === 'from-cursor') where.push(`${quote(engine, cursor.source)} >= ${p.add(cursor, start.cursor)}`);
  where.push(`${quote(engine, cursor.source)} < ${p.add(cursor, end)}`);
  const order = [schema.cursorColumn, ...schema.keyColumns].map((c) => quote(engine, c)).join(', ');
  return { sql: `SELECT ${list} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${limit}`, params: p.values };
}

/**
 * The last row (keyset order) with `cursor < end`: where a full snapshot leaves the watermark, so
 * the next incremental run reads every row changed after the snapshot's bound.
 */
export function lastBeforeQuery(schema: SchemaDocument, end: string): SourceQuery {
  const engine = schema.engine;
  const p = new Params(engine, schema.dataset);
  const cursor = columnOf(schema, schema.cursorColumn);
  const cols = [schema.cursorColumn, ...schema.keyColumns].map((c) => quote(engine, c));
  return {
    sql: `SELECT ${cols.join(', ')} FROM ${qualifiedTable(engine, schema.table)} WHERE ${quote(engine, cursor.source)} < ${p.add(cursor, end)} ORDER BY ${cols.map((c) => `${c} DESC`).join(', ')} LIMIT 1`,
    params: p.values,
  };
}

export function nullCursorQuery(schema: SchemaDocument): SourceQuery {
  return { sql: `SELECT COUNT(*) FROM ${qualifiedTable(schema.engine, schema.table)} WHERE ${quote(schema.engine, schema.cursorColumn)} IS NULL`, params: [] };
}

/** Rows at or behind a position (`(cursor, key) <= position`): compared with the warehouse to find rows committed behind the watermark. */
export function countThroughQuery(schema: SchemaDocument, cursorBefore: string): SourceQuery {
  const p = new Params(schema.engine, schema.dataset);
  const cursor = columnOf(schema, schema.cursorColumn);
  return { sql: `SELECT COUNT(*) FROM ${qualifiedTable(schema.engine, schema.table)} WHERE ${quote(schema.engine, cursor.source)} < ${p.add(cursor, cursorBefore)}`, params: p.values };
}

/**
 * Rows of a keyset window, for the count chain (lambdas/verify/count-chain.ts): after `from`
 * (exclusive, keyset order; absent: from the beginning), cursor at or after `since`, cursor before
 * `end`, cursor at or before `through` (each bound only when given). With no bound at all, every
 * row (NULL cursors included).
 */
export function windowCountQuery(schema: SchemaDocument, bounds: { readonly from?: Position; readonly since?: string; readonly end?: string; readonly through?: string }): SourceQuery {
  const p = new Params(schema.engine, schema.dataset);
  const cursor = columnOf(schema, schema.cursorColumn);
  const where: string[] = [];
  if (bounds.from) where.push(after(schema.engine, schema, p, bounds.from));
  if (bounds.since !== undefined) where.push(`${quote(schema.engine, cursor.source)} >= ${p.add(cursor, bounds.since)}`);
  if (bounds.end !== undefined) where.push(`${quote(schema.engine, cursor.source)} < ${p.add(cursor, bounds.end)}`);
  if (bounds.through !== undefined) where.push(`${quote(schema.engine, cursor.source)} <= ${p.add(cursor, bounds.through)}`);
  return { sql: `SELECT COUNT(*) FROM ${qualifiedTable(schema.engine, schema.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params: p.values };
}

/**
 * The run's `:end`, read in the snapshot: for a time cursor the source's clock (UTC) minus `lag`
 * microseconds, as `YYYY-MM-DD HH:MM:SS.ffffff` (a naive cursor's zone is applied by
 * {@link endBound}); for an integer cursor `MAX(cursor) + 1 - lag` (NULL when the table is empty).
 */
export function endQuery(schema: SchemaDocument, lag: bigint): SourceQuery {
  const engine = schema.engine;
  if (schema.cursorKind === 'time') {
    return engine === 'mysql'
      ? { sql: "SELECT DATE_FORMAT(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND, '%Y-%m-%d %H:%i:%s.%f')", params: [lag.toString()] }
      : { sql: "SELECT to_char((now() AT TIME ZONE 'UTC') - ($1::bigint * interval '1 microsecond'), 'YYYY-MM-DD HH24:MI:SS.US')", params: [lag.toString()] };
  }
  const c = quote(engine, schema.cursorColumn);
  const t = qualifiedTable(engine, schema.table);
  return engine === 'mysql'
    ? { sql: `SELECT CAST(MAX(${c}) + 1 - CAST(? AS SIGNED) AS CHAR) FROM ${t}`, params: [lag.toString()] }
    : { sql: `SELECT (MAX(${c}) + 1 - $1::bigint)::text FROM ${t}`, params: [lag.toString()] };
}

/**
 * Cursor types that hold a wall-clock reading with no zone: MySQL DATETIME and DATE, PostgreSQL
 * `timestamp without time zone` and `date`. (MySQL TIMESTAMP is read at `+00:00`, PostgreSQL
 * `timestamptz` is an instant: both compare as UTC.)
 */
const NAIVE_TIME_TYPES = new Set(['date', 'datetime', 'timestamp without time zone']);

/** Whether the dataset's cursor is a date/time column without a zone (its values are wall-clock readings). */
export function isNaiveTimeCursor(schema: SchemaDocument): boolean {
  return schema.cursorKind === 'time' && NAIVE_TIME_TYPES.has(columnOf(schema, schema.cursorColumn).dataType);
}

/**
 * The run's `:end` as the cursor column compares it. {@link endQuery} reads the source's clock in
 * UTC, minus `lag`; a naive cursor column holds wall-clock readings in `timeZone` (the source's
 * `timeZone` setting), so the same instant is given as that zone's wall clock: a row stamped in
 * New York waits until it is `lag` old there, not five hours less. Other cursors, and `UTC`, get
 * the value as read.
 */
export function endBound(schema: SchemaDocument, utcEnd: string | null, timeZone: string): string | null {
  if (utcEnd === null || timeZone === 'UTC' || !isNaiveTimeCursor(schema)) return utcEnd;
  return wallClockIn(timeZone, utcEnd);
}

/** A UTC time text (`YYYY-MM-DD HH:MM:SS.ffffff`) as the wall clock of the IANA zone `timeZone` reads it at that instant, in the same format. */
export function wallClockIn(timeZone: string, utcText: string): string {
  const micros = timeMicros(utcText);
  let ms = micros / 1000n;
  let rem = micros % 1000n;
  if (rem < 0n) {
    rem += 1000n;
    ms -= 1n;
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  }).formatToParts(new Date(Number(ms)));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year').padStart(4, '0')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}.${part('fractionalSecond')}${rem.toString().padStart(3, '0')}`;
}

const UNIT_MICROS: Record<string, bigint> = { ms: 1000n, s: 1_000_000n, m: 60_000_000n, h: 3_600_000_000n, d: 86_400_000_000n };

/**
 * A `lag` / `lookback` setting as microseconds (time cursor) or a count (integer cursor). A
 * duration for an integer cursor, or a bare number other than 0 for a time cursor, is refused.
 */
export function parseWindow(value: string | number | undefined, kind: CursorKind, what: string): bigint {
  if (value === undefined) return 0n;
  const text = String(value);
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new InvalidInputError(`${what} '${text}' is not a duration ('30s', '5m') or a whole number`);
  const n = BigInt(m[1]!);
  if (kind === 'integer') {
    if (m[2]) throw new InvalidInputError(`${what} '${text}' is a duration, but the cursor is an integer column; give a number of ids instead (e.g. 1000)`);
    return n;
  }
  if (!m[2] && n !== 0n) throw new InvalidInputError(`${what} '${text}' has no unit, but the cursor is a date/time column; add one ('${text}s', '${text}m')`);
  return n * (m[2] ? UNIT_MICROS[m[2]]! : 0n);
}

/**
 * Microseconds since the epoch of a source time text (`YYYY-MM-DD[ HH:MM:SS[.ffffff]][+00[:00]|Z]`,
 * UTC unless it carries another offset).
 */
export function timeMicros(text: string): bigint {
  const m = /^(-?\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text.trim());
  if (!m) throw new InvalidInputError(`'${text}' is not a date/time cursor value (YYYY-MM-DD HH:MM:SS[.ffffff])`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  let micros = BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const offset = (BigInt(z[2]!) * 60n + BigInt(z[3] ?? '0')) * 60_000_000n;
    micros = z[1] === '+' ? micros - offset : micros + offset;
  }
  return micros;
}

/** Microseconds since the epoch → `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
export function formatMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let rem = micros % 1000n;
  if (rem < 0n) {
    rem += 1000n;
    ms -= 1n;
  }
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${rem.toString().padStart(3, '0')}`;
}

/** The first chunk's start of a run: after the watermark, or `lookback` before it. */
export function firstChunkStart(kind: CursorKind, watermark: Position | undefined, lookback: bigint): ChunkStart {
  if (!watermark) return { kind: 'beginning' };
  if (lookback === 0n) return { kind: 'after', position: watermark };
  const cursor = kind === 'time' ? formatMicros(timeMicros(watermark.cursor) - lookback) : (BigInt(watermark.cursor) - lookback).toString();
  return { kind: 'from-cursor', cursor };
}

/** A value of a cursor or key column as a position holds it: bytes as `0x` + hex ({@link binaryKeyText}), anything else as its text. */
export function positionText(value: SourceValue): string {
  if (value === null) throw new InvalidInputError('a cursor or key value is NULL');
  if (value instanceof Uint8Array) return binaryKeyText(value);
  return String(value);
}

/**
 * Compares two positions in keyset order: the cursor by its kind; keys as integers when both are,
 * binary keys (`0x` + hex, compared in lower case) byte-wise as the engines do (hex digits in
 * order are the bytes in order, and a shorter value that is a prefix of a longer one comes first),
 * anything else by code point.
 */
export function comparePositions(kind: CursorKind, a: Position, b: Position): number {
  const cursor = kind === 'time' ? cmp(timeMicros(a.cursor), timeMicros(b.cursor)) : cmp(BigInt(a.cursor), BigInt(b.cursor));
  if (cursor !== 0) return cursor;
  for (let i = 0; i < Math.max(a.key.length, b.key.length); i++) {
    let x = a.key[i] ?? '';
    let y = b.key[i] ?? '';
    if (BINARY_KEY_ANY_CASE.test(x) && BINARY_KEY_ANY_CASE.test(y)) {
      x = x.toLowerCase();
      y = y.toLowerCase();
    }
    const c = /^-?\d+$/.test(x) && /^-?\d+$/.test(y) ? cmp(BigInt(x), BigInt(y)) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
