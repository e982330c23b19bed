/**
 * The Redshift SQL dialect syncproof speaks. Every statement the stages send is built here, so the
 * Postgres-family adapters have exactly one shape of each Redshift-only statement to translate.
 */
import { TerminalError } from './errors';

/** Quotes an identifier (`"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal (`'it''s'`). Backslashes are literal in both Redshift and Postgres. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** The Redshift Data API's statement limit: 100 KB of UTF-8 (DESIGN.md §4). */
export const MAX_STATEMENT_BYTES = 100 * 1024;

/** Bytes `sql` takes as the Data API counts them (UTF-8). */
export function statementBytes(sql: string): number {
  return Buffer.byteLength(sql, 'utf8');
}

/**
 * The statements that ask about every one of `literals` (already-quoted SQL values) through
 * `statement(list)`, where `list` is a comma-separated slice of them for an `IN (…)` list (embedded
 * once, as is): as few statements as fit, each at most `maxBytes` (the Data API's limit by default). Lists are sized by
 * the bytes of the statement they produce, not by a count, so long keys (an S3 key may be 1,024
 * bytes) cannot push a statement over the limit. None for no literals.
 *
 * @throws TerminalError when one literal alone does not fit (the statement names none of them).
 */
export function inListStatements(literals: readonly string[], statement: (list: string) => string, maxBytes = MAX_STATEMENT_BYTES): string[] {
  const fixed = statementBytes(statement(''));
  const out: string[] = [];
  let list: string[] = [];
  let bytes = fixed;
  for (const literal of literals) {
    const size = statementBytes(literal);
    if (fixed + size > maxBytes) {
      throw new TerminalError(`one value of an IN list takes ${size} bytes: its statement would pass the ${maxBytes}-byte statement limit`);
    }
    if (list.length > 0 && bytes + 2 + size > maxBytes) {
      out.push(statement(list.join(', ')));
      list = [];
      bytes = fixed;
    }
    bytes += (list.length > 0 ? 2 : 0) + size; // ', ' between values
    list.push(literal);
  }
  if (list.length > 0) out.push(statement(list.join(', ')));
  return out;
}

export interface CopyFromS3 {
  /** Already-quoted (possibly schema-qualified) table name, its columns in the file's column order. */
  readonly table: string;
  readonly bucket: string;
  readonly key: string;
  readonly iamRole: string;
}

/**
 * `COPY t FROM 's3://bucket/key' IAM_ROLE '…' FORMAT AS PARQUET`. No column list: Redshift
 * documents Parquet COPY as mapping columns by position, with equal column counts, and documents
 * no column list for it (DESIGN.md §4). The table's column order must be the file's, which the
 * load proves (lambdas/core/column-check.ts) and builds the staging table from (load-plan.ts).
 */
export function copyFromS3Parquet(copy: CopyFromS3): string {
  return (
    `COPY ${copy.table} FROM ${quoteLiteral(`s3://${copy.bucket}/${copy.key}`)} ` +
    `IAM_ROLE ${quoteLiteral(copy.iamRole)} FORMAT AS PARQUET`
  );
}

export interface CopyFromS3Manifest {
  /** Already-quoted (possibly schema-qualified) table name; Parquet COPY maps columns by position. */
  readonly table: string;
  readonly bucket: string;
  /** Key of the COPY manifest (see {@link CopyManifest}). */
  readonly manifestKey: string;
  readonly iamRole: string;
}

/**
 * `COPY t FROM 's3://bucket/manifest.json' IAM_ROLE '…' MANIFEST FORMAT AS PARQUET`: one COPY for
 * every file of a batch. No column list: Parquet COPY maps by position (DESIGN.md §4), so the
 * table's column order must be the files' order, which the load checks before it plans.
 */
export function copyFromS3ParquetManifest(copy: CopyFromS3Manifest): string {
  return (
    `COPY ${copy.table} FROM ${quoteLiteral(`s3://${copy.bucket}/${copy.manifestKey}`)} ` +
    `IAM_ROLE ${quoteLiteral(copy.iamRole)} MANIFEST FORMAT AS PARQUET`
  );
}

/** A Redshift COPY manifest (`mandatory` and `meta.content_length` are required for Parquet here). */
export interface CopyManifest {
  readonly entries: readonly {
    readonly url: string;
    readonly mandatory: boolean;
    readonly meta: { readonly content_length: number };
  }[];
}

/**
 * Any COPY from S3 the dialect emits, parsed: a single object or a manifest. A column list is
 * parsed too (the dialect sends none), so that a warehouse adapter can refuse it by name.
 */
export interface ParsedCopyFromS3 {
  readonly table: string;
  /** A column list, if the statement has one (the dialect never sends one: Parquet COPY is positional). */
  readonly columns?: readonly string[];
  readonly bucket: string;
  /** The object, or the manifest when `manifest` is true. */
  readonly key: string;
  readonly iamRole: string;
  readonly manifest: boolean;
}

const ANY_COPY_PATTERN =
  /^COPY\s+(.+?)(?:\s+\(([^)]*)\))?\s+FROM\s+'s3:\/\/([^/']+)\/((?:[^']|'')+)'\s+IAM_ROLE\s+'((?:[^']|'')*)'\s+(MANIFEST\s+)?FORMAT\s+AS\s+PARQUET$/i;

/** Parses a statement made by copyFromS3Parquet or copyFromS3ParquetManifest; undefined otherwise. */
export function parseCopyFromS3(sql: string): ParsedCopyFromS3 | undefined {
  const m = ANY_COPY_PATTERN.exec(sql.trim());
  if (!m) return undefined;
  const [, table, cols, bucket, key, role, manifest] = m as unknown as [string, string, string | undefined, string, string, string, string | undefined];
  const columns = cols
    ?.split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
  return {
    table,
    ...(columns ? { columns } : {}),
    bucket,
    key: key.replace(/''/g, "'"),
    iamRole: role.replace(/''/g, "'"),
    manifest: manifest !== undefined,
  };
}

/**
 * Redshift system views the load reads (DESIGN.md §4). Serverless: `sys_load_detail` (one row
 * per file, `file_name` = `s3://bucket/key`, `lines_scanned`, `file_etag`) and
 * `sys_load_error_detail`; provisioned: `stl_load_commits` (`query`, `filename`, `lines_scanned`,
 * one row per split) and `stl_load_errors`. `pg_last_copy_id()` is the session's last COPY.
 */
export const LOAD_VIEWS = {
  serverless: { detail: 'sys_load_detail', errors: 'sys_load_error_detail' },
  provisioned: { detail: 'stl_load_commits', errors: 'stl_load_errors' },
} as const;
