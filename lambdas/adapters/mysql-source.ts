/**
 * The `SourceDatabase` port on MySQL and MariaDB through mysql2 (DESIGN.md §4). One connection,
 * used by one operation at a time (extraction is sequential); values come back in the canonical
 * forms of `SourceValue` because the connection is configured for it, never converted afterwards.
 */
import { maskUrl, requireCleanUrl } from '../core/connection-url';
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2/promise';
import { ConfigurationError } from '../core/errors';
import {
  type SourceDatabase,
  type SourceSession,
  type SourceTable,
  type SourceTableSummary,
  type SourceValue,
  type TableRef,
} from '../core/source';
import { readColumns, readKeys, readTableSummaries, tableKey, type CatalogReader } from './mysql-catalog';
import { isConnectionLost, translateMysqlError, type MysqlErrorContext } from './mysql-source-errors';

export interface MysqlSourceOptions {
  /** How long opening the connection may take, in milliseconds. @default 10000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Reads one connection's results in the canonical forms: text protocol (`query`, so DATETIME(6)
 * keeps the digits the server prints), dates and times as the server's text, BIGINT and DECIMAL
 * as exact decimal strings (so is `COUNT(*)`), JSON as its text (MariaDB's JSON is LONGTEXT, found
 * by the extended metadata), binary-charset columns (BINARY, VARBINARY, BLOB, BIT) as Buffers
 * and TEXT as strings, YEAR and the smaller integers as numbers, rows as arrays.
 */
const VALUE_OPTIONS = {
  charset: 'UTF8MB4_UNICODE_CI',
  dateStrings: true,
  supportBigNumbers: true,
  bigNumberStrings: true,
  decimalNumbers: false,
  jsonStrings: true,
  rowsAsArray: true,
  multipleStatements: false,
} satisfies ConnectionOptions;

/**
 * mysql2 parses GEOMETRY into points and VECTOR into number arrays; these keep the server's bytes
 * (GEOMETRY: SRID + WKB) like any binary value. Only for queries known to return such columns: a
 * typeCast slows every row down (~35% on a 6-column table, measured).
 */
const GEOMETRY_TYPES = new Set([0xff, 0xf2]);
const GEOMETRY_AS_BYTES: NonNullable<ConnectionOptions['typeCast']> = (field, next) =>
  field.type === 'GEOMETRY' || field.type === 'VECTOR' ? field.buffer() : next();

/** Session settings of every connection: UTC for TIMESTAMP (whatever the server's global zone), utf8mb4 results. */
const SESSION_SQL = "SET time_zone = '+00:00', NAMES utf8mb4";

/**
 * A MySQL or MariaDB source at `mysql://user:password@host:port/database` (`mariadb://` too;
 * `?ssl=true` for TLS verified against Node's CA store). Operations are serialized on the one
 * connection, so concurrent `snapshot` calls run one after the other; calling the source again
 * from inside a snapshot's `fn` would wait for that snapshot and deadlock. A lost connection is
 * reopened by the next operation.
 */
export class MysqlSource implements SourceDatabase {
  readonly engine = 'mysql' as const;
  private connection: Connection | undefined;
  private mariadb: boolean | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** SQL texts whose results held GEOMETRY or VECTOR columns (the dialect's few query shapes). */
  private readonly geometrySql = new Set<string>();

  private constructor(
    private readonly options: ConnectionOptions,
    private readonly errors: MysqlErrorContext,
  ) {}

  /** Opens the connection (so bad URLs, credentials and unreachable servers fail here). */
  static async connect(url: string, options: MysqlSourceOptions = {}): Promise<MysqlSource> {
    const parsed = parseMysqlUrl(url);
    const source = new MysqlSource(
      { ...parsed.options, ...VALUE_OPTIONS, connectTimeout: options.connectTimeoutMs ?? 10_000 },
      { label: maskUrl(url), user: parsed.options.user ?? '', password: parsed.options.password ?? '' },
    );
    await source.exclusive(async () => undefined);
    return source;
  }

  async describeTable(ref: TableRef): Promise<SourceTable | undefined> {
    return this.exclusive(async (read) => {
      const columns = (await readColumns(read, this.isMariadb(), ref.schema, ref.table)).get(tableKey(ref.schema, ref.table));
      if (!columns) return undefined;
      const keys = (await readKeys(read, ref.schema, ref.table)).get(tableKey(ref.schema, ref.table));
      return { schema: ref.schema, table: ref.table, columns, primaryKey: keys?.primaryKey ?? [], uniqueKeys: keys?.uniqueKeys ?? [] };
    });
  }

  async listTables(schema?: string): Promise<SourceTableSummary[]> {
    return this.exclusive(async (read) => {
      const tables = await readTableSummaries(read, schema);
      const columns = await readColumns(read, this.isMariadb(), schema);
      const keys = await readKeys(read, schema);
      return tables.map((t) => ({
        ...t,
        primaryKey: keys.get(tableKey(t.schema, t.table))?.primaryKey ?? [],
        columns: (columns.get(tableKey(t.schema, t.table)) ?? []).map(({ name, dataType, columnType, nullable }) => ({ name, dataType, columnType, nullable })),
      }));
    });
  }

  async snapshot<T>(fn: (session: SourceSession) => Promise<T>): Promise<T> {
    return this.exclusive(async (read, connection) => {
      await read('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await read('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      let open = true;
      const session: SourceSession = {
        query: (sql, params) => {
          if (!open) return Promise.reject(new Error('a SourceSession was used after its snapshot ended'));
          return read(sql, params);
        },
        // mysql2 queues commands sent while one runs.
        queuesReads: true,
      };
      try {
        return await fn(session);
      } finally {
        open = false;
        await connection.query('ROLLBACK').catch(() => this.discard(connection));
      }
    });
  }

  /** Waits for the running operation, then ends the connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.end().catch(() => connection.destroy());
  }

  /**
   * Runs `fn` alone on the live connection (opened or reopened here); mysql2 errors come out
   * translated. When a connection kept from an earlier operation turns out to be lost at the
   * operation's first statement (killed, timed out by the server while idle), the operation runs
   * again once on a new connection: nothing of it has run yet.
   */
  private exclusive<T>(fn: (read: CatalogReader, connection: Connection) => Promise<T>): Promise<T> {
    const attempt = async (mayRetry: boolean): Promise<T> => {
      const reused = this.connection !== undefined;
      const connection = await this.open();
      let statements = 0;
      let lostAtStart = false;
      const read: CatalogReader = async (sql, params) => {
        try {
          // Bytes go as a Buffer, which mysql2 writes as a hex literal (X'…'): byte-exact.
          const values = params ? params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p)) : undefined;
          const known = this.geometrySql.has(sql);
          let [rows, fields] = await connection.query({ sql, values, ...(known ? { typeCast: GEOMETRY_AS_BYTES } : {}) });
          if (!known && Array.isArray(fields) && fields.some((f) => GEOMETRY_TYPES.has(f.columnType ?? -1))) {
            if (this.geometrySql.size >= 1000) this.geometrySql.clear();
            this.geometrySql.add(sql);
            [rows] = await connection.query({ sql, values, typeCast: GEOMETRY_AS_BYTES });
          }
          statements++;
          return rows as unknown as SourceValue[][];
        } catch (error) {
          if ((error as { fatal?: unknown }).fatal) this.discard(connection);
          lostAtStart = statements === 0 && isConnectionLost(error);
          throw translateMysqlError(error, this.errors);
        }
      };
      try {
        return await fn(read, connection);
      } catch (error) {
        if (reused && mayRetry && lostAtStart) return attempt(false);
        throw error;
      }
    };
    const run = this.tail.then(() => attempt(true));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async open(): Promise<Connection> {
    if (this.closed) throw new Error(`the MySQL source ${this.errors.label} is closed`);
    if (this.connection) return this.connection;
    let connection: Connection | undefined;
    try {
      connection = await createConnection(this.options);
      const opened = connection;
      opened.on('error', () => this.discard(opened));
      await opened.query(SESSION_SQL);
      if (this.mariadb === undefined) {
        const [rows] = await opened.query('SELECT VERSION()');
        this.mariadb = /mariadb/i.test(String((rows as unknown as SourceValue[][])[0]?.[0]));
      }
    } catch (error) {
      connection?.destroy();
      throw translateMysqlError(error, this.errors);
    }
    this.connection = connection;
    return connection;
  }

  private isMariadb(): boolean {
    return this.mariadb === true;
  }

  private discard(connection: Connection): void {
    if (this.connection === connection) this.connection = undefined;
    connection.destroy();
  }
}

/** The mysql2 options a source URL names; throws ConfigurationError (without the password) when it is not one. */
export function parseMysqlUrl(url: string): { options: ConnectionOptions } {
  requireCleanUrl(url, 'MySQL source URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`MySQL source URL '${maskUrl(url)}' is not a URL: use mysql://user:password@host:port/database`);
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new ConfigurationError(`MySQL source URL '${maskUrl(url)}' must start with mysql:// or mariadb://`);
  }
  let ssl: ConnectionOptions['ssl'];
  for (const [name, value] of parsed.searchParams) {
    if (name === 'ssl' && ['true', '1', 'required'].includes(value)) ssl = {};
    else if (name === 'ssl' && ['false', '0'].includes(value)) ssl = undefined;
    else throw new ConfigurationError(`MySQL source URL '${maskUrl(url)}': unsupported parameter '${name}' (or value); only ssl=true|false is understood`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    options: {
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username),
      // Without a password in the URL, the mysql client's MYSQL_PWD (keeps it out of URLs and configs).
      password: parsed.password ? decodeURIComponent(parsed.password) : (process.env.MYSQL_PWD ?? ''),
      database: database || undefined,
      ssl,
    },
  };
}
