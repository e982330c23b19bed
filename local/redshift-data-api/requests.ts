/**
 * Request validation as the Data API does it, before anything runs: at most 40 statements per
 * BatchExecuteStatement, statements of at most 100 KB, a Database and exactly one of
 * WorkgroupName / ClusterIdentifier, parameter values of at least one character, ClientToken and
 * StatementName lengths. Features the local endpoint does not emulate (sessions, CSV results,
 * non-atomic batches, batch parameters) are refused rather than ignored.
 */
import type { SqlParameter } from '@aws-sdk/client-redshift-data';
import { DataApiError } from './protocol';
import type { StatementStatus, StatementTarget, Submission } from './statements';

/** Statements per BatchExecuteStatement (the API's Sqls maximum). */
export const MAX_BATCH_SQLS = 40;
/** Largest statement the Data API accepts, in bytes of UTF-8. */
export const MAX_STATEMENT_BYTES = 100 * 1024;
const MAX_CLIENT_TOKEN = 64;
const MAX_STATEMENT_NAME = 500;
const LIST_STATUSES = new Set(['SUBMITTED', 'PICKED', 'STARTED', 'FINISHED', 'ABORTED', 'FAILED', 'ALL']);

function invalid(message: string): DataApiError {
  return new DataApiError('ValidationException', message);
}

function optionalString(body: Record<string, unknown>, member: string): string | undefined {
  const v = body[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${member} must be a string`);
  return v;
}

function lengthBetween(value: string | undefined, member: string, min: number, max: number): void {
  if (value !== undefined && (value.length < min || value.length > max)) {
    throw invalid(
      `1 validation error detected: Value at '${member.charAt(0).toLowerCase()}${member.slice(1)}' failed to satisfy constraint: ` +
        `Member must have length between ${min} and ${max}, got ${value.length}`,
    );
  }
}

function refuseUnsupported(body: Record<string, unknown>, batch: boolean): void {
  if (body.SessionId !== undefined || body.SessionKeepAliveSeconds !== undefined) {
    throw invalid('sessions (SessionId, SessionKeepAliveSeconds) are not emulated by the local Redshift Data API; send statements without them');
  }
  if (body.ResultFormat !== undefined && body.ResultFormat !== 'JSON') {
    throw invalid(`ResultFormat ${String(body.ResultFormat)} is not emulated by the local Redshift Data API; use JSON`);
  }
  if (body.ExecutionMode !== undefined && body.ExecutionMode !== 'ATOMIC') {
    throw invalid(`ExecutionMode ${String(body.ExecutionMode)} is not emulated by the local Redshift Data API; batches run as one transaction`);
  }
  if (batch && body.Parameters !== undefined) {
    throw invalid('Parameters of BatchExecuteStatement are not emulated by the local Redshift Data API; bind them in ExecuteStatement');
  }
}

/** Database plus exactly one of WorkgroupName / ClusterIdentifier; says which is missing. */
function targetOf(body: Record<string, unknown>): StatementTarget {
  const database = optionalString(body, 'Database');
  const workgroupName = optionalString(body, 'WorkgroupName');
  const clusterIdentifier = optionalString(body, 'ClusterIdentifier');
  const dbUser = optionalString(body, 'DbUser');
  const secretArn = optionalString(body, 'SecretArn');
  if (workgroupName && clusterIdentifier) {
    throw invalid('ClusterIdentifier and WorkgroupName cannot both be specified: name the provisioned cluster or the serverless workgroup, not both');
  }
  if (!workgroupName && !clusterIdentifier) {
    throw invalid('either ClusterIdentifier (provisioned cluster) or WorkgroupName (serverless workgroup) is required; the request has neither');
  }
  if (!database) throw invalid('Database is required: name the database to connect to');
  return { database, ...(workgroupName ? { workgroupName } : {}), ...(clusterIdentifier ? { clusterIdentifier } : {}), ...(dbUser ? { dbUser } : {}), ...(secretArn ? { secretArn } : {}) };
}

function checkStatementSize(sql: string, member: string): void {
  if (sql.length === 0) throw invalid(`${member} is empty; send a SQL statement`);
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > MAX_STATEMENT_BYTES) {
    throw invalid(`${member} is ${bytes} bytes: the query statement size exceeds the limit of 100 KB (${MAX_STATEMENT_BYTES} bytes); split it`);
  }
}

function parametersOf(body: Record<string, unknown>): SqlParameter[] | undefined {
  const raw = body.Parameters;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('Parameters must be a non-empty list of {name, value}');
  return raw.map((p: unknown, i) => {
    const { name, value } = (p ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || !/^[0-9a-zA-Z_]+$/.test(name)) {
      throw invalid(`Parameters[${i}].name must match [0-9a-zA-Z_]+`);
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw invalid(
        `1 validation error detected: Value at 'parameters.${i + 1}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1`,
      );
    }
    return { name, value };
  });
}

/** A BatchExecuteStatement or ExecuteStatement request, validated. */
export function submissionOf(batch: boolean, body: Record<string, unknown>): Submission {
  refuseUnsupported(body, batch);
  let sqls: string[];
  if (batch) {
    const raw = body.Sqls;
    if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string')) throw invalid('Sqls must be a list of SQL statements');
    if (raw.length < 1 || raw.length > MAX_BATCH_SQLS) {
      throw invalid(
        `1 validation error detected: Value at 'sqls' failed to satisfy constraint: Member must have length between 1 and ${MAX_BATCH_SQLS}, got ${raw.length}`,
      );
    }
    sqls = raw as string[];
    sqls.forEach((sql, i) => checkStatementSize(sql, `Sqls[${i}]`));
  } else {
    const sql = body.Sql;
    if (typeof sql !== 'string') throw invalid('Sql is required: send one SQL statement');
    checkStatementSize(sql, 'Sql');
    sqls = [sql];
  }
  const target = targetOf(body);
  const clientToken = optionalString(body, 'ClientToken');
  const name = optionalString(body, 'StatementName');
  lengthBetween(clientToken, 'ClientToken', 1, MAX_CLIENT_TOKEN);
  lengthBetween(name, 'StatementName', 1, MAX_STATEMENT_NAME);
  const parameters = batch ? undefined : parametersOf(body);
  return {
    batch,
    sqls,
    target,
    ...(name !== undefined ? { name } : {}),
    ...(clientToken !== undefined ? { clientToken } : {}),
    ...(parameters !== undefined ? { parameters } : {}),
  };
}

/** The `Id` member of DescribeStatement, GetStatementResult and CancelStatement. */
export function idOf(body: Record<string, unknown>): string {
  const id = body.Id;
  if (typeof id !== 'string' || id.length === 0) throw invalid('Id is required: the statement id a submit call returned');
  return id;
}

/** A ListStatements request. Status defaults to FINISHED, as in the Data API ("only finished statements are shown"). */
export interface ListRequest {
  readonly name?: string;
  readonly status: StatementStatus | 'ALL';
  readonly maxResults: number;
  readonly nextToken?: string;
  readonly database?: string;
  readonly workgroupName?: string;
  readonly clusterIdentifier?: string;
}

/** A ListStatements request, validated. */
export function listRequestOf(body: Record<string, unknown>): ListRequest {
  const status = optionalString(body, 'Status') ?? 'FINISHED';
  if (!LIST_STATUSES.has(status)) throw invalid(`Status must be one of ${[...LIST_STATUSES].join(', ')}, got ${status}`);
  const max = body.MaxResults;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 100)) {
    throw invalid('MaxResults must be an integer between 0 and 100');
  }
  const workgroupName = optionalString(body, 'WorkgroupName');
  const clusterIdentifier = optionalString(body, 'ClusterIdentifier');
  if (workgroupName && clusterIdentifier) throw invalid('ClusterIdentifier and WorkgroupName cannot both be specified');
  const name = optionalString(body, 'StatementName');
  const nextToken = optionalString(body, 'NextToken');
  const database = optionalString(body, 'Database');
  return {
    status: status as StatementStatus | 'ALL',
    maxResults: typeof max === 'number' && max > 0 ? max : 100,
    ...(name !== undefined ? { name } : {}),
    ...(nextToken ? { nextToken } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(workgroupName ? { workgroupName } : {}),
    ...(clusterIdentifier ? { clusterIdentifier } : {}),
  };
}
