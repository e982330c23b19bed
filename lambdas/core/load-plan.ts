import type { DatasetConfig } from './config';
import { copyFromS3Parquet, qualifiedName, quoteIdent, quoteLiteral } from './sql';

/** Audit table of loads: the source of truth for "was this batch loaded" (DESIGN.md §5). */
export const AUDIT_LOADS_TABLE = 'syncproof_loads';
/** Per-file audit rows, written in the same transaction as the merge. */
export const AUDIT_FILES_TABLE = 'syncproof_load_files';

/** Schema holding the audit tables. */
export const AUDIT_SCHEMA = 'public';

export interface PlannedFile {
  readonly key: string;
  readonly etag: string;
  /** File column names in file order (already checked against the target). */
  readonly columns: readonly string[];
  /** Rows the file's own metadata (Parquet footer) declares, recorded beside the warehouse's count. */
  readonly fileRows: number;
}

export interface LoadPlanInput {
  readonly dataset: DatasetConfig;
  readonly runId: string;
  readonly loadId: string;
  readonly bucket: string;
  readonly iamRole: string;
  readonly files: readonly PlannedFile[];
}

export interface LoadPlan {
  readonly statements: readonly string[];
  /** Statement index → the file whose COPY it is, to quarantine the right file on failure. */
  readonly copyStatementFile: ReadonlyMap<number, PlannedFile>;
}

/** DDL for the audit tables; `IF NOT EXISTS` so it is safe to run before every load. */
export function auditTableDdl(): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} (` +
      'load_id VARCHAR(64) NOT NULL, dataset VARCHAR(64) NOT NULL, run_id VARCHAR(128) NOT NULL, ' +
      'files INTEGER NOT NULL, "rows" BIGINT NOT NULL, checksums VARCHAR(65535), loaded_at TIMESTAMP NOT NULL, ' +
      'PRIMARY KEY (load_id))',
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} (` +
      'load_id VARCHAR(64) NOT NULL, dataset VARCHAR(64) NOT NULL, object_key VARCHAR(1024) NOT NULL, ' +
      'etag VARCHAR(128) NOT NULL, "rows" BIGINT NOT NULL, file_rows BIGINT NOT NULL, PRIMARY KEY (load_id, object_key, etag))',
  ];
}

/** DDL for the target table when the dataset declares its columns. */
export function targetTableDdl(dataset: DatasetConfig): string[] {
  if (!dataset.columns) return [];
  const cols = dataset.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
  const key = dataset.keyColumns.length ? `, PRIMARY KEY (${dataset.keyColumns.map(quoteIdent).join(', ')})` : '';
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dataset.target.schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(dataset.target.schema, dataset.target.table)} (${cols}${key})`,
  ];
}

/**
 * The statements of one load transaction. Per file, in order: COPY into the staging table, record
 * the warehouse's own row count of that file, replace rows with the same key (upsert) or not
 * (append), insert, empty the staging table. Then one audit row for the load. Later files win
 * over earlier ones for the same key, so files must be given oldest first.
 *
 * Redshift's BatchExecuteStatement takes no parameters, so values are inlined as quoted literals.
 */
export function planLoad(input: LoadPlanInput): LoadPlan {
  const { dataset, loadId } = input;
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  const stage = quoteIdent(`syncproof_stage_${loadId}`);
  const files = qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE);
  const loads = qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE);
  const statements: string[] = [`CREATE TEMP TABLE ${stage} (LIKE ${target})`];
  const copyStatementFile = new Map<number, PlannedFile>();
  for (const file of input.files) {
    copyStatementFile.set(statements.length, file);
    statements.push(
      copyFromS3Parquet({ table: stage, columns: file.columns, bucket: input.bucket, key: file.key, iamRole: input.iamRole }),
    );
    statements.push(
      `INSERT INTO ${files} (load_id, dataset, object_key, etag, "rows", file_rows) SELECT ${quoteLiteral(loadId)}, ` +
        `${quoteLiteral(dataset.name)}, ${quoteLiteral(file.key)}, ${quoteLiteral(file.etag)}, COUNT(*), ${file.fileRows} FROM ${stage}`,
    );
    if (dataset.loadMode === 'upsert') {
      const on = dataset.keyColumns.map((k) => `${target}.${quoteIdent(k)} = ${stage}.${quoteIdent(k)}`).join(' AND ');
      statements.push(`DELETE FROM ${target} USING ${stage} WHERE ${on}`);
    }
    const cols = file.columns.map(quoteIdent).join(', ');
    statements.push(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${stage}`);
    statements.push(`DELETE FROM ${stage}`);
  }
  statements.push(
    `INSERT INTO ${loads} (load_id, dataset, run_id, files, "rows", loaded_at) SELECT ${quoteLiteral(loadId)}, ` +
      `${quoteLiteral(dataset.name)}, ${quoteLiteral(input.runId)}, COUNT(*), COALESCE(SUM("rows"), 0), GETDATE() ` +
      `FROM ${files} WHERE load_id = ${quoteLiteral(loadId)}`,
  );
  statements.push(`DROP TABLE ${stage}`);
  return { statements, copyStatementFile };
}

/** Statements planLoad emits per file, and once per load. */
function statementsPerFile(dataset: DatasetConfig): number {
  return dataset.loadMode === 'upsert' ? 5 : 4;
}
const STATEMENTS_PER_LOAD = 3;

/**
 * The most files one load transaction can hold under a warehouse's statement limit (the Redshift
 * Data API takes at most 40 statements per BatchExecuteStatement); `Infinity` without a limit.
 */
export function maxFilesPerTransaction(dataset: DatasetConfig, maxStatements: number | undefined): number {
  if (maxStatements === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor((maxStatements - STATEMENTS_PER_LOAD) / statementsPerFile(dataset)));
}

/** Checks a file's columns against the target's; returns a reason naming the column, or undefined. */
export function columnMismatch(
  fileColumns: readonly string[],
  targetColumns: readonly string[],
  target: string,
): string | undefined {
  const targetSet = new Set(targetColumns);
  const fileSet = new Set(fileColumns);
  const extra = fileColumns.filter((c) => !targetSet.has(c));
  const missing = targetColumns.filter((c) => !fileSet.has(c));
  if (extra.length === 0 && missing.length === 0) return undefined;
  const parts: string[] = [];
  if (extra.length) parts.push(`column${extra.length > 1 ? 's' : ''} ${extra.map((c) => `'${c}'`).join(', ')} not in target table ${target}`);
  if (missing.length) parts.push(`target column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} missing from the file`);
  return `${parts.join('; ')}; rewrite the file with the target's columns or change the table, then upload it again`;
}
