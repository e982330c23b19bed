/**
 * Object integrity, strongest evidence first (DESIGN.md §8 tier 2; issue #3). CONTRACT —
 * implementation pending: `verifyObjectIntegrity` is shared by the checksum-sampling stage
 * (expected side = a manifest's recorded values) and `syncproof verify-local --detailed`
 * (expected side = a local file, digested on demand).
 */
import type { DigestOptions, DigestResult, ChecksumName } from './checksums';
import type { ObjectChecksums, ObjectStore } from './ports';

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

/** Verifies one object against its expected bytes, strongest evidence first. */
export async function verifyObjectIntegrity(_objects: ObjectStore, _key: string, _expected: ExpectedObject): Promise<IntegrityVerdict> {
  throw new Error('not implemented');
}
