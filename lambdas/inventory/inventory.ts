/**
 * The inventory stage (DESIGN.md §8 tier 1): the objects under a dataset prefix against the
 * dataset's manifests and its file ledger.
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
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, isDatasetKey } from '../core/config';
import type { LedgerStatus } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';
import { IntegrityCheckFailedError, judgeInventory, type Finding, type InventoryCounts, type VerificationStatus } from '../core/verification';
import { isDataFile, parseExecutionInput, verificationModeSchema, type VerificationMode } from './execution-input';
import { DEFAULT_LINES_PER_PART, JsonLinesPartWriter } from './json-lines-writer';
import { readManifests } from './manifest';

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
  | { readonly category: 'unexpected'; readonly key: string; readonly etag: string; readonly size: number }
  | {
      readonly category: 'size-mismatch';
      readonly key: string;
      readonly etag: string;
      /** Which expected side disagrees. */
      readonly against: 'manifest' | 'ledger';
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
      readonly ledgerStatus: Exclude<LedgerStatus, 'loaded'> | 'unrecorded';
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

export interface InventoryOutput extends InventoryCounts {
  readonly runId: string;
  readonly dataset: string;
  readonly mode: VerificationMode;
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

/** Where a run's inventory objects go. */
export function inventoryKeys(dataset: string, runId: string): { summary: string; parts: string } {
  const base = `${INTERNAL_PREFIX}inventory/${dataset}/${runId}`;
  return { summary: `${base}.json`, parts: base };
}

/**
 * Inventories one dataset (see the module comment). Records its output in the run record under
 * `inventory`. In `sync` mode it starts the run record and throws IntegrityCheckFailedError (after
 * storing everything) when a size contradicts a manifest or the ledger; otherwise findings never
 * fail the stage: the Record stage judges them.
 */
export async function runInventory(raw: InventoryInput, deps: StageDeps, options: { linesPerPart?: number } = {}): Promise<InventoryOutput> {
  const { input, runId, mode } = inventoryInputSchema.parse(raw);
  const { dataset } = parseExecutionInput(input, mode, deps.config);
  const startedAt = deps.clock.now().toISOString();
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt, updatedAt: startedAt, stages: {} });

  const manifestSizes = new Map<string, { size: number; manifest: number }>();
  const manifestKeys: string[] = [];
  let manifestFiles = 0;
  for await (const { key, manifest } of readManifests(deps.objects, dataset)) {
    manifestKeys.push(key);
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

  const keys = inventoryKeys(dataset.name, runId);
  const writer = new JsonLinesPartWriter(deps.objects, keys.parts, options.linesPerPart ?? DEFAULT_LINES_PER_PART);
  const hasManifests = manifestKeys.length > 0;
  let objects = 0;
  let bytes = 0;
  const counts = { missing: 0, unexpected: 0, sizeMismatch: 0, notLoaded: 0, loadedDeleted: 0, loadedOverwritten: 0 };

  for await (const o of deps.objects.list(dataset.prefix)) {
    if (o.key.endsWith('/') || !isDatasetKey(dataset, o.key)) continue;
    objects += 1;
    bytes += o.size;
    const expected = manifestSizes.get(o.key);
    manifestSizes.delete(o.key);
    if (hasManifests && !expected) {
      counts.unexpected += 1;
      await writer.add({ category: 'unexpected', key: o.key, etag: o.etag, size: o.size } satisfies InventoryFinding);
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
    if (isDataFile(o.key, dataset.format) && current?.status !== 'loaded') {
      counts.notLoaded += 1;
      await writer.add({
        category: 'not-loaded',
        key: o.key,
        etag: o.etag,
        size: o.size,
        ledgerStatus: (current?.status ?? 'unrecorded') as Exclude<LedgerStatus, 'loaded'> | 'unrecorded',
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
  const partKeys = await writer.close();

  const inventoryCounts: InventoryCounts = { manifests: manifestKeys.length, ...counts };
  const verdict = judgeInventory(inventoryCounts, mode);
  const bucketUri = `s3://${deps.objects.bucket}/`;
  const base = {
    runId,
    dataset: dataset.name,
    mode,
    status: verdict.status,
    objects,
    bytes,
    manifestFiles,
    ...inventoryCounts,
    findings: writer.lines,
    findingsUri: `${bucketUri}${keys.parts}/`,
    parts: partKeys.length,
  };
  const now = deps.clock.now().toISOString();
  const summary: InventorySummary = { ...base, inventoriedAt: now, verdict: verdict.findings, partKeys };
  await deps.objects.putJson(keys.summary, summary);
  const output: InventoryOutput = { ...base, summaryUri: `${bucketUri}${keys.summary}` };
  await deps.runs.update(runId, { stage: 'inventory', output, dataset: dataset.name }, now);
  deps.log.info('inventoried', { ...output });
  if (mode === 'sync' && counts.sizeMismatch > 0) {
    throw new IntegrityCheckFailedError(
      `${dataset.name}: ${counts.sizeMismatch} objects differ in size from their manifest or ledger entry; nothing is loaded until they are uploaded again. Findings (category size-mismatch): ${output.findingsUri}`,
    );
  }
  return output;
}
