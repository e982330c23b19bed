import { z } from 'zod';
import { INTERNAL_PREFIX, requireDataset, type DatasetConfig } from '../core/config';
import { BadFileError, ObjectChangedError, TerminalError, WarehouseStatementError, describeError } from '../core/errors';
import { loadIdFor } from '../core/ids';
import {
  AUDIT_FILES_TABLE,
  AUDIT_LOADS_TABLE,
  AUDIT_SCHEMA,
  auditTableDdl,
  columnMismatch,
  maxFilesPerTransaction,
  planLoad,
  targetTableDdl,
  type PlannedFile,
} from '../core/load-plan';
import type { Warehouse } from '../core/ports';
import { keyInBucket } from '../core/s3-uri';
import { qualifiedName } from '../core/sql';
import type { StageDeps } from '../core/stage-deps';
import type { BatchDocument, BatchFile } from '../discover/discover';

export const loadInputSchema = z.object({
  runId: z.string().min(1),
  dataset: z.string().min(1),
  batchUri: z.string().startsWith('s3://'),
  files: z.number().int().min(1),
  hasMore: z.boolean(),
});
export type LoadInput = z.input<typeof loadInputSchema>;

export interface LoadedFile {
  readonly key: string;
  readonly etag: string;
  /** Rows in the Parquet footer, read before the load. */
  readonly fileRows: number;
  /** Rows the warehouse counted for this file inside the load transaction. */
  readonly loadedRows: number;
}

export interface QuarantinedFile {
  readonly key: string;
  readonly etag: string;
  readonly reason: string;
}

/** Written to S3 and passed by reference to the verify stage. */
export interface LoadResultDocument {
  readonly runId: string;
  readonly dataset: string;
  readonly loadId: string;
  readonly alreadyLoaded: boolean;
  readonly loaded: readonly LoadedFile[];
  readonly quarantined: readonly QuarantinedFile[];
  /** Files another load holds; they are left to it. */
  readonly skipped: readonly { key: string; etag: string }[];
}

export interface LoadOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly loadId: string;
  readonly loadUri: string;
  readonly filesLoaded: number;
  readonly filesQuarantined: number;
  readonly rows: number;
  readonly hasMore: boolean;
}

const CLAIM_STALE_MS = 30 * 60 * 1000;

async function targetColumns(wh: Warehouse, dataset: DatasetConfig): Promise<string[]> {
  const rows = await wh.query(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position',
    { schema: dataset.target.schema, table: dataset.target.table },
  );
  const cols = rows.map((r) => String(r.column_name));
  if (cols.length === 0) {
    throw new TerminalError(
      `target table ${dataset.target.schema}.${dataset.target.table} of dataset '${dataset.name}' does not exist; ` +
        'create it, or list its columns in the dataset configuration so syncproof creates it',
    );
  }
  return cols;
}

/** Per file of a committed load: rows the warehouse counted and rows the file declared. */
async function auditedFiles(wh: Warehouse, loadId: string): Promise<Map<string, { rows: number; fileRows: number }>> {
  const rows = await wh.query(
    `SELECT object_key, etag, "rows", file_rows FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} WHERE load_id = :loadId`,
    { loadId },
  );
  return new Map(rows.map((r) => [`${String(r.object_key)}\u0000${String(r.etag)}`, { rows: Number(r.rows), fileRows: Number(r.file_rows) }]));
}

/**
 * Loads one batch exactly once. The audit table decides: a batch whose load id is in
 * `syncproof_loads` is not loaded again, only its ledger entries are completed. Otherwise the
 * files are claimed in the ledger, checked (footer readable, columns match the target), and
 * loaded in one warehouse transaction with their audit rows. A file the warehouse cannot read is
 * quarantined and the transaction is retried without it; the rest of the batch goes on.
 */
export async function runLoad(raw: LoadInput, deps: StageDeps): Promise<LoadOutput> {
  const input = loadInputSchema.parse(raw);
  const dataset = requireDataset(deps.config, input.dataset);
  const loadId = loadIdFor(input.runId, input.batchUri);
  const batch = (await deps.objects.getJson(keyInBucket(input.batchUri, deps.objects.bucket))) as BatchDocument;
  const now = () => deps.clock.now().toISOString();
  const wh = await deps.warehouse();
  const target = `${dataset.target.schema}.${dataset.target.table}`;

  await wh.executeTransaction([...auditTableDdl(), ...targetTableDdl(dataset)], `${loadId}-ddl`);
  const alreadyLoaded =
    (await wh.query(`SELECT 1 AS found FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} WHERE load_id = :loadId`, { loadId }))
      .length > 0;

  const quarantined: QuarantinedFile[] = [];
  const skipped: { key: string; etag: string }[] = [];
  let planned: (PlannedFile & BatchFile)[] = [];

  const staleBefore = new Date(deps.clock.now().getTime() - CLAIM_STALE_MS).toISOString();
  for (const f of batch.files) {
    if (!(await deps.ledger.claim(f.key, f.etag, loadId, now(), staleBefore))) {
      const entry = await deps.ledger.get(f.key, f.etag);
      // A retry of this very load after it marked some files loaded still verifies them.
      if (!(alreadyLoaded && entry?.status === 'loaded' && entry.loadId === loadId)) {
        skipped.push({ key: f.key, etag: f.etag });
        continue;
      }
    }
    if (alreadyLoaded) {
      planned.push({ ...f, columns: [], fileRows: 0 });
      continue;
    }
    try {
      const info = await deps.files.inspect(f.key, f.size, f.etag);
      planned.push({ ...f, columns: info.columns, fileRows: info.rows });
    } catch (error) {
      if (error instanceof ObjectChangedError) {
        // Overwritten since discovery: this version cannot be read any more; the new one has its own entry.
        await deps.ledger.markFailed(f.key, f.etag, loadId, error.message, now());
        skipped.push({ key: f.key, etag: f.etag });
        continue;
      }
      if (!(error instanceof BadFileError)) throw error;
      quarantined.push({ key: f.key, etag: f.etag, reason: error.message });
    }
  }
  const fitting = maxFilesPerTransaction(dataset, wh.maxStatementsPerTransaction);
  if (!alreadyLoaded && planned.length > fitting) {
    const reason = `batch of ${planned.length} files exceeds the ${fitting} files one warehouse transaction can hold; lower maxFilesPerBatch`;
    for (const f of planned) await deps.ledger.markFailed(f.key, f.etag, loadId, reason, now());
    throw new TerminalError(reason);
  }

  if (!alreadyLoaded && planned.length > 0) {
    const columns = await targetColumns(wh, dataset);
    planned = planned.filter((f) => {
      const reason = columnMismatch(f.columns, columns, target);
      if (reason) quarantined.push({ key: f.key, etag: f.etag, reason: `s3 object '${f.key}': ${reason}` });
      return !reason;
    });
    // Each failed attempt removes exactly one bad file, so this ends after at most planned.length + 1 tries.
    for (;;) {
      if (planned.length === 0) break;
      const plan = planLoad({ dataset, runId: input.runId, loadId, bucket: deps.objects.bucket, iamRole: deps.copyRoleArn, files: planned });
      try {
        await wh.executeTransaction(plan.statements, loadId);
        break;
      } catch (error) {
        const bad =
          error instanceof BadFileError
            ? planned.find((f) => f.key === error.key)
            : error instanceof WarehouseStatementError && error.statementIndex !== undefined
              ? plan.copyStatementFile.get(error.statementIndex)
              : undefined;
        if (!bad) {
          const reason = describeError(error);
          for (const f of planned) await deps.ledger.markFailed(f.key, f.etag, loadId, reason, now());
          throw error;
        }
        const reason = error instanceof BadFileError ? error.message : `s3 object '${bad.key}': the warehouse could not load it: ${describeError(error)}`;
        quarantined.push({ key: bad.key, etag: bad.etag, reason });
        planned = planned.filter((f) => f !== bad);
        deps.log.warn('quarantining file and retrying the batch without it', { key: bad.key, loadId });
      }
    }
  }

  for (const q of quarantined) await deps.ledger.markQuarantined(q.key, q.etag, q.reason, now());

  // Read back what the warehouse recorded, rather than trusting the transaction's return.
  const audited = planned.length > 0 ? await auditedFiles(wh, loadId) : new Map<string, { rows: number; fileRows: number }>();
  const loaded: LoadedFile[] = [];
  for (const f of planned) {
    const audit = audited.get(`${f.key}\u0000${f.etag}`);
    if (audit === undefined) {
      const reason = `load ${loadId} committed without an audit row for '${f.key}'; re-run the sync`;
      await deps.ledger.markFailed(f.key, f.etag, loadId, reason, now());
      throw new TerminalError(reason);
    }
    await deps.ledger.markLoaded(f.key, f.etag, loadId, audit.rows, now());
    loaded.push({ key: f.key, etag: f.etag, fileRows: audit.fileRows, loadedRows: audit.rows });
  }

  const doc: LoadResultDocument = { runId: input.runId, dataset: dataset.name, loadId, alreadyLoaded, loaded, quarantined, skipped };
  const key = `${INTERNAL_PREFIX}loads/${dataset.name}/${loadId}.json`;
  await deps.objects.putJson(key, doc);
  const output: LoadOutput = {
    runId: input.runId,
    dataset: dataset.name,
    loadId,
    loadUri: `s3://${deps.objects.bucket}/${key}`,
    filesLoaded: loaded.length,
    filesQuarantined: quarantined.length,
    rows: loaded.reduce((s, f) => s + f.loadedRows, 0),
    hasMore: input.hasMore,
  };
  await deps.runs.update(input.runId, { stage: `load_${loadId}`, output }, now());
  deps.log.info('loaded', { ...output });
  return output;
}
