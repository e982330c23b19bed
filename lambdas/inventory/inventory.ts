/**
 * The inventory stage (DESIGN.md §8 tier 1): the objects under a dataset prefix against the
 * dataset's manifests and its file ledger — or, in an event run (or a source dataset's run), only
 * the run's batch against the ledger (`scope: 'batch'`, see inventoryBatch: O(batch), no listing).
 *
 * Manifest format: see ./manifest.ts (`_syncproof/manifests/<dataset>/*.json` =
 * `{ "dataset", "files": [{ "key", "size", "rows"?, "checksums": { "md5"?, "crc64nvme"?, "crc32c"?, "sha256"? } }] }`).
 *
 * Findings go to S3 as JSON Lines, one line per finding, in part objects
 * `_syncproof/inventory/<dataset>/<runId>/part-NNNN.jsonl`, plus a summary object
 * `_syncproof/inventory/<dataset>/<runId>.json` (counts, verdict, part keys). The stage output
 * holds counts and those URIs only.
 *
 * Memory: the S3 side is streamed (ListObjectsV2 pages) and never held; findings are flushed every
 * `DEFAULT_LINES_PER_PART` lines. What stays in memory is one compact map per expected side —
 * manifest key → size, ledger key → [ETag, size, status] — so memory grows with the number of
 * manifest entries plus ledger entries, not with the number of objects in S3. Entries are deleted
 * as the listing meets them, so what remains at the end is what S3 no longer holds.
 *
 * Retention (`syncproof clean`, ledger state `deleted`): a deleted version counts as loaded (an
 * object re-uploaded with its bytes is not "not loaded"), and its absence is neither `missing`
 * (a manifest lists it) nor `loaded-gone`.
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, isDatasetKey, type DatasetConfig } from '../core/config';
import type { EventObject } from '../core/execution-input';
import { extractionDocumentKey } from '../core/extraction';
import type { LedgerKey, LedgerStatus } from '../core/ports';
import { wasLoaded } from '../core/ledger-status';
import { headAll, runBatchOf } from '../core/run-batch';
import type { StageDeps } from '../core/stage-deps';
import { IntegrityCheckFailedError, judgeInventory, worstStatus, type Finding, type InventoryCounts, type VerificationStatus } from '../core/verification';
import { isDataFile, parseExecutionInput, verificationModeSchema, type VerificationMode } from '../core/verification-input';
import { DEFAULT_LINES_PER_PART, JsonLinesPartWriter } from './json-lines-writer';
import { readManifests } from '../core/manifests';

export const inventoryInputSchema = z.object({
  /** The execution input (`{"dataset": …}`). */
  input: z.unknown(),
  runId: z.string().min(1),
  mode: verificationModeSchema.default('verify'),
});
export type InventoryInput = z.input<typeof inventoryInputSchema>;

/** One JSON line of the findings. `category` says which check; the other fields are its evidence. */
export type InventoryFinding =
  | { readonly category: 'missing'; readonly key: string; readonly manifestSize: number; readonly manifest: string }
  /** `beforeManifest`: older than the newest manifest (an extra file, an error), else its manifest may still come (a warning). */
  | { readonly category: 'unexpected'; readonly key: string; readonly etag: string; readonly size: number; readonly beforeManifest: boolean }
  | {
      readonly category: 'size-mismatch';
      readonly key: string;
      readonly etag: string;
      /**
       * Which expected side disagrees: a manifest, the ledger, or (event runs) the size the
       * version's event or the run's extraction document announced for the same ETag.
       */
      readonly against: 'manifest' | 'ledger' | 'event';
      readonly expectedSize: number;
      readonly actualSize: number;
      readonly manifest?: string;
    }
  | {
      readonly category: 'not-loaded';
      readonly key: string;
      readonly etag: string;
      readonly size: number;
      /** The ledger's state of this key + ETag; `unrecorded` when Discover has not seen it yet. */
      readonly ledgerStatus: Exclude<LedgerStatus, 'loaded' | 'deleted'> | 'unrecorded';
    }
  | {
      readonly category: 'loaded-gone';
      readonly key: string;
      readonly etag: string;
      /** `deleted`: the key is gone; `overwritten`: it now holds `currentEtag`. */
      readonly reason: 'deleted' | 'overwritten';
      readonly currentEtag?: string;
      readonly loadId?: string;
    };

/**
 * What an inventory looked at: `prefix` (reconcile runs and the scheduled verification: the whole
 * listing against every manifest and the dataset's ledger) or `batch` (event runs and a source
 * dataset's runs: only the run's object versions, by HEAD and batched ledger reads; no listing,
 * no manifest, no whole-ledger read).
 */
export type InventoryScope = 'prefix' | 'batch';

export interface InventoryOutput extends InventoryCounts {
  readonly runId: string;
  readonly dataset: string;
  readonly mode: VerificationMode;
  readonly scope: InventoryScope;
  readonly status: VerificationStatus;
  /** Objects under the prefix (directory markers excluded) and their bytes. */
  readonly objects: number;
  readonly bytes: number;
  /** File entries across all manifests. */
  readonly manifestFiles: number;
  /** JSON lines written (one per finding). */
  readonly findings: number;
  /** Summary object: counts, verdict and the part keys. */
  readonly summaryUri: string;
  /** Prefix of the JSON Lines parts (`part-0001.jsonl`, …). */
  readonly findingsUri: string;
  readonly parts: number;
  /** Objects of the dataset not of its format (never loaded), when there are any. */
  readonly notData?: { readonly count: number; readonly keys: readonly string[] };
  /** One line per warning that is not a counted category (objects skipped), with what to do. */
  readonly warnings?: readonly string[];
}

/** The summary object stored beside the findings. */
export interface InventorySummary extends Omit<InventoryOutput, 'summaryUri'> {
  readonly inventoriedAt: string;
  readonly verdict: readonly Finding[];
  readonly partKeys: readonly string[];
}

interface LedgerVersion {
  readonly etag: string;
  readonly size: number;
  readonly status: LedgerStatus;
  readonly loadId?: string;
}

/** Ledger keys per batched read of a batch inventory (one DynamoDB BatchGetItem). */
const LEDGER_READ_PAGE = 100;

/** Where a run's inventory objects go. */
export function inventoryKeys(dataset: string, runId: string): { summary: string; parts: string } {
  const base = `${INTERNAL_PREFIX}inventory/${dataset}/${runId}`;
  return { summary: `${base}.json`, parts: base };
}

/** What one inventory found, before it is judged and stored. */
interface Inventoried {
  readonly counts: InventoryCounts;
  readonly objects: number;
  readonly bytes: number;
  readonly manifestFiles: number;
  /** Objects of the dataset that are not of its format: never loaded. */
  readonly notData: NotDataObjects;
}

/** Objects under a dataset's prefix that are not of its format (Discover never loads them): how many, and the first few keys. */
export interface NotDataObjects {
  count: number;
  readonly keys: string[];
}

/** Keys of not-data objects kept in the output (the count is complete). */
const NOT_DATA_KEYS = 5;

/**
 * Whether an object the dataset does not load is worth a warning: any object not of its format,
 * except the hidden files of the Hadoop convention (a name starting with `_` or `.`: `_SUCCESS`,
 * `.part-0.parquet.crc`), which producers such as Spark write beside their data.
 */
function isNotData(key: string, format: 'parquet' | 'csv'): boolean {
  if (isDataFile(key, format) || key.endsWith('/')) return false;
  const name = key.slice(key.lastIndexOf('/') + 1);
  return !name.startsWith('_') && !name.startsWith('.');
}

function noteNotData(notData: NotDataObjects, key: string): void {
  notData.count += 1;
  if (notData.keys.length < NOT_DATA_KEYS) notData.keys.push(key);
}

/** The warning for objects a dataset skipped: how many, which, why, and what to do. */
export function notDataWarning(dataset: DatasetConfig, notData: NotDataObjects): string {
  const ext = dataset.format === 'parquet' ? '.parquet' : '.csv';
  const n = notData.count;
  return (
    `${n} object${n === 1 ? '' : 's'} under ${dataset.prefix} ${n === 1 ? 'is' : 'are'} not a ${ext} file and ${n === 1 ? 'was' : 'were'} skipped ` +
    `(${notData.keys.join(', ')}${n > notData.keys.length ? ', …' : ''}): the dataset's format is ${dataset.format}, so only ${ext} objects load; ` +
    `convert ${n === 1 ? 'it' : 'them'} to ${dataset.format === 'parquet' ? 'Parquet' : 'CSV'} or move ${n === 1 ? 'it' : 'them'} out of the prefix`
  );
}

/**
 * How much later than its files a producer may write the manifest that lists them: an object in
 * no manifest is an extra file (an error) only when a manifest was written at least this long
 * after it; before that, its manifest may still be coming (a warning). One hour keeps producers
 * that write their files and manifests concurrently, or several batches at once, from a false
 * FAILED.
 */
export const MANIFEST_GRACE_MS = 60 * 60 * 1000;

/**
 * The whole prefix (reconcile runs, the scheduled verification): the listing streamed against
 * every manifest and the dataset's whole ledger (see the module comment).
 */
async function inventoryPrefix(dataset: DatasetConfig, deps: StageDeps, writer: JsonLinesPartWriter): Promise<Inventoried> {
  const manifestSizes = new Map<string, { size: number; manifest: number }>();
  const manifestKeys: string[] = [];
  let manifestFiles = 0;
  let newestManifest = '';
  for await (const { key, manifest, lastModified } of readManifests(deps.objects, dataset)) {
    manifestKeys.push(key);
    if (Date.parse(lastModified) > Date.parse(newestManifest || '1970-01-01T00:00:00Z')) newestManifest = lastModified;
    for (const f of manifest.files) {
      manifestSizes.set(f.key, { size: f.size, manifest: manifestKeys.length - 1 });
      manifestFiles += 1;
    }
  }
  const ledger = new Map<string, LedgerVersion[]>();
  for await (const e of deps.ledger.listDataset(dataset.name)) {
    const versions = ledger.get(e.key);
    const v: LedgerVersion = { etag: e.etag, size: e.size, status: e.status, loadId: e.loadId };
    if (versions) versions.push(v);
    else ledger.set(e.key, [v]);
  }

  const hasManifests = manifestKeys.length > 0;
  let objects = 0;
  let bytes = 0;
  const counts = { missing: 0, unexpected: 0, unexpectedBeforeManifest: 0, sizeMismatch: 0, notLoaded: 0, loadedDeleted: 0, loadedOverwritten: 0 };
  const notData: NotDataObjects = { count: 0, keys: [] };

  for await (const o of deps.objects.list(dataset.prefix)) {
    if (o.key.endsWith('/') || !isDatasetKey(dataset, o.key)) continue;
    objects += 1;
    bytes += o.size;
    if (isNotData(o.key, dataset.format)) noteNotData(notData, o.key);
    const expected = manifestSizes.get(o.key);
    manifestSizes.delete(o.key);
    if (hasManifests && !expected) {
      counts.unexpected += 1;
      const beforeManifest = Date.parse(o.lastModified) + MANIFEST_GRACE_MS <= Date.parse(newestManifest);
      if (beforeManifest) counts.unexpectedBeforeManifest += 1;
      await writer.add({ category: 'unexpected', key: o.key, etag: o.etag, size: o.size, beforeManifest } satisfies InventoryFinding);
    }
    if (expected && expected.size !== o.size) {
      counts.sizeMismatch += 1;
      const manifest = manifestKeys[expected.manifest];
      await writer.add({ category: 'size-mismatch', key: o.key, etag: o.etag, against: 'manifest', expectedSize: expected.size, actualSize: o.size, manifest } satisfies InventoryFinding);
    }
    const versions = ledger.get(o.key) ?? [];
    ledger.delete(o.key);
    const current = versions.find((v) => v.etag === o.etag);
    if (current && current.size !== o.size && (!expected || expected.size === o.size)) {
      counts.sizeMismatch += 1;
      await writer.add({ category: 'size-mismatch', key: o.key, etag: o.etag, against: 'ledger', expectedSize: current.size, actualSize: o.size } satisfies InventoryFinding);
    }
    if (isDataFile(o.key, dataset.format) && !wasLoaded(current?.status) && current?.status !== 'forgotten') {
      counts.notLoaded += 1;
      await writer.add({
        category: 'not-loaded',
        key: o.key,
        etag: o.etag,
        size: o.size,
        ledgerStatus: (current?.status ?? 'unrecorded') as Exclude<LedgerStatus, 'loaded' | 'deleted'> | 'unrecorded',
      } satisfies InventoryFinding);
    }
    for (const v of versions) {
      if (v.status !== 'loaded' || v.etag === o.etag) continue;
      counts.loadedOverwritten += 1;
      await writer.add({ category: 'loaded-gone', key: o.key, etag: v.etag, reason: 'overwritten', currentEtag: o.etag, loadId: v.loadId } satisfies InventoryFinding);
    }
  }
  // What the listing never met: manifest files missing from S3, loaded files deleted from it.
  for (const [key, m] of manifestSizes) {
    // Removed by retention (`syncproof clean`) after it was loaded and verified: not missing.
    if (ledger.get(key)?.some((v) => v.status === 'deleted')) continue;
    counts.missing += 1;
    await writer.add({ category: 'missing', key, manifestSize: m.size, manifest: manifestKeys[m.manifest] as string } satisfies InventoryFinding);
  }
  for (const [key, versions] of ledger) {
    for (const v of versions) {
      if (v.status !== 'loaded') continue;
      counts.loadedDeleted += 1;
      await writer.add({ category: 'loaded-gone', key, etag: v.etag, reason: 'deleted', loadId: v.loadId } satisfies InventoryFinding);
    }
  }
  return { counts: { manifests: manifestKeys.length, ...counts }, objects, bytes, manifestFiles, notData };
}

/**
 * The run's batch only (event runs, a source dataset's runs): each version's key is HEADed (its
 * current ETag and size) and the versions involved are read from the ledger in batched reads of
 * {@link LEDGER_READ_PAGE}, so k versions cost k HEADs and ⌈2k/100⌉ ledger reads at most, whatever
 * the prefix and the ledger hold. No listing, no manifest: producer manifests are found only by
 * listing their folder, which reconcile runs and the scheduled verification do. Categories:
 * `size-mismatch` (against the size the event or the extraction announced for the same ETag, or
 * the ledger's), `not-loaded` (current version not loaded), `loaded-gone` (the version the event
 * named was loaded and the key now holds another, or is gone), `missing` (a source run's own file
 * is gone).
 */
async function inventoryBatch(batch: readonly EventObject[], dataset: DatasetConfig, runId: string, deps: StageDeps, writer: JsonLinesPartWriter): Promise<Inventoried> {
  const counts = { manifests: 0, missing: 0, unexpected: 0, sizeMismatch: 0, notLoaded: 0, loadedDeleted: 0, loadedOverwritten: 0 };
  const byKey = new Map<string, EventObject[]>();
  for (const e of batch) if (isDatasetKey(dataset, e.key) && !e.key.endsWith('/')) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const keys = [...byKey.keys()].sort();
  const notData: NotDataObjects = { count: 0, keys: [] };
  for (const key of keys) if (isNotData(key, dataset.format)) noteNotData(notData, key);
  let objects = 0;
  let bytes = 0;
  for (let i = 0; i < keys.length; i += LEDGER_READ_PAGE / 2) {
    const page = keys.slice(i, i + LEDGER_READ_PAGE / 2);
    const heads = await headAll(page, deps.objects);
    const wanted: LedgerKey[] = [];
    for (const key of page) {
      const head = heads.get(key);
      if (head) wanted.push({ key, etag: head.etag });
      for (const e of byKey.get(key)!) if (e.etag !== '' && e.etag !== head?.etag) wanted.push({ key, etag: e.etag });
    }
    const entries = await deps.ledger.getMany(wanted);
    const ledger = new Map(wanted.map((w, j) => [`${w.key}\u0000${w.etag}`, entries[j]]));
    for (const key of page) {
      const head = heads.get(key);
      const events = byKey.get(key)!;
      for (const e of events) {
        if (e.etag === '' || e.etag === head?.etag) continue;
        const entry = ledger.get(`${key}\u0000${e.etag}`);
        if (entry?.status === 'loaded') {
          if (head) counts.loadedOverwritten += 1;
          else counts.loadedDeleted += 1;
          await writer.add({ category: 'loaded-gone', key, etag: e.etag, reason: head ? 'overwritten' : 'deleted', ...(head ? { currentEtag: head.etag } : {}), loadId: entry.loadId } satisfies InventoryFinding);
        }
      }
      if (!head) {
        const cleaned = events.some((e) => ledger.get(`${key}\u0000${e.etag}`)?.status === 'deleted');
        if (dataset.source && !cleaned) {
          counts.missing += 1;
          await writer.add({ category: 'missing', key, manifestSize: events[0]!.size, manifest: extractionDocumentKey(dataset.name, runId) } satisfies InventoryFinding);
        }
        continue;
      }
      objects += 1;
      bytes += head.size;
      const announced = events.find((e) => e.etag === head.etag);
      if (announced && announced.size !== head.size) {
        counts.sizeMismatch += 1;
        await writer.add({ category: 'size-mismatch', key, etag: head.etag, against: 'event', expectedSize: announced.size, actualSize: head.size } satisfies InventoryFinding);
      }
      const current = ledger.get(`${key}\u0000${head.etag}`);
      if (current && current.size !== head.size && (!announced || announced.size === head.size)) {
        counts.sizeMismatch += 1;
        await writer.add({ category: 'size-mismatch', key, etag: head.etag, against: 'ledger', expectedSize: current.size, actualSize: head.size } satisfies InventoryFinding);
      }
      if (isDataFile(key, dataset.format) && !wasLoaded(current?.status) && current?.status !== 'forgotten') {
        counts.notLoaded += 1;
        await writer.add({
          category: 'not-loaded',
          key,
          etag: head.etag,
          size: head.size,
          ledgerStatus: (current?.status ?? 'unrecorded') as Exclude<LedgerStatus, 'loaded' | 'deleted'> | 'unrecorded',
        } satisfies InventoryFinding);
      }
    }
  }
  return { counts, objects, bytes, manifestFiles: 0, notData };
}

/**
 * Inventories one dataset (see the module comment). Records its output in the run record under
 * `inventory`. In `sync` mode it starts the run record and throws IntegrityCheckFailedError (after
 * storing everything) when a size contradicts a manifest or the ledger; otherwise findings never
 * fail the stage: the Record stage judges them.
 */
export async function runInventory(raw: InventoryInput, deps: StageDeps, options: { linesPerPart?: number } = {}): Promise<InventoryOutput> {
  const { input, runId, mode } = inventoryInputSchema.parse(raw);
  const { dataset, execution } = parseExecutionInput(input, mode, deps.config);
  const startedAt = deps.clock.now().toISOString();
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt, updatedAt: startedAt, stages: {} });
  const keys = inventoryKeys(dataset.name, runId);
  const writer = new JsonLinesPartWriter(deps.objects, keys.parts, options.linesPerPart ?? DEFAULT_LINES_PER_PART);
  const batch = execution ? await runBatchOf(execution, dataset, runId, deps.objects) : undefined;
  const found = batch ? await inventoryBatch(batch, dataset, runId, deps, writer) : await inventoryPrefix(dataset, deps, writer);
  const partKeys = await writer.close();
  const { counts, objects, bytes, manifestFiles, notData } = found;

  const inventoryCounts: InventoryCounts = counts;
  const judged = judgeInventory(inventoryCounts, mode);
  // Objects the dataset never loads would otherwise end a run NO_WORK without a word.
  const skipped: Finding | undefined = notData.count > 0 ? { level: 'warning', check: 'inventory-not-data', message: notDataWarning(dataset, notData) } : undefined;
  const verdict = skipped ? { status: worstStatus(judged.status, 'PASSED_WITH_WARNINGS'), findings: [...judged.findings, skipped] } : judged;
  const bucketUri = `s3://${deps.objects.bucket}/`;
  const base = {
    runId,
    dataset: dataset.name,
    mode,
    scope: batch ? ('batch' as const) : ('prefix' as const),
    status: verdict.status,
    objects,
    bytes,
    manifestFiles,
    ...inventoryCounts,
    findings: writer.lines,
    findingsUri: `${bucketUri}${keys.parts}/`,
    parts: partKeys.length,
    ...(skipped ? { notData: { count: notData.count, keys: notData.keys }, warnings: [skipped.message] } : {}),
  };
  const now = deps.clock.now().toISOString();
  const summary: InventorySummary = { ...base, inventoriedAt: now, verdict: verdict.findings, partKeys };
  await deps.objects.putJson(keys.summary, summary);
  const output: InventoryOutput = { ...base, summaryUri: `${bucketUri}${keys.summary}` };
  // In a sync run, skipped objects are a warning of the run (later stages keep the worse status).
  const warned = mode === 'sync' && skipped ? { status: 'PASSED_WITH_WARNINGS' as const } : {};
  await deps.runs.update(runId, { stage: 'inventory', output, dataset: dataset.name, ...warned }, now);
  deps.log.info('inventoried', { ...output });
  if (mode === 'sync' && counts.sizeMismatch > 0) {
    throw new IntegrityCheckFailedError(
      `${dataset.name}: ${counts.sizeMismatch} objects differ in size from their manifest, ledger entry or event; nothing is loaded until they are uploaded again. Findings (category size-mismatch): ${output.findingsUri}`,
    );
  }
  return output;
}
