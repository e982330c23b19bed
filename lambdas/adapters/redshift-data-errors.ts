/**
 * What the Redshift Data API throws or reports, classified for DESIGN.md §9: worth retrying
 * (TransientError) or not (TerminalError), with a hint of what to check; and which part of a
 * FAILED batch failed. Pure.
 */
import type { DescribeStatementResponse } from '@aws-sdk/client-redshift-data';

/** The parts of an SDK (or Node.js socket) error that classification reads. */
export interface SdkErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retryable: boolean;
  readonly httpStatusCode?: number;
}

/** Reads name, message, code, retryability and HTTP status off anything an SDK call threw. */
export function sdkErrorInfo(error: unknown): SdkErrorInfo {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error), retryable: false };
  const e = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const message = typeof e.message === 'string' ? e.message : '';
  // The SDK's retry middleware replaces a thrown value that is not an Error of its own realm (a
  // socket error crossing a vm context, e.g. Jest's sandbox) by `new Error("AWS SDK error wrapper
  // for <String(value)>")`: only "<name>: <message>" of the original survives.
  const wrapped = /^AWS SDK error wrapper for ([A-Za-z]\w*)(?:: ([\s\S]*))?$/.exec(message);
  if (wrapped && (e.name === undefined || e.name === 'Error')) {
    return { name: wrapped[1]!, message: wrapped[2] ?? '', retryable: false };
  }
  return {
    name: typeof e.name === 'string' && e.name ? e.name : 'Error',
    message,
    code: typeof e.code === 'string' ? e.code : undefined,
    retryable: e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false,
    httpStatusCode: typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined,
  };
}

/** Error names worth retrying: throttling, capacity, service faults, timeouts. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
  'InternalServerException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'DatabaseConnectionException',
  'ExecuteStatementException',
  'BatchExecuteStatementException',
  'QueryTimeoutException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node.js network error codes worth retrying. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * Redshift errors a retry can fix although the statement FAILED: serializable isolation
 * violations (error 1023: two transactions formed a cycle; one is aborted) and conflicts with a
 * concurrent transaction. AWS documents both as retryable; the whole transaction is rolled back.
 */
const TRANSIENT_STATEMENT_TEXT = /(?:^|\bERROR:\s*)1023\b|serializable isolation violation|conflict with (?:a )?concurrent transaction|concurrent transaction/i;

/** True when a FAILED statement's error text says that running it again may succeed. */
export function isTransientStatementError(text: string): boolean {
  return TRANSIENT_STATEMENT_TEXT.test(text);
}

/** True for SDK errors worth retrying: throttling, capacity, service faults, network, 1023 text. */
export function isTransientSdkError(info: SdkErrorInfo): boolean {
  if (TRANSIENT_NAMES.has(info.name) || info.retryable) return true;
  if (info.code !== undefined && TRANSIENT_CODES.has(info.code)) return true;
  if (isTransientStatementError(info.message)) return true;
  const status = info.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

/** The Data API's answer for an id it does not know (never issued, expired, or malformed). */
export function isUnknownStatementError(info: SdkErrorInfo): boolean {
  return info.name === 'ResourceNotFoundException' || info.name === 'ValidationException';
}

/** What to check after a terminal SDK error, by error name. */
export function terminalHint(name: string): string {
  switch (name) {
    case 'ValidationException':
      return 'check the database name, the workgroup name or cluster identifier, the secret or database user, and the SQL';
    case 'ResourceNotFoundException':
      return 'check that the workgroup or cluster exists in this account and region (statement results expire after 24 hours)';
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return (
        "check the caller's IAM permissions (redshift-data:*, redshift-serverless:GetCredentials or " +
        'redshift:GetClusterCredentials, secretsmanager:GetSecretValue on the secret) and its credentials'
      );
    default:
      return 'check the Redshift Data API settings: database, workgroup or cluster, credentials and permissions';
  }
}

/** Removes `secretArn`, any Secrets Manager ARN and credential literals from `text`. */
export function redactDataApiText(text: string, secretArn: string | undefined): string {
  let out = secretArn ? text.split(secretArn).join('<secret>') : text;
  out = out.replace(/arn:aws[a-z-]*:secretsmanager:[^\s'",;)]+/g, '<secret>');
  return out.replace(
    /\b(CREDENTIALS|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PASSWORD|MASTER_SYMMETRIC_KEY)(\s+(?:AS\s+)?)'(?:[^']|'')*'/gi,
    "$1$2'<redacted>'",
  );
}

/**
 * The failed part of a FAILED statement: for a batch, the first FAILED sub-statement, its
 * zero-based index (from its `<id>:<n>` suffix, else its position; undefined when outside
 * `count` statements), error text and RedshiftQueryId; otherwise the statement's own.
 */
export function failedSubStatement(
  described: DescribeStatementResponse,
  count: number | undefined,
): { index?: number; id?: string; error?: string; queryId?: number } {
  const subs = described.SubStatements ?? [];
  const failedAt = subs.findIndex((s) => s.Status === 'FAILED');
  const failed = failedAt >= 0 ? subs[failedAt] : undefined;
  if (!failed) return { id: described.Id, error: described.Error, queryId: described.RedshiftQueryId };
  const suffix = failed.Id ? /:(\d+)$/.exec(failed.Id) : null;
  const candidate = suffix ? Number(suffix[1]) - 1 : failedAt;
  const index = candidate >= 0 && (count === undefined || candidate < count) ? candidate : undefined;
  return { index, id: failed.Id, error: failed.Error ?? described.Error, queryId: failed.RedshiftQueryId };
}
