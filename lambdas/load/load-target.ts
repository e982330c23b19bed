import { INTERNAL_PREFIX, type DatasetConfig } from '../core/config';
import type { TargetColumn } from '../core/column-check';
import { BadFileError, TerminalError, TransientError, WarehouseStatementError, describeError } from '../core/errors';
import {
  AUDIT_FILES_TABLE,
  AUDIT_LOADS_TABLE,
  AUDIT_SCHEMA,
  KEY_ORDER_TABLE,
  REFUSED_NULLS,
  auditTableDdl,
  copyManifestKey,
  lockTableDdl,
  lockTableName,
  planLoad,
  targetTableDdl,
  type LoadViewKind,
  type PlannedFile,
} from '../core/load-plan';
import { DELETION_REFUSED_NEWER, DELETION_STATUS, planDeletion, type DeletionPlanInput } from '../core/deletes';
import { versionId, type AttemptOutcome, type CommittedFact } from '../core/load-protocol';
import type { ObjectStore, Row, StatementState, Warehouse } from '../core/ports';
import { inListStatements, LOAD_VIEWS, qualifiedName, quoteIdent, quoteLiteral } from '../core/sql';

/** One load attempt: one warehouse transaction under its own load id. */
export interface LoadAttempt {
  readonly runId: string;
  readonly loadId: string;
  readonly files: readonly PlannedFile[];
  readonly targetColumns: readonly string[];
  /** A full run's snapshot: the transaction empties the target and loads exactly these files. */
  readonly replace?: boolean;
  /** Columns no staged row may hold a NULL in (load-plan.ts requiredColumns). */
  readonly requiredColumns?: readonly string[];
}

/** An object version of an attempt, as its outcome names it (the COPY read `copyKey` when set). */
export type AttemptFile = Pick<PlannedFile, 'key' | 'etag' | 'copyKey'>;

/** A committed object version, with the rows its file declared. */
export interface CommittedFile extends CommittedFact {
  readonly fileRows: number;
}

/**
 * The warehouse side of the load protocol: what was committed (read from the audit tables), and
 * load attempts submitted, watched and judged (never cancelled: a statement that may still commit
 * is waited for, lambdas/core/load-protocol.ts). The load stage drives it; a model of it
 * in memory drives the fast-check tests of the same driver.
 */
export interface LoadTarget {
  /** Creates the audit tables (and the target, when the dataset declares columns); the target's columns in order. */
  prepare(): Promise<TargetColumn[]>;
  /** Adds nullable columns at the end of the target (`schemaDrift: add-columns`). */
  addColumns(columns: readonly { name: string; type: string }[]): Promise<void>;
  /** Committed audit facts of these object versions, across every load (not only this run's). */
  committed(files: readonly { key: string; etag: string }[]): Promise<Map<string, CommittedFile>>;
  /** Submits the attempt; resolves once the warehouse took it (asynchronous) or once it ended. */
  submit(attempt: LoadAttempt): Promise<StatementState>;
  /** Where an attempt is; `unknown` when the warehouse knows no such statement. */
  state(loadId: string): Promise<StatementState>;
  /**
   * How an ended attempt came out, read back from `syncproof_loads` and the load error views;
   * `files`: the object versions the attempt held, with the pinned copies its COPY read.
   */
  outcome(loadId: string, ended: StatementState, files: readonly AttemptFile[]): Promise<AttemptOutcome>;
}

/** LoadTarget over the Warehouse port: Redshift through the Data API, or the Postgres family. */
export class WarehouseLoadTarget implements LoadTarget {
  /** Outcomes of attempts a synchronous warehouse ran in this process. */
  private readonly ended = new Map<string, StatementState>();
  private readonly errors = new Map<string, unknown>();
  /** Statement ids of attempts this process submitted (others are found by name). */
  private readonly submitted = new Map<string, string>();

  constructor(
    private readonly wh: Warehouse,
    private readonly dataset: DatasetConfig,
    private readonly objects: ObjectStore,
    private readonly iamRole: string,
    private readonly views: LoadViewKind = 'serverless',
  ) {}

  async prepare(): Promise<TargetColumn[]> {
    const { schema, table } = this.dataset.target;
    const read = () =>
      this.wh.query(
        'SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns ' +
          "WHERE (table_schema = :schema AND table_name = :table) OR (table_schema = :audit AND table_name IN ('syncproof_loads', 'syncproof_load_files', 'syncproof_key_order', :lock)) " +
          'ORDER BY table_schema, table_name, ordinal_position',
        { schema, table, audit: AUDIT_SCHEMA, lock: lockTableName(this.dataset.name) },
      );
    const targetOf = (rows: Row[]) => rows.filter((r) => r.table_schema === schema && r.table_name === table);
    let rows = await read();
    const made = (rows: Row[]) => {
      const tables = new Set(rows.map((r) => `${String(r.table_schema)}.${String(r.table_name)}`));
      const audited = [AUDIT_LOADS_TABLE, AUDIT_FILES_TABLE, KEY_ORDER_TABLE, lockTableName(this.dataset.name)].every((t) => tables.has(`${AUDIT_SCHEMA}.${t}`));
      return audited && (targetOf(rows).length > 0 || !this.dataset.columns);
    };
    if (!made(rows)) {
      // Concurrent loads (of this dataset or another: the audit tables are shared) create the same
      // tables. `IF NOT EXISTS` does not make that safe: the loser of the race fails on the catalog
      // (PostgreSQL and Redshift: duplicate key in pg_type_typname_nsp_index) or on serializable
      // isolation (1023). The loser reads the catalog again and goes on once the tables are made.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.wh.executeTransaction([...auditTableDdl(), lockTableDdl(this.dataset.name), ...targetTableDdl(this.dataset)], `ddl-${this.dataset.name}-${Date.now()}`);
          rows = await read();
          break;
        } catch (error) {
          rows = await read();
          if (made(rows)) break;
          if (attempt >= 3) throw error;
        }
      }
    }
    const target = targetOf(rows);
    if (target.length === 0) {
      throw new TerminalError(
        `target table ${schema}.${table} of dataset '${this.dataset.name}' does not exist; create it, or list its columns in the dataset configuration so syncproof creates it`,
      );
    }
    return target.map((r) => ({ name: String(r.column_name), type: String(r.data_type), nullable: String(r.is_nullable).toUpperCase() !== 'NO' }));
  }

  async addColumns(columns: readonly { name: string; type: string }[]): Promise<void> {
    const table = qualifiedName(this.dataset.target.schema, this.dataset.target.table);
    // One statement each: Redshift's ALTER TABLE adds one column at a time.
    for (const c of columns) {
      await this.wh.executeTransaction([`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`], `add-${this.dataset.name}-${c.name}-${Date.now()}`);
    }
  }

  async committed(files: readonly { key: string; etag: string }[]): Promise<Map<string, CommittedFile>> {
    const wanted = new Set(files.map((f) => versionId(f.key, f.etag)));
    const keys = [...new Set(files.map((f) => f.key))];
    const out = new Map<string, CommittedFile>();
    const statements = inListStatements(
      keys.map(quoteLiteral),
      (list) =>
        `SELECT object_key, etag, MIN(load_id) AS load_id, MIN("rows") AS loaded_rows, MIN(file_rows) AS file_rows, COUNT(*) AS loads ` +
        `FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_FILES_TABLE)} WHERE object_key IN (${list}) GROUP BY object_key, etag`,
    );
    for (const sql of statements) {
      const rows = await this.wh.query(sql);
      for (const r of rows) {
        const id = versionId(String(r.object_key), String(r.etag));
        if (!wanted.has(id)) continue;
        out.set(id, {
          loadId: String(r.load_id),
          rows: r.loaded_rows === null ? null : Number(r.loaded_rows),
          fileRows: Number(r.file_rows),
          loads: Number(r.loads),
        });
      }
    }
    return out;
  }

  async submit(attempt: LoadAttempt): Promise<StatementState> {
    const manifestKey = copyManifestKey(INTERNAL_PREFIX, this.dataset.name, attempt.loadId);
    const plan = planLoad({
      dataset: this.dataset,
      runId: attempt.runId,
      loadId: attempt.loadId,
      bucket: this.objects.bucket,
      iamRole: this.iamRole,
      files: attempt.files,
      manifestKey,
      targetColumns: attempt.targetColumns,
      replace: attempt.replace,
      requiredColumns: attempt.requiredColumns,
    });
    if (plan.manifest) await this.objects.putJson(manifestKey, plan.manifest);
    return this.run(attempt.loadId, plan.statements);
  }

  /**
   * Submits a deletion attempt (lambdas/core/deletes.ts planDeletion): the same transaction
   * discipline as a load, watched by {@link state} and judged by {@link outcome}.
   */
  async submitDeletion(attempt: Omit<DeletionPlanInput, 'dataset' | 'bucket' | 'iamRole'>): Promise<StatementState> {
    return this.run(attempt.attemptId, planDeletion({ ...attempt, dataset: this.dataset, bucket: this.objects.bucket, iamRole: this.iamRole }));
  }

  /** Submits one attempt's statements as a transaction named by its id. */
  private async run(loadId: string, statements: readonly string[]): Promise<StatementState> {
    const attempt = { loadId };
    if (this.wh.statements) {
      this.submitted.set(attempt.loadId, await this.wh.statements.submitTransaction(statements, attempt.loadId, attempt.loadId));
      return { status: 'running' };
    }
    let state: StatementState;
    try {
      await this.wh.executeTransaction(statements, attempt.loadId);
      state = { status: 'finished' };
    } catch (error) {
      if (error instanceof TransientError) {
        // Connection lost or COMMIT unanswered: the transaction is over, its outcome is in the audit.
        state = { status: 'unknown' };
      } else {
        state = {
          status: 'failed',
          error: describeError(error),
          ...(error instanceof WarehouseStatementError && error.statementIndex !== undefined ? { statementIndex: error.statementIndex } : {}),
          ...(error instanceof WarehouseStatementError && error.queryId !== undefined ? { queryId: error.queryId } : {}),
        };
      }
      this.errors.set(attempt.loadId, error);
    }
    this.ended.set(attempt.loadId, state);
    return state;
  }

  async state(loadId: string): Promise<StatementState> {
    const statements = this.wh.statements;
    if (!statements) return this.ended.get(loadId) ?? { status: 'unknown' };
    const id = this.submitted.get(loadId) ?? (await statements.findByName(loadId));
    return id === undefined ? { status: 'unknown' } : statements.describe(id);
  }

  async outcome(loadId: string, ended: StatementState, files: readonly AttemptFile[]): Promise<AttemptOutcome> {
    const rows = await this.wh.query(
      `SELECT status, files, "rows", expected_rows, audited_before, mismatched_files FROM ${qualifiedName(AUDIT_SCHEMA, AUDIT_LOADS_TABLE)} WHERE load_id = :loadId`,
      { loadId },
    );
    const row = rows[0];
    if (row?.status === 'committed' || row?.status === DELETION_STATUS) return { kind: 'committed' };
    if (row?.status === DELETION_REFUSED_NEWER) {
      return {
        kind: 'failed',
        reason: `deletion ${loadId} of dataset '${this.dataset.name}' deleted nothing: a load of the dataset committed after the comparison that found its keys, so a key may hold a newer version now; compare again and propagate what that comparison finds`,
      };
    }
    if (row?.status === REFUSED_NULLS) {
      return {
        kind: 'refused',
        reason: `load ${loadId} merged nothing: a staged row holds a NULL in a key column or in a column the target declares NOT NULL`,
        alreadyLoaded: 0,
        contentMismatch: false,
        files: Number(row.files),
        nullValues: true,
      };
    }
    if (row?.status === 'refused') {
      const alreadyLoaded = Number(row.audited_before);
      const mismatched = Number(row.mismatched_files);
      const staged = Number(row.rows);
      const expected = Number(row.expected_rows);
      const parts = [
        alreadyLoaded > 0 ? `${alreadyLoaded} of its object versions were already loaded by another load` : '',
        staged !== expected ? `the warehouse staged ${staged} rows where the files' footers declare ${expected}` : '',
        mismatched > 0 ? `the warehouse counted other rows than the footer for ${mismatched} file${mismatched > 1 ? 's' : ''}` : '',
      ].filter(Boolean);
      return {
        kind: 'refused',
        reason: `load ${loadId} merged nothing: ${parts.join('; ') || 'its guard refused it'}`,
        alreadyLoaded,
        contentMismatch: mismatched > 0 || staged !== expected,
        files: Number(row.files),
      };
    }
    if (ended.status !== 'failed') return { kind: 'not-committed' };
    return this.classifyFailure(loadId, ended, files);
  }

  /** A file-specific COPY error quarantines that file; anything else fails the run (DESIGN.md §4). */
  private async classifyFailure(
    loadId: string,
    failed: Extract<StatementState, { status: 'failed' }>,
    files: readonly AttemptFile[],
  ): Promise<AttemptOutcome> {
    const local = this.errors.get(loadId);
    if (local instanceof BadFileError && files.some((f) => f.key === local.key || f.copyKey === local.key)) {
      const file = files.find((f) => f.key === local.key || f.copyKey === local.key)!;
      const message = file.key === local.key ? local.message : `s3 object '${file.key}' (read from its pinned copy): ${local.message}`;
      return { kind: 'file-errors', files: new Map([[this.idOfKey(files, local.key), message]]) };
    }
    if (isTransientText(failed.error)) return { kind: 'not-committed' };
    if (failed.queryId !== undefined) {
      const named = await this.loadErrors(failed.queryId, files);
      if (named.size > 0) return { kind: 'file-errors', files: named };
    }
    return {
      kind: 'failed',
      reason: `load ${loadId} failed for a reason no single file causes, so nothing was quarantined: ${failed.error}. ` +
        'Check the COPY role, its S3 and KMS permissions and the bucket, then run again',
    };
  }

  /** Rows of the load error view for a failed COPY, by the file they name. */
  private async loadErrors(queryId: number, files: readonly AttemptFile[]): Promise<Map<string, string>> {
    const sql =
      this.views === 'serverless'
        ? `SELECT TRIM(file_name) AS file_name, line_number, TRIM(column_name) AS column_name, TRIM(error_message) AS message FROM ${LOAD_VIEWS.serverless.errors} WHERE query_id = :queryId`
        : `SELECT TRIM(filename) AS file_name, line_number, TRIM(colname) AS column_name, TRIM(err_reason) AS message FROM ${LOAD_VIEWS.provisioned.errors} WHERE query = :queryId`;
    const rows = await this.wh.query(sql, { queryId });
    const out = new Map<string, string>();
    const prefix = `s3://${this.objects.bucket}/`;
    for (const r of rows) {
      const name = String(r.file_name ?? '');
      const key = name.startsWith(prefix) ? name.slice(prefix.length) : name;
      if (!files.some((f) => f.key === key || f.copyKey === key)) continue;
      const where = [r.line_number !== null && r.line_number !== undefined ? `line ${String(r.line_number)}` : '', r.column_name ? `column '${String(r.column_name)}'` : '']
        .filter(Boolean)
        .join(', ');
      const original = files.find((f) => f.key === key || f.copyKey === key)!.key;
      out.set(this.idOfKey(files, key), `s3 object '${original}': the warehouse could not load it${where ? ` (${where})` : ''}: ${String(r.message ?? '')}`);
    }
    return out;
  }

  /** The version a COPY read under `key`: its own key, or its pinned copy's. */
  private idOfKey(files: readonly AttemptFile[], key: string): string {
    const f = files.find((x) => x.key === key || x.copyKey === key)!;
    return versionId(f.key, f.etag);
  }
}

/** Redshift's serializable-isolation (1023) and concurrent-transaction failures are worth retrying. */
function isTransientText(text: string): boolean {
  return /\b1023\b|serializable isolation|concurrent transaction|could not serialize|deadlock detected|TransientError/i.test(text);
}
