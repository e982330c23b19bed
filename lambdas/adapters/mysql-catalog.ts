/**
 * What MySQL's and MariaDB's information_schema say about tables, columns and keys, read for the
 * MySQL source (lambdas/adapters/mysql-source.ts) through any reader of `?`-placeholder queries.
 */
import type { SourceColumn, SourceParam, SourceTableSummary, SourceValue } from '../core/source';

/** Runs one query and returns its rows as arrays. */
export type CatalogReader = (sql: string, params?: readonly SourceParam[]) => Promise<SourceValue[][]>;

/** Schemas that belong to the server, never listed. */
const SYSTEM_SCHEMAS = ['mysql', 'sys', 'information_schema', 'performance_schema'];

/** Tables keyed by `schema \0 table`. */
export type TableMap<T> = Map<string, T>;

export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/** A WHERE condition on one schema (and table), or on every non-system schema. */
function scope(schemaColumn: string, schema: string | undefined, table?: string): { where: string; params: string[] } {
  if (schema === undefined) return { where: `${schemaColumn} NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')})`, params: SYSTEM_SCHEMAS };
  if (table === undefined) return { where: `${schemaColumn} = ?`, params: [schema] };
  return { where: `${schemaColumn} = ? AND TABLE_NAME = ?`, params: [schema, table] };
}

function text(value: SourceValue): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

function textOrNull(value: SourceValue): string | null {
  return value === null ? null : text(value);
}

/** information_schema numbers are BIGINT UNSIGNED, read as decimal strings. */
function numberOrNull(value: SourceValue): number | null {
  return value === null ? null : Number(value);
}

function group<T>(map: TableMap<T[]>, key: string, item: T): void {
  const items = map.get(key);
  if (items) items.push(item);
  else map.set(key, [item]);
}

/**
 * MariaDB's JSON is an alias: the column is LONGTEXT (utf8mb4_bin) with the column-level check
 * `json_valid(`name`)` (information_schema.CHECK_CONSTRAINTS, MariaDB ≥ 10.2). Returns the
 * `schema \0 table \0 column` of every column so checked; a LONGTEXT a user constrained by hand
 * the same way is indistinguishable, and is JSON too.
 */
async function readMariadbJsonColumns(read: CatalogReader, schema: string | undefined, table?: string): Promise<Set<string>> {
  const filter = scope('CONSTRAINT_SCHEMA', schema, table);
  const rows = await read(`SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE ${filter.where}`, filter.params);
  const columns = new Set<string>();
  for (const [schemaName, tableName, clause] of rows) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(text(clause).trim());
    if (match) columns.add(`${tableKey(text(schemaName), text(tableName))}\u0000${match[1]!.replace(/``/g, '`')}`);
  }
  return columns;
}

/**
 * Columns of one table, one schema or every non-system schema, in table order, as
 * information_schema.COLUMNS reports them; a MariaDB JSON column (LONGTEXT + json_valid check) has
 * `dataType` `json` while its `columnType` stays `longtext`.
 */
export async function readColumns(read: CatalogReader, mariadb: boolean, schema: string | undefined, table?: string): Promise<TableMap<SourceColumn[]>> {
  const filter = scope('TABLE_SCHEMA', schema, table);
  const rows = await read(
    `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
            CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME
       FROM information_schema.COLUMNS WHERE ${filter.where} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    filter.params,
  );
  const json = mariadb ? await readMariadbJsonColumns(read, schema, table) : new Set<string>();
  const tables: TableMap<SourceColumn[]> = new Map();
  for (const [schemaName, tableName, name, ordinal, dataType, columnType, nullable, maxLength, precision, scale, datetimePrecision, charset] of rows) {
    const key = tableKey(text(schemaName), text(tableName));
    const reported = text(dataType).toLowerCase();
    group(tables, key, {
      name: text(name),
      ordinal: Number(ordinal),
      dataType: reported === 'longtext' && json.has(`${key}\u0000${text(name)}`) ? 'json' : reported,
      columnType: text(columnType),
      nullable: text(nullable) === 'YES',
      maxLength: numberOrNull(maxLength),
      numericPrecision: numberOrNull(precision),
      numericScale: numberOrNull(scale),
      datetimePrecision: numberOrNull(datetimePrecision),
      charset: textOrNull(charset),
    });
  }
  return tables;
}

export interface TableKeys {
  readonly primaryKey: string[];
  readonly uniqueKeys: string[][];
}

/**
 * Primary key and other unique indexes (by index name) of the tables in scope, columns in
 * SEQ_IN_INDEX order. An index with an expression part (MySQL functional index) is no column key
 * and is left out.
 */
export async function readKeys(read: CatalogReader, schema: string | undefined, table?: string): Promise<TableMap<TableKeys>> {
  const filter = scope('TABLE_SCHEMA', schema, table);
  const rows = await read(
    `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE ${filter.where} AND NON_UNIQUE = 0 ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    filter.params,
  );
  const indexes = new Map<string, { key: string; name: string; columns: (string | null)[] }>();
  for (const [schemaName, tableName, indexName, column] of rows) {
    const key = tableKey(text(schemaName), text(tableName));
    const name = text(indexName);
    const id = `${key}\u0000${name}`;
    const index = indexes.get(id) ?? { key, name, columns: [] };
    index.columns.push(textOrNull(column));
    indexes.set(id, index);
  }
  const keys: TableMap<TableKeys> = new Map();
  for (const { key, name, columns } of indexes.values()) {
    if (columns.some((c) => c === null)) continue;
    const entry = keys.get(key) ?? { primaryKey: [], uniqueKeys: [] };
    if (name === 'PRIMARY') entry.primaryKey.push(...(columns as string[]));
    else entry.uniqueKeys.push(columns as string[]);
    keys.set(key, entry);
  }
  return keys;
}

/**
 * Base tables (and MariaDB system-versioned ones; no views, no sequences) in scope, by schema and
 * name, with the engine's row estimate (`TABLE_ROWS`) and `DATA_LENGTH + INDEX_LENGTH`.
 */
export async function readTableSummaries(
  read: CatalogReader,
  schema: string | undefined,
): Promise<Omit<SourceTableSummary, 'primaryKey' | 'columns'>[]> {
  const filter = scope('TABLE_SCHEMA', schema);
  const rows = await read(
    `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES
      WHERE ${filter.where} AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    filter.params,
  );
  return rows.map(([schemaName, tableName, estimatedRows, bytes]) => ({
    schema: text(schemaName),
    table: text(tableName),
    estimatedRows: numberOrNull(estimatedRows),
    bytes: numberOrNull(bytes),
  }));
}
