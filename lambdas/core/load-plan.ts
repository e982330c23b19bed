import type { DatasetConfig } from './config';
import { MAX_VARCHAR_BYTES, SUPER } from './source-types';
import { digest } from './ids';
import { LOAD_VIEWS, copyFromS3Parquet, copyFromS3ParquetManifest, qualifiedName, quoteIdent, quoteLiteral, type CopyManifest } from './sql';

/** Audit table of load attempts: committed or refused, by the transaction itself (DESIGN.md §5). */
export const AUDIT_LOADS_TABLE = 'syncproof_loads';
/** Per-file audit rows, written in the same transaction as the merge, only when it merged. */
export const AUDIT_FILES_TABLE = 'syncproof_load_files';

/** Schema holding the audit tables. */
export const AUDIT_SCHEMA = 'public';

/**
 * Per upsert key of a dataset without a version column: the S3 order of the file whose row the
 * target holds, so a file older in S3 order never overwrites a newer one, whatever order they
 * commit in (I4). Written in the same transaction as the merge.
 */
export const KEY_ORDER_TABLE = 'syncproof_key_order';

/**
 * The dataset's lock table: every load transaction of the dataset `LOCK`s it as its first
 * statement, so loads of one dataset run their guard one after the other, and nothing else waits.
 *
 * Why this table and this place (DESIGN.md §4):
 * - Redshift's `LOCK` is exclusive: readers of the locked table wait too. Locking the shared
 *   `syncproof_load_files` for the length of a COPY made every other dataset's load and every read
 *   of the audit (Verify, the load stage's own `committed()`) queue behind it. Nobody reads this
 *   table, and only loads of its dataset lock it.
 * - The guard only races loads of the same object version, and an object key belongs to exactly one
 *   dataset (prefixes may not overlap, lambdas/core/config.ts): per-dataset serialization is all
 *   I1 needs. The guard still reads the shared audit table, so a version audited by any load is
 *   refused.
 * - First, not after the COPY: Redshift takes a transaction's snapshot at its first SELECT, DML or
 *   CREATE TABLE, and `LOCK` is none of them. Locked first, the snapshot is taken after the wait,
 *   so the guard sees every load of the dataset that committed before it. Locked after the COPY,
 *   the guard would read a snapshot from before the wait: under serializable isolation the
 *   transaction fails (1023) and the COPY is wasted; under snapshot isolation it merges a version
 *   already loaded. Loads of one dataset write the same target, so they would wait for each other's
 *   write lock anyway.
 *
 * Dataset names are `[a-z][a-z0-9-]{0,39}`; `-` becomes `_` (no name holds `_`, so names stay
 * distinct), at most 55 bytes.
 */
export function lockTableName(dataset: string): string {
  return `syncproof_lock_${dataset.replace(/-/g, '_')}`;
}

/** DDL of the dataset's lock table ({@link lockTableName}); an empty table, only ever LOCKed. */
export function lockTableDdl(dataset: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, lockTableName(dataset))} (dataset VARCHAR(64))`;
}

/** Where the manifest of a load attempt's COPY is written (under syncproof's own prefix). */
export function copyManifestKey(internalPrefix: string, dataset: string, loadId: string): string {
  return `${internalPrefix}copy-manifests/${dataset}/${loadId}.json`;
}

/**
 * Where a load attempt pins one object version before its COPY (I5): a key under syncproof's own
 * prefix that only this attempt writes, once, by a server-side copy conditional on the discovered
 * ETag — so the COPY, which reads whatever a key holds when it runs, reads exactly the discovered
 * bytes, whatever happens to the original key meanwhile. Derived from (attempt, key, ETag) alone,
 * so any stage finds it again from the audit rows. At most 180 bytes (dataset names ≤ 64), so
 * `s3://<bucket>/<pinned key>` always fits the load views' `character(256)` file name: the views
 * match a file by its pinned key, whatever the length of its own key.
 */
export function pinnedCopyKey(internalPrefix: string, dataset: string, attemptId: string, key: string, etag: string): string {
  return `${internalPrefix}pinned/${dataset}/${attemptId}/${digest(key, etag).slice(0, 32)}.parquet`;
}

export interface PlannedFile {
  readonly key: string;
  readonly etag: string;
  /**
   * The immutable copy of this version the COPY reads (see {@link pinnedCopyKey}); absent: the
   * COPY reads `key` itself, as it is when the COPY runs.
   */
  readonly copyKey?: string;
  /** Bytes of the object version discovered (the manifest's `content_length`). */
  readonly size: number;
  /** Rows the file's own metadata (Parquet footer) declares. */
  readonly fileRows: number;
  /** Its S3 order (lambdas/core/s3-order.ts s3OrderKey); needed for an upsert without a version column. */
  readonly s3Order?: string;
}

/** Which system view reports per-file COPY rows: Redshift Serverless or a provisioned cluster. */
export type LoadViewKind = keyof typeof LOAD_VIEWS;

export interface LoadPlanInput {
  readonly dataset: DatasetConfig;
  readonly runId: string;
  /** The attempt's load id: one transaction, one audit row. */
  readonly loadId: string;
  readonly bucket: string;
  readonly iamRole: string;
  /** Files in S3 order, oldest first (upsert without a version column: later files win). */
  readonly files: readonly PlannedFile[];
  /** Key of the COPY manifest written for this attempt (one COPY for the batch). */
  readonly manifestKey: string;
  /**
   * The files' column names in file order, which the column check proved equal to the target's
   * (lambdas/core/column-check.ts): the staging table is built in this order, and Parquet COPY
   * fills it by position.
   */
  readonly targetColumns: readonly string[];
  /**
   * Replace the target's rows with the batch's (a full run's snapshot), in the same transaction:
   * `DELETE` — Redshift's TRUNCATE commits the transaction it runs in, so it cannot be used.
   */
  readonly replace?: boolean;
  /**
   * Columns no staged row may hold a NULL in: an upsert's (or replace's) key columns, and the
   * target's NOT NULL columns ({@link requiredColumns}). A NULL in one refuses the merge with the
   * status {@link REFUSED_NULLS}, so the stage can find and quarantine the file that holds it.
   */
  readonly requiredColumns?: readonly string[];
}

/**
 * `syncproof_loads.status` of a transaction whose guard found a staged row with a NULL in a
 * {@link LoadPlanInput.requiredColumns} column (and nothing else wrong): nothing was merged, and the
 * file holding it is a file error (the load stage reads the attempt's files to name it, the column
 * and the row). Checked in SQL on the staging table, inside the transaction: every file is checked
 * whatever tool wrote it (Parquet null-count statistics are optional), without reading it twice.
 */
export const REFUSED_NULLS = 'refused_nulls';

/**
 * The columns a staged row may not hold a NULL in: the keys of an upsert (a NULL key matches no
 * row, so every load of it would add one more; and `ROW_NUMBER() … PARTITION BY` keeps one NULL
 * key per batch), then the target's NOT NULL columns (the staging table, made by CTAS, carries no
 * NOT NULL: without this check the merge's INSERT fails the whole batch), each once, in target
 * order after the keys.
 */
export function requiredColumns(dataset: DatasetConfig, target: readonly { name: string; nullable?: boolean }[], replace = false): string[] {
  const keys = dataset.loadMode === 'upsert' || replace ? dataset.keyColumns : [];
  return [...new Set([...keys, ...target.filter((c) => c.nullable === false).map((c) => c.name)])];
}

export interface LoadPlan {
  readonly statements: readonly string[];
  /** Statement index → the file it COPYs (single-object COPYs), or 'batch' for the manifest COPY. */
  readonly copyStatements: ReadonlyMap<number, PlannedFile | 'batch'>;
  /** The COPY manifest to write at `manifestKey` before submitting (absent: per-file COPYs). */
  readonly manifest?: CopyManifest;
}

/** DDL for the audit tables; `IF NOT EXISTS` so it is safe to run before every load. */
export function auditTableDdl(): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} (` +
      'load_id VARCHAR(64) NOT NULL, dataset VARCHAR(64) NOT NULL, run_id VARCHAR(128) NOT NULL, ' +
      'files INTEGER NOT NULL, "rows" BIGINT NOT NULL, expected_rows BIGINT NOT NULL, copy_query_id BIGINT, status VARCHAR(16) NOT NULL, ' +
      'audited_before INTEGER NOT NULL, mismatched_files INTEGER NOT NULL, loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (load_id))',
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} (` +
      'load_id VARCHAR(64) NOT NULL, dataset VARCHAR(64) NOT NULL, object_key VARCHAR(1024) NOT NULL, ' +
      'etag VARCHAR(128) NOT NULL, "rows" BIGINT, file_rows BIGINT NOT NULL, bytes BIGINT NOT NULL, ' +
      'PRIMARY KEY (load_id, object_key, etag))',
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(AUDIT_SCHEMA, KEY_ORDER_TABLE)} (` +
      'dataset VARCHAR(64) NOT NULL, row_key VARCHAR(4096) NOT NULL, s3_order VARCHAR(1200) NOT NULL, PRIMARY KEY (dataset, row_key))',
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
 * What a SUPER column is staged as. A Parquet string COPYed into a SUPER column becomes a SUPER
 * *string* (Redshift parses JSON text only through JSON_PARSE), so the staging table holds the
 * JSON text as VARCHAR and the merge inserts `JSON_PARSE(text)`. The trade-off: a SUPER value may
 * hold up to 16 MB, but the text reaches it through this VARCHAR, so a document is limited to
 * Redshift's longest VARCHAR, 65,535 bytes; the extract stage refuses a longer one, naming the
 * row (lambdas/core/source-types.ts), rather than letting the COPY cut or fail it. Invalid JSON
 * makes JSON_PARSE fail, and with it the whole load transaction: nothing is loaded.
 */
export const SUPER_STAGING_TYPE = `VARCHAR(${MAX_VARCHAR_BYTES})`;

/** The declared SUPER columns of the dataset (those the merge parses from their staged text). */
function superColumns(dataset: DatasetConfig): ReadonlySet<string> {
  return new Set((dataset.columns ?? []).filter((c) => c.type.toUpperCase() === SUPER).map((c) => c.name));
}

/**
 * DDL of a staging table with exactly `columns`, in that order: the files' column order, as the
 * column check proved it (lambdas/core/column-check.ts), not the target's order as it is when the
 * transaction runs (a concurrent load may have added a column since, or the target's order may
 * differ). Parquet COPY fills it by position, without a column list (DESIGN.md §4). Types are the
 * target's (`CREATE TABLE AS SELECT … WHERE 1 = 0`), each SUPER column as {@link SUPER_STAGING_TYPE}.
 * The staging table has no NOT NULL constraints: a NULL into a NOT NULL target column fails the
 * merge's INSERT, not the COPY.
 */
function stagingDdl(table: string, target: string, columns: readonly string[], supers: ReadonlySet<string>): string {
  const list = columns.map((c) => (supers.has(c) ? `CAST(NULL AS ${SUPER_STAGING_TYPE}) AS ${quoteIdent(c)}` : quoteIdent(c))).join(', ');
  return `CREATE TEMP TABLE ${table} AS SELECT ${list} FROM ${target} WHERE 1 = 0`;
}

/** One COPY for the whole batch, unless an upsert without a version column needs each file's S3 order. */
export function usesManifest(dataset: DatasetConfig): boolean {
  return dataset.loadMode === 'append' || dataset.versionColumn !== undefined;
}

/**
 * The statements of one load transaction, a handful whatever the file count (DESIGN.md §4):
 *
 * 1. `LOCK` the dataset's lock table ({@link lockTableName}), before anything takes the
 *    transaction's snapshot: loads of the dataset serialize here, so the guard below cannot race
 *    another load's commit; loads of other datasets and readers of the audit tables never wait.
 * 2. The batch (key, ETag, footer rows, bytes) into a temp table; the files into a staging table
 *    of the files' proven columns in file order (SUPER columns as JSON text, see
 *    {@link SUPER_STAGING_TYPE}), by position (no column list) — one
 *    COPY with a manifest, or, for an upsert without a version column, one staging table per file
 *    so each row keeps its file's S3 order.
 * 3. The guard (`verdict`): the merge happens only when no object version of the batch is audited
 *    under *any* earlier load (I1), the staged rows equal the footers' total, and — without a
 *    manifest, where each file has its own staging table — each file's rows equal its footer's.
 *    The load views are **not** read here: Redshift documents no per-file rows visible inside the
 *    COPY's own transaction, so the per-file rows and ETags are proven after commit (Verify, from
 *    `sys_load_detail` / `stl_load_commits` under the audited `copy_query_id`). I5 holds by the
 *    pinned copies the COPY reads ({@link pinnedCopyKey}), not by a check after the fact.
 * 4. Upsert: the newest row per key (version column, else later file), then delete older target
 *    rows and insert those the target holds no newer version of (I4). Append: insert. SUPER
 *    columns are inserted as `JSON_PARSE(staged text)`.
 * 5. The audit: per-file rows only when merged; one `syncproof_loads` row always, `committed` or
 *    `refused` with the reason, so the outcome is read back, never inferred.
 *
 * Redshift's BatchExecuteStatement takes no parameters, so values are inlined as quoted literals.
 */
export function planLoad(input: LoadPlanInput): LoadPlan {
  const { dataset, loadId, files } = input;
  const t = (name: string) => quoteIdent(`syncproof_${name}_${loadId}`);
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  const auditFiles = qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE);
  const auditLoads = qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE);
  const [batch, stage, scan, verdict, newest] = [t('batch'), t('stage'), t('scan'), t('verdict'), t('newest')];
  const cols = input.targetColumns.map(quoteIdent).join(', ');
  const supers = superColumns(dataset);
  // What the merge inserts: staged values, SUPER columns parsed from their JSON text.
  const inserted = (alias?: string) =>
    input.targetColumns
      .map((c) => {
        const ref = alias ? `${alias}.${quoteIdent(c)}` : quoteIdent(c);
        return supers.has(c) ? `JSON_PARSE(${ref})` : ref;
      })
      .join(', ');
  const copyStatements = new Map<number, PlannedFile | 'batch'>();
  const temps = [batch, verdict];

  const statements: string[] = [
    `LOCK ${qualifiedName(AUDIT_SCHEMA, lockTableName(dataset.name))}`,
    `CREATE TEMP TABLE ${batch} (object_key VARCHAR(1024), etag VARCHAR(128), file_rows BIGINT, bytes BIGINT)`,
    `INSERT INTO ${batch} (object_key, etag, file_rows, bytes) VALUES ` +
      files.map((f) => `(${quoteLiteral(f.key)}, ${quoteLiteral(f.etag)}, ${f.fileRows}, ${f.size})`).join(', '),
  ];

  let manifest: CopyManifest | undefined;
  let rowsSource: string;
  /** Per-file rows the transaction itself counted (object_key, lines), when it can. */
  let perFile = false;
  const readKey = (f: PlannedFile) => f.copyKey ?? f.key;
  if (usesManifest(dataset)) {
    manifest = { entries: files.map((f) => ({ url: `s3://${input.bucket}/${readKey(f)}`, mandatory: true, meta: { content_length: f.size } })) };
    temps.push(stage);
    statements.push(stagingDdl(stage, target, input.targetColumns, supers));
    copyStatements.set(statements.length, 'batch');
    statements.push(copyFromS3ParquetManifest({ table: stage, bucket: input.bucket, manifestKey: input.manifestKey, iamRole: input.iamRole }));
    rowsSource = `(SELECT COUNT(*) AS staged_rows FROM ${stage})`;
  } else {
    perFile = true;
    temps.push(scan);
    const stages = files.map((_, i) => t(`stage${i + 1}`));
    temps.push(...stages);
    files.forEach((file, i) => {
      statements.push(stagingDdl(stages[i]!, target, input.targetColumns, supers));
      copyStatements.set(statements.length, file);
      statements.push(copyFromS3Parquet({ table: stages[i]!, bucket: input.bucket, key: readKey(file), iamRole: input.iamRole }));
    });
    // The warehouse's own count of each file: its staging table holds exactly that file.
    statements.push(
      `CREATE TEMP TABLE ${scan} AS ` +
        files.map((f, i) => `SELECT CAST(${quoteLiteral(f.key)} AS VARCHAR(1024)) AS object_key, COUNT(*) AS lines FROM ${stages[i]}`).join(' UNION ALL '),
    );
    rowsSource = `(SELECT COALESCE(SUM(lines), 0) AS staged_rows FROM ${scan})`;
    // One staging table for the merge, each row tagged with its file's position in S3 order.
    statements.push(
      `CREATE TEMP TABLE ${stage} AS ` +
        stages.map((s, i) => `SELECT ${cols}, CAST(${quoteLiteral(files[i]!.s3Order ?? String(i).padStart(8, '0'))} AS VARCHAR(1200)) AS syncproof_ord FROM ${s}`).join(' UNION ALL '),
    );
    temps.push(stage);
  }

  const required = (input.requiredColumns ?? []).filter((c) => input.targetColumns.includes(c));
  const nullRows = required.length > 0 ? `(SELECT COUNT(*) AS null_rows FROM ${stage} WHERE ${required.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ')})` : '(SELECT 0 AS null_rows)';
  statements.push(
    `CREATE TEMP TABLE ${verdict} AS SELECT a.audited_before, s.staged_rows, e.expected_rows, m.file_mismatches, n.null_rows, pg_last_copy_id() AS copy_query_id, ` +
      '(a.audited_before = 0 AND s.staged_rows = e.expected_rows AND m.file_mismatches = 0 AND n.null_rows = 0) AS ok FROM ' +
      `${nullRows} n CROSS JOIN ` +
      `(SELECT COUNT(*) AS audited_before FROM ${batch} b JOIN ${auditFiles} f ON f.object_key = b.object_key AND f.etag = b.etag) a CROSS JOIN ` +
      `${rowsSource} s CROSS JOIN (SELECT COALESCE(SUM(file_rows), 0) AS expected_rows FROM ${batch}) e CROSS JOIN ` +
      (perFile
        ? `(SELECT COUNT(*) AS file_mismatches FROM ${batch} b LEFT JOIN ${scan} x ON x.object_key = b.object_key WHERE x.object_key IS NULL OR x.lines <> b.file_rows) m`
        : '(SELECT 0 AS file_mismatches) m'),
  );
  const ok = `(SELECT ok FROM ${verdict})`;

  if (input.replace) {
    // One row per key (a snapshot holds each once; ROW_NUMBER keeps that true whatever the files hold).
    const keys = dataset.keyColumns.map(quoteIdent);
    const v = dataset.versionColumn ? `${quoteIdent(dataset.versionColumn)} DESC NULLS LAST` : 'syncproof_ord DESC';
    const nCols = inserted('n');
    temps.push(newest);
    statements.push(
      `CREATE TEMP TABLE ${newest} AS SELECT * FROM (SELECT ${cols}, ROW_NUMBER() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${v}) AS syncproof_rn ` +
        `FROM ${stage}) ranked WHERE syncproof_rn = 1`,
    );
    statements.push(`DELETE FROM ${target} WHERE ${ok}`);
    statements.push(`INSERT INTO ${target} (${cols}) SELECT ${nCols} FROM ${newest} n WHERE ${ok}`);
  } else if (dataset.loadMode === 'upsert') {
    const keys = dataset.keyColumns.map(quoteIdent);
    const match = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
    const v = dataset.versionColumn ? quoteIdent(dataset.versionColumn) : undefined;
    const ranked = v ? cols : `${cols}, syncproof_ord`;
    const order = v ? `${v} DESC NULLS LAST` : 'syncproof_ord DESC';
    temps.push(newest);
    statements.push(
      `CREATE TEMP TABLE ${newest} AS SELECT ${ranked} FROM (SELECT ${ranked}, ROW_NUMBER() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${order}) AS syncproof_rn ` +
        `FROM ${stage}) ranked WHERE syncproof_rn = 1`,
    );
    const nCols = inserted('n');
    if (v) {
      statements.push(`DELETE FROM ${target} USING ${newest} WHERE ${match(target, newest)} AND (${target}.${v} IS NULL OR ${target}.${v} <= ${newest}.${v}) AND ${ok}`);
      const newer = ` AND (t.${v} > n.${v} OR (n.${v} IS NULL AND t.${v} IS NOT NULL))`;
      statements.push(`INSERT INTO ${target} (${cols}) SELECT ${nCols} FROM ${newest} n WHERE ${ok} AND NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${match('t', 'n')}${newer})`);
    } else {
      // No version column: the key's S3 order, kept beside the target, decides.
      const order = qualifiedName(AUDIT_SCHEMA, KEY_ORDER_TABLE);
      const winners = t('winners');
      temps.push(winners);
      const keyText = (alias: string) => keys.map((k) => `COALESCE(CAST(${alias}.${k} AS VARCHAR(1024)), '')`).join(` || CHR(31) || `);
      const ds = quoteLiteral(dataset.name);
      statements.push(
        `CREATE TEMP TABLE ${winners} AS SELECT n.* FROM ${newest} n LEFT JOIN ${order} o ON o.dataset = ${ds} AND o.row_key = ${keyText('n')} ` +
          'WHERE o.row_key IS NULL OR o.s3_order <= n.syncproof_ord',
      );
      statements.push(`DELETE FROM ${target} USING ${winners} WHERE ${match(target, winners)} AND ${ok}`);
      statements.push(`INSERT INTO ${target} (${cols}) SELECT ${nCols} FROM ${winners} n WHERE ${ok}`);
      statements.push(`DELETE FROM ${order} USING ${winners} w WHERE ${order}.dataset = ${ds} AND ${order}.row_key = ${keyText('w')} AND ${ok}`);
      statements.push(`INSERT INTO ${order} (dataset, row_key, s3_order) SELECT ${ds}, ${keyText('w')}, w.syncproof_ord FROM ${winners} w WHERE ${ok}`);
    }
  } else {
    statements.push(`INSERT INTO ${target} (${cols}) SELECT ${inserted()} FROM ${stage} WHERE ${ok}`);
  }

  // "rows": the transaction's own per-file count where it has one; else NULL, proven after commit.
  statements.push(
    `INSERT INTO ${auditFiles} (load_id, dataset, object_key, etag, "rows", file_rows, bytes) SELECT ${quoteLiteral(loadId)}, ` +
      `${quoteLiteral(dataset.name)}, b.object_key, b.etag, ${perFile ? 'x.lines' : 'CAST(NULL AS BIGINT)'}, b.file_rows, b.bytes FROM ${batch} b ` +
      `${perFile ? `LEFT JOIN ${scan} x ON x.object_key = b.object_key ` : ''}WHERE ${ok}`,
  );
  statements.push(
    `INSERT INTO ${auditLoads} (load_id, dataset, run_id, files, "rows", expected_rows, copy_query_id, status, audited_before, mismatched_files, loaded_at) ` +
      `SELECT ${quoteLiteral(loadId)}, ${quoteLiteral(dataset.name)}, ${quoteLiteral(input.runId)}, ${files.length}, staged_rows, expected_rows, copy_query_id, ` +
      `CASE WHEN ok THEN 'committed' WHEN audited_before = 0 AND staged_rows = expected_rows AND file_mismatches = 0 AND null_rows > 0 THEN '${REFUSED_NULLS}' ELSE 'refused' END, audited_before, file_mismatches, SYSDATE FROM ${verdict}`,
  );
  statements.push(`DROP TABLE ${temps.join(', ')}`);
  return { statements, copyStatements, ...(manifest ? { manifest } : {}) };
}

/** Statements planLoad emits around the files, and per file without a manifest. */
const FIXED_STATEMENTS = 15;
const STATEMENTS_PER_FILE_WITHOUT_MANIFEST = 2;

/**
 * Most statements one batch's VALUES list may take: the Data API's statement limit is 100 KB;
 * the rest of the INSERT is short.
 */
export const MAX_BATCH_VALUES_BYTES = 96 * 1024;

/**
 * The most files one load transaction can hold under a warehouse's statement limit (the Redshift
 * Data API takes at most 40 statements per BatchExecuteStatement); `Infinity` without a limit.
 * With a manifest the count does not depend on it (the batch's bytes bound it, see
 * {@link fitsOneTransaction}).
 */
export function maxFilesPerTransaction(dataset: DatasetConfig, maxStatements: number | undefined): number {
  if (maxStatements === undefined || usesManifest(dataset)) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor((maxStatements - FIXED_STATEMENTS) / STATEMENTS_PER_FILE_WITHOUT_MANIFEST));
}

/** Bytes the batch's VALUES statement takes for these files (keys and ETags quoted). */
export function batchValuesBytes(files: readonly { key: string; etag: string }[]): number {
  return files.reduce((n, f) => n + Buffer.byteLength(quoteLiteral(f.key)) + Buffer.byteLength(quoteLiteral(f.etag)) + 48, 120);
}
