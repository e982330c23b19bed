/**
 * PostgreSQL sources (DESIGN.md §4): {@link PostgresSource}, a server over a small `pg.Pool`, and
 * {@link PgliteSource}, a given PGlite instance (the embedded demo source). Both run every read in
 * a `REPEATABLE READ READ ONLY` transaction in a UTC session, and share the catalog SQL and the
 * value rules of lambdas/adapters/postgres-source-catalog.ts; they differ only in how a
 * transaction is had and ended.
 */
import { maskUrl, requireCleanUrl, scrubSecrets } from '../core/connection-url';
import { userInfo } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import { Pool, type CustomTypesConfig, type PoolClient } from 'pg';
import { SourceAccessDeniedError, SourceQueryError, SourceTableMissingError, SourceUnavailableError } from '../core/errors';
import { type SourceDatabase, type SourceSession, type SourceTable, type SourceTableSummary, type SourceValue, type TableRef } from '../core/source';
import {
  SNAPSHOT_BEGIN,
  SNAPSHOT_CHARACTERISTICS,
  bindParams,
  describePostgresTable,
  listPostgresTables,
  sessionSettingsSql,
  valueParser,
  valueParsers,
  type SourceQuery,
} from './postgres-source-catalog';

// ---------------------------------------------------------------------------------------------
// errors

/** How messages name a source, and what they must never show. */
interface SourceContext {
  /** `PostgreSQL source <maskUrl(url)>`, or 'embedded PGlite source'. */
  readonly source: string;
  /** The user the server is asked to authenticate, when known. */
  readonly user?: string;
  /** The password(s) in play; removed from every message and cause. */
  readonly secrets: readonly string[];
}

/** Transient: the network or the server's state, not the request (ENOTFOUND too: DNS may come back). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const ACCESS_DENIED_CODES = new Set(['28P01', '28000', '42501']);
const MISSING_CODES = new Set(['42P01', '42703', '3F000', '3D000']);
/** pg's own messages for a connection that is gone or never came. */
const CONNECTION_LOST = /Connection terminated|connection error and is not queryable|Client was closed|timeout exceeded when trying to connect/i;

interface DriverError {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly errors?: unknown;
}

/** The code and message of a pg / PGlite / Node error (an AggregateError speaks through its first error). */
function codeAndMessage(error: unknown): { code: string | undefined; message: string } {
  const e = (error ?? {}) as DriverError;
  const first = Array.isArray(e.errors) ? (e.errors[0] as DriverError | undefined) : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof first?.code === 'string' ? first.code : undefined;
  const own = typeof e.message === 'string' ? e.message : String(error);
  const message = own || (typeof first?.message === 'string' ? first.message : '') || code || 'unknown error';
  return { code, message };
}

const scrub = scrubSecrets;

/** Does any text of `error` (message, stack, string fields, causes, inner errors) hold a secret? */
function leaks(error: unknown, secrets: readonly string[], depth = 0): boolean {
  if (typeof error === 'string') return secrets.some((s) => error.includes(s));
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const e = error as Record<string, unknown> & DriverError & { stack?: unknown; cause?: unknown };
  const fields = [e.message, e.stack, ...Object.values(e).filter((v) => typeof v === 'string')];
  if (fields.some((v) => typeof v === 'string' && secrets.some((s) => v.includes(s)))) return true;
  const inner = Array.isArray(e.errors) ? e.errors : [];
  return [e.cause, ...inner].some((c) => c !== undefined && leaks(c, secrets, depth + 1));
}

/**
 * The driver's error as the cause, or a copy of its name, code and (scrubbed) message when it
 * carries a secret or the statement's parameters (PGlite errors keep `params`: keyset values are
 * row values, which are never logged).
 */
function safeCause(error: unknown, secrets: readonly string[]): unknown {
  const hasParams = typeof error === 'object' && error !== null && 'params' in error;
  if (!hasParams && (secrets.length === 0 || !leaks(error, secrets))) return error;
  const { code, message } = codeAndMessage(error);
  const copy = new Error(scrub(message, secrets)) as Error & { code?: string };
  copy.name = error instanceof Error ? error.name : 'Error';
  if (code !== undefined) copy.code = code;
  return copy;
}

const isTranslated = (error: unknown) =>
  error instanceof SourceUnavailableError ||
  error instanceof SourceAccessDeniedError ||
  error instanceof SourceTableMissingError ||
  error instanceof SourceQueryError;

/** A pg / PGlite failure while `action` → the source error taxonomy of lambdas/core/errors.ts. */
function translate(error: unknown, context: SourceContext, action: string): Error {
  if (isTranslated(error)) return error as Error;
  const { code, message } = codeAndMessage(error);
  const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
  const head = `${context.source}: ${action} failed: ${message}${sqlstate}`;
  const options = { cause: safeCause(error, context.secrets) };
  const say = (advice: string) => scrub(`${head}; ${advice}`, context.secrets);
  if ((code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) || CONNECTION_LOST.test(message)) {
    return new SourceUnavailableError(say('check that the server is running, reachable and accepting connections, then retry'), options);
  }
  if (code !== undefined && ACCESS_DENIED_CODES.has(code)) {
    const who = context.user === undefined ? 'the user' : `user '${context.user}'`;
    return new SourceAccessDeniedError(
      say(`${who} was refused: check the user and password of the source URL, and that the user may read the tables (USAGE on the schema, SELECT on the table)`),
      options,
    );
  }
  if (code !== undefined && MISSING_CODES.has(code)) {
    return new SourceTableMissingError(say('a table, column, schema or database the dataset names does not exist (dropped or renamed?): fix the dataset configuration or restore it'), options);
  }
  const advice = sqlstate
    ? 'the source rejected the statement: check the dataset configuration against the source schema'
    : 'the driver failed before the server answered: check the source URL (postgres://user:password@host:port/database)';
  return new SourceQueryError(say(advice), options);
}

/** What messages say of a server URL: redacted, with the user pg will log in as. */
function serverContext(url: string): SourceContext {
  const secrets = new Set<string>();
  let user: string | undefined;
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  try {
    const parsed = new URL(url);
    user = decode(parsed.username) || parsed.searchParams.get('user') || undefined;
    for (const secret of [parsed.password, decode(parsed.password), parsed.searchParams.get('password')]) if (secret) secrets.add(secret);
  } catch {
    // not a URL pg can use either; it says so
  }
  if (secrets.size === 0 && process.env.PGPASSWORD) secrets.add(process.env.PGPASSWORD);
  user ??= process.env.PGUSER || safeUserName();
  return { source: `PostgreSQL source ${maskUrl(url)}`, ...(user === undefined ? {} : { user }), secrets: [...secrets] };
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// the shared contract

/** `describeTable` and `listTables` read in a snapshot of their own; subclasses say how one is had. */
abstract class PostgresFamilySource implements SourceDatabase {
  readonly engine = 'postgres' as const;

  /** Runs `fn` in one REPEATABLE READ READ ONLY transaction, rolled back when `fn` settles; failures are named `action`. */
  protected abstract read<T>(action: string, fn: (query: SourceQuery) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  /** Columns (information_schema.columns) and keys (pg_index); undefined when no such table, view or partition exists. */
  describeTable(ref: TableRef): Promise<SourceTable | undefined> {
    return this.read(`describing table ${ref.schema}.${ref.table}`, (query) => describePostgresTable(query, ref));
  }

  /**
   * Base tables and partitioned parents (their partitions are not listed), of `schema` or of every
   * schema but the catalogs; `estimatedRows` is `reltuples` (null until the table is analyzed).
   */
  listTables(schema?: string): Promise<SourceTableSummary[]> {
    return this.read(schema === undefined ? 'listing tables' : `listing tables of schema ${schema}`, (query) => listPostgresTables(query, schema));
  }

  /**
   * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` in a UTC session; `fn`'s reads use `$1…`
   * placeholders and return arrays of {@link SourceValue}s; always rolled back.
   */
  snapshot<T>(fn: (session: SourceSession) => Promise<T>): Promise<T> {
    return this.read('a snapshot read', (query) => fn(this.queuesReads ? { query, queuesReads: true } : { query }));
  }

  /** Does a read's connection queue reads sent while one runs (see SourceSession.queuesReads)? */
  protected readonly queuesReads: boolean = false;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL server

/** Options of {@link PostgresSource.connect}. */
export interface PostgresSourceOptions {
  /** How long to wait for a connection. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Pool size: how many snapshots may run at once. @default 4 */
  readonly maxConnections?: number;
}

/** Parsers of this adapter's connections only: the process-wide pg.types registry is left alone. */
const PG_TYPES: CustomTypesConfig = { getTypeParser: ((oid: number) => valueParser(oid)) as CustomTypesConfig['getTypeParser'] };

/** A PostgreSQL server over a small `pg.Pool`: each snapshot has a connection of its own. */
export class PostgresSource extends PostgresFamilySource {
  /** pg's client queues queries sent while one runs. */
  protected override readonly queuesReads = true;
  /** Connections whose session settings are made. */
  private readonly prepared = new WeakSet<PoolClient>();
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly context: SourceContext,
  ) {
    super();
  }

  /**
   * Connects to `url` (`postgres://user:password@host:port/db`) and checks one connection. Throws
   * SourceUnavailableError (unreachable), SourceAccessDeniedError (credentials) or
   * SourceTableMissingError (no such database); no message carries the password.
   */
  static async connect(url: string, options: PostgresSourceOptions = {}): Promise<PostgresSource> {
    requireCleanUrl(url, 'PostgreSQL source URL');
    const pool = new Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: PG_TYPES,
    });
    // An idle connection the server drops must not crash the process; the next checkout reconnects.
    pool.on('error', () => undefined);
    const source = new PostgresSource(pool, serverContext(url));
    try {
      (await source.checkout()).release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return source;
  }

  private async checkout(): Promise<PoolClient> {
    if (this.closed) throw new SourceQueryError(`${this.context.source} is closed: connect a new PostgresSource`);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translate(error, this.context, 'connecting');
    }
    if (!this.prepared.has(client)) {
      try {
        await client.query(sessionSettingsSql('session'));
      } catch (error) {
        client.release(true);
        throw translate(error, this.context, 'setting up the session');
      }
      this.prepared.add(client);
    }
    return client;
  }

  protected async read<T>(action: string, fn: (query: SourceQuery) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    const query: SourceQuery = async (sql, params) => {
      try {
        return (await client.query<SourceValue[]>({ text: sql, values: bindParams(params), rowMode: 'array' })).rows;
      } catch (error) {
        throw translate(error, this.context, action);
      }
    };
    let healthy = true;
    try {
      try {
        await client.query(SNAPSHOT_BEGIN);
      } catch (error) {
        throw translate(error, this.context, `${action} (BEGIN)`);
      }
      return await fn(query);
    } finally {
      try {
        await client.query('ROLLBACK');
      } catch {
        // the connection is gone; the server ends the transaction on its own
        healthy = false;
      }
      client.release(healthy ? undefined : true);
    }
  }

  /** Ends the pool (waits for checked-out connections to be released). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite

const PGLITE_CONTEXT: SourceContext = { source: 'embedded PGlite source', secrets: [] };

/**
 * A PGlite instance as a source (the embedded demo source). PGlite has one connection: a read runs
 * in `PGlite.transaction`, which queues every other caller of the instance until it ends, and its
 * settings are `SET LOCAL`, so the instance's own session (its TimeZone, …) is left as it was.
 * The instance belongs to the caller: `close()` does not close it.
 */
export class PgliteSource extends PostgresFamilySource {
  constructor(private readonly db: PGlite) {
    super();
  }

  protected async read<T>(action: string, fn: (query: SourceQuery) => Promise<T>): Promise<T> {
    if (this.db.closed) throw new SourceQueryError(`${PGLITE_CONTEXT.source}: its PGlite instance is closed: create one and a new PgliteSource over it`);
    // Every parser the instance has (JSON, dates, arrays of known types) is overridden per query.
    const parsers = valueParsers(Object.keys(this.db.parsers));
    let began = false;
    try {
      return await this.db.transaction(async (tx) => {
        began = true;
        const query: SourceQuery = async (sql, params) => {
          try {
            return (await tx.query<SourceValue[]>(sql, bindParams(params), { rowMode: 'array', parsers })).rows;
          } catch (error) {
            throw translate(error, PGLITE_CONTEXT, action);
          }
        };
        try {
          try {
            await tx.exec(`${SNAPSHOT_CHARACTERISTICS}; ${sessionSettingsSql('transaction')}`);
          } catch (error) {
            throw translate(error, PGLITE_CONTEXT, `${action} (BEGIN)`);
          }
          return await fn(query);
        } finally {
          if (!tx.closed) await tx.rollback().catch(() => undefined);
        }
      });
    } catch (error) {
      throw began ? error : translate(error, PGLITE_CONTEXT, `${action} (BEGIN)`);
    }
  }

  /** Nothing to release: the PGlite instance is the caller's to close. */
  async close(): Promise<void> {}
}
