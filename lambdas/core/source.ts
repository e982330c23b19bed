/**
 * Source databases (DESIGN.md §4): the `SourceDatabase` port the extract stage reads through,
 * and what it reports about tables and values. Adapters: lambdas/adapters/mysql-source.ts
 * (mysql2; MySQL and MariaDB) and lambdas/adapters/postgres-source.ts (pg, and PGlite for the
 * embedded demo source).
 *
 * SQL is written once per dialect in lambdas/core (the keyset query, the clock, counts); an
 * adapter only executes it and hands back values in the canonical forms of {@link SourceValue}.
 */

export type SourceEngine = 'mysql' | 'postgres';

/** A table as the configuration names it: `db.table` (MySQL) or `schema.table` (PostgreSQL). */
export interface TableRef {
  /** MySQL: the database; PostgreSQL: the schema (default `public`). */
  readonly schema: string;
  readonly table: string;
}

/** One column as `information_schema.columns` describes it. */
export interface SourceColumn {
  readonly name: string;
  /** 1-based position in the table. */
  readonly ordinal: number;
  /**
   * `DATA_TYPE`, lower case. MySQL: `int`, `bigint`, `varchar`, `decimal`, `datetime`, `enum`, `json`, …;
   * PostgreSQL: `integer`, `character varying`, `numeric`, `timestamp with time zone`, `array`,
   * `user-defined`, ….
   */
  readonly dataType: string;
  /**
   * MySQL `COLUMN_TYPE` (`tinyint(1)`, `int(10) unsigned`, `enum('a','b')`, `decimal(20,4)`);
   * PostgreSQL `udt_name` (`int4`, `jsonb`, `_text`, `citext`).
   */
  readonly columnType: string;
  readonly nullable: boolean;
  /** Declared length in characters (character types) or bytes (binary types); null when unbounded or not a string type. */
  readonly maxLength: number | null;
  readonly numericPrecision: number | null;
  readonly numericScale: number | null;
  /** Fractional-second digits of temporal types. */
  readonly datetimePrecision: number | null;
  /** Character set of a character column (MySQL `utf8mb4`, `latin1`; PostgreSQL: the database encoding, `UTF8`); null otherwise. */
  readonly charset: string | null;
}

/** One table: its columns in table order and its keys. */
export interface SourceTable {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly SourceColumn[];
  /** Primary key columns in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /** Every unique constraint or unique index other than the primary key, columns in key order. */
  readonly uniqueKeys: readonly (readonly string[])[];
}

/** What `syncproof source tables` lists. */
export interface SourceTableSummary {
  readonly schema: string;
  readonly table: string;
  /** The engine's estimate (MySQL `TABLE_ROWS`, PostgreSQL `reltuples`), null when it has none: never a count. */
  readonly estimatedRows: number | null;
  /** Data + index bytes as the engine reports them, null when unknown. */
  readonly bytes: number | null;
  readonly primaryKey: readonly string[];
  readonly columns: readonly Pick<SourceColumn, 'name' | 'dataType' | 'columnType' | 'nullable'>[];
}

/**
 * A value as an adapter returns it, never converted through a JS `Date` or a float:
 * - `null`;
 * - `number`: TINYINT…INT (and UNSIGNED up to INT), SMALLINT/INTEGER, FLOAT/DOUBLE/REAL, YEAR;
 * - `bigint` or a decimal `string`: BIGINT (signed or unsigned, exact);
 * - `boolean`: PostgreSQL boolean;
 * - `string`: DECIMAL/NUMERIC as exact decimal text; DATE as `YYYY-MM-DD`, DATETIME/TIMESTAMP as
 *   `YYYY-MM-DD HH:MM:SS[.ffffff]` exactly as the engine prints it in a `+00:00` session (so MySQL
 *   zero dates come back as `0000-00-00` / `0000-00-00 00:00:00`, partial ones as `0000-11-30`);
 *   PostgreSQL `timestamp with time zone` as `YYYY-MM-DD HH:MM:SS[.ffffff]+00`; TIME as
 *   `[-]HH:MM:SS[.ffffff]`; character types, ENUM, SET, JSON/JSONB (the JSON text, never parsed),
 *   UUID and anything else text-like as text;
 * - `Uint8Array` (a Buffer is one): BINARY, VARBINARY, BLOB, BIT, BYTEA.
 */
export type SourceValue = null | string | number | bigint | boolean | Uint8Array;

/**
 * A parameter of a dialect query: bound as text or number, the SQL casting it where the type
 * matters; a `Uint8Array` (a binary key) is bound as those bytes, exactly: MySQL as a hex literal
 * (mysql2 escapes a Buffer as `X'…'`), PostgreSQL as `\x` hex text the SQL casts to bytea.
 */
export type SourceParam = string | number | bigint | Uint8Array | null;

/** Reads inside one snapshot (see {@link SourceDatabase.snapshot}). */
export interface SourceSession {
  /**
   * Runs one read with the engine's placeholders (MySQL `?`, PostgreSQL `$1…`) and returns its rows
   * as arrays in select-list order, values as {@link SourceValue}.
   */
  query(sql: string, params?: readonly SourceParam[]): Promise<SourceValue[][]>;
  /**
   * True when the session takes a read while an earlier one is still running and runs them one
   * after the other in the order sent (pg's client and mysql2 queue them on the connection), so a
   * caller may send its next read ahead while it works on the rows of the last one.
   */
  readonly queuesReads?: boolean;
}

/**
 * A source database. Errors are translated to the taxonomy of lambdas/core/errors.ts:
 * SourceUnavailableError (transient: refused, reset, timed out, too many connections),
 * SourceAccessDeniedError (bad credentials or privilege), SourceTableMissingError (unknown table
 * or column), SourceQueryError (anything else, with the engine's code). No message carries the
 * password: a URL is shown as `mysql://user:***@host:port/db`.
 */
export interface SourceDatabase {
  readonly engine: SourceEngine;
  /** The table's columns and keys, or undefined when it does not exist. */
  describeTable(ref: TableRef): Promise<SourceTable | undefined>;
  /** Base tables of one schema (MySQL: database), or of every non-system schema; views excluded. */
  listTables(schema?: string): Promise<SourceTableSummary[]>;
  /**
   * Runs `fn` in one read-only transaction whose reads all see one consistent snapshot (MySQL:
   * `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE READ; PostgreSQL:
   * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`), on one connection whose session time zone
   * is UTC (`+00:00`). The transaction ends (rolled back) when `fn` settles.
   */
  snapshot<T>(fn: (session: SourceSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

