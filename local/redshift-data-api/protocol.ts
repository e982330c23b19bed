/**
 * The wire protocol of the Redshift Data API (AWS JSON 1.1): `POST /` with
 * `X-Amz-Target: RedshiftData.<Operation>` and `Content-Type: application/x-amz-json-1.1`; a
 * JSON object in, a JSON object out; timestamps as epoch seconds. Errors are an HTTP 4xx/5xx with
 * `{"__type": "<ErrorName>", "message": "…"}` (and the `X-Amzn-ErrorType` header), which
 * @aws-sdk/client-redshift-data turns into the exception class of that name.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Operations the local endpoint answers. */
export const OPERATIONS = [
  'BatchExecuteStatement',
  'ExecuteStatement',
  'DescribeStatement',
  'GetStatementResult',
  'CancelStatement',
  'ListStatements',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Error names of the Data API's model plus the protocol-level ones, with their HTTP status. */
const ERROR_STATUS = {
  ValidationException: 400,
  AccessDeniedException: 400,
  ResourceNotFoundException: 400,
  ActiveStatementsExceededException: 400,
  ActiveSessionsExceededException: 400,
  ThrottlingException: 400,
  SerializationException: 400,
  UnknownOperationException: 400,
  InternalServerException: 500,
  DatabaseConnectionException: 500,
} as const;
export type DataApiErrorName = keyof typeof ERROR_STATUS;

/** An error answered to the caller in the Data API's error shape. */
export class DataApiError extends Error {
  override readonly name = 'DataApiError';
  constructor(
    readonly type: DataApiErrorName,
    message: string,
    /** Extra members of the error shape (e.g. ResourceNotFoundException's `ResourceId`). */
    readonly members: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  get httpStatus(): number {
    return ERROR_STATUS[this.type];
  }
}

/** True for an operation this endpoint answers. */
export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** The operation an HTTP request names, or DataApiError. */
export function operationOf(request: IncomingMessage): Operation {
  if (request.method !== 'POST' || (request.url ?? '/').split('?')[0] !== '/') {
    throw new DataApiError('UnknownOperationException', `the Redshift Data API answers POST / only, not ${request.method} ${request.url}`);
  }
  const target = String(request.headers['x-amz-target'] ?? '');
  const m = /^RedshiftData\.([A-Za-z]+)$/.exec(target);
  if (!m || !isOperation(m[1]!)) throw new DataApiError('UnknownOperationException', `unknown operation '${target}'`);
  return m[1] as Operation;
}

/** Largest request body accepted (40 statements of 100 KB, with room for JSON escaping). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Reads and parses a JSON object body; SerializationException when it is not one. */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new DataApiError('SerializationException', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DataApiError('SerializationException', 'the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DataApiError('SerializationException', 'the request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** JSON with Dates as epoch seconds (the protocol's default timestamp format) and undefined dropped. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return raw.getTime() / 1000;
    return v;
  });
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Answers 200 with `body` as AWS JSON 1.1. */
export function sendResult(response: ServerResponse, requestId: string, body: unknown): void {
  const text = toWireJson(body);
  response.writeHead(200, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  response.end(text);
}

/** Answers the error's HTTP status with the Data API's error shape. */
export function sendError(response: ServerResponse, requestId: string, error: DataApiError): void {
  // Both spellings: the model names the member `Message`; the SDK reads `message` first.
  const text = toWireJson({ __type: error.type, message: error.message, Message: error.message, ...error.members });
  response.writeHead(error.httpStatus, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': error.type,
  });
  response.end(text);
}
