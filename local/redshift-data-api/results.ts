/**
 * Result sets as the Data API returns them: rows of Field unions (`longValue`, `doubleValue`,
 * `stringValue`, `booleanValue`, `isNull`) with ColumnMetadata, paged by GetStatementResult.
 *
 * From a backing warehouse that answers typed result sets (the Postgres-family ones:
 * {@link encodeResultSet}), each column's kind comes from its type as Redshift's Data API sends
 * it: every column in order, duplicate names kept (`SELECT 1 AS a, 2 AS a` has two); int2/int4/int8
 * as `longValue`, float4/float8 as `doubleValue`, bool as `booleanValue`, numeric/decimal as
 * `stringValue` holding its exact text (scale kept: `sum(numeric)` is not a double), timestamps as
 * Redshift writes them, the rest as `stringValue`.
 *
 * Otherwise ({@link encodeResult}) the backing Warehouse returns SqlValues, not column types, so types are inferred from the
 * values, losslessly: each value keeps its own Field kind (safe integers → longValue, other
 * numbers → doubleValue, booleans → booleanValue, text → stringValue), and a column's typeName is
 * int8 / float8 / bool when all its values agree, `timestamp` when every value is an ISO-8601 UTC
 * timestamp as the Postgres-family adapters write them, else varchar. Timestamp columns are sent
 * as Redshift writes them (`YYYY-MM-DD HH:MM:SS[.ffffff]`), so the production adapter's
 * conversion back to ISO is exercised, and only where it restores the exact value.
 */
import type { ColumnMetadata, Field } from '@aws-sdk/client-redshift-data';
import { isoFromRedshiftTimestamp } from '../../lambdas/adapters/redshift-data-values';
import type { ResultSet } from '../../lambdas/adapters/postgres-warehouse';
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

/** Redshift's type name (ColumnMetadata.typeName) and Field kind of a PostgreSQL type OID. */
const TYPES: Record<number, { name: string; kind: ColumnKind | 'numeric' }> = {
  16: { name: 'bool', kind: 'bool' },
  20: { name: 'int8', kind: 'int8' },
  21: { name: 'int2', kind: 'int8' },
  23: { name: 'int4', kind: 'int8' },
  700: { name: 'float4', kind: 'float8' },
  701: { name: 'float8', kind: 'float8' },
  1700: { name: 'numeric', kind: 'numeric' },
  1042: { name: 'bpchar', kind: 'varchar' },
  1043: { name: 'varchar', kind: 'varchar' },
  1082: { name: 'date', kind: 'varchar' },
  1083: { name: 'time', kind: 'varchar' },
  1114: { name: 'timestamp', kind: 'timestamp' },
  1184: { name: 'timestamptz', kind: 'timestamp' },
  1266: { name: 'timetz', kind: 'varchar' },
  17: { name: 'varbyte', kind: 'varchar' },
};

/** A value of a typed column as its Field: the column's kind decides, the value's JS type only where the kind cannot hold it. */
function typedField(value: SqlValue, kind: ColumnKind | 'numeric'): Field {
  if (value === null) return { isNull: true };
  if (kind === 'numeric') return { stringValue: String(value) };
  if (kind === 'int8' && typeof value === 'string') return { stringValue: value }; // beyond a safe integer: its exact text
  return field(value, kind);
}

/** Encodes a typed result set (see the module comment): columns and kinds from the column types. */
export function encodeResultSet(rs: ResultSet): StoredResult {
  const types = rs.columns.map((c) => TYPES[c.typeOid] ?? { name: 'varchar', kind: 'varchar' as const });
  const columns: ColumnMetadata[] = rs.columns.map((c, i) => ({
    name: c.name,
    label: c.name,
    typeName: types[i]!.name,
    nullable: 1,
    schemaName: '',
    tableName: '',
  }));
  const records = rs.rows.map((row) => row.map((value, i) => typedField(value, types[i]!.kind)));
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
