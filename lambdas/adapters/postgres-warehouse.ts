/**
 * Warehouse adapters for the Postgres family (DESIGN.md §4, §7): a PostgreSQL server over
 * `pg.Pool`, and PGlite (embedded, on disk or in memory). Both speak the Redshift dialect of
 * lambdas/core/sql.ts through {@link translateRedshiftSql}; `COPY … FROM 's3://…' FORMAT AS
 * PARQUET` is carried out by reading the object from the ObjectStore, decoding it, and streaming
 * CSV into `COPY … FROM STDIN` (server) or `COPY … FROM '/dev/blob'` (PGlite, where COPY FROM
 * STDIN through `query` hangs).
 *
 * Sessions run with `TimeZone=UTC` and `DateStyle=ISO`, so timestamps go in and come out as UTC.
 */
import { maskUrl, requireCleanUrl } from '../core/connection-url';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { Pool, types as pgTypes, type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BadFileError, ConfigurationError, TransientError, WarehouseStatementError } from '../core/errors';
import type { ObjectStore, Row, SqlValue, Warehouse } from '../core/ports';
import { parseCopyFromS3, quoteIdent, type ParsedCopyFromS3 } from '../core/sql';
import { CopyExecutor, SYSTEM_DDL, copyStatements } from './postgres-copy';
import { createPglite } from './pglite-loader';
import { bindNamedParameters, keyIndexStatement, translateRedshiftSql } from './postgres-sql';

export { bindNamedParameters, keyIndexStatement, translateRedshiftSql } from './postgres-sql';

/** What the Postgres-family warehouses need besides their connection. */
export interface PostgresWarehouseDeps {
  /** Where `COPY … FROM 's3://<bucket>/<key>'` reads objects; its bucket must match. */
  readonly objects: ObjectStore;
  /**
   * Awaited before a COPY reads each object (the local Data API's fault hooks use it to change an
   * object between a load's checks and its COPY); absent in production.
   */
  readonly beforeCopyRead?: (key: string) => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// result values

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  jsonb: 3802,
} as const;

const asText = (text: string): string => text;

/** int8 → number when it is a safe integer, else its exact text. */
function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** numeric → number when at most 15 significant digits (exact as a double), else its exact text. */
function parseNumeric(text: string): number | string {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) return text;
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
  return digits.length <= 15 ? Number(text) : text;
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?$/;

/**
 * PostgreSQL's ISO timestamp text → `YYYY-MM-DDTHH:MM:SS.sss[sss]Z` (3 fractional digits, 6 when
 * sub-millisecond, so millisecond values equal Date#toISOString()). TIMESTAMP (no zone) is read
 * as UTC. `infinity`, BC and 5-digit years are returned as PostgreSQL wrote them.
 */
export function isoFromPostgresTimestamp(text: string): string {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0', os = '0'] = m;
  const digits = frac.length <= 3 ? frac.padEnd(3, '0') : frac.padEnd(6, '0');
  const offsetSeconds = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os)) : 0;
  if (offsetSeconds === 0) return `${y}-${mo}-${d}T${h}:${mi}:${s}.${digits}Z`;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetSeconds * 1000;
  return `${new Date(utc).toISOString().slice(0, 19)}.${digits}Z`;
}

/** Text-format parsers shared by both backends, by type OID. */
const PARSERS: Record<number, (text: string) => SqlValue> = {
  [OID.bool]: (t) => t === 't' || t === 'true',
  [OID.int8]: parseInt8,
  [OID.numeric]: parseNumeric,
  [OID.float4]: (t) => Number(t),
  [OID.float8]: (t) => Number(t),
  [OID.timestamp]: isoFromPostgresTimestamp,
  [OID.timestamptz]: isoFromPostgresTimestamp,
  [OID.date]: asText,
  [OID.time]: asText,
  [OID.timetz]: asText,
  [OID.interval]: asText,
  [OID.bytea]: asText,
  [OID.json]: asText,
  [OID.jsonb]: asText,
};

/**
 * The parsers of {@link ResultSetQuery.queryResultSet}: numeric keeps its exact text (scale
 * included), as the Redshift Data API sends it (`stringValue`); the rest as {@link PARSERS}.
 */
const RESULT_SET_PARSERS: Record<number, (text: string) => SqlValue> = { ...PARSERS, [OID.numeric]: asText };

/** A statement's result as a result set: columns in order (duplicates kept) with their type OIDs, rows as arrays. */
export interface ResultSet {
  readonly columns: readonly { readonly name: string; readonly typeOid: number }[];
  readonly rows: readonly (readonly SqlValue[])[];
}

/** A warehouse that can answer a query as a typed result set (the Postgres-family ones; the local Data API uses it). */
export interface ResultSetQuery {
  queryResultSet(sql: string, params?: Record<string, SqlValue>): Promise<ResultSet>;
}

/** True when `w` answers {@link ResultSetQuery.queryResultSet}. */
export function answersResultSets(w: object): w is ResultSetQuery {
  return typeof (w as Partial<ResultSetQuery>).queryResultSet === 'function';
}

/** Whatever a driver's default parser produced, as a SqlValue. */
function toSqlValue(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    default:
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Uint8Array) return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
      return JSON.stringify(v);
  }
}

function normalizeRows(rows: readonly Record<string, unknown>[]): Row[] {
  return rows.map((row) => {
    const out: Row = {};
    for (const key of Object.keys(row)) out[key] = toSqlValue(row[key]);
    return out;
  });
}

function resultSetOf(fields: readonly { name: string; dataTypeID: number }[], rows: readonly unknown[][]): ResultSet {
  return { columns: fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: rows.map((row) => row.map(toSqlValue)) };
}

// ---------------------------------------------------------------------------------------------
// errors

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

interface DbError {
  readonly code?: string;
  readonly message?: string;
  readonly where?: string;
}

function isTransient(error: unknown): boolean {
  const e = error as DbError;
  if (typeof e?.code === 'string' && (TRANSIENT_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  const message = String(e?.message ?? '');
  // Two sessions creating the same table or schema at once: one loses on a catalog index; retrying finds it made.
  if (e?.code === '23505' && /"pg_(?:type_typname_nsp|class_relname_nsp|namespace_nspname)_index"/.test(message)) return true;
  return /Connection terminated|connection error and is not queryable|Client was closed|timeout exceeded when trying to connect/i.test(message);
}

function databaseText(error: unknown): string {
  const e = error as DbError;
  const message = error instanceof Error || typeof e?.message === 'string' ? String(e.message) : String(error);
  const code = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : '';
  const line = /\bline (\d+)/.exec(e?.where ?? '');
  return `${message}${code}${line ? ` at row ${line[1]} of the file` : ''}`;
}

function describeStatement(statement: string | undefined, copy: ParsedCopyFromS3 | undefined): string {
  if (copy) return `COPY of s3 object '${copy.key}'`;
  const oneLine = (statement ?? '').replace(/\s+/g, ' ').trim();
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

/**
 * `CREATE … IF NOT EXISTS` racing another session's: PostgreSQL may still answer "already exists"
 * (42P07 relation, 42P06 schema, 42710 object); retrying finds it made.
 */
function lostCreateRace(error: unknown, statement: string | undefined): boolean {
  const code = (error as DbError)?.code;
  return (code === '42P07' || code === '42P06' || code === '42710') && /^\s*CREATE\b[^;]*\bIF\s+NOT\s+EXISTS\b/i.test(statement ?? '');
}

/** Maps a failure inside a transaction to the project's taxonomy. */
function transactionError(error: unknown, index: number, statements: readonly string[]): Error {
  if (error instanceof BadFileError || error instanceof TransientError || error instanceof WarehouseStatementError) return error;
  const statement = statements[index];
  const inBatch = index >= 0 && index < statements.length;
  const what = inBatch
    ? `statement ${index} (${describeStatement(statement, statement === undefined ? undefined : parseCopyFromS3(statement))})`
    : index < 0
      ? 'BEGIN'
      : 'COMMIT';
  if (isTransient(error) || lostCreateRace(error, statement)) {
    const outcome = index < statements.length ? 'nothing was committed' : 'the outcome is unknown, check the audit table';
    return new TransientError(`warehouse ${what} failed: ${databaseText(error)}; ${outcome}; retry`, { cause: error });
  }
  return new WarehouseStatementError(`${what} failed: ${databaseText(error)}; the transaction was rolled back`, inBatch ? index : undefined, {
    cause: error,
  });
}


// ---------------------------------------------------------------------------------------------
// the shared implementation

/** One connection for the span of a call. */
interface Session {
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The same, as a result set (see {@link ResultSetQuery}). */
  queryResultSet(sql: string, params?: readonly SqlValue[]): Promise<ResultSet>;
  /** Runs a statement without reading rows; resolves to the rows it inserted, updated or deleted (when the backend says). */
  execute(sql: string): Promise<number | undefined>;
  /** `COPY <table> (<cols>) FROM … WITH (FORMAT csv)` from CSV chunks. */
  copyCsv(table: string, columns: readonly string[], chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

/** The Warehouse contract over a Session provider; the two backends differ only in sessions. */
abstract class PostgresFamilyWarehouse implements Warehouse, ResultSetQuery {
  /** The emulated Redshift system views exist (created once per warehouse). */
  protected ready: Promise<void> = Promise.resolve();

  protected constructor(protected readonly deps: PostgresWarehouseDeps) {}

  /** Creates the emulated load views (sys_load_detail, …) if they are missing. */
  protected async createSystemViews(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.withSession(async (session) => {
          for (const ddl of SYSTEM_DDL) await session.execute(ddl);
        });
        return;
      } catch (error) {
        // Two processes creating them at once: one loses a catalog race; the other created them.
        if (attempt >= 2) throw error;
      }
    }
  }

  /** Runs `fn` on one connection no other caller uses meanwhile. */
  protected abstract withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  /**
   * BEGIN; each statement, translated (COPY from S3 executed by the adapter); COMMIT. On failure,
   * ROLLBACK and throw: BadFileError for a Parquet file that cannot be decoded or does not match
   * its COPY column list; TransientError for connection loss, serialization failures and
   * deadlocks; otherwise WarehouseStatementError naming the statement index (and the S3 key of a
   * COPY) with the database's message. `clientToken` is not used: PostgreSQL has no idempotency
   * token; resubmissions are made safe by the audit table (DESIGN.md §5).
   */
  async executeTransaction(statements: readonly string[], _clientToken: string): Promise<void> {
    await this.ready;
    await this.withSession(async (session) => {
      try {
        await session.execute('BEGIN');
      } catch (error) {
        throw transactionError(error, -1, statements);
      }
      let index = 0;
      const copies = copyStatements(statements);
      const executor = new CopyExecutor(this.deps.objects, PREFETCH_BYTES, this.deps.beforeCopyRead);
      const temporary = new Set<string>();
      /** Rows each permanent table gained or lost, for the analyze after commit (Infinity: unknown). */
      const written = new Map<string, number>();
      const wrote = (table: string | undefined, rows: number | undefined) => {
        if (table && !temporary.has(table)) written.set(table, (written.get(table) ?? 0) + (rows ?? Infinity));
      };
      try {
        for (; index < statements.length; index++) {
          const statement = statements[index]!;
          const copy = copies.get(index);
          if (copy) {
            await executor.run(session, index, copy);
            wrote(copy.table, undefined);
            continue;
          }
          const temp = CREATE_TEMP.exec(statement);
          if (temp) temporary.add(temp[1]!);
          const emptyTemp = DELETE_ALL.exec(statement);
          // Emptying a session-private staging table: TRUNCATE is transactional in PostgreSQL and
          // far cheaper than a row-by-row DELETE (Redshift has no transactional TRUNCATE).
          if (emptyTemp && temporary.has(emptyTemp[1]!)) await session.execute(`TRUNCATE ${emptyTemp[1]!}`);
          else wrote(WRITE.exec(statement)?.[1], await session.execute(translateRedshiftSql(statement)));
          const keyIndex = keyIndexStatement(statement);
          if (keyIndex) await session.execute(keyIndex);
        }
        await session.execute('COMMIT');
      } catch (error) {
        try {
          await session.execute('ROLLBACK');
        } catch {
          // the connection is gone; the server rolls back on its own
        }
        // Load error rows outlive the transaction, as Redshift's do.
        await executor.recordErrors(session).catch(() => undefined);
        throw transactionError(error, index, statements);
      }
      await this.analyzeWritten(session, written);
    });
  }

  /** Rows changed per table since its statistics were last gathered here. */
  private readonly changedSinceAnalyze = new Map<string, number>();

  /**
   * ANALYZE, after a commit, each table that has changed by more than 50 rows + 10% of its rows
   * since it was last analyzed (PostgreSQL autovacuum's threshold; a table never analyzed, on its
   * first change). Redshift keeps statistics current on its own (automatic analyze, and COPY into
   * an empty table updates them); PGlite has no autovacuum and a server's runs a minute later, so
   * without this the planner would plan merges into a million-row table as if it were empty.
   * Best effort: a table dropped meanwhile is skipped.
   */
  private async analyzeWritten(session: Session, written: ReadonlyMap<string, number>): Promise<void> {
    for (const [table, rows] of written) {
      const changed = (this.changedSinceAnalyze.get(table) ?? 0) + rows;
      try {
        const [stats] = await session.query('SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass($1)', [table]);
        if (!stats) continue;
        const tuples = Number(stats.n);
        if (tuples >= 0 && changed <= 50 + 0.1 * tuples) {
          this.changedSinceAnalyze.set(table, changed);
          continue;
        }
        await session.execute(`ANALYZE ${table}`);
        this.changedSinceAnalyze.set(table, 0);
      } catch {
        this.changedSinceAnalyze.delete(table);
      }
    }
  }

  /**
   * Runs one statement with Data API style `:name` parameters. Values come back as SqlValues:
   * int8 as a number when it is a safe integer (else its exact text); numeric as a number when
   * it has at most 15 significant digits (else its exact text); floats as numbers; booleans as
   * booleans; timestamps as ISO-8601 UTC strings (see isoFromPostgresTimestamp); dates, times,
   * intervals, json and bytea (`\x…`) as text; arrays as JSON text.
   */
  query(sql: string, params?: Record<string, SqlValue>): Promise<Row[]> {
    return this.runQuery(sql, params, (session, text, values) => session.query(text, values));
  }

  /** {@link query}'s statement as a result set: every column in order, duplicate names kept, numeric as exact text. */
  queryResultSet(sql: string, params?: Record<string, SqlValue>): Promise<ResultSet> {
    return this.runQuery(sql, params, (session, text, values) => session.queryResultSet(text, values));
  }

  /** One statement with Data API style `:name` parameters on a session, its errors as the Warehouse contract names them. */
  private async runQuery<T>(sql: string, params: Record<string, SqlValue> | undefined, run: (session: Session, text: string, values: readonly SqlValue[]) => Promise<T>): Promise<T> {
    await this.ready;
    const { text, values } = bindNamedParameters(translateRedshiftSql(sql), params);
    return this.withSession(async (session) => {
      try {
        return await run(session, text, values);
      } catch (error) {
        if (isTransient(error)) throw new TransientError(`warehouse query failed: ${databaseText(error)}; retry`, { cause: error });
        throw new WarehouseStatementError(`query (${describeStatement(sql, undefined)}) failed: ${databaseText(error)}`, undefined, { cause: error });
      }
    });
  }

}

/** CSV decoded ahead of the COPY that sends it, at most this many bytes per file. */
const PREFETCH_BYTES = 64 * 1024 * 1024;
const CREATE_TEMP = /^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+("(?:[^"]|"")+"|\w+)/i;
const DELETE_ALL = /^\s*DELETE\s+FROM\s+("(?:[^"]|"")+"|\w+)\s*$/i;
/** The table an INSERT, UPDATE or DELETE writes (schema-qualified or not). */
const WRITE = /^\s*(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+((?:"(?:[^"]|"")+"|\w+)(?:\.(?:"(?:[^"]|"")+"|\w+))?)/i;

function copySql(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.map(quoteIdent).join(', ')}) FROM ${source} WITH (FORMAT csv)`;
}

const SESSION_SETTINGS = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'";

// ---------------------------------------------------------------------------------------------
// PostgreSQL server

/** Options of {@link PostgresServerWarehouse.open}. */
export interface PostgresServerWarehouseOptions {
  /** Pool size. @default 4 */
  readonly maxConnections?: number;
}

/** Warehouse over a PostgreSQL server (`pg.Pool`); concurrent calls use separate connections. */
export class PostgresServerWarehouse extends PostgresFamilyWarehouse {
  private constructor(
    private readonly pool: Pool,
    deps: PostgresWarehouseDeps,
  ) {
    super(deps);
  }

  /**
   * Connects to `url` (`postgres://…`) and checks the connection once. Throws TransientError when
   * the server cannot be reached (the URL's password is never part of a message).
   */
  static async open(url: string, deps: PostgresWarehouseDeps, options: PostgresServerWarehouseOptions = {}): Promise<PostgresServerWarehouse> {
    const pool = new Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      types: { getTypeParser: ((oid: number, format?: string) => PARSERS[oid] ?? pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser },
    });
    // An idle connection the server drops must not crash the process; the next checkout reconnects.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => {
      client.query(SESSION_SETTINGS).catch(() => undefined);
    });
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      const text = `cannot connect to the PostgreSQL warehouse at ${maskUrl(url)}: ${databaseText(error)}`;
      if (isTransient(error)) throw new TransientError(`${text}; check that the server is running, then retry`, { cause: error });
      throw new ConfigurationError(`${text}; check the warehouse URL`, { cause: error });
    }
    const warehouse = new PostgresServerWarehouse(pool, deps);
    warehouse.ready = warehouse.createSystemViews();
    try {
      await warehouse.ready;
    } catch (error) {
      // An open pool would keep the process alive after the error is reported.
      await pool.end().catch(() => undefined);
      throw error;
    }
    return warehouse;
  }

  protected async withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      if (isTransient(error)) throw new TransientError(`cannot connect to the PostgreSQL warehouse: ${databaseText(error)}; retry`, { cause: error });
      throw error;
    }
    let broken = false;
    const session: Session = {
      query: async (sql, params) => normalizeRows((await client.query(sql, params ? [...params] : undefined)).rows),
      queryResultSet: async (sql, params) => {
        const getTypeParser = ((oid: number, format?: string) => RESULT_SET_PARSERS[oid] ?? pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser;
        const result = await client.query<unknown[]>({ text: sql, values: params ? [...params] : [], rowMode: 'array', types: { getTypeParser } });
        return resultSetOf(result.fields ?? [], result.rows);
      },
      execute: async (sql) => (await client.query(sql)).rowCount ?? undefined,
      copyCsv: async (table, columns, chunks) => {
        await pipeline(Readable.from(chunks), client.query(copyFrom(copySql(table, columns, 'STDIN'))));
      },
    };
    try {
      return await fn(session);
    } catch (error) {
      broken = isTransient(error) || isTransient((error as { cause?: unknown }).cause);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite

/**
 * Warehouse over PGlite (embedded PostgreSQL in WebAssembly). PGlite has one connection, so every
 * call is queued: a transaction never interleaves with another caller's statements.
 */
export class PgliteWarehouse extends PostgresFamilyWarehouse {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: PGlite,
    deps: PostgresWarehouseDeps,
  ) {
    super(deps);
  }

  /** Opens (creating if needed) a PGlite database in `dataDir`, or in memory when undefined. */
  static async open(dataDir: string | undefined, deps: PostgresWarehouseDeps): Promise<PgliteWarehouse> {
    const options: PGliteOptions = { parsers: PARSERS as Record<number, (text: string) => unknown> };
    let db: PGlite;
    if (dataDir) {
      const dir = resolve(dataDir);
      mkdirSync(dir, { recursive: true });
      db = await createPglite(dir, options);
    } else {
      db = await createPglite(undefined, options);
    }
    const warehouse = new PgliteWarehouse(db, deps);
    try {
      await db.exec(SESSION_SETTINGS);
      warehouse.ready = warehouse.createSystemViews();
      await warehouse.ready;
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    return warehouse;
  }

  protected withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const db = this.db;
    const session: Session = {
      query: async (sql, params) => normalizeRows((await db.query<Record<string, unknown>>(sql, params ? [...params] : [])).rows),
      queryResultSet: async (sql, params) => {
        const result = await db.query<unknown[]>(sql, params ? [...params] : [], { rowMode: 'array', parsers: RESULT_SET_PARSERS as Record<number, (text: string) => unknown> });
        return resultSetOf(result.fields, result.rows);
      },
      execute: async (sql) => (await db.query(sql)).affectedRows,
      copyCsv: async (table, columns, chunks) => {
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks) parts.push(chunk);
        await db.query(copySql(table, columns, "'/dev/blob'"), [], { blob: new Blob(parts) });
      },
    };
    const run = this.tail.then(
      () => fn(session),
      () => fn(session),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.db.close();
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Opens the warehouse a URL names: `postgres://…` / `postgresql://…` (a PostgreSQL server),
 * `pglite:<dir>` (PGlite on disk; relative to the working directory) or `pglite:memory`
 * (in memory). Throws ConfigurationError for any other URL.
 */
export async function openPostgresWarehouse(url: string, deps: PostgresWarehouseDeps): Promise<Warehouse> {
  if (/^postgres(?:ql)?:\/\//i.test(url)) {
    requireCleanUrl(url, 'warehouse URL');
    return PostgresServerWarehouse.open(url, deps);
  }
  const pglite = /^pglite:(.*)$/i.exec(url);
  if (pglite) {
    const target = pglite[1]!.replace(/^\/\/(?=\/)/, '');
    return PgliteWarehouse.open(target === '' || target === 'memory' ? undefined : target, deps);
  }
  throw new ConfigurationError(
    `unsupported warehouse URL '${maskUrl(url)}': use postgres://…, postgresql://…, pglite:<dir> or pglite:memory`,
  );
}
