/**
 * Retention (issue #16 item 3): which objects `syncproof clean` (and the stack's scheduled clean
 * Lambda, lambdas/clean/clean.ts) may remove. Pure decisions on facts read before; no I/O.
 *
 * A dataset's **data object** (the version a listing shows: key + ETag, judged against its ledger
 * entry) is removed only when every one of these holds, checked in this order (the first that
 * fails is the reason it is kept):
 * 1. the ledger says it was loaded (`loaded`, or `deleted` already: a version whose delete was
 *    written ahead and not done, or identical bytes uploaded again): never an object with no entry,
 *    or `discovered`, `loading`, `failed`, `forgotten` (**not-loaded**), nor `quarantined`;
 * 2. both its LastModified and the time it was loaded (the `loaded` entry's `updatedAt`, written by
 *    markLoaded, the entry's last transition) are older than the retention cutoff (**within-retention**);
 * 3. it was loaded — and last written — before the start of the dataset's last passed verification
 *    ({@link lastPassedVerification}): that run's inventory, checksum sample and count chain saw it
 *    in the warehouse (**newer-than-verification**). No passed verification: nothing is removed;
 * 4. a database dataset's extraction file: its last row is at or behind the dataset's watermark,
 *    which moves only once verification proved the warehouse holds it (I6; **ahead-of-watermark**).
 *
 * Why PASSED_WITH_WARNINGS counts as passed: a verification warns about files not loaded yet,
 * files in no manifest yet, loaded files gone from S3 and samples with no expected checksum — never
 * about a loaded file the warehouse disagrees with, which is an error (FAILED). PASSED_PARTIAL (a
 * tier skipped by request) does not count: it did not check everything.
 *
 * syncproof's **run documents** (batches and load results, inventories, checksum and
 * verification reports, under `_syncproof/<kind>/<dataset>/<runId or loadId>…`) are removed when
 * older than the cutoff and not of a RUNNING run, of the dataset's newest run (the status command
 * links its reports) or of the last passed verification, nor a load result of one of them
 * (**in-use**). Manifests, extraction documents and schema documents are kept: the count chain
 * reads source → manifests → audit → target for every run window, and removing them would break
 * the next verification. What needs no ledger check — COPY manifests, execution events
 * documents, pinned copies, noncurrent versions — S3 lifecycle rules expire (lib/constructs/storage.ts).
 */
import { comparePositions, type Position } from './keyset';
import type { CursorKind } from './source-schema';
import { runKindOf } from './status';
import { wasLoaded } from './ledger-status';
import type { LedgerEntry, ObjectSummary, RunRecord } from './ports';

/** Why an object is kept. */
export type KeepReason = 'not-loaded' | 'quarantined' | 'within-retention' | 'newer-than-verification' | 'ahead-of-watermark' | 'in-use';

/** Every keep reason, in the order the checks run (and reports print them). */
export const KEEP_REASONS: readonly KeepReason[] = ['not-loaded', 'quarantined', 'within-retention', 'newer-than-verification', 'ahead-of-watermark', 'in-use'];

/** What is removed: a dataset's data files, a database dataset's extraction files, or run documents. */
export type CleanKind = 'data' | 'extracts' | 'batches' | 'inventories' | 'reports';

/** Every kind, in report order. */
export const CLEAN_KINDS: readonly CleanKind[] = ['data', 'extracts', 'batches', 'inventories', 'reports'];

/** The verification a clean relies on: the newest passed one. */
export interface PassedVerification {
  readonly runId: string;
  readonly startedAt: string;
  readonly status: 'PASSED' | 'PASSED_WITH_WARNINGS';
}

/** Whether a run record is a VerifyStateMachine run (`runKindOf`, the one definition `syncproof status` uses too). */
export function isVerificationRun(run: RunRecord): boolean {
  return runKindOf(run) === 'verification';
}

/** The newest passed verification among `runs` (any order), or undefined. */
export function lastPassedVerification(runs: Iterable<RunRecord>): PassedVerification | undefined {
  let best: PassedVerification | undefined;
  for (const r of runs) {
    if (!isVerificationRun(r) || (r.status !== 'PASSED' && r.status !== 'PASSED_WITH_WARNINGS')) continue;
    if (!best || r.startedAt > best.startedAt) best = { runId: r.runId, startedAt: r.startedAt, status: r.status };
  }
  return best;
}

/** What a data object's judgement needs besides the object and its entry. */
export interface DataContext {
  /** Objects last written or loaded at or after this instant (ms) are within retention. */
  readonly cutoffMs: number;
  /** The last passed verification's start (ms); undefined: none, nothing is removed. */
  readonly verifiedFromMs: number | undefined;
  /** Database datasets: whether the file's last row is at or behind the watermark. */
  readonly behindWatermark?: (key: string) => boolean;
}

/** Remove the object (`rewrite`: its entry is `loaded` and becomes `deleted` first), or keep it and why. */
export type DataDecision = { readonly remove: true; readonly writeAhead: boolean } | { readonly remove: false; readonly reason: KeepReason };

/** The time an entry's version was loaded (see the module comment), or its object's LastModified once `deleted`. */
function loadedAtMs(entry: LedgerEntry, object: ObjectSummary): number {
  return Date.parse(entry.status === 'loaded' ? entry.updatedAt : object.lastModified);
}

/** Judges one listed data object against its ledger entry (see the module comment for the rules). */
export function judgeDataObject(object: ObjectSummary, entry: LedgerEntry | undefined, ctx: DataContext): DataDecision {
  if (entry?.status === 'quarantined') return { remove: false, reason: 'quarantined' };
  if (!entry || !wasLoaded(entry.status)) return { remove: false, reason: 'not-loaded' };
  const written = Date.parse(object.lastModified);
  const loaded = loadedAtMs(entry, object);
  if (!(written < ctx.cutoffMs) || !(loaded < ctx.cutoffMs)) return { remove: false, reason: 'within-retention' };
  if (ctx.verifiedFromMs === undefined || !(loaded < ctx.verifiedFromMs) || !(written < ctx.verifiedFromMs)) return { remove: false, reason: 'newer-than-verification' };
  if (ctx.behindWatermark && !ctx.behindWatermark(object.key)) return { remove: false, reason: 'ahead-of-watermark' };
  return { remove: true, writeAhead: entry.status === 'loaded' };
}

/** Where a database dataset's watermark stands, and each extraction file's last row. */
export interface WatermarkFacts {
  readonly kind: CursorKind;
  /** The verified position; undefined: none yet (every file is ahead). */
  readonly position: Position | undefined;
  /** Extraction file key → its last row (from the runs' extraction documents). */
  readonly lastRows: ReadonlyMap<string, Position>;
}

/** A file is behind the watermark when its extraction document names its last row and that row is at or before the watermark. */
export function behindWatermark(facts: WatermarkFacts): (key: string) => boolean {
  return (key) => {
    const last = facts.lastRows.get(key);
    return last !== undefined && facts.position !== undefined && comparePositions(facts.kind, last, facts.position) <= 0;
  };
}

/** The run-document folders of `_syncproof/` a clean removes from, by kind. */
export const RUN_DOCUMENT_FOLDERS: Readonly<Record<'batches' | 'inventories' | 'reports', readonly string[]>> = {
  // A load's result document is named by its load id (`loads/<dataset>/<loadId>.json`).
  batches: ['batches', 'loads'],
  inventories: ['inventory'],
  reports: ['reports', 'checksums'],
};

/**
 * The run a document belongs to: the first path segment after `<folder>/<dataset>/`, without
 * `.json`/`.jsonl` (`batches/orders/<runId>/1.json`, `inventory/orders/<runId>.json`,
 * `reports/orders/<runId>/count-chain.json`). A report of no run (`reports/orders/content-<time>.json`)
 * gives a name no run has, so only its age decides.
 */
export function runIdOfDocument(relative: string): string {
  const slash = relative.indexOf('/');
  const first = slash < 0 ? relative : relative.slice(0, slash);
  return first.replace(/\.jsonl?$/, '');
}

/** Judges one run document: `inUse` holds the run ids whose documents stay. */
export function judgeRunDocument(object: ObjectSummary, runId: string, cutoffMs: number, inUse: ReadonlySet<string>): DataDecision {
  if (inUse.has(runId)) return { remove: false, reason: 'in-use' };
  if (!(Date.parse(object.lastModified) < cutoffMs)) return { remove: false, reason: 'within-retention' };
  return { remove: true, writeAhead: false };
}

const AGE_UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a retention age ('7d' → 604800000); undefined when it is not one. */
export function retentionAgeMs(text: string): number | undefined {
  const m = /^([1-9]\d*)(m|h|d)$/.exec(text);
  return m ? Number(m[1]) * AGE_UNIT_MS[m[2] as keyof typeof AGE_UNIT_MS] : undefined;
}
