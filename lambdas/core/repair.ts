/**
 * Late-row repair (issue #15 item 5): what a content report asks a `repair` run to re-extract, and
 * what the run leaves behind. Shared by the CLI (`syncproof sync DATASET --repair REPORT` checks
 * the report before it starts anything), the extract stage (which reads the listed keys from the
 * source) and the commit (which proves them by content and records the repair).
 *
 * What is repaired: the keys a content report lists as **missing** in the warehouse or **changed**
 * (its "real" differences: the recheck found the source row at or before the compared window's
 * end), whose source row now lies at or before the watermark. A row whose cursor moved past the
 * watermark is the next incremental run's. Extra, deleted and duplicated keys are not repaired:
 * deletes are propagated by the `deletes` policy (verify --tier content), duplicates are the
 * warehouse's. Datasets with a source always load by upsert (the configuration refuses `append`
 * for them), so a changed row is replaced, never appended twice.
 *
 * A report lists at most 1,000 keys of each kind (`proof.allKeysListed` false when there were
 * more): the repair takes those listed and says to verify again for the rest (bounded work per
 * run; the scheduled reconciliation does that on every tick).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { INTERNAL_PREFIX, formatIssues } from './config';
import { InvalidInputError } from './errors';
import { positionSchema, repairOutcomeSchema } from './extraction';
import type { Position } from './keyset';
import type { ObjectStore } from './ports';
import { parseS3Uri } from './s3-uri';

type Key = readonly (string | null)[];

/** A report REPORT names that the repair refuses (missing, unreadable, another dataset's): exit 3, nothing loaded. */
export class RepairReportError extends InvalidInputError {
  override readonly name = 'InvalidInputError';
}

const keySchema = z.array(z.string().nullable());

/** The parts of a window report (lambdas/core/content/window-check.ts WindowReport) a repair reads. */
const windowReportSchema = z.object({
  dataset: z.string(),
  runId: z.string(),
  status: z.string(),
  window: z.object({ whole: z.boolean(), from: positionSchema.nullable(), to: positionSchema.nullable(), cursorColumn: z.string() }),
  missing: z.object({ count: z.number(), keys: z.array(keySchema) }),
  extra: z.object({ count: z.number(), keys: z.array(keySchema) }),
  changed: z.object({ count: z.number(), rows: z.array(z.object({ key: keySchema })) }),
  deleted: z.object({ count: z.number() }),
  duplicates: z.array(z.unknown()),
  proof: z.object({ allKeysListed: z.boolean() }),
});

/** What a content report asks a repair run to do. */
export interface RepairRequest {
  readonly reportUri: string;
  readonly dataset: string;
  /** The run (or verification) whose comparison the report holds. */
  readonly reportRunId: string;
  /** The compared window: whole table, or from this position's cursor on. */
  readonly window: { readonly whole: boolean; readonly from: Position | null };
  /** Keys to re-extract: missing in the warehouse, and changed (as listed, deduplicated). */
  readonly keys: readonly Key[];
  readonly missing: number;
  readonly changed: number;
  /** Differences the repair leaves alone (deletes handles extra and deleted keys). */
  readonly extra: number;
  readonly deleted: number;
  readonly duplicates: number;
  /** False: the report lists the first 1,000 of more keys of a kind; the rest need another verify and repair. */
  readonly allKeysListed: boolean;
  /** Missing and changed keys found beyond those listed. */
  readonly notListed: number;
}

/** What a repair run did, as its extraction document and run record carry it (counts, never values). */
export interface RepairOutcome {
  readonly reportUri: string;
  /** Keys the report lists as missing or changed. */
  readonly requested: number;
  /** Of those, rows read at the source at or before the watermark and written to the run's files. */
  readonly extracted: number;
  /** Rows now past the watermark: the next incremental run brings them. */
  readonly pastWatermark: number;
  /** Keys the source no longer has (deletes handles the warehouse's copy). */
  readonly notAtSource: number;
  /** Rows whose cursor is NULL: only a full run loads them. */
  readonly nullCursor: number;
  /** Missing and changed keys the report counted but did not list. */
  readonly notListed: number;
  /** Extra, deleted and duplicated keys of the report, left to deletes. */
  readonly leftToDeletes: number;
  /** Set when this report was repaired and proven before: nothing was extracted again. */
  readonly alreadyRepairedBy?: string;
  /** Where the repaired keys' comparison after the load is (set by the commit). */
  readonly proofUri?: string;
}

export { repairOutcomeSchema };

/** Where a repair that was proven is recorded, by its report: a second repair of the same report does nothing. */
export function repairRecordKey(dataset: string, reportUri: string): string {
  return `${INTERNAL_PREFIX}repairs/${dataset}/${createHash('sha256').update(reportUri).digest('hex').slice(0, 24)}.json`;
}

export const repairRecordSchema = z.object({ reportUri: z.string(), runId: z.string(), repairedAt: z.string(), keys: z.number().int() });
export type RepairRecord = z.infer<typeof repairRecordSchema>;

const HOW = 'give the report URI that `syncproof verify DATASET --tier content` or a failed run printed (s3://BUCKET/_syncproof/reports/DATASET/RUN/content-tier.json or content.json)';

/**
 * Reads and checks the content report at `reportUri` (this deployment's bucket) for `dataset`:
 * a window report (`content.json`) or a content-tier report (`content-tier.json`, whose
 * `comparison` is the window report). Throws {@link RepairReportError} naming the report and
 * what to do when it is missing, unreadable, not a database content report, or another dataset's.
 */
export async function readRepairRequest(objects: ObjectStore, reportUri: string, dataset: string): Promise<RepairRequest> {
  let key: string;
  let bucket: string;
  try {
    ({ bucket, key } = parseS3Uri(reportUri));
  } catch {
    throw new RepairReportError(`repair report '${reportUri}' is not an s3://bucket/key URI: ${HOW}`);
  }
  if (bucket !== objects.bucket) throw new RepairReportError(`repair report ${reportUri} is not in this deployment's bucket '${objects.bucket}': ${HOW}`);
  if (!(await objects.head(key))) throw new RepairReportError(`repair report ${reportUri} does not exist: ${HOW}`);
  let body: unknown;
  try {
    body = await objects.getJson(key);
  } catch (error) {
    throw new RepairReportError(`repair report ${reportUri} is not JSON (${error instanceof Error ? error.message : String(error)}): ${HOW}`);
  }
  const tier = body as { tier?: unknown; mode?: unknown; dataset?: unknown; comparison?: unknown };
  if (tier && typeof tier === 'object' && typeof tier.tier === 'string') {
    if (tier.mode === 'file') throw new RepairReportError(`repair report ${reportUri} is of file dataset '${String(tier.dataset)}': a repair re-extracts rows from a source, and a file dataset has none (load the missing files again: syncproof sync ${String(tier.dataset)} --mode reconcile)`);
    if (typeof tier.dataset === 'string' && tier.dataset !== dataset) throw new RepairReportError(`repair report ${reportUri} is a report of dataset '${tier.dataset}', not '${dataset}': give a report of '${dataset}' (or repair '${tier.dataset}')`);
    if (tier.comparison === undefined) throw new RepairReportError(`repair report ${reportUri} holds no comparison (a content-tier report of dataset '${String(tier.dataset)}' without its window report): ${HOW}`);
    body = tier.comparison;
  }
  const parsed = windowReportSchema.safeParse(body);
  if (!parsed.success) throw new RepairReportError(`repair report ${reportUri} is not a content report (${formatIssues(parsed.error)}): ${HOW}`);
  const r = parsed.data;
  if (r.dataset !== dataset) throw new RepairReportError(`repair report ${reportUri} is a report of dataset '${r.dataset}', not '${dataset}': give a report of '${dataset}' (or repair '${r.dataset}')`);
  const seen = new Set<string>();
  const keys: Key[] = [];
  for (const k of [...r.missing.keys, ...r.changed.rows.map((c) => c.key)]) {
    const id = JSON.stringify(k);
    if (seen.has(id)) continue;
    seen.add(id);
    keys.push(k);
  }
  return {
    reportUri,
    dataset: r.dataset,
    reportRunId: r.runId,
    window: { whole: r.window.whole, from: r.window.from },
    keys,
    missing: r.missing.count,
    changed: r.changed.count,
    extra: r.extra.count,
    deleted: r.deleted.count,
    duplicates: r.duplicates.length,
    allKeysListed: r.proof.allKeysListed,
    notListed: Math.max(0, r.missing.count - r.missing.keys.length) + Math.max(0, r.changed.count - r.changed.rows.length),
  };
}

/** The sentence about what the report holds that a repair does not touch; empty when nothing. */
export function leftAloneText(r: Pick<RepairRequest, 'extra' | 'deleted' | 'duplicates' | 'dataset'>): string {
  const parts = [r.extra && `${r.extra} extra`, r.deleted && `${r.deleted} deleted at the source`, r.duplicates && `${r.duplicates} duplicated`].filter(Boolean);
  if (parts.length === 0) return '';
  return `the report's ${parts.join(', ')} keys are not repaired (a repair re-extracts rows; removing keys is the deletes policy's work: set "deletes": "propagate" and run syncproof verify ${r.dataset} --tier content)`;
}
