/**
 * The clean stage (issue #16 item 3): removes a dataset's loaded and verified objects, a database
 * dataset's extraction files and syncproof's run documents past retention. What may go is decided
 * by lambdas/core/retention.ts; this module reads the facts (listing, ledger, runs, watermark),
 * and removes. Used by `syncproof clean` (cli/clean-command.ts: plan, show, ask, apply) and the
 * stack's scheduled clean Lambda (./handler.ts: plan and apply). Ports only.
 *
 * **Write-ahead.** A data object's ledger entry goes `loaded → deleted` (conditional) BEFORE its
 * S3 delete. A crash between leaves a `deleted` entry whose object is still there, which the next
 * clean removes (it judges `deleted` entries as loaded); the other order would leave a `loaded`
 * entry whose object is gone, which the next inventory reports as a loaded file deleted from S3.
 * The delete is conditional on the listed ETag (S3 `If-Match`): a key written again since keeps
 * its new version. A failing delete is recorded with its key and the rest go on; running the
 * clean again finishes it.
 *
 * S3 events of the deletes (`ObjectRemoved`) start nothing: the trigger's rule and the local
 * runtime route `Object Created` events only (lib/constructs/event-triggers.ts, local/s3-events.ts).
 * On the versioned bucket a delete leaves a noncurrent version, which the bucket's lifecycle
 * rule expires (lib/constructs/storage.ts).
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, isDatasetKey, requireDataset, retentionAgeSchema, type DatasetConfig } from '../core/config';
import { InvalidInputError, ObjectChangedError, TerminalError, describeError } from '../core/errors';
import { extractionDocumentPrefix, extractionDocumentSchema } from '../core/extraction';
import type { Position } from '../core/keyset';
import type { LedgerEntry, ObjectSummary } from '../core/ports';
import {
  CLEAN_KINDS,
  KEEP_REASONS,
  RUN_DOCUMENT_FOLDERS,
  behindWatermark,
  judgeDataObject,
  judgeRunDocument,
  lastPassedVerification,
  retentionAgeMs,
  runIdOfDocument,
  type CleanKind,
  type KeepReason,
  type PassedVerification,
} from '../core/retention';
import { readSchemaDocument } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';

export const cleanInputSchema = z.strictObject({
  /** One dataset; absent with `all`. */
  dataset: z.string().min(1).optional(),
  /** Every configured dataset (those without `retention` only with `olderThan`). */
  all: z.boolean().optional(),
  /** The retention age ('7d'); @default the dataset's `retention.olderThan` */
  olderThan: retentionAgeSchema.optional(),
  /** Plan only: report what would go, remove nothing. @default false */
  dryRun: z.boolean().optional(),
  /** Recorded as `deletedBy` in the ledger. @default `clean-<ISO time>` */
  cleanId: z.string().min(1).optional(),
});
export type CleanInput = z.input<typeof cleanInputSchema>;

/** Objects and bytes. */
export interface Tally {
  objects: number;
  bytes: number;
}

/** One object a plan removes. */
export interface PlannedRemoval {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly kind: CleanKind;
  /** Its ledger entry is `loaded`: mark it `deleted` before the delete. */
  readonly writeAhead: boolean;
}

/** What a clean does, or did, to one dataset. */
export interface DatasetCleanPlan {
  readonly dataset: string;
  /** Why nothing is planned, when that is so: no retention age, or no passed verification. */
  readonly skipped?: string;
  readonly olderThan?: string;
  /** Objects written or loaded from this instant on are within retention (ISO-8601). */
  readonly cutoff?: string;
  readonly verification?: PassedVerification;
  readonly removals: PlannedRemoval[];
  /** What the removals free, by kind. */
  readonly freeing: Record<CleanKind, Tally>;
  /** Objects kept, by reason. */
  readonly kept: Record<KeepReason, number>;
}

export interface CleanPlan {
  readonly cleanId: string;
  readonly at: string;
  readonly datasets: DatasetCleanPlan[];
}

/** What applying a plan did to one dataset. */
export interface DatasetCleanResult {
  readonly dataset: string;
  readonly removed: Record<CleanKind, Tally>;
  /** Keys written again (another version) or whose ledger entry moved meanwhile: left as they are. */
  changed: number;
  /** Deletes that failed, each with its key; a later clean retries them. */
  readonly failures: { readonly key: string; readonly error: string }[];
}

export interface CleanOutput extends CleanPlan {
  readonly dryRun: boolean;
  readonly results: DatasetCleanResult[];
  /** `FAILED` when a delete failed (see each result's failures). */
  readonly status: 'OK' | 'FAILED';
}

/** Deletes in flight at once. */
const DELETE_CONCURRENCY = 8;

function tallies(): Record<CleanKind, Tally> {
  return Object.fromEntries(CLEAN_KINDS.map((k) => [k, { objects: 0, bytes: 0 }])) as Record<CleanKind, Tally>;
}

function keptCounts(): Record<KeepReason, number> {
  return Object.fromEntries(KEEP_REASONS.map((r) => [r, 0])) as Record<KeepReason, number>;
}

/** The datasets an input names, each with its retention age (or why it has none). */
function selectDatasets(input: z.infer<typeof cleanInputSchema>, deps: StageDeps): { dataset: DatasetConfig; olderThan?: string }[] {
  if ((input.dataset === undefined) === !input.all) throw new InvalidInputError('name one dataset, or all of them (--all)');
  const datasets = input.all ? deps.config.datasets : [requireDataset(deps.config, input.dataset as string)];
  return datasets.map((d) => ({ dataset: d, olderThan: input.olderThan ?? d.retention?.olderThan }));
}

/** Extraction file key → its last row, from a database dataset's extraction documents. */
async function extractionLastRows(dataset: string, deps: StageDeps): Promise<Map<string, Position>> {
  const out = new Map<string, Position>();
  for await (const o of deps.objects.list(extractionDocumentPrefix(dataset))) {
    if (!o.key.endsWith('.json')) continue;
    const doc = extractionDocumentSchema.parse(await deps.objects.getJson(o.key));
    for (const f of doc.files) out.set(f.key, f.last);
  }
  return out;
}

/** Plans one dataset (see lambdas/core/retention.ts for the rules). */
async function planDataset(dataset: DatasetConfig, olderThan: string | undefined, now: Date, deps: StageDeps): Promise<DatasetCleanPlan> {
  const empty = { dataset: dataset.name, removals: [], freeing: tallies(), kept: keptCounts() };
  if (olderThan === undefined) return { ...empty, skipped: `dataset '${dataset.name}' has no retention: give --older-than, or set retention.olderThan in its configuration` };
  const cutoffMs = now.getTime() - (retentionAgeMs(olderThan) as number);
  const cutoff = new Date(cutoffMs).toISOString();
  const runs = [];
  for await (const r of deps.runs.listByDataset(dataset.name)) runs.push(r);
  const verification = lastPassedVerification(runs);
  if (!verification) {
    return { ...empty, olderThan, cutoff, skipped: `dataset '${dataset.name}' has no passed verification, so nothing of it is proven in the warehouse; run one (syncproof verify, or the stack's scheduled VerifyStateMachine) and clean again` };
  }
  // Runs whose documents stay: running ones, the newest (status links its reports), the
  // verification; with each, its loads' result documents (stage `load_<loadId>`).
  const kept = runs.filter((r, i) => i === 0 || r.status === 'RUNNING' || r.runId === verification.runId);
  const inUse = new Set<string>(kept.flatMap((r) => [r.runId, ...Object.keys(r.stages ?? {}).filter((s) => s.startsWith('load_')).map((s) => s.slice('load_'.length))]));

  const entries = new Map<string, LedgerEntry>();
  for await (const e of deps.ledger.listDataset(dataset.name)) entries.set(`${e.key}\u0000${e.etag}`, e);
  let behind: ((key: string) => boolean) | undefined;
  if (dataset.source) {
    const schema = await readSchemaDocument(deps.objects, dataset.name);
    const watermark = await deps.watermarks?.get(dataset.name);
    const lastRows = await extractionLastRows(dataset.name, deps);
    behind = schema ? behindWatermark({ kind: schema.cursorKind, position: watermark?.position, lastRows }) : () => false;
  }
  const plan: DatasetCleanPlan = { ...empty, olderThan, cutoff, verification };
  const add = (o: ObjectSummary, kind: CleanKind, writeAhead: boolean) => {
    plan.removals.push({ key: o.key, etag: o.etag, size: o.size, kind, writeAhead });
    plan.freeing[kind].objects += 1;
    plan.freeing[kind].bytes += o.size;
  };
  const dataKind: CleanKind = dataset.source ? 'extracts' : 'data';
  const ctx = { cutoffMs, verifiedFromMs: Date.parse(verification.startedAt), ...(behind ? { behindWatermark: behind } : {}) };
  for await (const o of deps.objects.list(dataset.prefix)) {
    if (o.key.endsWith('/') || !isDatasetKey(dataset, o.key)) continue;
    const decision = judgeDataObject(o, entries.get(`${o.key}\u0000${o.etag}`), ctx);
    if (decision.remove) add(o, dataKind, decision.writeAhead);
    else plan.kept[decision.reason] += 1;
  }
  for (const kind of ['batches', 'inventories', 'reports'] as const) {
    for (const folder of RUN_DOCUMENT_FOLDERS[kind]) {
      const prefix = `${INTERNAL_PREFIX}${folder}/${dataset.name}/`;
      for await (const o of deps.objects.list(prefix)) {
        const decision = judgeRunDocument(o, runIdOfDocument(o.key.slice(prefix.length)), cutoffMs, inUse);
        if (decision.remove) add(o, kind, false);
        else plan.kept[decision.reason] += 1;
      }
    }
  }
  return plan;
}

/** Reads the facts and decides what goes, removing nothing. */
export async function planClean(raw: CleanInput, deps: StageDeps): Promise<CleanPlan> {
  const input = cleanInputSchema.parse(raw);
  const now = deps.clock.now();
  const at = now.toISOString();
  const cleanId = input.cleanId ?? `clean-${at}`;
  const datasets: DatasetCleanPlan[] = [];
  for (const { dataset, olderThan } of selectDatasets(input, deps)) datasets.push(await planDataset(dataset, olderThan, now, deps));
  return { cleanId, at, datasets };
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}

/**
 * Removes what `plan` planned: for a data object, `loaded → deleted` in the ledger first, then the
 * conditional delete (see the module comment). `onRemoved` is told after each object.
 */
export async function applyClean(plan: CleanPlan, deps: StageDeps, onRemoved?: (done: number, total: number) => void): Promise<DatasetCleanResult[]> {
  const total = plan.datasets.reduce((n, d) => n + d.removals.length, 0);
  let done = 0;
  const results: DatasetCleanResult[] = [];
  for (const d of plan.datasets) {
    const result: DatasetCleanResult = { dataset: d.dataset, removed: tallies(), changed: 0, failures: [] };
    await pool(d.removals, DELETE_CONCURRENCY, async (r) => {
      try {
        if (r.writeAhead && !(await deps.ledger.markDeleted(r.key, r.etag, plan.cleanId, deps.clock.now().toISOString()))) {
          // The entry moved since the plan read it; only an entry another clean marked goes on.
          if ((await deps.ledger.get(r.key, r.etag))?.status !== 'deleted') {
            result.changed += 1;
            return;
          }
        }
        await deps.objects.delete(r.key, { ifMatch: r.etag });
        result.removed[r.kind].objects += 1;
        result.removed[r.kind].bytes += r.size;
      } catch (error) {
        if (error instanceof ObjectChangedError) result.changed += 1;
        else result.failures.push({ key: r.key, error: describeError(error) });
      } finally {
        onRemoved?.(++done, total);
      }
    });
    results.push(result);
  }
  return results;
}

/** Plans and, unless `dryRun`, applies: what the scheduled Lambda runs. */
export async function runClean(raw: CleanInput, deps: StageDeps): Promise<CleanOutput> {
  const input = cleanInputSchema.parse(raw);
  const plan = await planClean(input, deps);
  const dryRun = input.dryRun ?? false;
  const results = dryRun ? [] : await applyClean(plan, deps);
  const status = results.some((r) => r.failures.length > 0) ? 'FAILED' : 'OK';
  for (const r of results) deps.log.info('cleaned', { dataset: r.dataset, removed: r.removed, changed: r.changed, failures: r.failures.length });
  return { ...plan, dryRun, results, status };
}

/** Some deletes of a clean failed; the others were done, and a later clean retries these. */
export class CleanFailedError extends TerminalError {
  override readonly name = 'CleanFailedError';
}

/**
 * The scheduled clean (the stack's `clean` Lambda): {@link runClean}, failing the invocation when a
 * delete failed (so the failure is seen: the Lambda's error metric), naming the first keys.
 */
export async function runScheduledClean(raw: CleanInput, deps: StageDeps): Promise<CleanOutput> {
  const out = await runClean(raw, deps);
  const failures = out.results.flatMap((r) => r.failures);
  if (failures.length > 0) {
    throw new CleanFailedError(`${failures.length} deletes failed (${failures.slice(0, 3).map((f) => `${f.key}: ${f.error}`).join('; ')}${failures.length > 3 ? '; …' : ''}); the rest were removed, and the next clean retries these`);
  }
  return out;
}
