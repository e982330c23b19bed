/**
 * Object integrity, strongest evidence first (DESIGN.md §8 tier 2; issue #3).
 * `verifyObjectIntegrity` is shared by the checksum-sampling stage (expected side = a manifest's
 * recorded values) and `syncproof verify-local --detailed` (expected side = a local file,
 * digested on demand).
 *
 * Evidence order: size → S3's stored FULL_OBJECT checksum → a metadata checksum → the ETag (MD5 or
 * multipart, only when the object is not SSE-KMS / SSE-C) → a streamed recompute. Steps that
 * decide without a download decide for good. A multipart ETag that no candidate part size
 * reproduces from a local file proves nothing either way (the uploader may have used another part
 * size): it is reported as unverifiable by ETag, a warning, never downloaded silently. With the
 * ETag from a listing (`listedEtag`) a match is decided before any HEAD: an MD5 (or multipart
 * ETag) equal to the local bytes' cannot arise by chance, whatever the encryption; anything else
 * goes through HEAD and the order above. `match` is only ever reported after a real comparison.
 */
import {
  EXTRA_CHECKSUMS,
  StreamingDigest,
  candidatePartSizes,
  etagMatches,
  matchingPartSize,
  parseEtag,
  type ChecksumName,
  type DigestOptions,
  type DigestResult,
  type ParsedEtag,
} from './checksums';
import type { MultipartEtag, MultipartEtagCheck } from './multipart-etag';
import type { ObjectChecksums, ObjectIntegrity, ObjectStore } from './ports';

export type { ChecksumName } from './checksums';

/** Which evidence decided a verdict, strongest first. */
export type IntegrityEvidence =
  /** S3's own stored FULL_OBJECT checksum (HeadObject, checksum mode) vs the expected value: no download. */
  | 'stored-checksum'
  /** A checksum a writer recorded in the object's user metadata: no download. */
  | 'metadata-checksum'
  /** The ETag as the MD5 of the bytes (single-part, not SSE-KMS/SSE-C): no download. */
  | 'etag-md5'
  /** The multipart ETag recomputed from the expected bytes with an inferred part size: no download. */
  | 'etag-multipart'
  /** The object streamed and its checksums recomputed. */
  | 'full-recompute'
  /** Sizes differ: no checksum needed. */
  | 'size'
  /** Nothing could prove or disprove it (reported, never counted as a match). */
  | 'none';

export interface ExpectedObject {
  readonly size: number;
  /** Values already known (a manifest's record). */
  readonly known?: ObjectChecksums;
  /** Digests the expected bytes on demand (a local file). Absent when only `known` exists. */
  readonly compute?: (options: DigestOptions) => Promise<DigestResult>;
  /**
   * Checks a multipart ETag against the expected bytes computing only the part MD5s of the
   * candidate part sizes (checkFileMultipartEtag for a local file). Absent: `compute` with those
   * part sizes is used.
   */
  readonly checkMultipartEtag?: (etag: MultipartEtag, candidates: readonly number[]) => Promise<MultipartEtagCheck>;
}

/** What the caller already knows about the object from a listing (no request needed). */
export interface ListedObject {
  /** The ETag ListObjectsV2 returned for the object. */
  readonly etag?: string;
}

export interface IntegrityVerdict {
  readonly key: string;
  readonly status: 'match' | 'mismatch' | 'missing' | 'unverifiable';
  readonly evidence: IntegrityEvidence;
  readonly algorithm?: ChecksumName | 'etag';
  readonly expected?: string;
  readonly actual?: string;
  /** Bytes of the object downloaded to reach this verdict (0 unless evidence is full-recompute). */
  readonly bytesDownloaded: number;
  /** One line for reports: what was compared, and what to do on a mismatch. */
  readonly detail: string;
}

/** Encryption modes under which S3's ETag is not an MD5 of the object's bytes. */
export const ETAG_OPAQUE_ENCRYPTION: readonly string[] = ['aws:kms', 'aws:kms:dsse', 'sse-c'];

/** Metadata checksums are tried in this order (collision-resistant digests first). */
const METADATA_ORDER: readonly ChecksumName[] = ['sha256', 'crc64nvme', 'sha1', 'crc32c', 'md5', 'crc32'];

const DIGEST_BYTES: Record<ChecksumName, number> = { md5: 16, crc64nvme: 8, crc32c: 4, crc32: 4, sha256: 32, sha1: 20 };

/**
 * Canonical form of a checksum value for comparison: MD5 as lowercase hex, the others as base64 of
 * the digest bytes. Hex for a non-MD5 algorithm, or base64 for MD5, of the right length is
 * converted (writers of user metadata use either).
 */
export function normalizeChecksum(algorithm: ChecksumName, value: string): string {
  const text = value.trim();
  const bytes = DIGEST_BYTES[algorithm];
  const isHex = new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(text);
  if (algorithm === 'md5') {
    if (isHex) return text.toLowerCase();
    const decoded = Buffer.from(text, 'base64');
    return decoded.length === bytes && decoded.toString('base64') === text ? decoded.toString('hex') : text;
  }
  return isHex ? Buffer.from(text, 'hex').toString('base64') : text;
}

/** Is the ETag of an object with this encryption an MD5-based value we can recompute? */
export function etagIsContentHash(encryption: string | undefined): boolean {
  return !ETAG_OPAQUE_ENCRYPTION.includes((encryption ?? '').toLowerCase());
}

const RE_UPLOAD = 're-upload the file (or re-export it from the source) and run the sync again';

/** The expected side: known values first, else digests computed on demand (cached across steps). */
class ExpectedSide {
  private readonly computed: Partial<Record<ChecksumName, string>> = {};
  private readonly multipartChecks = new Map<string, Promise<MultipartEtagCheck>>();

  constructor(private readonly expected: ExpectedObject) {}

  get size(): number {
    return this.expected.size;
  }

  get canCompute(): boolean {
    return this.expected.compute !== undefined;
  }

  known(algorithm: ChecksumName): string | undefined {
    const value = this.expected.known?.[algorithm];
    return value === undefined ? undefined : normalizeChecksum(algorithm, value);
  }

  /** Known algorithms, in ObjectChecksums field order. */
  knownAlgorithms(): ChecksumName[] {
    return (['md5', ...EXTRA_CHECKSUMS] as ChecksumName[]).filter((a) => this.known(a) !== undefined);
  }

  canProvide(algorithm: ChecksumName): boolean {
    return this.known(algorithm) !== undefined || this.canCompute;
  }

  /** The expected value of `algorithm`: known, or computed from the expected bytes (one pass). */
  async value(algorithm: ChecksumName): Promise<string | undefined> {
    const known = this.known(algorithm);
    if (known !== undefined) return known;
    if (this.computed[algorithm] === undefined && this.canCompute) {
      await this.digest({ checksums: algorithm === 'md5' ? [] : [algorithm] });
    }
    return this.computed[algorithm];
  }

  /** Which candidate reproduces a multipart ETag (requires compute); cached per ETag. */
  async checkMultipart(etag: MultipartEtag): Promise<MultipartEtagCheck> {
    const text = `${etag.digest}-${etag.parts}`;
    let check = this.multipartChecks.get(text);
    if (!check) {
      const candidates = candidatePartSizes(this.size, etag.parts);
      if (candidates.length === 0) check = Promise.resolve({ candidates });
      else if (this.expected.checkMultipartEtag) check = this.expected.checkMultipartEtag(etag, candidates);
      else {
        check = this.digest({ partSizes: candidates }).then((digest) => {
          const partSize = matchingPartSize(etag, digest);
          return { candidates, partSize, etag: partSize === undefined ? undefined : digest.multipartEtags.get(partSize) };
        });
      }
      this.multipartChecks.set(text, check);
    }
    return check;
  }

  /** Digests the expected bytes (requires compute) and caches every checksum it yields. */
  async digest(options: DigestOptions): Promise<DigestResult> {
    const result = await this.expected.compute!(options);
    for (const [name, value] of Object.entries(result.checksums) as [ChecksumName, string][]) this.computed[name] = value;
    return result;
  }
}

interface Context {
  readonly key: string;
  readonly where: string;
  readonly info: ObjectIntegrity;
  readonly expected: ExpectedSide;
  /** Why weaker evidence was needed (COMPOSITE checksum skipped, KMS ETag, …), for the detail line. */
  readonly notes: string[];
}

function withNotes(context: Context, text: string): string {
  return context.notes.length ? `${text} [${context.notes.join('; ')}]` : text;
}

/** A verdict from comparing one checksum value, with the detail line. */
function compared(
  context: Context,
  evidence: IntegrityEvidence,
  algorithm: ChecksumName | 'etag',
  what: string,
  expected: string,
  actual: string,
  bytesDownloaded = 0,
): IntegrityVerdict {
  const match = expected === actual;
  const label = algorithm === 'etag' ? 'ETag' : algorithm.toUpperCase();
  const outcome = match ? `${label} ${actual} matches` : `${label} differs: expected ${expected}, object has ${actual}; ${RE_UPLOAD}`;
  return {
    key: context.key,
    status: match ? 'match' : 'mismatch',
    evidence,
    algorithm,
    expected,
    actual,
    bytesDownloaded,
    detail: withNotes(context, `${context.where}: ${what}: ${outcome}`),
  };
}

/** (0) The object is absent. */
function missing(key: string, where: string): IntegrityVerdict {
  return { key, status: 'missing', evidence: 'none', bytesDownloaded: 0, detail: `${where}: object not found; upload the file (or re-export it from the source) and run the sync again` };
}

/** (0) A size that already disproves the object. */
function sizeMismatch(key: string, where: string, info: ObjectIntegrity, size: number): IntegrityVerdict | undefined {
  if (info.size === size) return undefined;
  return {
    key,
    status: 'mismatch',
    evidence: 'size',
    expected: String(size),
    actual: String(info.size),
    bytesDownloaded: 0,
    detail: `${where}: size differs: expected ${size} bytes, object has ${info.size}; ${RE_UPLOAD}`,
  };
}

/** (a) S3's stored FULL_OBJECT checksum against the expected value. */
async function byStoredChecksum(context: Context): Promise<IntegrityVerdict | undefined> {
  const stored = context.info.stored;
  if (!stored) return undefined;
  const label = stored.algorithm.toUpperCase();
  if (stored.type === 'COMPOSITE') {
    context.notes.push(`stored ${label} checksum is COMPOSITE (per-part) and not comparable with a full-object value: skipped`);
    return undefined;
  }
  const expected = await context.expected.value(stored.algorithm);
  if (expected === undefined) {
    context.notes.push(`no expected ${label} to compare with the stored checksum`);
    return undefined;
  }
  return compared(context, 'stored-checksum', stored.algorithm, `S3 stored full-object ${label} checksum`, expected, normalizeChecksum(stored.algorithm, stored.value));
}

/** (b) A checksum recorded in user metadata, known values preferred over computed ones. */
async function byMetadataChecksum(context: Context): Promise<IntegrityVerdict | undefined> {
  const present = METADATA_ORDER.filter((a) => context.info.metadata[a] !== undefined);
  const algorithm = present.find((a) => context.expected.known(a) !== undefined) ?? present.find((a) => context.expected.canProvide(a));
  if (algorithm === undefined) return undefined;
  const expected = await context.expected.value(algorithm);
  if (expected === undefined) return undefined;
  const actual = normalizeChecksum(algorithm, context.info.metadata[algorithm]!);
  return compared(context, 'metadata-checksum', algorithm, `metadata ${algorithm.toUpperCase()} checksum`, expected, actual);
}

/** (c) The ETag as MD5, or as a multipart ETag recomputed from the expected bytes. */
async function byEtag(context: Context, etag: ParsedEtag): Promise<IntegrityVerdict | undefined> {
  if (!etagIsContentHash(context.info.encryption)) {
    context.notes.push(`ETag is not an MD5 under ${context.info.encryption} encryption`);
    return undefined;
  }
  if (etag.kind === 'md5') {
    const expected = await context.expected.value('md5');
    if (expected === undefined) return undefined;
    return compared(context, 'etag-md5', 'etag', 'ETag as MD5 of the bytes', expected, etag.md5);
  }
  if (etag.kind === 'multipart' && context.expected.canCompute) return byMultipartEtag(context, etag);
  if (etag.kind === 'opaque') context.notes.push(`ETag '${etag.etag}' is neither an MD5 nor a multipart ETag`);
  return undefined;
}

async function byMultipartEtag(context: Context, etag: MultipartEtag): Promise<IntegrityVerdict> {
  const check = await context.expected.checkMultipart(etag);
  const etagText = `${etag.digest}-${etag.parts}`;
  if (check.partSize === undefined) return unverifiableByEtag(context, etagText, check.candidates);
  return multipartMatch(context, etagText, check.partSize, check.etag!);
}

function multipartMatch(context: Context, etagText: string, partSize: number, computed: string, source = ''): IntegrityVerdict {
  return {
    key: context.key,
    status: 'match',
    evidence: 'etag-multipart',
    algorithm: 'etag',
    expected: computed,
    actual: etagText,
    bytesDownloaded: 0,
    detail: withNotes(context, `${context.where}: multipart ETag${source} recomputed from the expected bytes with ${partSize}-byte parts: ETag ${etagText} matches`),
  };
}

/** A multipart ETag no candidate part size reproduces: a warning, and nothing downloaded. */
function unverifiableByEtag(context: Context, etagText: string, candidates: readonly number[]): IntegrityVerdict {
  const tried = candidates.length === 0 ? `no part size splits ${context.expected.size} bytes into ${etagText.split('-')[1]} parts` : `none of ${candidates.length} candidate part sizes (${candidates.map((p) => `${p} B`).join(', ')}) reproduces it`;
  return {
    key: context.key,
    status: 'unverifiable',
    evidence: 'etag-multipart',
    algorithm: 'etag',
    actual: etagText,
    bytesDownloaded: 0,
    detail: withNotes(
      context,
      `${context.where}: unverifiable by ETag: multipart ETag ${etagText} and ${tried}; the file differs or was uploaded with another part size: re-upload it with a full-object checksum (e.g. aws s3 cp --checksum-algorithm CRC64NVME) or compare a downloaded copy`,
    ),
  };
}

/** (listing) The listed ETag against the expected bytes, before any HEAD; undefined = not decided. */
async function byListedEtag(context: Context, listed: string | undefined): Promise<IntegrityVerdict | undefined> {
  if (listed === undefined || !context.expected.canCompute) return undefined;
  const etag = parseEtag(listed);
  if (etag.kind === 'md5') {
    const expected = await context.expected.value('md5');
    return expected === etag.md5 ? compared(context, 'etag-md5', 'etag', 'listed ETag as MD5 of the bytes', expected, etag.md5) : undefined;
  }
  if (etag.kind !== 'multipart') return undefined;
  const check = await context.expected.checkMultipart(etag);
  return check.partSize === undefined ? undefined : multipartMatch(context, `${etag.digest}-${etag.parts}`, check.partSize, check.etag!, ' (listed)');
}

/** Streams the object (only the version HEAD saw), counting bytes. */
async function downloadDigest(objects: ObjectStore, context: Context, options: DigestOptions): Promise<{ digest: DigestResult; bytes: number }> {
  const digest = new StreamingDigest(options);
  let bytes = 0;
  for await (const chunk of objects.stream(context.key, { ifMatch: context.info.etag })) {
    bytes += chunk.length;
    digest.update(chunk);
  }
  return { digest: await digest.digestAsync(), bytes };
}

/** (d) Download and recompute: MD5 plus every algorithm with a known expected value. */
async function byFullRecompute(objects: ObjectStore, context: Context, etag: ParsedEtag): Promise<IntegrityVerdict | undefined> {
  const algorithms = context.expected.canCompute ? (['md5'] as ChecksumName[]) : context.expected.knownAlgorithms();
  if (algorithms.length === 0) return undefined;
  const extra = context.expected.knownAlgorithms().filter((a): a is Exclude<ChecksumName, 'md5'> => a !== 'md5');
  const reproduceEtag = etag.kind === 'multipart' && !context.expected.canCompute && etagIsContentHash(context.info.encryption);
  const partSizes = reproduceEtag ? candidatePartSizes(context.expected.size, etag.parts) : [];
  const { digest, bytes } = await downloadDigest(objects, context, { checksums: extra, partSizes });
  if (reproduceEtag) {
    const etagText = `${etag.digest}-${etag.parts}`;
    context.notes.push(etagMatches(etag, digest) ? `downloaded bytes reproduce ETag ${etagText}` : `ETag ${etagText}: part size not among ${partSizes.length} candidates`);
  }
  let first: IntegrityVerdict | undefined;
  for (const algorithm of new Set<ChecksumName>([...algorithms, ...extra])) {
    const expected = await context.expected.value(algorithm);
    const actual = digest.checksums[algorithm];
    if (expected === undefined || actual === undefined) continue;
    const verdict = compared(context, 'full-recompute', algorithm, `object downloaded (${bytes} bytes), ${algorithm.toUpperCase()} recomputed`, expected, actual, bytes);
    if (verdict.status === 'mismatch') return verdict;
    first ??= verdict;
  }
  return first;
}

function unverifiable(context: Context): IntegrityVerdict {
  return {
    key: context.key,
    status: 'unverifiable',
    evidence: 'none',
    bytesDownloaded: 0,
    detail: withNotes(context, `${context.where}: nothing to compare: no expected checksum is known (no manifest value, no local file) for any evidence the object offers; record checksums in the manifest or verify against the local file`),
  };
}

/**
 * Verifies one object against its expected bytes, strongest evidence first (see the module
 * comment). Downloads only when no HEAD-level evidence decides, and then only the version HEAD saw
 * (`ifMatch`: ObjectChangedError when it was overwritten in between). `listed`: what a listing
 * already said about the object; a listed ETag that the expected bytes reproduce decides without
 * any request.
 */
export async function verifyObjectIntegrity(objects: ObjectStore, key: string, expected: ExpectedObject, listed: ListedObject = {}): Promise<IntegrityVerdict> {
  const where = `s3://${objects.bucket}/${key}`;
  const side = new ExpectedSide(expected);
  const early = await byListedEtag({ key, where, info: { key, etag: listed.etag ?? '', size: expected.size, lastModified: '', metadata: {} }, expected: side, notes: [] }, listed.etag);
  if (early) return early;
  const info = await objects.integrity(key);
  if (!info) return missing(key, where);
  const wrongSize = sizeMismatch(key, where, info, expected.size);
  if (wrongSize) return wrongSize;
  const context: Context = { key, where, info, expected: side, notes: [] };
  const etag = parseEtag(info.etag);
  return (
    (await byStoredChecksum(context)) ??
    (await byMetadataChecksum(context)) ??
    (await byEtag(context, etag)) ??
    (await byFullRecompute(objects, context, etag)) ??
    unverifiable(context)
  );
}
