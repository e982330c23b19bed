/**
 * What the PostgreSQL-family sources (lambdas/adapters/postgres-source.ts: a server over `pg`,
 * PGlite) share, written once: the session settings, the snapshot statement, the text → value
 * rules of {@link SourceValue}, and the catalog SQL behind `describeTable` / `listTables`.
 */
import type { SourceColumn, SourceTable, SourceTableSummary, SourceValue, SourceParam, TableRef } from '../core/source';

/** One read on a source connection: `$1…` placeholders, rows as arrays of canonical values. */
export type SourceQuery = (sql: string, params?: readonly SourceParam[]) => Promise<SourceValue[][]>;

// ---------------------------------------------------------------------------------------------
// session and values

/**
 * Settings every read runs under: UTC (timestamptz prints `…+00`), ISO dates, the `postgres`
 * interval style, hex bytea, shortest exact float text.
 */
const SESSION_SETTINGS: readonly (readonly [name: string, value: string])[] = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, MDY'],
  ['IntervalStyle', 'postgres'],
  ['bytea_output', 'hex'],
  ['extra_float_digits', '1'],
];

/**
 * The settings as statements: `SET name = 'value'` for a connection of the adapter's own, or
 * `SET LOCAL …` (undone when the transaction ends) on a connection it shares, such as a PGlite
 * instance it was given.
 */
export function sessionSettingsSql(scope: 'session' | 'transaction'): string {
  const set = scope === 'session' ? 'SET' : 'SET LOCAL';
  return SESSION_SETTINGS.map(([name, value]) => `${set} ${name} = '${value}'`).join('; ');
}

/** How a snapshot begins (a connection of the adapter's own). */
export const SNAPSHOT_BEGIN = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
/** The same characteristics as the first statement of a transaction begun by someone else (PGlite's `transaction`). */
export const SNAPSHOT_CHARACTERISTICS = 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY';

const TYPE_OID = { bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, float4: 700, float8: 701 } as const;

/** `\x0aff…` (bytea_output = hex) → bytes. */
function parseBytea(text: string): Buffer {
  if (!text.startsWith('\\x')) throw new Error('bytea is not in hex output format (bytea_output = hex is set by the source session)');
  return Buffer.from(text.slice(2), 'hex');
}

/**
 * int8 text → bigint. The server prints canonical decimal digits, and up to 15 characters are a
 * safe integer, which `BigInt` takes from a number faster than it parses text (~30%, measured).
 */
export function parseInt8(text: string): bigint {
  return text.length < 16 ? BigInt(+text) : BigInt(text);
}

/**
 * Text-format parsers by type OID. Every other type — numeric (exact text), date, timestamp[tz],
 * time[tz], interval, json/jsonb, uuid, character types, enums, citext, arrays — stays the text
 * the server printed.
 */
const VALUE_PARSERS: Readonly<Record<number, (text: string) => SourceValue>> = {
  [TYPE_OID.bool]: (text) => text === 't',
  [TYPE_OID.bytea]: parseBytea,
  [TYPE_OID.int8]: parseInt8,
  [TYPE_OID.int2]: Number,
  [TYPE_OID.int4]: Number,
  [TYPE_OID.float4]: Number,
  [TYPE_OID.float8]: Number,
};

const asText = (text: string): SourceValue => text;

/** The parser of a result column of type `oid` (text format), per {@link SourceValue}. */
export function valueParser(oid: number): (text: string) => SourceValue {
  return VALUE_PARSERS[oid] ?? asText;
}

/**
 * Parsers overriding every type a driver has a parser of (`known`: its OIDs) with
 * {@link valueParser}, so nothing is parsed by the driver's defaults (JSON, Date, arrays).
 */
export function valueParsers(known: Iterable<string | number>): Record<number, (text: string) => SourceValue> {
  const parsers: Record<number, (text: string) => SourceValue> = {};
  for (const key of known) {
    const oid = Number(key);
    if (Number.isInteger(oid)) parsers[oid] = valueParser(oid);
  }
  for (const [oid, parse] of Object.entries(VALUE_PARSERS)) parsers[Number(oid)] = parse;
  return parsers;
}

/**
 * A SourceParam as both drivers bind it: bigint as its decimal text, bytes as bytea's hex input
 * text (`\x00ff…`, which the dialect casts to bytea: the server reads the bytes exactly, and
 * neither driver re-encodes them).
 */
export function bindParams(params: readonly SourceParam[] | undefined): (string | number | null)[] {
  return (params ?? []).map((p) => (typeof p === 'bigint' ? p.toString() : p instanceof Uint8Array ? `\\x${Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('hex')}` : p));
}

// ---------------------------------------------------------------------------------------------
// catalog SQL

/** Schemas that are never a source's: the catalogs, TOAST and temp schemas. */
const USER_SCHEMA = (nspname: string) => `${nspname} NOT IN ('pg_catalog', 'information_schema') AND ${nspname} NOT LIKE 'pg\\_%'`;

/** Does a relation with columns (table, partitioned table, view, materialized view, foreign table) exist? */
const RELATION_SQL = `
SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

/**
 * Base tables and partitioned parents (not their partitions) with the planner's row estimate
 * (`reltuples`, -1 until analyzed; a parent's: the sum of its leaves', when all have one) and
 * bytes with indexes and TOAST (a parent's: its partitions').
 */
const TABLES_SQL = `
SELECT n.nspname::text, c.relname::text,
  CASE WHEN c.relkind = 'p' THEN (
    SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)::float8 END
    FROM pg_partition_tree(c.oid) t JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf)
  WHEN c.reltuples >= 0 THEN c.reltuples::float8 END,
  CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid))::float8 FROM pg_partition_tree(c.oid) t)
  ELSE pg_total_relation_size(c.oid)::float8 END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_SCHEMA('n.nspname')}
  AND ($1::text IS NULL OR n.nspname = $1)
ORDER BY 1, 2`;

/**
 * Columns of one table ($2) or of every table of a schema ($1) or of every user schema. `charset`
 * is the database encoding for string-category types (text, varchar, char, citext, name).
 */
const COLUMNS_SQL = `
SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.ordinal_position::int,
  lower(c.data_type)::text, c.udt_name::text, c.is_nullable = 'YES',
  c.character_maximum_length::int, c.numeric_precision::int, c.numeric_scale::int, c.datetime_precision::int,
  CASE WHEN t.typcategory = 'S' THEN current_setting('server_encoding') END
FROM information_schema.columns c
LEFT JOIN pg_namespace tn ON tn.nspname = c.udt_schema
LEFT JOIN pg_type t ON t.typnamespace = tn.oid AND t.typname = c.udt_name
WHERE ${USER_SCHEMA('c.table_schema')} AND ($1::text IS NULL OR c.table_schema = $1) AND ($2::text IS NULL OR c.table_name = $2)
ORDER BY 1, 2, 4`;

/**
 * Columns of the primary key and of every valid, total (no predicate, no expression) unique index
 * — unique constraints included, as each has one — in key order (INCLUDE columns left out).
 */
const KEYS_SQL = `
SELECT n.nspname::text, c.relname::text, ic.relname::text, i.indisprimary, a.attname::text
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = i.indexrelid
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL AND k.position <= i.indnkeyatts
  AND ${USER_SCHEMA('n.nspname')} AND ($1::text IS NULL OR n.nspname = $1) AND ($2::text IS NULL OR c.relname = $2)
ORDER BY 1, 2, 4 DESC, 3, k.position`;

// ---------------------------------------------------------------------------------------------
// rows → descriptions

function text(value: SourceValue): string {
  return String(value);
}

function intOrNull(value: SourceValue): number | null {
  return value === null ? null : Number(value);
}

const tableKey = (schema: SourceValue, table: SourceValue) => JSON.stringify([text(schema), text(table)]);

function groupColumns(rows: SourceValue[][]): Map<string, SourceColumn[]> {
  const byTable = new Map<string, SourceColumn[]>();
  for (const [schema, table, name, ordinal, dataType, udt, nullable, maxLength, precision, scale, datetimePrecision, charset] of rows) {
    const key = tableKey(schema, table);
    const columns = byTable.get(key) ?? [];
    columns.push({
      name: text(name),
      ordinal: Number(ordinal),
      dataType: text(dataType),
      columnType: text(udt),
      nullable: nullable === true,
      maxLength: intOrNull(maxLength),
      numericPrecision: intOrNull(precision),
      numericScale: intOrNull(scale),
      datetimePrecision: intOrNull(datetimePrecision),
      charset: charset === null ? null : text(charset),
    });
    byTable.set(key, columns);
  }
  return byTable;
}

interface TableKeys {
  primaryKey: string[];
  uniqueKeys: string[][];
}

function groupKeys(rows: SourceValue[][]): Map<string, TableKeys> {
  const byIndex = new Map<string, { table: string; primary: boolean; columns: string[] }>();
  for (const [schema, table, index, primary, column] of rows) {
    const key = JSON.stringify([text(schema), text(index)]);
    const entry = byIndex.get(key) ?? { table: tableKey(schema, table), primary: primary === true, columns: [] };
    entry.columns.push(text(column));
    byIndex.set(key, entry);
  }
  const byTable = new Map<string, TableKeys>();
  for (const { table, primary, columns } of byIndex.values()) {
    const keys = byTable.get(table) ?? { primaryKey: [], uniqueKeys: [] };
    const same = (other: readonly string[]) => other.length === columns.length && other.every((c, i) => c === columns[i]);
    if (primary) keys.primaryKey = columns;
    // A unique index repeating the primary key or another unique key adds nothing.
    else if (!same(keys.primaryKey) && !keys.uniqueKeys.some(same)) keys.uniqueKeys.push(columns);
    byTable.set(table, keys);
  }
  return byTable;
}

/** `describeTable` over one snapshot's reads. */
export async function describePostgresTable(query: SourceQuery, ref: TableRef): Promise<SourceTable | undefined> {
  if ((await query(RELATION_SQL, [ref.schema, ref.table])).length === 0) return undefined;
  const key = tableKey(ref.schema, ref.table);
  const columns = groupColumns(await query(COLUMNS_SQL, [ref.schema, ref.table])).get(key) ?? [];
  const keys = groupKeys(await query(KEYS_SQL, [ref.schema, ref.table])).get(key);
  return { schema: ref.schema, table: ref.table, columns, primaryKey: keys?.primaryKey ?? [], uniqueKeys: keys?.uniqueKeys ?? [] };
}

/** `listTables` over one snapshot's reads. */
export async function listPostgresTables(query: SourceQuery, schema?: string): Promise<SourceTableSummary[]> {
  const only = schema ?? null;
  const tables = await query(TABLES_SQL, [only]);
  const columns = groupColumns(await query(COLUMNS_SQL, [only, null]));
  const keys = groupKeys(await query(KEYS_SQL, [only, null]));
  return tables.map(([tableSchema, table, estimatedRows, bytes]) => {
    const key = tableKey(tableSchema, table);
    return {
      schema: text(tableSchema),
      table: text(table),
      estimatedRows: intOrNull(estimatedRows),
      bytes: intOrNull(bytes),
      primaryKey: keys.get(key)?.primaryKey ?? [],
      columns: (columns.get(key) ?? []).map(({ name, dataType, columnType, nullable }) => ({ name, dataType, columnType, nullable })),
    };
  });
}
