/**
 * Content proof of a file dataset (issue #15 item 3): the rows the warehouse should hold — built in
 * JavaScript from exactly the object versions the ledger records as `loaded` (./expected-rows.ts) —
 * against the target, by the segment engine (./bisect.ts compareContent) with the same row hash
 * in JS and in the warehouse's SQL. Quarantined, forgotten, failed and not yet loaded versions are
 * not expected in the target. The verify stage calls {@link verifyFileContent}; the report goes to
 * S3 ({@link fileContentReportKey}). Ports only.
 */
import { INTERNAL_PREFIX, type DatasetConfig } from '../config';
import { wasLoaded } from '../ledger-status';
import { ObjectChangedError, TerminalError } from '../errors';
import { pinnedCopyKey } from '../load-plan';
import type { Clock, LedgerEntry, LedgerStore, ObjectStore } from '../ports';
import { s3OrderKey } from '../s3-order';
import type { FileValue } from '../stage-deps';
import type { VerificationStatus } from '../verification';
import { compareContent, contentPassed } from './bisect';
import { ExpectedRows, OCCURRENCES_COLUMN, parquetPlanColumn, type Tie } from './expected-rows';
import { REPORT_KEYS_MAX, type ChangedRow, type ComparisonPlan, type ContentResult, type ContentSide } from './model';
import { canonicalRow, sameValue } from './normalize';
import { buildPlan, type PlanColumn } from './plan';

/** A data file's column as its footer declares it (readable Parquet type, see ParquetColumn.type). */
export interface ContentFileColumn {
  readonly name: string;
  readonly type: string;
}

/** Reads loaded Parquet files for the comparison (lambdas/adapters/file-content-deps.ts). */
export interface ContentFileReader {
  /** The footer's columns of one object version (ranged reads pinned to `etag`). */
  columns(key: string, size: number, etag: string): Promise<readonly ContentFileColumn[]>;
  /**
   * Every value of `columns` (the file's names, in this order) of the object version `etag`, read
   * whole with `getBytes(key, undefined, { ifMatch: etag })`; `binary` names are read as bytes.
   * ObjectChangedError when the key holds another version.
   */
  read(key: string, etag: string, columns: readonly string[], binary: readonly string[]): Promise<{ rowCount: number; data: ArrayLike<FileValue>[] }>;
}

/** The dataset's target table as a content side (lambdas/adapters/file-content-deps.ts). */
export interface ContentTarget {
  /** The table's columns as its catalog declares them, in order; empty: no such table. */
  readonly catalog: readonly PlanColumn[];
  /**
   * A side over the table's rows; with `multiset`, over its distinct rows of those columns, each
   * with its number of occurrences in the column {@link OCCURRENCES_COLUMN}.
   */
  side(multiset?: { readonly columns: readonly string[] }): ContentSide;
  close(): Promise<void>;
}

export interface FileContentDeps {
  readonly objects: ObjectStore;
  readonly ledger: LedgerStore;
  readonly clock: Clock;
  readonly reader: ContentFileReader;
  openTarget(dataset: DatasetConfig): Promise<ContentTarget>;
}

/** What a file content check covered (the report's `compared`, also returned). */
export interface FileContentCompared {
  /** Loaded object versions read. */
  readonly files: number;
  /** Rows read from them. */
  readonly fileRows: number;
  /** Rows the target should hold (append: every row; upsert: one per key). */
  readonly expectedRows: number;
  /** Rows compared on the target's side (append: its distinct rows, each with its count). */
  readonly targetRows: number;
  /** Compared columns (key first); for append, the key is the whole row and the value its count. */
  readonly columns: readonly string[];
  /** Target columns no loaded file has (not compared). */
  readonly notInFiles: readonly string[];
  readonly segments: number;
  readonly queries: number;
  readonly fetchedRows: number;
  /** How rows were matched: `key` (upsert: newest version per key) or `multiset` (append). */
  readonly mode: 'key' | 'multiset';
}

/**
 * Keys a loaded file holds more than once at the same version with different values (no version
 * column, or equal versions): the load keeps one of those rows, in no defined order (Redshift keeps
 * no row order through COPY), so the target holding any of them is what the files say — a warning,
 * naming the files, never a difference.
 */
export interface AmbiguousKeys {
  readonly count: number;
  readonly keys: readonly (readonly (string | null)[])[];
  /** The files holding them (first {@link REPORT_KEYS_MAX}). */
  readonly files: readonly string[];
}

export interface FileContentOutput {
  /** PASSED_WITH_WARNINGS: no difference, and some keys were ambiguous in their file ({@link AmbiguousKeys}). */
  readonly status: Extract<VerificationStatus, 'PASSED' | 'PASSED_WITH_WARNINGS' | 'FAILED'>;
  /** The comparison's result, ambiguous keys whose target row is one of their candidates taken out of `changed`. */
  readonly result: ContentResult;
  readonly ambiguous: AmbiguousKeys;
  readonly compared: FileContentCompared;
  readonly reportUri: string;
}

/** Where the report of a check started at `at` goes. */
export function fileContentReportKey(dataset: string, at: Date): string {
  return `${INTERNAL_PREFIX}reports/${dataset}/content-${at.toISOString().replace(/[:.]/g, '-')}.json`;
}

/** A file dataset whose content cannot be compared: one sentence naming what and what to do. */
export class FileContentError extends TerminalError {
  override readonly name = 'FileContentError';
}

/** The loaded object versions of a dataset (`deleted` ones too: their rows are in the target), oldest first in S3 order. */
async function loadedFiles(ledger: LedgerStore, dataset: string): Promise<(LedgerEntry & { order: string })[]> {
  const out: (LedgerEntry & { order: string })[] = [];
  for await (const e of ledger.listDataset(dataset)) if (wasLoaded(e.status)) out.push({ ...e, order: s3OrderKey(e) });
  return out.sort((x, y) => (x.order < y.order ? -1 : x.order > y.order ? 1 : 0));
}

/**
 * Where a loaded version's bytes are: the key itself at its ETag, else (overwritten or deleted
 * since) the copy its load pinned and COPYed (lambdas/core/load-plan.ts pinnedCopyKey), at that ETag.
 */
async function withVersion<T>(entry: LedgerEntry, dataset: string, read: (key: string) => Promise<T>): Promise<T> {
  const candidates = [entry.key, ...(entry.loadedBy ? [pinnedCopyKey(INTERNAL_PREFIX, dataset, entry.loadedBy, entry.key, entry.etag)] : [])];
  let last: unknown;
  for (const key of candidates) {
    try {
      return await read(key);
    } catch (error) {
      last = error;
      if (!(error instanceof ObjectChangedError) && !/not found|does not exist|NoSuchKey/i.test(String((error as Error).message))) throw error;
    }
  }
  if (entry.status === 'deleted') {
    throw new FileContentError(
      `s3 object '${entry.key}' (ETag ${entry.etag}) was loaded, then removed by retention (\`syncproof clean\`, ${entry.deletedAt ?? 'at an unknown time'}) and its pinned copy has expired, so the content tier cannot read the rows it loaded; ` +
        `verify this dataset with the counts tier, or keep its files longer (retention.olderThan) where the content tier must re-read them`,
      { cause: last },
    );
  }
  throw new FileContentError(
    `s3 object '${entry.key}' (ETag ${entry.etag}) is loaded but neither it nor its pinned copy holds that version any more, so the rows it loaded cannot be proven; ` +
      `restore the object or run the content check after its next load`,
    { cause: last },
  );
}

/**
 * The plan: the files' columns (first type seen) against the target's, keyed as the dataset says.
 * No loaded file: the target's own columns on both sides (every target row is then extra).
 */
function planFor(dataset: DatasetConfig, fileColumns: readonly ContentFileColumn[] | undefined, catalog: readonly PlanColumn[]): { plan: ComparisonPlan; notInFiles: string[] } {
  const byLower = new Map(catalog.map((c) => [c.name.toLowerCase(), c]));
  const files = fileColumns ? fileColumns.map((f) => parquetPlanColumn(f, byLower.get(f.name.toLowerCase()))) : catalog;
  const shared = files.filter((f) => byLower.has(f.name.toLowerCase()));
  const notInFiles = catalog.filter((c) => !shared.some((f) => f.name.toLowerCase() === c.name.toLowerCase())).map((c) => c.name);
  if (dataset.loadMode === 'upsert') {
    const { plan } = buildPlan(shared, catalog, { key: dataset.keyColumns, columns: shared.map((c) => c.name) });
    return { plan, notInFiles };
  }
  const keys = dataset.keyColumns.map((k) => shared.find((c) => c.name.toLowerCase() === k.toLowerCase())?.name ?? k);
  const wholeRow = [...keys, ...shared.map((c) => c.name).filter((n) => !keys.includes(n))];
  const count: PlanColumn = { name: OCCURRENCES_COLUMN, type: 'bigint' };
  const { plan } = buildPlan([...shared, count], [...catalog, count], { key: wholeRow, columns: [OCCURRENCES_COLUMN] });
  return { plan, notInFiles };
}

/**
 * Compares a file dataset's target with the rows its loaded files say it should hold (see the
 * module doc), writes the report to S3 and returns the verdict: `PASSED` when no key is missing,
 * extra, changed or duplicated; `FAILED` otherwise. Row values go only to the report object.
 */
export async function verifyFileContent(dataset: DatasetConfig, deps: FileContentDeps): Promise<FileContentOutput> {
  if (dataset.format !== 'parquet') throw new FileContentError(`dataset '${dataset.name}' is ${dataset.format}: the content check reads Parquet files only`);
  const startedAt = deps.clock.now();
  const files = await loadedFiles(deps.ledger, dataset.name);
  const target = await deps.openTarget(dataset);
  try {
    if (!target.catalog.length) {
      throw new FileContentError(`the target ${dataset.target.schema}.${dataset.target.table} of dataset '${dataset.name}' does not exist: load the dataset first`);
    }
    // Footers first: the union of the files' columns (a column added by schema drift is NULL in older files).
    const footers = [];
    for (const f of files) footers.push(await withVersion(f, dataset.name, (key) => deps.reader.columns(key, f.size, f.etag)));
    const union: ContentFileColumn[] = [];
    for (const cols of footers) for (const c of cols) if (!union.some((u) => u.name.toLowerCase() === c.name.toLowerCase())) union.push(c);
    const { plan, notInFiles } = planFor(dataset, files.length ? union : undefined, target.catalog);
    const version = dataset.versionColumn === undefined ? undefined : [...plan.key, ...plan.columns].find((c) => c.b.toLowerCase() === dataset.versionColumn!.toLowerCase())?.a;
    if (dataset.versionColumn !== undefined && version === undefined) {
      throw new FileContentError(`the version column ${dataset.versionColumn} of dataset '${dataset.name}' is in no loaded file: check the dataset's versionColumn`);
    }
    const expected = new ExpectedRows(plan, dataset.loadMode, version);
    const wanted = [...plan.key, ...plan.columns].filter((c) => c.a !== OCCURRENCES_COLUMN);
    for (const [i, f] of files.entries()) {
      const own = footers[i]!;
      const columns = wanted.flatMap((c) => own.filter((o) => o.name.toLowerCase() === c.a.toLowerCase()).map((o) => ({ file: o.name, plan: c.a, binary: c.type.kind === 'binary' })));
      const decoded = await withVersion(f, dataset.name, (key) =>
        deps.reader.read(key, f.etag, columns.map((c) => c.file), columns.filter((c) => c.binary).map((c) => c.file)),
      );
      expected.add({ columns: columns.map((c) => c.plan), rowCount: decoded.rowCount, data: decoded.data }, f.order, f.key);
    }
    const side = expected.side();
    const multiset = dataset.loadMode === 'append' ? { columns: plan.key.map((c) => c.b) } : undefined;
    const { result, ambiguous } = settleTies(await compareContent(side, target.side(multiset), plan, { concurrency: 1 }), expected.ties, plan);
    const compared: FileContentCompared = {
      files: files.length,
      fileRows: expected.rowsRead,
      expectedRows: expected.expectedRows,
      targetRows: result.compared.rowsB,
      columns: result.compared.columns,
      notInFiles,
      segments: result.compared.segments,
      queries: result.compared.segmentQueries,
      fetchedRows: result.compared.fetchedRows,
      mode: dataset.loadMode === 'append' ? 'multiset' : 'key',
    };
    const status = !contentPassed(result) ? 'FAILED' : ambiguous.count > 0 ? 'PASSED_WITH_WARNINGS' : 'PASSED';
    const key = fileContentReportKey(dataset.name, startedAt);
    await deps.objects.putJson(key, {
      dataset: dataset.name,
      kind: 'file-content',
      status,
      startedAt: startedAt.toISOString(),
      finishedAt: deps.clock.now().toISOString(),
      compared: { ...compared, loadedFiles: files.slice(0, REPORT_KEYS_MAX).map((f) => ({ key: f.key, etag: f.etag })) },
      missing: { count: result.missingCount, keys: result.missing },
      extra: { count: result.extraCount, keys: result.extra },
      changed: { count: result.changedCount, rows: result.changed },
      duplicates: { count: result.duplicates.length, keys: result.duplicates.slice(0, REPORT_KEYS_MAX) },
      ambiguous,
    });
    return { status, result, ambiguous, compared, reportUri: `s3://${deps.objects.bucket}/${key}` };
  } finally {
    await target.close();
  }
}

/**
 * Takes out of `changed` each ambiguous key ({@link Tie}) whose target row equals one of its
 * candidates: the row the target holds is `b` in the columns that differ and the hashed (later)
 * row elsewhere. Changed rows beyond the listed ones cannot be looked at and stay changed.
 */
function settleTies(result: ContentResult, ties: ReadonlyMap<string, Tie>, plan: ComparisonPlan): { result: ContentResult; ambiguous: AmbiguousKeys } {
  if (!ties.size) return { result, ambiguous: { count: 0, keys: [], files: [] } };
  const changed: ChangedRow[] = [];
  const keys: (readonly (string | null)[])[] = [];
  const files = new Set<string>();
  for (const row of result.changed) {
    const tie = ties.get(canonicalRow(row.key));
    const hashed = tie?.candidates[tie.candidates.length - 1];
    if (!tie || !hashed) {
      changed.push(row);
      continue;
    }
    const held = plan.columns.map((c, i) => {
      const d = row.columns.find((x) => x.column === c.a);
      return d ? d.b : (hashed[i] ?? null);
    });
    const isCandidate = tie.candidates.some((candidate) => plan.columns.every((c, i) => sameValue(candidate[i] ?? null, held[i] ?? null, c.type, plan.floatTolerance)));
    if (isCandidate) {
      keys.push(row.key);
      files.add(tie.file);
    } else changed.push(row);
  }
  // Ties whose target row was the hashed one were never reported: they are ambiguous all the same.
  const settled = keys.length;
  const listed = new Set(keys.map((k) => canonicalRow(k)));
  const reported = new Set(result.changed.map((r) => canonicalRow(r.key)));
  // Only when every changed key was listed: otherwise an unlisted tie may be one of the changed beyond.
  for (const [id, tie] of result.changedCount <= result.changed.length ? ties : []) {
    if (listed.has(id) || reported.has(id)) continue;
    files.add(tie.file);
    listed.add(id);
    keys.push(tie.key);
  }
  return {
    result: { ...result, changed, changedCount: result.changedCount - settled },
    ambiguous: { count: listed.size, keys: keys.slice(0, REPORT_KEYS_MAX), files: [...files].slice(0, REPORT_KEYS_MAX) },
  };
}
