/**
 * Checksum maths for object integrity (DESIGN.md §8, tier 2): ETag parsing, multipart part-size
 * inference, and one streamed pass that computes MD5, multipart ETags for several part sizes and
 * the full-object checksums S3 can store (CRC64NVME, CRC32C, CRC32, SHA256, SHA1).
 *
 * Encodings follow S3: MD5 and ETags as lowercase hex; every other checksum as base64 of the
 * big-endian digest bytes.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { buf as crc32c } from 'crc-32/crc32c';
import { InvalidInputError, TerminalError } from './errors';
import { FILE_READ_CHUNK_BYTES, forEachFileChunk } from './file-chunks';

export { FILE_READ_CHUNK_BYTES } from './file-chunks';
import type { ObjectChecksums } from './ports';

export type ChecksumName = keyof ObjectChecksums;

/** The full-object checksums StreamingDigest computes besides MD5. */
export const EXTRA_CHECKSUMS: readonly Exclude<ChecksumName, 'md5'>[] = ['crc64nvme', 'crc32c', 'crc32', 'sha256', 'sha1'];

/** 1 MiB in bytes. */
export const MIB = 1024 * 1024;
/** S3's smallest part (all but the last part of a multipart upload), bytes. */
export const S3_MIN_PART_SIZE = 5 * MIB;
/** S3's largest part, bytes. */
export const S3_MAX_PART_SIZE = 5 * 1024 * MIB;
/** S3's most parts in one multipart upload. */
export const S3_MAX_PARTS = 10_000;

/**
 * Part sizes of common clients, most likely first (bytes):
 * 8 MiB (AWS CLI / boto3 s3transfer default `multipart_chunksize`; the CLI doubles it for files
 * over 10 000 parts, hence 16…), 5 MiB (SDK v3 lib-storage default, rclone default chunk size,
 * S3 minimum), 15 MiB (s3cmd default `multipart_chunk_size_mb`), then 16, 32, 64, 100, 128, 256,
 * 512 MiB and 1 GiB (common explicit settings and doubled CLI sizes).
 */
export const COMMON_PART_SIZES: readonly number[] = [8, 5, 15, 16, 32, 64, 100, 128, 256, 512, 1024].map((m) => m * MIB);

/** Default bound on the candidates candidatePartSizes returns (each costs one MD5 pass over the data). */
export const DEFAULT_MAX_PART_SIZE_CANDIDATES = 16;

/** What an S3 ETag says about the bytes. */
export type ParsedEtag =
  | { readonly kind: 'md5'; readonly md5: string }
  | { readonly kind: 'multipart'; readonly digest: string; readonly parts: number }
  | { readonly kind: 'opaque'; readonly etag: string };

/**
 * Classifies an (unquoted) ETag: 32 hex digits = MD5 of the bytes (unless the object is SSE-KMS /
 * SSE-C encrypted: the caller decides that), `<32 hex>-<N>` = multipart, anything else opaque.
 * Surrounding quotes are tolerated; hex is returned in lowercase.
 */
export function parseEtag(etag: string): ParsedEtag {
  const text = etag.trim().replace(/^"(.*)"$/, '$1');
  const md5 = /^([0-9a-fA-F]{32})$/.exec(text);
  if (md5) return { kind: 'md5', md5: md5[1]!.toLowerCase() };
  const multipart = /^([0-9a-fA-F]{32})-([1-9][0-9]{0,4})$/.exec(text);
  if (multipart) {
    const parts = Number(multipart[2]);
    if (parts <= S3_MAX_PARTS) return { kind: 'multipart', digest: multipart[1]!.toLowerCase(), parts };
  }
  return { kind: 'opaque', etag: text };
}

/** Number of parts a multipart upload of `size` bytes in `partSize`-byte parts has (≥ 1: an empty upload has one empty part). */
export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Could S3 have accepted `size` bytes in `parts` parts of `partSize` bytes? */
function fits(size: number, parts: number, partSize: number): boolean {
  if (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > S3_MAX_PART_SIZE) return false;
  if (parts > 1 && partSize < S3_MIN_PART_SIZE) return false;
  return partCount(size, partSize) === parts;
}

/**
 * Part sizes (bytes) a multipart upload of `size` bytes in `parts` parts may have used, most
 * likely first, each with partCount(size, partSize) === parts and within S3's limits (5 MiB…5 GiB
 * per part except the last, ≤ 10 000 parts). Order:
 * 1. COMMON_PART_SIZES in their order (8, 5, 15, 16, 32, 64, 100, 128, 256, 512 MiB, 1 GiB);
 * 2. lib-storage's large-file size max(5 MiB, ceil(size / 10 000)) bytes;
 * 3. whole-MiB sizes, ascending, in the only range that fits:
 *    ceil(size / parts) ≤ partSize < size / (parts − 1).
 * With `parts === 1` every part size ≥ size gives the same ETag, so one is returned.
 * At most `options.max` (default 16) sizes; empty when none fits (impossible combination).
 */
export function candidatePartSizes(size: number, parts: number, options: { max?: number } = {}): number[] {
  const max = options.max ?? DEFAULT_MAX_PART_SIZE_CANDIDATES;
  if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(parts) || parts < 1 || parts > S3_MAX_PARTS) return [];
  if (parts === 1) {
    const single = COMMON_PART_SIZES.find((p) => p >= size) ?? Math.max(MIB, Math.ceil(size / MIB) * MIB);
    return fits(size, 1, single) && max > 0 ? [single] : [];
  }
  const out: number[] = [];
  const add = (p: number): void => {
    if (out.length < max && !out.includes(p) && fits(size, parts, p)) out.push(p);
  };
  for (const p of COMMON_PART_SIZES) add(p);
  add(Math.max(S3_MIN_PART_SIZE, Math.ceil(size / S3_MAX_PARTS)));
  const firstMib = Math.ceil(size / parts / MIB);
  for (let m = firstMib; out.length < max && m * MIB * (parts - 1) < size && m * MIB <= S3_MAX_PART_SIZE; m++) add(m * MIB);
  return out;
}

/** `hex(md5(concat(partMd5s)))-N`, the ETag S3 gives a multipart upload of these parts. */
export function multipartEtag(partMd5s: readonly Uint8Array[]): string {
  const hash = createHash('md5');
  for (const part of partMd5s) hash.update(part);
  return `${hash.digest('hex')}-${partMd5s.length}`;
}

export interface DigestOptions {
  /** Part sizes to compute multipart ETags for, in the same pass. */
  readonly partSizes?: readonly number[];
  /** Full-object checksums to compute besides MD5. */
  readonly checksums?: readonly Exclude<ChecksumName, 'md5'>[];
}

export interface DigestResult {
  readonly size: number;
  /** MD5 hex and the requested full-object checksums (base64, as S3 reports them). */
  readonly checksums: ObjectChecksums & { readonly md5: string };
  /** Part size → multipart ETag (`<hex>-<N>`); for a part size ≥ size, N = 1. */
  readonly multipartEtags: ReadonlyMap<number, string>;
}

/** One running full-object checksum. */
interface Accumulator {
  update(chunk: Uint8Array): void;
  /** base64 of the big-endian digest. */
  digest(): string;
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
}

class Crc32Accumulator implements Accumulator {
  private state = 0;
  constructor(private readonly fn: (input: Uint8Array, state: number) => number) {}
  update(chunk: Uint8Array): void {
    this.state = this.fn(chunk, this.state);
  }
  digest(): string {
    return uint32Base64(this.state);
  }
}

class HashAccumulator implements Accumulator {
  private readonly hash: Hash;
  constructor(algorithm: 'sha256' | 'sha1') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('base64');
  }
}

/**
 * CRC64NVME through the SDK's `Crc64Nvme` (native CRT when `@aws-sdk/crc64-nvme-crt` is loaded,
 * else its pure-JS table implementation). The SDK's digest is async, so this accumulator is read
 * only by `StreamingDigest.digestAsync()`.
 */
class Crc64NvmeAccumulator {
  private readonly crc = new Crc64Nvme();
  update(chunk: Uint8Array): void {
    this.crc.update(chunk);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.crc.digest()).toString('base64');
  }
}

function accumulatorFor(name: Exclude<ChecksumName, 'md5'>): Accumulator | Crc64NvmeAccumulator {
  switch (name) {
    case 'crc64nvme':
      return new Crc64NvmeAccumulator();
    case 'crc32c':
      // SheetJS crc-32 (slicing-by-16, pure JS): ~1.9 GB/s here, bundles into the Lambda as is.
      return new Crc32Accumulator((input, state) => crc32c(input, state | 0) >>> 0);
    case 'crc32':
      return new Crc32Accumulator((input, state) => crc32(input, state));
    case 'sha256':
    case 'sha1':
      return new HashAccumulator(name);
  }
}

/** Per part size: finished part digests after the first, and the running MD5 of the current part. */
interface PartState {
  readonly partSize: number;
  /** MD5 of the first part; taken from a copy of the whole-file hash when byte `partSize` is reached. */
  first?: Buffer;
  /** Digests of parts 2…k that are complete. */
  readonly done: Buffer[];
  /** Running MD5 of the current part (from part 2 on). */
  current: Hash;
  /** File offset (bytes) where the current part (from part 2 on) ends. */
  currentEnd: number;
}

function validatePartSizes(partSizes: readonly number[]): number[] {
  for (const p of partSizes) {
    if (!Number.isSafeInteger(p) || p < 1) throw new InvalidInputError(`part size ${String(p)} is not a positive whole number of bytes: pass part sizes in bytes, e.g. 8388608 for 8 MiB`);
  }
  return [...new Set(partSizes)].sort((a, b) => a - b);
}

/**
 * One streamed pass: MD5, multipart ETags for every requested part size, other checksums.
 *
 * Memory is O(number of parts) digests per part size; every byte is hashed once for the whole-file
 * MD5 and once per part size beyond that size's first part (the first part's MD5 is a copy of the
 * whole-file hash state, so files no larger than a part size cost nothing extra). Chunks may have
 * any size and straddle part boundaries. `digest()` finishes the pass: call it once (later calls
 * return the same result); `update()` after it throws.
 */
export class StreamingDigest {
  private readonly whole = createHash('md5');
  private readonly parts: PartState[];
  private readonly extras: [Exclude<ChecksumName, 'md5'>, Accumulator | Crc64NvmeAccumulator][];
  private size = 0;
  private result?: DigestResult;

  constructor(options: DigestOptions = {}) {
    this.parts = validatePartSizes(options.partSizes ?? []).map((partSize) => ({
      partSize,
      done: [],
      current: createHash('md5'),
      currentEnd: 2 * partSize,
    }));
    this.extras = [...new Set(options.checksums ?? [])].map((name) => [name, accumulatorFor(name)]);
  }

  /** Feeds the next bytes of the object, in order. */
  update(chunk: Uint8Array): void {
    if (this.result) throw new TerminalError('StreamingDigest.update() called after digest(): create a new StreamingDigest per object');
    if (chunk.length === 0) return;
    const start = this.size;
    const end = start + chunk.length;
    this.updateWhole(chunk, start, end);
    for (const state of this.parts) if (end > state.partSize) this.updateLaterParts(state, chunk, start, end);
    for (const [, acc] of this.extras) acc.update(chunk);
    this.size = end;
  }

  /** Whole-file MD5, cut at first-part boundaries inside this chunk to snapshot first-part MD5s. */
  private updateWhole(chunk: Uint8Array, start: number, end: number): void {
    let pos = start;
    for (const state of this.parts) {
      if (state.first || state.partSize <= start || state.partSize > end) continue;
      this.whole.update(chunk.subarray(pos - start, state.partSize - start));
      pos = state.partSize;
      state.first = this.whole.copy().digest();
    }
    this.whole.update(chunk.subarray(pos - start));
  }

  /** Bytes of this chunk past the first part go to the running MD5 of their part. */
  private updateLaterParts(state: PartState, chunk: Uint8Array, start: number, end: number): void {
    let pos = Math.max(start, state.partSize);
    while (pos < end) {
      const stop = Math.min(end, state.currentEnd);
      state.current.update(chunk.subarray(pos - start, stop - start));
      pos = stop;
      if (pos === state.currentEnd) {
        state.done.push(state.current.digest());
        state.current = createHash('md5');
        state.currentEnd += state.partSize;
      }
    }
  }

  /**
   * Finishes the pass synchronously. CRC64NVME cannot be finished synchronously (the SDK's digest is
   * async): when it was requested, use digestAsync().
   */
  digest(): DigestResult {
    if (this.result) return this.result;
    const values = new Map<Exclude<ChecksumName, 'md5'>, string>();
    for (const [name, acc] of this.extras) {
      if (acc instanceof Crc64NvmeAccumulator) throw new TerminalError('StreamingDigest.digest() cannot finish CRC64NVME synchronously: call digestAsync()');
      values.set(name, acc.digest());
    }
    return this.finish(values);
  }

  /** Finishes the pass, every requested checksum included. */
  async digestAsync(): Promise<DigestResult> {
    if (this.result) return this.result;
    const values = new Map<Exclude<ChecksumName, 'md5'>, string>();
    for (const [name, acc] of this.extras) values.set(name, await acc.digest());
    return this.finish(values);
  }

  private finish(values: ReadonlyMap<Exclude<ChecksumName, 'md5'>, string>): DigestResult {
    if (this.result) return this.result;
    const checksums: Record<string, string> = Object.fromEntries(values);
    const md5 = this.whole.digest();
    const multipartEtags = new Map<number, string>();
    for (const state of this.parts) multipartEtags.set(state.partSize, multipartEtag(this.partDigests(state, md5)));
    this.result = { size: this.size, checksums: { ...checksums, md5: md5.toString('hex') }, multipartEtags };
    return this.result;
  }

  private partDigests(state: PartState, wholeMd5: Buffer): Buffer[] {
    if (this.size <= state.partSize) return [wholeMd5];
    const lastHasBytes = this.size > state.currentEnd - state.partSize;
    return [state.first!, ...state.done, ...(lastHasBytes ? [state.current.digest()] : [])];
  }
}

/** Digests an async stream of chunks (an S3 body, a file read stream). */
export async function digestStream(source: AsyncIterable<Uint8Array>, options: DigestOptions = {}): Promise<DigestResult> {
  const digest = new StreamingDigest(options);
  for await (const chunk of source) digest.update(chunk);
  return digest.digestAsync();
}

/**
 * Digests a local file: double-buffered reads (the next read in flight while this chunk is
 * hashed), so the file costs about what its hashing costs. `sizeHint` (the size the caller expects)
 * only sizes the read buffers so that many small files do not each allocate 8 MiB; the file is
 * always read to its end.
 */
export async function digestFile(path: string, options: DigestOptions = {}, sizeHint?: number): Promise<DigestResult> {
  const digest = new StreamingDigest(options);
  await forEachFileChunk(path, (chunk) => digest.update(chunk), {}, readBufferBytes(sizeHint));
  return digest.digestAsync();
}

/**
 * Buffer size for reading a file of about `sizeHint` bytes: one read holds it whole (and sees EOF
 * next); a small file's buffers come from Node's pool instead of a fresh allocation each.
 */
function readBufferBytes(sizeHint: number | undefined): number {
  return sizeHint === undefined || !(sizeHint >= 0) ? FILE_READ_CHUNK_BYTES : Math.min(FILE_READ_CHUNK_BYTES, Math.floor(sizeHint) + 1);
}

/**
 * One full-object checksum of a local file and nothing else (no MD5): base64 as S3 reports it.
 * Same double-buffered reads as digestFile.
 */
export async function checksumFile(path: string, algorithm: Exclude<ChecksumName, 'md5'>, sizeHint?: number): Promise<string> {
  const accumulator = accumulatorFor(algorithm);
  await forEachFileChunk(path, (chunk) => accumulator.update(chunk), {}, readBufferBytes(sizeHint));
  return accumulator.digest();
}

/**
 * Does the ETag match bytes with this digest? `md5`: equal MD5; `multipart`: one of the computed
 * multipart ETags equals it (compute them with candidatePartSizes(size, parts)); `opaque`: never.
 */
export function etagMatches(etag: ParsedEtag, digest: DigestResult): boolean {
  switch (etag.kind) {
    case 'md5':
      return digest.checksums.md5 === etag.md5;
    case 'multipart': {
      const wanted = `${etag.digest}-${etag.parts}`;
      return [...digest.multipartEtags.values()].includes(wanted);
    }
    case 'opaque':
      return false;
  }
}

/** The part size whose multipart ETag equals `etag`, if any (for reports). */
export function matchingPartSize(etag: ParsedEtag, digest: DigestResult): number | undefined {
  if (etag.kind !== 'multipart') return undefined;
  const wanted = `${etag.digest}-${etag.parts}`;
  for (const [partSize, value] of digest.multipartEtags) if (value === wanted) return partSize;
  return undefined;
}
