/**
 * What Verify tells an operator whose upsert target holds a key more than once (or a NULL key):
 * which keys, and SQL that repairs it, in one transaction, on Redshift and PostgreSQL alike.
 * Redshift never enforces keys, so only syncproof's own checks keep them unique: since NULL keys
 * and NULLs in NOT NULL columns are file errors (lambdas/load/load.ts), duplicates come from
 * rows written around syncproof, or loaded before those checks existed.
 */
import type { DatasetConfig } from './config';
import { qualifiedName, quoteIdent } from './sql';

/** Duplicate keys Verify names, at most. */
export const DUPLICATE_KEYS_SHOWN = 5;

/** An identifier as SQL: bare when it is plain lower case (readable in a message), else quoted. */
function name(identifier: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(identifier) ? identifier : quoteIdent(identifier);
}

/** The target as SQL, bare where it can be. */
function tableName(dataset: DatasetConfig): string {
  const { schema, table } = dataset.target;
  return /^[a-z_][a-z0-9_]*$/.test(schema) && /^[a-z_][a-z0-9_]*$/.test(table) ? `${schema}.${table}` : qualifiedName(schema, table);
}

/** Up to {@link DUPLICATE_KEYS_SHOWN} keys the target holds more than once (NULL keys group together), with their row counts. */
export function duplicateKeysQuery(dataset: DatasetConfig): string {
  const keys = dataset.keyColumns.map(quoteIdent).join(', ');
  return `SELECT ${keys}, COUNT(*) AS syncproof_n FROM ${qualifiedName(dataset.target.schema, dataset.target.table)} GROUP BY ${keys} HAVING COUNT(*) > 1 ORDER BY ${keys} LIMIT ${DUPLICATE_KEYS_SHOWN}`;
}

/** `id=1 (2 rows), id=NULL (2 rows)` from rows of {@link duplicateKeysQuery}. */
export function describeDuplicateKeys(dataset: DatasetConfig, rows: readonly Record<string, unknown>[]): string {
  return rows
    .map((r) => `${dataset.keyColumns.map((k) => `${k}=${r[k] === null || r[k] === undefined ? 'NULL' : String(r[k])}`).join(', ')} (${String(r.syncproof_n)} rows)`)
    .join('; ');
}

/**
 * The repair, one transaction: delete the rows whose key is NULL (an upsert key cannot be NULL;
 * such rows match nothing), then keep one row per duplicated key — the newest by the dataset's
 * version column, else any one of them (check which first) — and delete the others. `columns`:
 * the target's columns in order.
 */
export function dedupeSql(dataset: DatasetConfig, columns: readonly string[]): string {
  const t = tableName(dataset);
  const keys = dataset.keyColumns.map(name);
  const cols = columns.map(name).join(', ');
  const order = dataset.versionColumn ? `${name(dataset.versionColumn)} DESC NULLS LAST` : keys.join(', ');
  const partition = keys.join(', ');
  return [
    'BEGIN',
    `DELETE FROM ${t} WHERE ${keys.map((k) => `${k} IS NULL`).join(' OR ')}`,
    `CREATE TEMP TABLE syncproof_dedupe AS SELECT ${cols} FROM (SELECT ${cols}, ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${order}) AS syncproof_rn, ` +
      `COUNT(*) OVER (PARTITION BY ${partition}) AS syncproof_n FROM ${t}) d WHERE syncproof_rn = 1 AND syncproof_n > 1`,
    `DELETE FROM ${t} USING syncproof_dedupe d WHERE ${keys.map((k) => `${t}.${k} = d.${k}`).join(' AND ')}`,
    `INSERT INTO ${t} (${cols}) SELECT ${cols} FROM syncproof_dedupe`,
    'DROP TABLE syncproof_dedupe',
    'COMMIT',
  ].join('; ') + ';';
}

/** The whole advice: which keys, the SQL, and what happens next. */
export function duplicateKeysRepair(dataset: DatasetConfig, sample: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const keep = dataset.versionColumn ? `the newest by ${dataset.versionColumn}` : 'an arbitrary one: check them first';
  return (
    `duplicate keys in ${tableName(dataset)}${sample.length > 0 ? `, e.g. ${describeDuplicateKeys(dataset, sample)}` : ''}. ` +
    `Repair it (deletes the rows with a NULL key, keeps one row per duplicated key, ${keep}): ${dedupeSql(dataset, columns)} ` +
    `Then the next load of dataset '${dataset.name}' verifies the target again. ` +
    'Files quarantined for NULL keys are listed by `syncproof ledger list ' + dataset.name + ' --state quarantined`: upload a fixed copy to load them'
  );
}
