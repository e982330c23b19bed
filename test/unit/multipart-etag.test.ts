import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidatePartSizes, multipartEtag, parseEtag, StreamingDigest } from '../../lambdas/core/checksums';
import { forEachFileChunk } from '../../lambdas/core/file-chunks';
import { checkFileMultipartEtag, fileMultipartEtag, type MultipartEtag } from '../../lambdas/core/multipart-etag';

const MiB = 1024 * 1024;

/** Deterministic bytes (an LCG), so a failure reproduces. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The multipart ETag from explicit slices: what S3 computes for an upload in `partSize` parts. */
function s3Etag(data: Buffer, partSize: number): string {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize) parts.push(createHash('md5').update(data.subarray(i, i + partSize)).digest());
  return multipartEtag(parts);
}

describe('multipart ETag of a local file', () => {
  let dir: string;
  // 33 MiB + 7: 7 parts of 5 MiB, 5 of 8 MiB, 3 of 16 MiB, 4 of 9 MiB + 1 (an odd size).
  const data = bytes(33 * MiB + 7, 11);
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncproof-multipart-'));
    file = join(dir, 'data.bin');
    await writeFile(file, data);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([5 * MiB, 8 * MiB, 16 * MiB, 9 * MiB + 1])('equals the ETag S3 gives %i-byte parts, on this thread and in 1 or 3 workers', async (partSize) => {
    const wanted = s3Etag(data, partSize);
    expect(await fileMultipartEtag(file, data.length, partSize, { workers: 0 })).toBe(wanted);
    expect(await fileMultipartEtag(file, data.length, partSize, { workers: 1 })).toBe(wanted);
    expect(await fileMultipartEtag(file, data.length, partSize, { workers: 3 })).toBe(wanted);
  });

  it.each([5 * MiB, 8 * MiB, 16 * MiB])('finds the %i-byte part size among the candidates of the ETag part count', async (partSize) => {
    const etag = parseEtag(s3Etag(data, partSize)) as MultipartEtag;
    const check = await checkFileMultipartEtag(file, data.length, etag);
    expect(check.candidates).toEqual(candidatePartSizes(data.length, etag.parts));
    expect(check.partSize).toBe(partSize);
    expect(check.etag).toBe(s3Etag(data, partSize));
  });

  it('finds an odd part size when it is a candidate, and no size when none reproduces the ETag', async () => {
    const odd = 9 * MiB + 1;
    const etag = parseEtag(s3Etag(data, odd)) as MultipartEtag;
    expect(candidatePartSizes(data.length, etag.parts)).not.toContain(odd);
    expect((await checkFileMultipartEtag(file, data.length, etag)).partSize).toBeUndefined();
    expect((await checkFileMultipartEtag(file, data.length, etag, { candidates: [8 * MiB, odd] })).partSize).toBe(odd);
  });

  it('reports no match for a file with one byte changed', async () => {
    const changed = Buffer.from(data);
    changed[20 * MiB] ^= 1;
    const path = join(dir, 'changed.bin');
    await writeFile(path, changed);
    const etag = parseEtag(s3Etag(data, 8 * MiB)) as MultipartEtag;
    expect(await checkFileMultipartEtag(path, changed.length, etag)).toEqual({ candidates: [8 * MiB, 7 * MiB] });
  });

  it('agrees with StreamingDigest fed by the double-buffered reader', async () => {
    const digest = new StreamingDigest({ partSizes: [8 * MiB] });
    const read = await forEachFileChunk(file, (chunk) => digest.update(chunk), {}, 3 * MiB + 1);
    expect(read).toBe(data.length);
    const result = await digest.digestAsync();
    expect(result.checksums.md5).toBe(createHash('md5').update(data).digest('hex'));
    expect(result.multipartEtags.get(8 * MiB)).toBe(s3Etag(data, 8 * MiB));
  });
});
