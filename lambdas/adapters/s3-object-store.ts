import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { ObjectChangedError, TerminalError, TransientError } from '../core/errors';
import type { ByteRange, ObjectChecksums, ObjectIntegrity, ObjectStore, ObjectSummary } from '../core/ports';

/** User-metadata keys a writer may record checksums under: `x-amz-meta-syncproof-md5`, … */
export const METADATA_CHECKSUM_PREFIX = 'syncproof-';
const CHECKSUM_NAMES: readonly (keyof ObjectChecksums)[] = ['md5', 'crc64nvme', 'crc32c', 'crc32', 'sha256', 'sha1'];

/** Strips the quotes S3 puts around ETags. */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

const TRANSIENT_S3 = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError']);

/** Translates an S3 SDK error into the project's taxonomy, naming the object. */
export function translateS3Error(error: unknown, what: string): Error {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (TRANSIENT_S3.has(e.name ?? '') || e.$retryable || status >= 500 || e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED') {
    return new TransientError(`${what}: ${e.name ?? 'error'}; retry later`, { cause: error });
  }
  if (e.name === 'AccessDenied' || status === 403) {
    // S3's text names the principal, the action and the resource (AWS's access denied messages).
    const said = error instanceof Error && error.message && error.message !== e.name ? ` (${error.message})` : '';
    return new TerminalError(`${what}: access denied${said}; check the bucket policy and the role's s3 permissions`, { cause: error });
  }
  if (e.name === 'NoSuchBucket') {
    return new TerminalError(`${what}: the bucket does not exist; check the bucket name`, { cause: error });
  }
  if (error instanceof Error) return new TerminalError(`${what}: ${error.name}: ${error.message}`, { cause: error });
  return new TerminalError(`${what}: ${String(error)}`);
}

/** ObjectStore over one S3 bucket (AWS or an emulator). */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async *list(prefix: string): AsyncIterable<ObjectSummary> {
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          yield {
            key: o.Key,
            etag: unquoteEtag(o.ETag),
            size: o.Size ?? 0,
            lastModified: (o.LastModified ?? new Date(0)).toISOString(),
          };
        }
      }
    } catch (error) {
      throw translateS3Error(error, `listing s3://${this.bucket}/${prefix}`);
    }
  }

  async head(key: string): Promise<ObjectSummary | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        etag: unquoteEtag(out.ETag),
        size: out.ContentLength ?? 0,
        lastModified: (out.LastModified ?? new Date(0)).toISOString(),
      };
    } catch (error) {
      if (error instanceof NotFound || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)) {
        return undefined;
      }
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
  }

  async integrity(key: string): Promise<ObjectIntegrity | undefined> {
    let out: HeadObjectCommandOutput;
    try {
      out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }));
    } catch (error) {
      if (error instanceof NotFound || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)) {
        return undefined;
      }
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
    const storedValues: [keyof ObjectChecksums, string | undefined][] = [
      ['crc64nvme', out.ChecksumCRC64NVME],
      ['crc32c', out.ChecksumCRC32C],
      ['crc32', out.ChecksumCRC32],
      ['sha256', out.ChecksumSHA256],
      ['sha1', out.ChecksumSHA1],
    ];
    const found = storedValues.find(([, v]) => v !== undefined && v !== '');
    const meta = out.Metadata ?? {};
    const metadata: Record<string, string> = {};
    for (const algorithm of CHECKSUM_NAMES) {
      const v = meta[`${METADATA_CHECKSUM_PREFIX}${algorithm}`];
      if (v) metadata[algorithm] = v;
    }
    return {
      key,
      etag: unquoteEtag(out.ETag),
      size: out.ContentLength ?? 0,
      lastModified: (out.LastModified ?? new Date(0)).toISOString(),
      stored: found
        ? {
            algorithm: found[0],
            value: found[1]!,
            type: out.ChecksumType === 'COMPOSITE' || (out.ChecksumType === undefined && found[1]!.includes('-')) ? 'COMPOSITE' : 'FULL_OBJECT',
          }
        : undefined,
      metadata,
      encryption: out.SSECustomerAlgorithm ? 'SSE-C' : out.ServerSideEncryption,
    };
  }

  async *stream(key: string, options: { ifMatch?: string } = {}): AsyncIterable<Uint8Array> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: options.ifMatch ? `"${options.ifMatch}"` : undefined }),
      );
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (options.ifMatch && (status === 412 || (error as Error).name === 'PreconditionFailed')) throw new ObjectChangedError(key, options.ifMatch);
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
    if (options.ifMatch && out.ETag !== undefined && unquoteEtag(out.ETag) !== options.ifMatch) {
      (out.Body as Readable | undefined)?.destroy?.();
      throw new ObjectChangedError(key, options.ifMatch);
    }
    if (!out.Body) return;
    try {
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) yield chunk;
    } catch (error) {
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
  }

  async getBytes(key: string, range?: ByteRange, options: { ifMatch?: string } = {}): Promise<Uint8Array> {
    if (range && range.end <= range.start) return new Uint8Array(0);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined,
          IfMatch: options.ifMatch ? `"${options.ifMatch}"` : undefined,
        }),
      );
      // S3 enforces IfMatch; emulators may not, so the returned ETag is checked as well.
      if (options.ifMatch && out.ETag !== undefined && unquoteEtag(out.ETag) !== options.ifMatch) {
        out.Body?.transformToByteArray().catch(() => undefined);
        throw new ObjectChangedError(key, options.ifMatch);
      }
      if (!out.Body) return new Uint8Array(0);
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof ObjectChangedError) throw error;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (options.ifMatch && (status === 412 || (error as Error).name === 'PreconditionFailed')) {
        throw new ObjectChangedError(key, options.ifMatch);
      }
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
  }

  async getObject(key: string): Promise<{ bytes: Uint8Array; summary: ObjectSummary } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      return {
        bytes,
        summary: { key, etag: unquoteEtag(out.ETag), size: bytes.byteLength, lastModified: (out.LastModified ?? new Date(0)).toISOString() },
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
      throw translateS3Error(error, `reading s3://${this.bucket}/${key}`);
    }
  }

  async copy(sourceKey: string, destinationKey: string, options: { readonly ifMatch: string }): Promise<ObjectSummary> {
    // The copy source is URL-encoded; '/' stays as it is.
    const source = `${this.bucket}/${encodeURIComponent(sourceKey).replace(/%2F/g, '/')}`;
    try {
      const out = await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: destinationKey, CopySource: source, CopySourceIfMatch: `"${options.ifMatch}"` }),
      );
      const head = await this.head(destinationKey);
      return {
        key: destinationKey,
        etag: unquoteEtag(out.CopyObjectResult?.ETag) || (head?.etag ?? ''),
        size: head?.size ?? 0,
        lastModified: (out.CopyObjectResult?.LastModified ?? new Date()).toISOString(),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (error as Error).name;
      if (status === 412 || name === 'PreconditionFailed' || name === 'NoSuchKey' || status === 404) throw new ObjectChangedError(sourceKey, options.ifMatch);
      throw translateS3Error(error, `copying s3://${this.bucket}/${sourceKey} to ${destinationKey}`);
    }
  }

  async put(key: string, body: Uint8Array | string, contentType?: string, options: { readonly checksums?: ObjectChecksums } = {}): Promise<ObjectSummary> {
    const checksums = options.checksums ?? {};
    const metadata = Object.fromEntries(Object.entries(checksums).filter(([, v]) => v !== undefined).map(([name, v]) => [`${METADATA_CHECKSUM_PREFIX}${name}`, String(v)]));
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(checksums.md5 ? { ContentMD5: Buffer.from(checksums.md5, 'hex').toString('base64') } : {}),
          ...(checksums.crc64nvme ? { ChecksumAlgorithm: 'CRC64NVME' as const, ChecksumCRC64NVME: checksums.crc64nvme } : {}),
          ...(Object.keys(metadata).length ? { Metadata: metadata } : {}),
        }),
      );
      return {
        key,
        etag: unquoteEtag(out.ETag),
        size: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
        lastModified: new Date().toISOString(),
      };
    } catch (error) {
      throw translateS3Error(error, `writing s3://${this.bucket}/${key}`);
    }
  }

  async delete(key: string, options: { readonly ifMatch?: string } = {}): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, ...(options.ifMatch ? { IfMatch: `"${options.ifMatch}"` } : {}) }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (error as Error).name;
      // A conditional delete of a key that holds nothing: already gone, which is what was asked.
      if (options.ifMatch && (name === 'NoSuchKey' || status === 404)) return;
      if (options.ifMatch && (status === 412 || name === 'PreconditionFailed')) throw new ObjectChangedError(key, options.ifMatch);
      throw translateS3Error(error, `deleting s3://${this.bucket}/${key}`);
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, JSON.stringify(value), 'application/json');
  }

  async getJson(key: string): Promise<unknown> {
    const bytes = await this.getBytes(key);
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw new TerminalError(`s3://${this.bucket}/${key} is not valid JSON`, { cause: error });
    }
  }
}
