/**
 * Deletes propagated through the exactly-once load path (issue #15 item 4, `deletes: "propagate"`):
 * the pure half — what a deletion may be asked for, where its document lives, what its Parquet file
 * holds, and the one warehouse transaction that applies it. The driver that writes the document,
 * keeps its ledger entry and submits the transaction is lambdas/load/deletes.ts.
 *
 * A deletion is a data file like any other: a Parquet file of the key columns under syncproof's
 * own prefix, discovered into the ledger, claimed, written ahead, and applied by one transaction
 * that LOCKs the dataset, COPYs the keys into a staging table, runs the guard, deletes, and writes
 * the audit rows (`syncproof_loads` status {@link DELETION_STATUS}, `syncproof_load_files` with the
 * rows deleted). Every invariant of DESIGN.md §5 holds for it as for a load:
 * - I1: the document is named by a content hash of the dataset and its keys, so a retry (or a second
 *   propagation of the same keys) names the same object version; the guard refuses a version
 *   audited under any earlier committed load, so a replay deletes nothing.
 * - I3: the ledger says `loaded` only after the committed audit row is read back.
 *
 * **Ordering (I4): a deletion never undoes a newer version of a key.** The rule:
 * 1. A deletion applies only to the target the comparison saw. The comparison counts the dataset's
 *    committed loads just before it reads the target ({@link committedLoadCount}; the proof carries
 *    the count); the deletion's transaction, holding the dataset's lock, counts them again and
 *    deletes nothing when any load committed since (status {@link DELETION_REFUSED_NEWER}: compare
 *    again). So a key deleted at the source, re-inserted and re-loaded after the comparison — by any
 *    execution, in any order, whatever its version column or S3 order says — is never removed by a
 *    deletion planned before it. Coarse (one load of any key refuses the whole deletion) and exact:
 *    no clock, no version type, no per-row lineage, which a version-column target does not keep.
 * 2. Afterwards it is never applied again: a replay of the same document (a retry, a crash after
 *    commit, a zombie attempt, the same keys proposed again) is refused by the guard, and the
 *    ledger already says `loaded`. A key deleted at the source, re-inserted and re-loaded after the
 *    deletion committed is therefore never removed by it.
 * 3. Without a version column the key's S3 order (`syncproof_key_order`) is kept, as a tombstone:
 *    a file older in S3 order than the row deleted, loaded late, cannot bring the key back; a file
 *    newer than it (the re-insert) wins as any newer file does. With a version column there is no
 *    tombstone: a late file holding a version at most the deleted one brings the row back, and the
 *    next content comparison reports it as extra again.
 */
import { z } from 'zod';
import type { TargetColumn } from './column-check';
import type { DatasetConfig } from './config';
import { TerminalError } from './errors';
import { digest } from './ids';
import { AUDIT_FILES_TABLE, AUDIT_LOADS_TABLE, AUDIT_SCHEMA, lockTableName } from './load-plan';
import type { Warehouse } from './ports';
import { copyFromS3Parquet, qualifiedName, quoteIdent, quoteLiteral } from './sql';

/** `syncproof_loads.status` of a committed deletion (not `committed`: it loaded no rows). */
export const DELETION_STATUS = 'deleted';

/**
 * `syncproof_loads.status` of a deletion refused because a load of the dataset committed after the
 * comparison that found its keys ({@link DeletionProof.targetLoads}): nothing was deleted.
 */
export const DELETION_REFUSED_NEWER = 'refused_newer';

/** The statement counting a dataset's committed loads (what {@link DeletionProof.targetLoads} holds). */
export function committedLoadCountSql(dataset: string): string {
  return `SELECT COUNT(*) AS loads FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} WHERE dataset = ${quoteLiteral(dataset)} AND status = 'committed'`;
}

/**
 * Committed loads of the dataset now: the comparison reads it just before it reads the target and
 * passes it as {@link DeletionProof.targetLoads}. 0 before the audit tables exist.
 */
export async function committedLoadCount(warehouse: Warehouse, dataset: string): Promise<number> {
  try {
    return Number((await warehouse.query(committedLoadCountSql(dataset)))[0]?.loads ?? 0);
  } catch (error) {
    const tables = await warehouse.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = :schema AND table_name = :table", { schema: AUDIT_SCHEMA, table: AUDIT_LOADS_TABLE });
    if (Number(tables[0]?.n ?? 0) === 0) return 0;
    throw error;
  }
}

/** A key as the content comparison names it: each key column's normalized text, in key order (binary as hex). */
export type DeletionKey = readonly (string | null)[];

/**
 * What the caller proves about the content comparison that found the keys (lambdas/core/content):
 * - `status`: `COMPLETE` — it ran to its end over every row of the dataset (whether or not it found
 *   differences: extra keys are differences); `PARTIAL` — it covered only part of the rows (sampled
 *   segments, a row filter, a window); `FAILED` — it did not finish (an error, a timeout).
 * - `allKeysListed`: its report lists every extra key (the list was not cut at REPORT_KEYS_MAX).
 * Only a `COMPLETE` comparison that listed every key may delete.
 */
export interface DeletionProof {
  readonly status: 'COMPLETE' | 'PARTIAL' | 'FAILED';
  readonly allKeysListed: boolean;
  /**
   * Committed loads of the dataset when the comparison read the target ({@link committedLoadCount},
   * read just before): the deletion applies only while no load has committed since (rule 1 below).
   */
  readonly targetLoads: number;
  /** Where the comparison's report is (named in the deletion's report). */
  readonly reportUri?: string;
}

/** A deletion as asked: the keys the warehouse holds and the source no longer has. */
export interface DeletionRequest {
  readonly dataset: string;
  readonly runId: string;
  readonly keys: readonly DeletionKey[];
  readonly proof: DeletionProof;
}

/**
 * Refuses a deletion its proof does not allow, with one sentence saying why: a comparison that
 * failed, was partial, or cut its list of keys never deletes; nor do keys that cannot name a row.
 */
export function checkDeletion(request: DeletionRequest, dataset: DatasetConfig): void {
  const { proof } = request;
  const refuse = (why: string) => new TerminalError(`dataset '${dataset.name}': deletes not propagated, nothing was deleted: ${why}`);
  if (proof.status === 'FAILED') throw refuse('the comparison that found the keys FAILED (it did not finish); run it again and propagate from a complete one');
  if (proof.status !== 'COMPLETE') throw refuse('the comparison that found the keys was partial (sampled segments, a row filter or a window); propagate only from a complete content comparison');
  if (!proof.allKeysListed) throw refuse('the comparison listed only the first of its extra keys; propagate in rounds (each round lists the next ones)');
  if (dataset.loadMode !== 'upsert' || dataset.keyColumns.length === 0) {
    throw refuse(`the dataset is loaded in ${dataset.loadMode} mode without key columns, so a row cannot be named by its key; deletes propagate to upsert datasets only`);
  }
  for (const [i, key] of request.keys.entries()) {
    if (key.length !== dataset.keyColumns.length) throw refuse(`key ${i + 1} has ${key.length} values where the dataset has ${dataset.keyColumns.length} key columns (${dataset.keyColumns.join(', ')})`);
    const nul = key.findIndex((v) => v === null);
    if (nul >= 0) throw refuse(`key ${i + 1} holds a NULL in key column '${dataset.keyColumns[nul]}', which no upserted row can hold`);
  }
}

/** Keys each once, in a canonical order (so the same set always makes the same document). */
export function canonicalKeys(keys: readonly DeletionKey[]): DeletionKey[] {
  const seen = new Map<string, DeletionKey>();
  for (const k of keys) seen.set(JSON.stringify(k), k);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
}

/** The deletion's id: a content hash of the dataset and its (canonical) keys; ≤ 24 characters. */
export function deletionIdFor(dataset: string, keys: readonly DeletionKey[]): string {
  return `del_${digest(dataset, ...canonicalKeys(keys).map((k) => JSON.stringify(k))).slice(0, 20)}`;
}

/** Where the deletion document is written: under the internal prefix, named by its id. */
export function deletionDocumentKey(internalPrefix: string, dataset: string, deletionId: string): string {
  return `${internalPrefix}deletes/${dataset}/${deletionId}.parquet`;
}

/**
 * The ledger's dataset label of a dataset's deletion documents: not the dataset's own name, so the
 * sweeps of a dataset's data files (inventory, checksums, reconcile) never meet a deletion
 * document, which lives outside the dataset's prefix. Dataset names hold no `/`, so it names no dataset.
 */
export function deletionLedgerDataset(dataset: string): string {
  return `${dataset}/deletes`;
}

/** Where the deletion's report (the keys, the rows deleted) is written. */
export function deletionReportKey(internalPrefix: string, dataset: string, deletionId: string): string {
  return `${internalPrefix}deletes/${dataset}/${deletionId}.report.json`;
}

/** How one key column is written in the deletion document, by the target column's type. */
export type DeletionColumnKind = 'INT64' | 'INT32' | 'STRING' | 'BYTES';

/**
 * Each key column's Parquet kind, from the target's column type (information_schema `data_type`,
 * Redshift or PostgreSQL spelling): integers, text and binary keys. Throws for another type.
 */
export function deletionColumnKinds(dataset: DatasetConfig, target: readonly TargetColumn[]): DeletionColumnKind[] {
  return dataset.keyColumns.map((name) => {
    const column = target.find((c) => c.name === name);
    if (!column) throw new TerminalError(`dataset '${dataset.name}': key column '${name}' is not a column of ${dataset.target.schema}.${dataset.target.table}; deletes not propagated`);
    const type = column.type.toLowerCase();
    if (/^(bigint|int8)$/.test(type)) return 'INT64';
    if (/^(integer|int|int4|smallint|int2)$/.test(type)) return 'INT32';
    if (/^(character varying|varchar|text|character|char|bpchar)/.test(type)) return 'STRING';
    if (/^(bytea|varbyte|binary varying|varbinary)/.test(type)) return 'BYTES';
    throw new TerminalError(
      `dataset '${dataset.name}': key column '${name}' is ${column.type}; deletes propagate for integer, text and binary keys only, so nothing was deleted (report the keys instead: "deletes": "report")`,
    );
  });
}

/** A normalized key value as the document's column holds it (binary: hex, with or without `0x` / `\x`). */
export function deletionValue(kind: DeletionColumnKind, text: string, column: string): bigint | number | string | Uint8Array {
  const bad = (what: string) => new TerminalError(`key column '${column}': '${text.length > 40 ? `${text.slice(0, 40)}…` : text}' is not ${what}; nothing was deleted`);
  switch (kind) {
    case 'INT64':
      if (!/^-?\d+$/.test(text)) throw bad('an integer');
      return BigInt(text);
    case 'INT32':
      if (!/^-?\d+$/.test(text) || Math.abs(Number(text)) > 2 ** 31) throw bad('a 32-bit integer');
      return Number(text);
    case 'BYTES': {
      const hex = text.replace(/^(0x|\\x)/i, '');
      if (!/^([0-9a-f]{2})*$/i.test(hex)) throw bad('binary as hex');
      return Buffer.from(hex, 'hex');
    }
    case 'STRING':
      return text;
  }
}

/** What one deletion transaction needs. */
export interface DeletionPlanInput {
  readonly dataset: DatasetConfig;
  readonly runId: string;
  /** The attempt's id: one transaction, one audit row. */
  readonly attemptId: string;
  readonly bucket: string;
  readonly iamRole: string;
  /** The deletion document's object version, and the keys its footer declares. */
  readonly document: { readonly key: string; readonly etag: string; readonly size: number; readonly keys: number };
  /** The proof's {@link DeletionProof.targetLoads}: the deletion applies only while the count is still this. */
  readonly targetLoads: number;
}

/**
 * The statements of one deletion, a fixed dozen whatever the number of keys (the keys are in the
 * Parquet file, never in SQL text; each statement is far below 100 KB, and 11 statements stay
 * well within the Data API's 40):
 *
 * 1. `LOCK` the dataset's lock table first, as every load of it does (load-plan.ts lockTableName):
 *    the guard below cannot race a load or another deletion of the dataset.
 * 2. The document's object version into a temp table; its keys COPYed into a staging table of the
 *    target's key columns (CTAS `WHERE 1 = 0`, so each has the target's type: binary keys compare as bytes).
 * 3. The guard (`verdict`): nothing is deleted when the document's version is audited under any
 *    earlier load (a replay), when the staging table holds another number of keys than the footer,
 *    or when a load of the dataset committed after the comparison (the ordering rule, module doc).
 * 4. The target rows whose keys match, counted, then deleted (only when the guard allows).
 * 5. The audit: a `syncproof_load_files` row with the rows deleted (only when applied) and a
 *    `syncproof_loads` row always, {@link DELETION_STATUS} or `refused`, read back by the driver.
 */
export function planDeletion(input: DeletionPlanInput): string[] {
  const { dataset, attemptId, document: doc } = input;
  const t = (name: string) => quoteIdent(`syncproof_${name}_${attemptId}`);
  const [batch, stage, doomed, verdict] = [t('batch'), t('stage'), t('doomed'), t('verdict')];
  const target = qualifiedName(dataset.target.schema, dataset.target.table);
  const keys = dataset.keyColumns.map(quoteIdent);
  const match = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  const ok = `(SELECT ok FROM ${verdict})`;
  const auditFiles = qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE);
  const auditLoads = qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE);
  const ds = quoteLiteral(dataset.name);
  return [
    `LOCK ${qualifiedName(AUDIT_SCHEMA, lockTableName(dataset.name))}`,
    `CREATE TEMP TABLE ${batch} (object_key VARCHAR(1024), etag VARCHAR(128), file_rows BIGINT, bytes BIGINT)`,
    `INSERT INTO ${batch} (object_key, etag, file_rows, bytes) VALUES (${quoteLiteral(doc.key)}, ${quoteLiteral(doc.etag)}, ${doc.keys}, ${doc.size})`,
    `CREATE TEMP TABLE ${stage} AS SELECT ${keys.join(', ')} FROM ${target} WHERE 1 = 0`,
    copyFromS3Parquet({ table: stage, bucket: input.bucket, key: doc.key, iamRole: input.iamRole }),
    `CREATE TEMP TABLE ${verdict} AS SELECT a.audited_before, s.staged_rows, ${doc.keys} AS expected_rows, pg_last_copy_id() AS copy_query_id, ` +
      `c.loads_now, (a.audited_before = 0 AND s.staged_rows = ${doc.keys} AND c.loads_now = ${input.targetLoads}) AS ok FROM ` +
      `(${committedLoadCountSql(dataset.name).replace('COUNT(*) AS loads', 'COUNT(*) AS loads_now')}) c CROSS JOIN ` +
      `(SELECT COUNT(*) AS audited_before FROM ${batch} b JOIN ${auditFiles} f ON f.object_key = b.object_key AND f.etag = b.etag) a CROSS JOIN ` +
      `(SELECT COUNT(*) AS staged_rows FROM ${stage}) s`,
    // The rows the deletion removes, counted for the audit (one row per target row: a duplicated key counts twice).
    `CREATE TEMP TABLE ${doomed} AS SELECT ${keys.map((k) => `t.${k}`).join(', ')} FROM ${target} t JOIN (SELECT DISTINCT ${keys.join(', ')} FROM ${stage}) s ON ${match('t', 's')} WHERE ${ok}`,
    // USING a table, not a subquery (Redshift's DELETE … USING takes table names); a row matched twice is deleted once.
    `DELETE FROM ${target} USING ${doomed} WHERE ${match(target, doomed)} AND ${ok}`,
    `INSERT INTO ${auditFiles} (load_id, dataset, object_key, etag, "rows", file_rows, bytes) SELECT ${quoteLiteral(attemptId)}, ${ds}, b.object_key, b.etag, ` +
      `(SELECT COUNT(*) FROM ${doomed}), b.file_rows, b.bytes FROM ${batch} b WHERE ${ok}`,
    `INSERT INTO ${auditLoads} (load_id, dataset, run_id, files, "rows", expected_rows, copy_query_id, status, audited_before, mismatched_files, loaded_at) ` +
      `SELECT ${quoteLiteral(attemptId)}, ${ds}, ${quoteLiteral(input.runId)}, 1, staged_rows, expected_rows, copy_query_id, ` +
      `CASE WHEN ok THEN '${DELETION_STATUS}' WHEN audited_before = 0 AND staged_rows = expected_rows THEN '${DELETION_REFUSED_NEWER}' ELSE 'refused' END, audited_before, 0, SYSDATE FROM ${verdict}`,
    `DROP TABLE ${[batch, stage, doomed, verdict].join(', ')}`,
  ];
}

/**
 * Where a verification leaves the deletion it proved (a {@link DeletionRequest} as JSON) for the
 * VerifyStateMachine's PropagateDeletes state (the load stage) to apply.
 */
export function deletionRequestKey(internalPrefix: string, dataset: string, runId: string): string {
  return `${internalPrefix}reports/${dataset}/${runId}/deletion-request.json`;
}

/** A {@link DeletionRequest} as read back from S3 (the PropagateDeletes state's input). */
export const deletionRequestSchema = z.object({
  dataset: z.string().min(1),
  runId: z.string().min(1),
  keys: z.array(z.array(z.string().nullable())),
  proof: z.object({
    status: z.enum(['COMPLETE', 'PARTIAL', 'FAILED']),
    allKeysListed: z.boolean(),
    targetLoads: z.number().int().nonnegative(),
    reportUri: z.string().optional(),
  }),
});
