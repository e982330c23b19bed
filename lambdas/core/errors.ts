/**
 * Error taxonomy shared by every stage (DESIGN.md §9).
 *
 * Each concrete error sets a literal `name`: state-machine Retry/Catch match on it, and bundling
 * renames classes, so the constructor name cannot be relied on. Messages say what to do and never
 * carry secrets or row values.
 */

/** A failure worth retrying: throttling, timeouts, connection resets. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A failure that retrying will not fix: bad input, schema mismatch, checksum mismatch. */
export class TerminalError extends Error {
  override readonly name: string = 'TerminalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The input of a stage or of the state machine does not match its schema. */
export class InvalidInputError extends TerminalError {
  override readonly name = 'InvalidInputError';
}

/** The dataset configuration is invalid or names an unknown dataset. */
export class ConfigurationError extends TerminalError {
  override readonly name = 'ConfigurationError';
}

/** A single file cannot be loaded (corrupt, truncated, wrong columns); it is quarantined. */
export class BadFileError extends TerminalError {
  override readonly name = 'BadFileError';
  constructor(
    readonly key: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`s3 object '${key}': ${reason}`, options);
  }
}

/**
 * The object at a key is no longer the version (ETag) the ledger recorded: it was overwritten
 * after discovery. The old version is left; the new one has its own ledger entry.
 */
export class ObjectChangedError extends TerminalError {
  override readonly name = 'ObjectChangedError';
  constructor(
    readonly key: string,
    readonly expectedEtag: string,
  ) {
    super(`s3 object '${key}' is no longer version ${expectedEtag}: it was overwritten after discovery; its new version is loaded on its own`);
  }
}

/**
 * The warehouse rejected a statement; `statementIndex` points into the submitted batch. `queryId`
 * is the failed statement's warehouse query id (Redshift `RedshiftQueryId`), by which the load
 * error views (`sys_load_error_detail`, `stl_load_errors`) name the file, line and column.
 */
export class WarehouseStatementError extends TerminalError {
  override readonly name = 'WarehouseStatementError';
  constructor(
    message: string,
    readonly statementIndex: number | undefined,
    options?: { cause?: unknown; queryId?: number },
  ) {
    super(message, options);
    this.queryId = options?.queryId;
  }
  readonly queryId: number | undefined;
}

/**
 * The source database cannot be reached (connection refused, reset or timed out, too many
 * connections, server shutting down): retried with backoff by the state machine, then the run
 * fails with this message. Never carries the password (sources redact their URL).
 */
export class SourceUnavailableError extends TransientError {
  override readonly name = 'SourceUnavailableError';
}

/** The source refused the credentials or a privilege: terminal, not retried; the message names the user, never the password. */
export class SourceAccessDeniedError extends TerminalError {
  override readonly name = 'SourceAccessDeniedError';
}

/** A source table, or a column the dataset names, does not exist (it was dropped or renamed). */
export class SourceTableMissingError extends TerminalError {
  override readonly name = 'SourceTableMissingError';
}

/** The source rejected a query for another reason; the message carries the engine's code and text. */
export class SourceQueryError extends TerminalError {
  override readonly name = 'SourceQueryError';
}

/** Names that every state-machine task retries (see lib/constructs/failure-path.ts). */
export const TRANSIENT_ERROR_NAMES = ['TransientError'] as const;

/**
 * Names that only the tasks reading a source database retry (Extract, ExtractNext): Step Functions
 * matches the literal `name`, not the class hierarchy, so a {@link SourceUnavailableError} is not
 * caught by a `TransientError` retrier.
 */
export const SOURCE_TRANSIENT_ERROR_NAMES = ['SourceUnavailableError'] as const;

/** Formats any thrown value as a one-line message, without stack traces. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
