/**
 * The content tier of verification (DESIGN.md §8 tier 4, issue #15 items 4–5): one dataset's rows
 * compared value by value. Database datasets: source ↔ warehouse over every row up to the
 * dataset's watermark position (or from `since`) by the run-window machinery
 * (lambdas/core/content/window-check.ts checkRunWindow: segment checksums, every difference re-read
 * at the source by key); file datasets: the rows the loaded Parquet versions say the target holds
 * (lambdas/core/content/file-content.ts). `sampled`: a seeded subset of top-level segments, PASSED_PARTIAL.
 *
 * Deletes (keys the warehouse holds that the re-read shows the source no longer has): under
 * `deletes: "report"` a FAILED finding; under `"propagate"` they are removed through the
 * exactly-once load path — by the {@link Propagate} port the caller gives (the load stage's
 * propagateDeletes: a stage never imports a sibling stage) — only from a complete comparison that
 * listed every key, and then the dataset is compared again so the verdict is about the state after.
 *
 * Late-row reconciliation (the schedule's input carries the dataset's `reconcileWindow`): the
 * comparison covers the recent window only (from the watermark's cursor minus the window, up to the
 * watermark), and when it finds real missing or changed rows behind the watermark the output names
 * a repair run of this report (`repair`: a child SyncStateMachine execution in mode `repair`,
 * lambdas/core/repair.ts), which the VerifyStateMachine starts before it compares again (`repaired`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { openWarehouseSide } from '../adapters/content/warehouse-side';
import { fileContentDeps } from '../adapters/file-content-deps';
import { INTERNAL_PREFIX, requireDataset, type DatasetConfig } from '../core/config';
import { verifyFileContent, type FileContentCompared } from '../core/content/file-content';
import { checkRunWindow, type WindowCheckOutcome, type WindowReport } from '../core/content/window-check';
import { committedLoadCount, deletionRequestKey, type DeletionRequest } from '../core/deletes';
import { InvalidInputError } from '../core/errors';
import { formatMicros, parseWindow, timeMicros } from '../core/keyset';
import { readSchemaDocument, type CursorKind } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import type { VerificationStatus } from '../core/verification';
import { contentSettingsOf, deletesOf } from '../core/verify-config';

export const contentTierInputSchema = z.object({
  runId: z.string().min(1),
  /** The execution input (`{"dataset": …, "tier"?: …, "seed"?: …}`) or absent. */
  input: z.unknown().optional(),
  dataset: z.string().min(1).optional(),
  /**
   * `content` (every row) or `sampled` (a seeded subset of segments); `all` means content; `counts`
   * reaches here only with `reconcileWindow` (the schedule's late-row reconciliation), and means content.
   */
  tier: z.enum(['content', 'sampled', 'all', 'counts']).optional(),
  /** Database datasets: compare only rows whose cursor is at or after this value. */
  since: z.string().min(1).optional(),
  /** `sampled`: the seed drawing the segments (default: the run id); the report prints it. */
  seed: z.string().min(1).optional(),
  /**
   * The VerifyStateMachine's second pass, after PropagateDeletes applied the deletion the first
   * pass proved: what it did (the load stage's DeletionOutput); the verdict is this comparison's.
   */
  propagated: z.object({ keys: z.number(), rowsDeleted: z.number(), appliedNow: z.boolean(), reportUri: z.string() }).optional(),
  /**
   * The VerifyStateMachine's check after RepairRun: the repair child execution started from the
   * first pass's report (`reportUri`), and how it ended; the verdict is this comparison's.
   */
  repaired: z.object({ executionArn: z.string(), status: z.string(), runStatus: z.string().nullish(), reportUri: z.string() }).optional(),
});
export type ContentTierInput = z.input<typeof contentTierInputSchema>;

/** Removes keys from a dataset's target through the exactly-once load path (lambdas/load/deletes.ts propagateDeletes). */
export type Propagate = (request: DeletionRequest) => Promise<{ readonly status: string; readonly keys: number; readonly rowsDeleted: number; readonly appliedNow: boolean; readonly reportUri: string }>;

type Key = readonly (string | null)[];

/** Differing keys of a content check (no values: those are in the comparison's report object). */
export interface ContentKeys {
  readonly missing: readonly Key[];
  readonly extra: readonly Key[];
  readonly changed: readonly { readonly key: Key; readonly columns: readonly string[] }[];
  readonly deleted: readonly Key[];
  readonly duplicates: readonly Key[];
}

/** The content tier's report (stored in S3; `comparison` holds the values of changed rows). */
export interface ContentTierReport {
  readonly tier: 'content' | 'sampled';
  readonly mode: 'database' | 'file';
  readonly runId: string;
  readonly dataset: string;
  readonly status: VerificationStatus;
  readonly verifiedAt: string;
  readonly summary: string;
  /** What was compared, in words: columns, rows, segments, queries, window or sample. */
  readonly compared: string;
  readonly keys: ContentKeys;
  readonly counts: { readonly missing: number; readonly extra: number; readonly changed: number; readonly deleted: number; readonly duplicates: number };
  readonly deletes: 'report' | 'propagate';
  /** The seed of a sampled check (give it as `seed` to draw the same segments again). */
  readonly seed?: string;
  /** The comparison's own report (database: the window report; file: the file content report's URI). */
  readonly comparisonUri: string;
  readonly comparison?: WindowReport;
  readonly fileCompared?: FileContentCompared;
  /** Under `propagate`: what the deletion did, and the comparison before it. */
  readonly propagated?: { readonly keys: number; readonly rowsDeleted: number; readonly appliedNow: boolean; readonly reportUri: string; readonly beforeUri?: string };
  /** The late-row reconciliation (`reconcileWindow`): the window compared, from the watermark's cursor back. */
  readonly reconcile?: { readonly window: string | number; readonly since: string | null };
  /** After a repair run the reconciliation started: that run, and the report it repaired (the check before it). */
  readonly repaired?: { readonly executionArn: string; readonly status: string; readonly runStatus?: string | null; readonly reportUri: string };
}

export interface ContentTierOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly tier: 'content' | 'sampled';
  readonly status: VerificationStatus;
  readonly reportUri: string;
  readonly summary: string;
  /**
   * Under `deletes: "propagate"` with no {@link Propagate} port (the Lambda): the deletion this
   * comparison proved, written as a DeletionRequest for the PropagateDeletes state; compare again after.
   */
  readonly deletion?: { readonly requestKey: string; readonly keys: number };
  /**
   * Under `reconcileWindow`: real missing or changed rows behind the watermark were found; the
   * RepairRun state starts this child SyncStateMachine execution (`name`, `input`: mode repair of
   * this report), then the window is compared again.
   */
  readonly repair?: { readonly name: string; readonly input: { readonly dataset: string; readonly mode: 'repair'; readonly repair: { readonly reportUri: string } }; readonly keys: number };
}

/**
 * The child execution name of a verification's repair run: `<runId>-repair`, or a hash of the run
 * id when that is longer than Step Functions' 80 characters. Deterministic, so a restarted parent
 * meets the child it started.
 */
export function repairExecutionName(runId: string): string {
  const name = `${runId}-repair`;
  return name.length <= 80 ? name : `repair-${createHash('sha256').update(runId).digest('hex').slice(0, 40)}`;
}

/** Where the reconciliation starts: the watermark's cursor minus `window` (a duration of a time cursor, a number of ids of an integer one). */
export function reconcileSince(cursor: string, kind: CursorKind, window: string | number): string {
  const back = parseWindow(window, kind, 'reconcileWindow');
  return kind === 'time' ? formatMicros(timeMicros(cursor) - back) : String(BigInt(cursor) - back);
}

/** Where a content-tier report is stored. */
export function contentTierReportKey(dataset: string, runId: string): string {
  return `${INTERNAL_PREFIX}reports/${dataset}/${runId}/content-tier.json`;
}

const n = (x: number) => x.toLocaleString('en-US');
const keyText = (k: Key) => `(${k.map((v) => (v === null ? 'NULL' : v)).join(', ')})`;

function databaseKeys(r: WindowReport): ContentKeys {
  return {
    missing: r.missing.keys,
    extra: r.extra.keys,
    changed: r.changed.rows.map((c) => ({ key: c.key, columns: c.columns.map((d) => d.column) })),
    deleted: r.deleted.keys,
    duplicates: r.duplicates.map((d) => d.key),
  };
}

/** The reconcile window of a dataset with a watermark: `since` = the watermark's cursor minus the window (null: no watermark yet, the whole table). */
async function reconcileWindowOf(dataset: DatasetConfig, window: string | number, deps: StageDeps): Promise<{ window: string | number; since: string | null }> {
  const schema = await readSchemaDocument(deps.objects, dataset.name);
  const cursor = (await deps.watermarks?.get(dataset.name))?.position?.cursor;
  if (!schema || cursor === undefined) return { window, since: null };
  return { window, since: reconcileSince(cursor, schema.cursorKind, window) };
}

/** One database comparison: everything up to the watermark position (or from `since`), optionally sampled. */
async function compareDatabase(dataset: DatasetConfig, runId: string, opts: { since?: string; sample?: { segments: number; seed: string } }, deps: StageDeps): Promise<WindowCheckOutcome> {
  const schema = await readSchemaDocument(deps.objects, dataset.name);
  if (!schema) throw new InvalidInputError(`dataset '${dataset.name}' has not been extracted yet (no schema document): run syncproof sync ${dataset.name} first`);
  if (!deps.sources) throw new InvalidInputError(`dataset '${dataset.name}' has a source, but this stage cannot open source databases`);
  const watermark = await deps.watermarks?.get(dataset.name);
  const to = watermark?.position ?? undefined;
  return checkRunWindow(
    {
      dataset,
      schema,
      runId,
      ...(opts.since !== undefined ? { from: { cursor: opts.since, key: [] } } : {}),
      ...(to ? { to } : { whole: opts.since === undefined }),
      reportKey: `${INTERNAL_PREFIX}reports/${dataset.name}/${runId}/content.json`,
      ...(opts.sample ? { sample: opts.sample } : {}),
      complete: opts.since === undefined,
    },
    {
      objects: deps.objects,
      clock: deps.clock,
      sources: deps.sources,
      warehouseSide: async (table) => openWarehouseSide(await deps.warehouse(), table),
      targetLoads: async () => committedLoadCount(await deps.warehouse(), dataset.name),
      log: deps.log,
    },
  );
}

function describeDatabase(r: WindowReport): string {
  const c = r.compared;
  const f = r.window.filter;
  const scope = r.window.whole ? 'the whole table' : `${r.window.cursorColumn} ${f?.from !== undefined ? `from ${f.from} ` : ''}up to the watermark ${f?.to ?? '(none)'}`;
  const sample = r.sample ? `, a sample of ${r.sample.segments} top-level segments (seed ${r.sample.seed})` : '';
  const left = r.notCompared.length ? `; not compared: ${r.notCompared.map((x) => x.column).join(', ')}` : '';
  return `${c.columns.length} columns (${c.columns.join(', ')}), ${n(c.rowsA)} source rows and ${n(c.rowsB)} warehouse rows over ${scope}${sample}, ${n(c.segments)} segments, ${n(c.segmentQueries)} segment queries, ${n(c.fetchedRows)} rows fetched, ${n(c.recheckedKeys)} keys re-read at the source${left}`;
}

function counts(r: WindowReport) {
  return { missing: r.missing.count, extra: r.extra.count, changed: r.changed.count, deleted: r.deleted.count, duplicates: r.duplicates.length };
}

function findings(dataset: string, c: ContentTierReport['counts'], keys: ContentKeys, policy: 'report' | 'propagate', partial: boolean, pending = false): string[] {
  const out: string[] = [];
  const five = (list: readonly Key[]) => list.slice(0, 5).map(keyText).join(', ');
  if (c.missing) out.push(`${n(c.missing)} missing in the warehouse (${five(keys.missing)})`);
  if (c.extra) out.push(`${n(c.extra)} extra in the warehouse (${five(keys.extra)})`);
  if (c.changed) out.push(`${n(c.changed)} changed (${five(keys.changed.map((x) => x.key))}; columns ${[...new Set(keys.changed.flatMap((x) => x.columns))].slice(0, 5).join(', ')})`);
  if (c.duplicates) out.push(`${n(c.duplicates)} keys duplicated (${five(keys.duplicates)})`);
  if (c.deleted) {
    out.push(
      policy === 'report'
        ? `${n(c.deleted)} keys the warehouse holds were deleted at the source (${five(keys.deleted)}): set "deletes": "propagate" on dataset '${dataset}' to remove them through the load path, or remove them from the target`
        : pending
          ? `${n(c.deleted)} keys the warehouse holds were deleted at the source (${five(keys.deleted)}): proved for propagation (deletes "propagate"), applied next by the load stage`
          : partial
          ? `${n(c.deleted)} keys the warehouse holds were deleted at the source (${five(keys.deleted)}), not propagated from a partial comparison: run the content tier over the whole dataset (--tier content, no --since)`
          : `${n(c.deleted)} keys the warehouse holds were deleted at the source (${five(keys.deleted)}) and could not be propagated here: run syncproof verify ${dataset} --tier content`,
    );
  }
  return out;
}

/** The verdict of a database comparison: any finding FAILs; a clean sample is PASSED_PARTIAL. */
function databaseStatus(r: WindowReport, sampled: boolean): VerificationStatus {
  const c = counts(r);
  if (c.missing + c.extra + c.changed + c.duplicates + c.deleted > 0) return 'FAILED';
  return sampled ? 'PASSED_PARTIAL' : 'PASSED';
}

/**
 * Runs the content tier of one dataset, stores its report ({@link contentTierReportKey}) and
 * returns the verdict (a FAILED verdict is returned, not thrown). `propagate` is the deletion path
 * for `deletes: "propagate"`; without it such keys stay a FAILED finding.
 */
export async function runContentTier(raw: ContentTierInput, deps: StageDeps, options: { propagate?: Propagate } = {}): Promise<ContentTierOutput & { report: ContentTierReport }> {
  const input = contentTierInputSchema.parse(raw);
  const fromInput = (input.input ?? {}) as { dataset?: unknown; tier?: unknown; seed?: unknown; since?: unknown; reconcileWindow?: unknown };
  const name = input.dataset ?? fromInput.dataset;
  if (typeof name !== 'string') throw new InvalidInputError('invalid execution input: dataset: required: the name of a configured dataset; start the execution with {"dataset": "<name>"}');
  const dataset = requireDataset(deps.config, name);
  const tier: 'content' | 'sampled' = (input.tier ?? fromInput.tier) === 'sampled' ? 'sampled' : 'content';
  const window = typeof fromInput.reconcileWindow === 'string' || typeof fromInput.reconcileWindow === 'number' ? fromInput.reconcileWindow : undefined;
  const given = input.since ?? (typeof fromInput.since === 'string' ? fromInput.since : undefined);
  // The schedule's late-row reconciliation: the recent window, from the watermark's cursor back.
  const reconcile = window !== undefined && given === undefined && dataset.source ? await reconcileWindowOf(dataset, window, deps) : undefined;
  const since = given ?? reconcile?.since ?? undefined;
  const seed = tier === 'sampled' ? (input.seed ?? (typeof fromInput.seed === 'string' ? fromInput.seed : input.runId)) : undefined;
  const policy = deletesOf(dataset);
  const base = { tier, runId: input.runId, dataset: dataset.name, verifiedAt: deps.clock.now().toISOString(), deletes: policy, ...(seed !== undefined ? { seed } : {}) };
  let report: ContentTierReport;
  let deletion: ContentTierOutput['deletion'];
  let repair: ContentTierOutput['repair'];

  if (!dataset.source) {
    const out = await verifyFileContent(dataset, fileContentDeps(deps));
    const r = out.result;
    const keys: ContentKeys = { missing: r.missing, extra: r.extra, changed: r.changed.map((c) => ({ key: c.key, columns: c.columns.map((d) => d.column) })), deleted: [], duplicates: r.duplicates.map((d) => d.key) };
    const c = { missing: r.missingCount, extra: r.extraCount, changed: r.changedCount, deleted: 0, duplicates: r.duplicates.length };
    const fc = out.compared;
    const compared = `${fc.columns.length} columns (${fc.columns.join(', ')}), ${n(fc.expectedRows)} rows the ${n(fc.files)} loaded files say the target holds (${n(fc.fileRows)} read) against ${n(fc.targetRows)} target rows, matched by ${fc.mode}, ${n(fc.segments)} segments, ${n(fc.queries)} queries${tier === 'sampled' ? '; file datasets are compared whole (no sampling)' : ''}`;
    const status: VerificationStatus = out.status;
    const found = findings(dataset.name, c, keys, policy, false);
    const a = out.ambiguous;
    if (a.count) {
      found.push(
        `${n(a.count)} keys appear more than once with different values and the same version in one loaded file (${a.keys.slice(0, 5).map(keyText).join(', ')}; ${a.files.slice(0, 3).join(', ')}): ` +
          `the target holds one of those rows, and which one a load keeps is not defined; give the dataset a versionColumn that orders them, or write one row per key`,
      );
    }
    report = { ...base, mode: 'file', status, compared, keys, counts: c, comparisonUri: out.reportUri, fileCompared: fc, summary: `${dataset.name} content: ${status}; ${found.length ? found.join('; ') : `compared ${compared}`}` };
  } else {
    const sample = seed !== undefined ? { segments: contentSettingsOf(dataset).sampleSegments, seed } : undefined;
    let outcome = await compareDatabase(dataset, input.runId, { ...(since !== undefined ? { since } : {}), ...(sample ? { sample } : {}) }, deps);
    let propagated: ContentTierReport['propagated'] = input.propagated ? { ...input.propagated } : undefined;
    const first = outcome.report;
    const onlyDeletes = first.deleted.count > 0 && first.missing.count + first.extra.count + first.changed.count + first.duplicates.length === 0;
    if (policy === 'propagate' && onlyDeletes && !input.propagated && first.proof.status === 'COMPLETE' && first.proof.allKeysListed && first.proof.targetLoads !== undefined) {
      const request: DeletionRequest = {
        dataset: dataset.name,
        runId: input.runId,
        keys: first.deleted.keys,
        proof: { status: 'COMPLETE', allKeysListed: true, targetLoads: first.proof.targetLoads, reportUri: outcome.reportUri },
      };
      if (!options.propagate) {
        // The Lambda: the load stage applies it (PropagateDeletes), then this tier compares again.
        const requestKey = deletionRequestKey(INTERNAL_PREFIX, dataset.name, input.runId);
        await deps.objects.putJson(requestKey, request);
        deletion = { requestKey, keys: first.deleted.count };
      } else {
        const done = await options.propagate(request);
        propagated = { keys: done.keys, rowsDeleted: done.rowsDeleted, appliedNow: done.appliedNow, reportUri: done.reportUri, beforeUri: outcome.reportUri };
        // The verdict is about the state after the deletion: compare again.
        outcome = await compareDatabase(dataset, `${input.runId}-after`, since !== undefined ? { since } : {}, deps);
      }
    }
    const r = outcome.report;
    const keys = databaseKeys(r);
    const c = counts(r);
    const status = databaseStatus(r, sample !== undefined);
    const tierKey = contentTierReportKey(dataset.name, input.runId);
    // Real missing or changed rows behind the watermark in the reconcile window: the state machine repairs them from this report.
    if (reconcile && !input.repaired && !input.propagated && !deletion && c.missing + c.changed > 0) {
      repair = { name: repairExecutionName(input.runId), input: { dataset: dataset.name, mode: 'repair', repair: { reportUri: `s3://${deps.objects.bucket}/${tierKey}` } }, keys: Math.min(c.missing + c.changed, keys.missing.length + keys.changed.length) };
    }
    const repairedText = input.repaired
      ? `; reconciliation: the check before (${input.repaired.reportUri}) found rows behind the watermark missing or changed, repaired by ${input.repaired.executionArn.split(':').pop()} (${input.repaired.status}${input.repaired.runStatus ? `, ${input.repaired.runStatus}` : ''}), compared again`
      : repair
        ? `; reconciliation: ${n(repair.keys)} rows behind the watermark to repair (execution ${repair.name})`
        : '';
    const compared = describeDatabase(r);
    const found = findings(dataset.name, c, keys, policy, r.proof.status !== 'COMPLETE', deletion !== undefined);
    const note = sample && status !== 'FAILED' ? `; a sample: ${sample.segments} top-level segments drawn with seed ${sample.seed}, rows outside them not compared` : '';
    const done = propagated ? `; ${n(propagated.rowsDeleted)} rows of ${n(propagated.keys)} keys deleted at the source removed from the target${propagated.appliedNow ? '' : ' (already applied)'}` : '';
    report = {
      ...base,
      mode: 'database',
      status,
      compared,
      keys,
      counts: c,
      comparisonUri: outcome.reportUri,
      comparison: r,
      ...(propagated ? { propagated } : {}),
      ...(reconcile ? { reconcile: { window: reconcile.window, since: reconcile.since } } : {}),
      ...(input.repaired ? { repaired: input.repaired } : {}),
      summary: `${dataset.name} content: ${status}${done}${repairedText}; ${found.length ? found.join('; ') : `compared ${compared}`}${note}`,
    };
  }
  const key = contentTierReportKey(dataset.name, input.runId);
  await deps.objects.putJson(key, report);
  const reportUri = `s3://${deps.objects.bucket}/${key}`;
  deps.log.info('content tier', { status: report.status, reportUri, ...report.counts });
  return { runId: input.runId, dataset: dataset.name, tier, status: report.status, reportUri, summary: report.summary, ...(deletion ? { deletion } : {}), ...(repair ? { repair } : {}), report };
}
