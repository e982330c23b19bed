/**
 * Checksum maths for object integrity (DESIGN.md §8, tier 2). CONTRACT — implementation pending
 * (issue #3): the signatures below are what the inventory/checksum stages and `verify-local`
 * build on.
 */
import type { ObjectChecksums } from './ports';

export type ChecksumName = keyof ObjectChecksums;

/** What an S3 ETag says about the bytes. */
export type ParsedEtag =
  | { readonly kind: 'md5'; readonly md5: string }
  | { readonly kind: 'multipart'; readonly digest: string; readonly parts: number }
  | { readonly kind: 'opaque'; readonly etag: string };

/**
 * Classifies an (unquoted) ETag: 32 hex digits = MD5 of the bytes (unless the object is SSE-KMS /
 * SSE-C encrypted: the caller decides that), `<32 hex>-<N>` = multipart, anything else opaque.
 */
export function parseEtag(_etag: string): ParsedEtag {
  throw new Error('not implemented');
}

/**
 * Part sizes a multipart upload of `size` bytes in `parts` parts may have used, most likely
 * first: the common client defaults (5, 8, 15, 16, 32, 64, 100, 128, 256, 512 MiB, 1 GiB, and
 * whole MiB sizes) for which ceil(size / partSize) === parts. Empty when none fits.
 */
export function candidatePartSizes(_size: number, _parts: number): number[] {
  throw new Error('not implemented');
}

/** `hex(md5(concat(partMd5s)))-N`, the ETag S3 gives a multipart upload of these parts. */
export function multipartEtag(_partMd5s: readonly Uint8Array[]): string {
  throw new Error('not implemented');
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

/** One streamed pass: MD5, multipart ETags for every requested part size, other checksums. */
export class StreamingDigest {
  constructor(_options: DigestOptions = {}) {
    throw new Error('not implemented');
  }

  update(_chunk: Uint8Array): void {
    throw new Error('not implemented');
  }

  digest(): DigestResult {
    throw new Error('not implemented');
  }
}

/** Digests an async stream of chunks (an S3 body, a file read stream). */
export async function digestStream(_source: AsyncIterable<Uint8Array>, _options: DigestOptions = {}): Promise<DigestResult> {
  throw new Error('not implemented');
}

/** Digests a local file, streamed. */
export async function digestFile(_path: string, _options: DigestOptions = {}): Promise<DigestResult> {
  throw new Error('not implemented');
}

/**
 * Does the ETag match bytes with this digest? `md5`: equal MD5; `multipart`: one of the computed
 * multipart ETags equals it (compute them with candidatePartSizes(size, parts)); `opaque`: never.
 */
export function etagMatches(_etag: ParsedEtag, _digest: DigestResult): boolean {
  throw new Error('not implemented');
}
