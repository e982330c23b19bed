/**
 * Result sets as the Data API returns them: rows of Field unions (`longValue`, `doubleValue`,
 * `stringValue`, `booleanValue`, `isNull`) with ColumnMetadata, paged by GetStatementResult.
 *
 * The backing Warehouse returns SqlValues, not column types, so types are inferred from the
 * values, losslessly: each value keeps its own Field kind (safe integers → longValue, other
 * numbers → doubleValue, booleans → booleanValue, text → stringValue), and a column's typeName is
 * int8 / float8 / bool when all its values agree, `timestamp` when every value is an ISO-8601 UTC
 * timestamp as the Postgres-family adapters write them, else varchar. Timestamp columns are sent
 * as Redshift writes them (`YYYY-MM-DD HH:MM:SS[.ffffff]`), so the production adapter's
 * conversion back to ISO is exercised, and only where it restores the exact value.
 */
import type { ColumnMetadata, Field } from '@aws-sdk/client-redshift-data';
import { isoFromRedshiftTimestamp } from '../../lambdas/adapters/redshift-data-values';
import type { Row, SqlValue } from '../../lambdas/core/ports';

/** A finished statement's rows, encoded once. */
export interface StoredResult {
  readonly columns: readonly ColumnMetadata[];
  readonly records: readonly (readonly Field[])[];
  /** Bytes of the records as JSON (DescribeStatement's ResultSize). */
  readonly size: number;
}

const ISO_TIMESTAMP = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)\.(\d{3}|\d{6})Z$/;

/** ISO text → Redshift's timestamp text, or undefined unless the production adapter maps it back exactly. */
function redshiftTimestamp(iso: string): string | undefined {
  const m = ISO_TIMESTAMP.exec(iso);
  if (!m) return undefined;
  const fraction = m[3]!.replace(/0+$/, '');
  const text = `${m[1]} ${m[2]}${fraction ? `.${fraction}` : ''}`;
  return isoFromRedshiftTimestamp(text) === iso ? text : undefined;
}

type ColumnKind = 'int8' | 'float8' | 'bool' | 'timestamp' | 'varchar';

function kindOf(values: readonly SqlValue[]): ColumnKind {
  const present = values.filter((v) => v !== null);
  if (present.length === 0) return 'varchar';
  if (present.every((v) => typeof v === 'boolean')) return 'bool';
  if (present.every((v) => typeof v === 'number')) return present.every((v) => Number.isSafeInteger(v)) ? 'int8' : 'float8';
  if (present.every((v) => typeof v === 'string' && redshiftTimestamp(v) !== undefined)) return 'timestamp';
  return 'varchar';
}

function field(value: SqlValue, kind: ColumnKind): Field {
  if (value === null) return { isNull: true };
  switch (typeof value) {
    case 'boolean':
      return { booleanValue: value };
    case 'number':
      if (Number.isSafeInteger(value)) return { longValue: value };
      // JSON has no NaN or infinities; Smithy's JSON protocols spell them as strings.
      return { doubleValue: Number.isFinite(value) ? value : (String(value) as unknown as number) };
    default:
      return { stringValue: kind === 'timestamp' ? (redshiftTimestamp(value) ?? value) : value };
  }
}

/**
 * Encodes rows (column name → value, as Warehouse.query returns them). Columns are the first
 * row's keys; a statement that returned no rows has no column metadata.
 */
export function encodeResult(rows: readonly Row[]): StoredResult {
  const names = rows.length > 0 ? Object.keys(rows[0]!) : [];
  const kinds = names.map((name) => kindOf(rows.map((row) => row[name] ?? null)));
  const columns: ColumnMetadata[] = names.map((name, i) => ({
    name,
    label: name,
    typeName: kinds[i],
    nullable: 1,
    schemaName: '',
    tableName: '',
  }));
  const records = rows.map((row) => names.map((name, i) => field(row[name] ?? null, kinds[i]!)));
  return { columns, records, size: Buffer.byteLength(JSON.stringify(records)) };
}

/** One GetStatementResult page. */
export interface ResultPage {
  readonly Records: readonly (readonly Field[])[];
  readonly ColumnMetadata: readonly ColumnMetadata[];
  readonly TotalNumRows: number;
  readonly NextToken?: string;
}

/** NextToken for the page starting at `offset` of statement `id`. */
function pageToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ id, offset }), 'utf8').toString('base64url');
}

/** The offset a NextToken points at, or undefined when it is not a token of statement `id`. */
export function offsetOfToken(id: string, token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id?: unknown; offset?: unknown };
    return parsed.id === id && typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0 ? parsed.offset : undefined;
  } catch {
    return undefined;
  }
}

/** Rows [offset, offset + pageSize) of `result`, with a NextToken when more follow. */
export function resultPage(id: string, result: StoredResult, offset: number, pageSize: number): ResultPage {
  const end = Math.min(result.records.length, offset + pageSize);
  return {
    Records: result.records.slice(offset, end),
    ColumnMetadata: result.columns,
    TotalNumRows: result.records.length,
    ...(end < result.records.length ? { NextToken: pageToken(id, end) } : {}),
  };
}
