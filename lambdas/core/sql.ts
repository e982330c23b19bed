/**
 * The Redshift SQL dialect syncproof speaks. Every statement the stages send is built here, so the
 * Postgres-family adapters have exactly one shape of each Redshift-only statement to translate.
 */

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

export interface CopyFromS3 {
  /** Already-quoted (possibly schema-qualified) table name. */
  readonly table: string;
  /** Target columns in the file's column order. */
  readonly columns: readonly string[];
  readonly bucket: string;
  readonly key: string;
  readonly iamRole: string;
}

/** `COPY t ("a","b") FROM 's3://bucket/key' IAM_ROLE '…' FORMAT AS PARQUET`. */
export function copyFromS3Parquet(copy: CopyFromS3): string {
  const cols = copy.columns.map(quoteIdent).join(', ');
  return (
    `COPY ${copy.table} (${cols}) FROM ${quoteLiteral(`s3://${copy.bucket}/${copy.key}`)} ` +
    `IAM_ROLE ${quoteLiteral(copy.iamRole)} FORMAT AS PARQUET`
  );
}

const COPY_PATTERN =
  /^COPY\s+(.+?)\s+\(([^)]*)\)\s+FROM\s+'s3:\/\/([^/']+)\/((?:[^']|'')+)'\s+IAM_ROLE\s+'(?:[^']|'')*'\s+FORMAT\s+AS\s+PARQUET$/i;

/** Parses a statement made by copyFromS3Parquet; undefined for any other statement. */
export function parseCopyFromS3Parquet(sql: string): CopyFromS3 | undefined {
  const m = COPY_PATTERN.exec(sql.trim());
  if (!m) return undefined;
  const [, table, cols, bucket, key] = m as unknown as [string, string, string, string, string];
  const columns = cols
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
  return { table, columns, bucket, key: key.replace(/''/g, "'"), iamRole: '' };
}
