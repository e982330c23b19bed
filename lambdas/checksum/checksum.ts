/**
 * The checksum-sampling stage (DESIGN.md §8 tier 2): a reproducible sample of a dataset's files,
 * each verified with `verifyObjectIntegrity`, strongest evidence first (S3's stored checksum, a
 * metadata checksum, the ETag — no download — else a streamed recompute).
 *
 * Sample: seeded by the run id (SeededSampler: the files with the smallest sha256(runId, key)),
 * sized by the execution input's `checksumSample`, else the dataset's, else 10% (≥ 1, ≤ 20).
 * Population: in `verify` mode every data file under the prefix; in `sync` mode the data files
 * the run is about to load (no `loaded` ledger entry for their key + ETag): an event run's (or a
 * source dataset run's) batch, by batched ledger reads, without listing; a reconcile run's listing.
 *
 * Expected side: the file's manifest entry (size and checksums, lambdas/core/manifests.ts). A
 * file no manifest lists has no independent expected value. Comparing the object with itself
 * proves nothing, so then the only expected values used are checksums the writer recorded in the
 * object's user metadata (`syncproof-<algorithm>`), and they are compared with what S3 computed
 * (stored checksum, ETag) or with the downloaded bytes — never with the metadata itself. Without
 * them the file is reported `unverifiable` (a warning, never a match), and the report says why.
 *
 * Memory: O(sample) (at most the sample bound's summaries; `all` keeps every listed file) plus,
 * in `sync` mode, the set of loaded key + ETag pairs. The report (JSON, by reference) holds one
 * verdict per sampled file; the stage output only counts and its URI.
 */
import { z } from 'zod';
import { wasLoaded } from '../core/ledger-status';
import { INTERNAL_PREFIX, checksumSampleOf, isDatasetKey, type DatasetConfig } from '../core/config';
import type { EventObject } from '../core/execution-input';
import { headAll, runBatchOf } from '../core/run-batch';
import { ObjectChangedError } from '../core/errors';
import { verifyObjectIntegrity, type IntegrityEvidence, type IntegrityVerdict } from '../core/integrity';
import type { ObjectIntegrity, ObjectStore, ObjectSummary } from '../core/ports';
import { SeededSampler, parseSampleSpec, sampleRank, sampleSize, type SampleSpec } from '../core/sampling';
import type { StageDeps } from '../core/stage-deps';
import { IntegrityCheckFailedError, judgeChecksums, type ChecksumCounts, type Finding, type VerificationStatus } from '../core/verification';
import { isDataFile, parseExecutionInput, verificationModeSchema, type VerificationMode } from '../core/verification-input';
import { manifestChecksums, readManifests, type ManifestFile } from '../core/manifests';

export const checksumInputSchema = z.object({
  /** The execution input (`{"dataset": …, "checksumSample"?: …}`). */
  input: z.unknown(),
  runId: z.string().min(1),
  mode: verificationModeSchema.default('verify'),
});
export type ChecksumInput = z.input<typeof checksumInputSchema>;

/** Versions per batched ledger read of a batch run (one DynamoDB BatchGetItem). */
const LEDGER_PAGE = 100;

/** Objects verified at once. */
export const CHECKSUM_CONCURRENCY = 4;

/** Where the expected values of a verdict came from. */
export type ExpectedSource = 'manifest' | 'metadata' | 'none';

/** One sampled file's verdict, as the report holds it. */
export interface SampledVerdict extends IntegrityVerdict {
  readonly etag: string;
  readonly expectedFrom: ExpectedSource;
}

export interface ChecksumOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly mode: VerificationMode;
  readonly status: VerificationStatus;
  /** The sample spec applied (`10%`, `20`, `all`). */
  readonly sample: string;
  /** Files the sample was drawn from. */
  readonly population: number;
  readonly sampled: number;
  readonly byStatus: ChecksumCounts;
  readonly byEvidence: Readonly<Partial<Record<IntegrityEvidence, number>>>;
  readonly byExpectedSource: Readonly<Record<ExpectedSource, number>>;
  readonly bytesDownloaded: number;
  readonly reportUri: string;
}

/** The report stored in S3: the sample, every verdict with its evidence, the stage's verdict. */
export interface ChecksumReport extends Omit<ChecksumOutput, 'reportUri'> {
  readonly checkedAt: string;
  /** The sample's seed (the run id): the same seed and files give the same sample. */
  readonly seed: string;
  readonly verdict: readonly Finding[];
  readonly verdicts: readonly SampledVerdict[];
  /** How files without a manifest entry were treated. */
  readonly note: string;
}

const NO_MANIFEST_NOTE =
  "files listed in no manifest have no independent expected checksum: they are checked against checksums their writer recorded in user metadata (syncproof-<algorithm>) when present, compared with S3's own checksum, the ETag or the downloaded bytes; otherwise they are 'unverifiable' — comparing an object with itself would prove nothing";

/** Where a run's checksum report goes. */
export function checksumReportKey(dataset: string, runId: string): string {
  return `${INTERNAL_PREFIX}checksums/${dataset}/${runId}.json`;
}

/** Sampler capacity: the most files a spec can select whatever the population. */
function capacity(spec: SampleSpec): number {
  if (spec.kind === 'all') return Number.MAX_SAFE_INTEGER;
  return spec.kind === 'count' ? spec.count : spec.max;
}

/** Runs `work` over `items` with at most `limit` at once, keeping the input order in the result. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** An ObjectStore whose `integrity(key)` answers with `info` minus its metadata (which became the expected side). */
function withoutMetadata(objects: ObjectStore, info: ObjectIntegrity): ObjectStore {
  return {
    bucket: objects.bucket,
    list: (prefix) => objects.list(prefix),
    head: (key) => objects.head(key),
    integrity: async (key) => (key === info.key ? { ...info, metadata: {} } : objects.integrity(key)),
    stream: (key, options) => objects.stream(key, options),
    getBytes: (key, range, options) => objects.getBytes(key, range, options),
    getObject: (key) => objects.getObject(key),
    copy: (sourceKey, destinationKey, options) => objects.copy(sourceKey, destinationKey, options),
    put: (key, body, contentType) => objects.put(key, body, contentType),
    putJson: (key, value) => objects.putJson(key, value),
    getJson: (key) => objects.getJson(key),
    delete: (key, options) => objects.delete(key, options),
  };
}

/** Verifies one sampled file against its manifest entry, or its writer's metadata (see the module comment). */
async function verifyOne(objects: ObjectStore, file: ObjectSummary, manifest: ManifestFile | undefined): Promise<SampledVerdict> {
  const where = `s3://${objects.bucket}/${file.key}`;
  try {
    if (manifest) {
      const verdict = await verifyObjectIntegrity(objects, file.key, { size: manifest.size, known: manifestChecksums(manifest) });
      return { ...verdict, etag: file.etag, expectedFrom: 'manifest' };
    }
    const info = await objects.integrity(file.key);
    if (!info) return { key: file.key, etag: file.etag, status: 'missing', evidence: 'none', bytesDownloaded: 0, expectedFrom: 'none', detail: `${where}: object not found` };
    if (Object.values(info.metadata).every((v) => v === undefined)) {
      return {
        key: file.key,
        etag: info.etag,
        status: 'unverifiable',
        evidence: 'none',
        bytesDownloaded: 0,
        expectedFrom: 'none',
        detail: `${where}: no manifest lists this file and its writer recorded no checksum in metadata, so there is nothing independent to compare with; list it in a manifest or upload it with x-amz-meta-syncproof-md5`,
      };
    }
    const verdict = await verifyObjectIntegrity(withoutMetadata(objects, info), file.key, { size: info.size, known: info.metadata });
    return { ...verdict, etag: info.etag, expectedFrom: 'metadata', detail: `${verdict.detail} (expected side: the writer's metadata checksum; no manifest lists this file)` };
  } catch (error) {
    if (!(error instanceof ObjectChangedError)) throw error;
    return {
      key: file.key,
      etag: file.etag,
      status: 'unverifiable',
      evidence: 'none',
      bytesDownloaded: 0,
      expectedFrom: manifest ? 'manifest' : 'metadata',
      detail: `${where}: overwritten during the check; its new version is checked by a later run`,
    };
  }
}

/**
 * The population of a prefix run: every data file listed under the prefix, minus (in `sync` mode)
 * the versions the ledger records as loaded (read whole: reconcile runs and verification only).
 */
async function offerPrefix(dataset: DatasetConfig, mode: VerificationMode, deps: StageDeps, sampler: SeededSampler<ObjectSummary>): Promise<number> {
  const loaded = new Set<string>();
  if (mode === 'sync') {
    for await (const e of deps.ledger.listDataset(dataset.name)) if (wasLoaded(e.status)) loaded.add(`${e.key}\u0000${e.etag}`);
  }
  let population = 0;
  for await (const o of deps.objects.list(dataset.prefix)) {
    if (!isDatasetKey(dataset, o.key) || !isDataFile(o.key, dataset.format)) continue;
    if (loaded.has(`${o.key}\u0000${o.etag}`)) continue;
    population += 1;
    sampler.offer(o);
  }
  return population;
}

/**
 * The population of a batch run (event runs, a source dataset's runs): the batch's data files
 * whose version is not loaded, checked with batched ledger reads of {@link LEDGER_PAGE} (no
 * listing, no whole-ledger read). A version whose event carried no ETag is HEADed first.
 */
async function offerBatch(batch: readonly EventObject[], dataset: DatasetConfig, deps: StageDeps, sampler: SeededSampler<ObjectSummary>): Promise<number> {
  const versions = new Map<string, ObjectSummary>();
  const unknown: string[] = [];
  for (const e of batch) {
    if (!isDatasetKey(dataset, e.key) || !isDataFile(e.key, dataset.format)) continue;
    if (e.etag === '') unknown.push(e.key);
    else versions.set(`${e.key}\u0000${e.etag}`, { key: e.key, etag: e.etag, size: e.size, lastModified: e.eventTime ?? '' });
  }
  for (const [, head] of await headAll(unknown, deps.objects)) if (head) versions.set(`${head.key}\u0000${head.etag}`, head);
  const all = [...versions.values()];
  let population = 0;
  for (let i = 0; i < all.length; i += LEDGER_PAGE) {
    const page = all.slice(i, i + LEDGER_PAGE);
    const entries = await deps.ledger.getMany(page);
    page.forEach((o, j) => {
      if (wasLoaded(entries[j]?.status)) return;
      population += 1;
      sampler.offer(o);
    });
  }
  return population;
}

/**
 * Draws the run's sample and verifies it (see the module comment). Stores the report, records the
 * output in the run record under `checksum`, and in `sync` mode throws IntegrityCheckFailedError
 * (after storing) when a sampled file contradicts its expected checksum or size.
 */
export async function runChecksumSample(raw: ChecksumInput, deps: StageDeps): Promise<ChecksumOutput> {
  const { input, runId, mode } = checksumInputSchema.parse(raw);
  const parsed = parseExecutionInput(input, mode, deps.config);
  const { dataset } = parsed;
  const sampleText = parsed.checksumSample ?? checksumSampleOf(dataset);
  const spec = parseSampleSpec(sampleText);

  const sampler = new SeededSampler<ObjectSummary>(runId, capacity(spec));
  const batch = parsed.execution ? await runBatchOf(parsed.execution, dataset, runId, deps.objects) : undefined;
  const population = batch ? await offerBatch(batch, dataset, deps, sampler) : await offerPrefix(dataset, mode, deps, sampler);
  // The kept files are the smallest ranks; the sample is the first `size` of them by rank.
  const size = sampleSize(spec, population);
  const chosen = sampler
    .result()
    .map((o) => ({ o, rank: sampleRank(runId, o.key) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
    .slice(0, size)
    .map((r) => r.o)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const wanted = new Set(chosen.map((o) => o.key));
  const entries = new Map<string, ManifestFile>();
  // A batch run reads no manifest (finding one needs a listing): expected values come from the writer's metadata.
  if (wanted.size > 0 && !batch) {
    for await (const { manifest } of readManifests(deps.objects, dataset)) {
      for (const f of manifest.files) if (wanted.has(f.key)) entries.set(f.key, f);
    }
  }
  const verdicts = await mapBounded(chosen, CHECKSUM_CONCURRENCY, (o) => verifyOne(deps.objects, o, entries.get(o.key)));

  const byStatus = { match: 0, mismatch: 0, missing: 0, unverifiable: 0 };
  const byEvidence: Partial<Record<IntegrityEvidence, number>> = {};
  const byExpectedSource: Record<ExpectedSource, number> = { manifest: 0, metadata: 0, none: 0 };
  let bytesDownloaded = 0;
  for (const v of verdicts) {
    byStatus[v.status] += 1;
    byEvidence[v.evidence] = (byEvidence[v.evidence] ?? 0) + 1;
    byExpectedSource[v.expectedFrom] += 1;
    bytesDownloaded += v.bytesDownloaded;
  }
  const verdict = judgeChecksums(byStatus, mode);
  const now = deps.clock.now().toISOString();
  const base = {
    runId,
    dataset: dataset.name,
    mode,
    status: verdict.status,
    sample: sampleText,
    population,
    sampled: verdicts.length,
    byStatus,
    byEvidence,
    byExpectedSource,
    bytesDownloaded,
  };
  const key = checksumReportKey(dataset.name, runId);
  const report: ChecksumReport = { ...base, checkedAt: now, seed: runId, verdict: verdict.findings, verdicts, note: NO_MANIFEST_NOTE };
  await deps.objects.putJson(key, report);
  const output: ChecksumOutput = { ...base, reportUri: `s3://${deps.objects.bucket}/${key}` };
  await deps.runs.update(runId, { stage: 'checksum', output, dataset: dataset.name }, now);
  deps.log.info('checksums sampled', { ...output });
  if (mode === 'sync' && byStatus.mismatch > 0) {
    const bad = verdicts.filter((v) => v.status === 'mismatch').slice(0, 5).map((v) => v.detail);
    throw new IntegrityCheckFailedError(
      `${dataset.name}: ${byStatus.mismatch} of ${verdicts.length} sampled files differ from their expected checksum or size; nothing is loaded until they are uploaded again: ${bad.join('; ')}. Report: ${output.reportUri}`,
    );
  }
  return output;
}
