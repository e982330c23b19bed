/**
 * What mysql2 throws, translated to the source error taxonomy (DESIGN.md §9,
 * lambdas/core/errors.ts). Pure. The translated error never carries the password: its message is
 * scrubbed, and its `cause` is a fresh Error holding only the code, errno, SQL state and the
 * scrubbed message (mysql2's own error keeps the interpolated SQL, i.e. row values, in `sql`).
 */
import { scrubSecrets } from '../core/connection-url';
import {
  SourceAccessDeniedError,
  SourceQueryError,
  SourceTableMissingError,
  SourceUnavailableError,
} from '../core/errors';

/** Node.js socket and mysql2 protocol codes of a connection that failed or was lost: worth retrying. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/**
 * Server errnos worth retrying: too many connections (1040), server shutting down (1053), server
 * gone away / lost during query (2006, 2013), lock wait timeout (1205), deadlock (1213), connection
 * killed (MariaDB 1927), disconnected for inactivity (MySQL 4031).
 */
const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 2006, 2013, 1205, 1213, 1927, 4031]);

/** Bad credentials (1045, 1698), no access to the database (1044), table (1142) or a privilege (1227). */
const ACCESS_DENIED_ERRNOS = new Set([1044, 1045, 1142, 1227, 1698]);

/** Unknown table (1146), column (1054) or database (1049). */
const MISSING_ERRNOS = new Set([1146, 1054, 1049]);

/** Who the error is about: the redacted URL for messages, and the secrets to scrub. */
export interface MysqlErrorContext {
  /** `maskUrl(url)`. */
  readonly label: string;
  readonly user: string;
  /** The password as given in the URL (decoded); removed from every text kept. */
  readonly password: string;
}

interface MysqlErrorInfo {
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;
  readonly message: string;
  /** mysql2 marks errors that left the connection unusable. */
  readonly fatal: boolean;
}

function errorInfo(error: unknown): MysqlErrorInfo {
  if (typeof error !== 'object' || error === null) return { code: undefined, errno: undefined, sqlState: undefined, message: String(error), fatal: false };
  const e = error as { code?: unknown; errno?: unknown; sqlState?: unknown; sqlMessage?: unknown; message?: unknown; errors?: unknown; fatal?: unknown };
  let code = typeof e.code === 'string' ? e.code : undefined;
  // Node's happy-eyeballs connect fails with an AggregateError of one error per address.
  if (!code && Array.isArray(e.errors) && e.errors.length > 0) code = errorInfo(e.errors[0]).code;
  const sqlMessage = typeof e.sqlMessage === 'string' ? e.sqlMessage : undefined;
  const message = sqlMessage ?? (typeof e.message === 'string' && e.message ? e.message : String(error));
  return {
    code,
    errno: typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined,
    sqlState: typeof e.sqlState === 'string' ? e.sqlState : undefined,
    message,
    fatal: e.fatal === true,
  };
}

/** True when mysql2 reports that the connection is lost (closed, reset, killed): the statement never ran or its result is lost. */
export function isConnectionLost(error: unknown): boolean {
  const info = errorInfo(error);
  return info.fatal && (info.errno === undefined || UNAVAILABLE_ERRNOS.has(info.errno));
}

function scrubber(password: string): (text: string) => string {
  if (!password) return (text) => text;
  const forms = [...new Set([password, encodeURIComponent(password)])];
  return (text) => scrubSecrets(text, forms);
}

/**
 * Translates anything mysql2 (or the socket under it) threw into SourceUnavailableError,
 * SourceAccessDeniedError, SourceTableMissingError or SourceQueryError; each message names the
 * source by its redacted URL, the engine's code (`ER_NO_SUCH_TABLE (1146)`) and text, and what to do.
 * An error that is already one of them is returned unchanged.
 */
export function translateMysqlError(error: unknown, context: MysqlErrorContext): Error {
  if (
    error instanceof SourceUnavailableError ||
    error instanceof SourceAccessDeniedError ||
    error instanceof SourceTableMissingError ||
    error instanceof SourceQueryError
  ) {
    return error;
  }
  const scrub = scrubber(context.password);
  const info = errorInfo(error);
  const engineCode = info.errno !== undefined ? `${info.code ?? 'ER'} (${info.errno})` : (info.code ?? 'error');
  const detail = scrub(`${engineCode}: ${info.message}`);
  const cause = Object.assign(new Error(detail), { code: info.code, errno: info.errno, sqlState: info.sqlState });
  const source = `MySQL source ${context.label}`;
  if ((info.code && UNAVAILABLE_CODES.has(info.code)) || (info.errno !== undefined && UNAVAILABLE_ERRNOS.has(info.errno))) {
    return new SourceUnavailableError(
      `${source} is unavailable: ${detail}; check that the server is up and reachable from here (host, port, security groups); the run retries this`,
      { cause },
    );
  }
  if (info.code === 'ENOTFOUND') {
    return new SourceUnavailableError(`${source} is unavailable: ${detail}; check the host name in the source URL`, { cause });
  }
  if (info.errno !== undefined && ACCESS_DENIED_ERRNOS.has(info.errno)) {
    return new SourceAccessDeniedError(
      `${source} refused user '${scrub(context.user)}': ${detail}; check the user's password and that it may SELECT the dataset's tables`,
      { cause },
    );
  }
  if (info.errno !== undefined && MISSING_ERRNOS.has(info.errno)) {
    return new SourceTableMissingError(
      `${source}: ${detail}; the database, table or column was dropped or renamed: restore it or update the dataset's configuration`,
      { cause },
    );
  }
  if (info.fatal && info.errno === undefined) {
    return new SourceUnavailableError(`${source} is unavailable: the connection was lost (${detail}); the run retries this`, { cause });
  }
  return new SourceQueryError(`${source} rejected a query: ${detail}; check the dataset's configuration and the server's log`, { cause });
}
