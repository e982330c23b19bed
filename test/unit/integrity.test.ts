import { createHash } from 'node:crypto';
import { StreamingDigest, multipartEtag, type DigestOptions, type DigestResult } from '../../lambdas/core/checksums';
import { normalizeChecksum, verifyObjectIntegrity, type ExpectedObject } from '../../lambdas/core/integrity';
import { MemoryObjectStore } from '../fixtures/memory-object-store';

const MiB = 1024 * 1024;
const KEY = 'data/2024/part-0001.parquet';

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function digestOf(data: Uint8Array, options: DigestOptions = {}): Promise<DigestResult> {
  const d = new StreamingDigest(options);
  d.update(data);
  return d.digestAsync();
}

const md5Hex = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('base64');
const crc64 = async (data: Uint8Array): Promise<string> => (await digestOf(data, { checksums: ['crc64nvme'] })).checksums.crc64nvme!;

/** The expected side backed by local bytes, like verify-local's file. */
function localFile(data: Uint8Array): ExpectedObject & { compute: jest.Mock<Promise<DigestResult>, [DigestOptions]> } {
  return { size: data.length, compute: jest.fn(async (options: DigestOptions) => digestOf(data, options)) };
}

/** Multipart ETag of `data` uploaded in `partSize` parts, computed from explicit slices. */
function multipartOf(data: Uint8Array, partSize: number): string {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize) parts.push(createHash('md5').update(data.subarray(i, i + partSize)).digest());
  return multipartEtag(parts);
}

describe('verifyObjectIntegrity', () => {
  const data = bytes(4096, 1);
  const other = bytes(4096, 2);
  let store: MemoryObjectStore;

  beforeEach(async () => {
    store = new MemoryObjectStore();
    await store.put(KEY, data);
    store.resetCounters();
  });

  describe('presence and size', () => {
    it('reports an absent object as missing', async () => {
      const verdict = await verifyObjectIntegrity(store, 'nope', { size: 1, known: { md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'missing', bytesDownloaded: 0 });
      expect(verdict.detail).toContain('s3://test-bucket/nope');
    });

    it('reports a size difference without downloading', async () => {
      const verdict = await verifyObjectIntegrity(store, KEY, { size: 4000, known: { md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'size', expected: '4000', actual: '4096', bytesDownloaded: 0 });
      expect(verdict.detail).toMatch(/re-upload/);
      expect(store.bytesRead).toBe(0);
    });
  });

  describe('(a) stored checksum', () => {
    it('matches a FULL_OBJECT CRC64NVME against the manifest without downloading', async () => {
      store.setIntegrity(KEY, { stored: { algorithm: 'crc64nvme', value: (await crc64(data)), type: 'FULL_OBJECT' } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { crc64nvme: (await crc64(data)), md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'stored-checksum', algorithm: 'crc64nvme', bytesDownloaded: 0 });
      expect(store.bytesRead).toBe(0);
    });

    it('computes the expected value from the local file when the manifest lacks it', async () => {
      store.setIntegrity(KEY, { stored: { algorithm: 'crc64nvme', value: (await crc64(data)), type: 'FULL_OBJECT' } });
      const file = localFile(data);
      const verdict = await verifyObjectIntegrity(store, KEY, file);
      expect(verdict).toMatchObject({ status: 'match', evidence: 'stored-checksum', bytesDownloaded: 0 });
      expect(file.compute).toHaveBeenCalledWith({ checksums: ['crc64nvme'] });
    });

    it('reports a differing stored checksum as final, without downloading', async () => {
      store.setIntegrity(KEY, { stored: { algorithm: 'crc64nvme', value: (await crc64(other)), type: 'FULL_OBJECT' } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { crc64nvme: (await crc64(data)), md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'stored-checksum', expected: (await crc64(data)), actual: (await crc64(other)), bytesDownloaded: 0 });
      expect(verdict.detail).toMatch(/s3:\/\/test-bucket\/data\/2024\/part-0001\.parquet: .*CRC64NVME differs.*re-upload/);
      expect(store.bytesRead).toBe(0);
    });

    it('skips a COMPOSITE stored checksum and says so', async () => {
      store.setIntegrity(KEY, { stored: { algorithm: 'crc32c', value: 'AAAAAA==-3', type: 'COMPOSITE' } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(data), crc32c: 'AAAAAA==' } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5', bytesDownloaded: 0 });
      expect(verdict.detail).toContain('COMPOSITE');
    });

    it('moves on when no expected value exists for the stored algorithm', async () => {
      store.setIntegrity(KEY, { stored: { algorithm: 'sha256', value: sha256(data), type: 'FULL_OBJECT' } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5' });
      expect(verdict.detail).toContain('no expected SHA256');
    });
  });

  describe('(b) metadata checksum', () => {
    it('matches a metadata SHA-256 against the manifest', async () => {
      store.setIntegrity(KEY, { metadata: { sha256: sha256(data) } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { sha256: sha256(data), md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'metadata-checksum', algorithm: 'sha256', bytesDownloaded: 0 });
    });

    it('accepts a hex metadata value for a base64 algorithm', async () => {
      const hex = createHash('sha256').update(data).digest('hex');
      store.setIntegrity(KEY, { metadata: { sha256: hex } });
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(data));
      expect(verdict).toMatchObject({ status: 'match', evidence: 'metadata-checksum' });
    });

    it('reports a differing metadata checksum as final', async () => {
      store.setIntegrity(KEY, { metadata: { md5: md5Hex(other) } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'metadata-checksum', algorithm: 'md5', bytesDownloaded: 0 });
      expect(store.bytesRead).toBe(0);
    });
  });

  describe('(c) ETag', () => {
    it('matches an MD5 ETag against the manifest MD5', async () => {
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(data) } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5', algorithm: 'etag', bytesDownloaded: 0 });
    });

    it('matches an MD5 ETag against the local file', async () => {
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(data));
      expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5', bytesDownloaded: 0 });
    });

    it('reports a differing MD5 ETag as final, without downloading', async () => {
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(other));
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'etag-md5', expected: md5Hex(other), actual: md5Hex(data), bytesDownloaded: 0 });
      expect(store.bytesRead).toBe(0);
    });

    describe('multipart', () => {
      const big = bytes(11 * MiB + 3, 3);

      beforeEach(async () => {
        await store.put('big', big);
        store.resetCounters();
      });

      it('recomputes a multipart ETag from the local file with an inferred part size', async () => {
        store.setIntegrity('big', { etag: multipartOf(big, 8 * MiB) });
        const file = localFile(big);
        const verdict = await verifyObjectIntegrity(store, 'big', file);
        expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-multipart', actual: multipartOf(big, 8 * MiB), bytesDownloaded: 0 });
        expect(verdict.detail).toContain(`${8 * MiB}-byte parts`);
        expect(file.compute.mock.calls[0]![0].partSizes![0]).toBe(8 * MiB);
      });

      it('accepts a plain MD5 ETag for a multipart upload (s3rver)', async () => {
        const verdict = await verifyObjectIntegrity(store, 'big', localFile(big));
        expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5', bytesDownloaded: 0 });
      });

      it('reports a multipart ETag no candidate reproduces as unverifiable by ETag, downloading nothing', async () => {
        store.setIntegrity('big', { etag: multipartOf(big, 8 * MiB) });
        const changed = big.slice();
        changed[0] ^= 1;
        const verdict = await verifyObjectIntegrity(store, 'big', localFile(changed));
        expect(verdict).toMatchObject({ status: 'unverifiable', evidence: 'etag-multipart', actual: multipartOf(big, 8 * MiB), bytesDownloaded: 0 });
        expect(verdict.detail).toContain('s3://');
        expect(verdict.detail).toContain('big: unverifiable by ETag');
        expect(verdict.detail).toContain('re-upload it with a full-object checksum');
        expect(store.reads).toEqual([]);
      });

      it('uses checkMultipartEtag when given, with the candidates for the ETag\'s part count', async () => {
        store.setIntegrity('big', { etag: multipartOf(big, 5 * MiB) });
        const check = jest.fn(async (_etag: unknown, candidates: readonly number[]) => ({ candidates, partSize: 5 * MiB, etag: multipartOf(big, 5 * MiB) }));
        const file = { ...localFile(big), checkMultipartEtag: check };
        const verdict = await verifyObjectIntegrity(store, 'big', file);
        expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-multipart', bytesDownloaded: 0 });
        expect(check.mock.calls[0]![1]).toEqual([5 * MiB]);
        expect(file.compute).not.toHaveBeenCalled();
      });

      it('with a manifest MD5, downloads and checks the bytes reproduce the multipart ETag', async () => {
        store.setIntegrity('big', { etag: multipartOf(big, 5 * MiB) });
        const verdict = await verifyObjectIntegrity(store, 'big', { size: big.length, known: { md5: md5Hex(big) } });
        expect(verdict).toMatchObject({ status: 'match', evidence: 'full-recompute', algorithm: 'md5', bytesDownloaded: big.length });
        expect(verdict.detail).toContain(`reproduce ETag ${multipartOf(big, 5 * MiB)}`);
      });
    });
  });

  describe('listed ETag', () => {
    it('decides a match from the listed MD5 ETag without a HEAD', async () => {
      const heads = jest.spyOn(store, 'integrity');
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(data), { etag: `"${md5Hex(data)}"` });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'etag-md5', bytesDownloaded: 0 });
      expect(verdict.detail).toContain('listed ETag');
      expect(heads).not.toHaveBeenCalled();
    });

    it('falls back to HEAD when the listed ETag differs, and reports the mismatch', async () => {
      const heads = jest.spyOn(store, 'integrity');
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(other), { etag: md5Hex(data) });
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'etag-md5', bytesDownloaded: 0 });
      expect(heads).toHaveBeenCalledTimes(1);
    });
  });

  describe('(d) full recompute', () => {
    it.each(['aws:kms', 'aws:kms:dsse', 'SSE-C'])('does not trust the ETag under %s and downloads instead', async (encryption) => {
      store.setIntegrity(KEY, { encryption, etag: 'f'.repeat(32) });
      const verdict = await verifyObjectIntegrity(store, KEY, localFile(data));
      expect(verdict).toMatchObject({ status: 'match', evidence: 'full-recompute', algorithm: 'md5', bytesDownloaded: data.length });
      expect(verdict.detail).toContain(`ETag is not an MD5 under ${encryption}`);
      expect(store.reads).toEqual([{ key: KEY, range: undefined }]);
    });

    it('reports a KMS object whose bytes differ', async () => {
      store.setIntegrity(KEY, { encryption: 'aws:kms', etag: 'f'.repeat(32) });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(other) } });
      expect(verdict).toMatchObject({ status: 'mismatch', evidence: 'full-recompute', bytesDownloaded: data.length });
      expect(verdict.detail).toMatch(/re-upload/);
    });

    it('recomputes the manifest algorithms in chunks', async () => {
      store.streamChunkSize = 100;
      store.setIntegrity(KEY, { encryption: 'aws:kms', etag: 'f'.repeat(32) });
      const crc32c = (await digestOf(data, { checksums: ['crc32c'] })).checksums.crc32c!;
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { crc32c } });
      expect(verdict).toMatchObject({ status: 'match', evidence: 'full-recompute', algorithm: 'crc32c', expected: crc32c, bytesDownloaded: data.length });
    });

    it('fails on any differing manifest algorithm even when MD5 matches', async () => {
      store.setIntegrity(KEY, { encryption: 'aws:kms', etag: 'f'.repeat(32) });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: { md5: md5Hex(data), sha256: sha256(other) } });
      expect(verdict).toMatchObject({ status: 'mismatch', algorithm: 'sha256' });
    });
  });

  describe('nothing to compare', () => {
    it('reports unverifiable without downloading when nothing is known', async () => {
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length });
      expect(verdict).toMatchObject({ status: 'unverifiable', evidence: 'none', bytesDownloaded: 0 });
      expect(verdict.detail).toContain(KEY);
      expect(store.bytesRead).toBe(0);
    });

    it('reports unverifiable for a KMS object with only an ETag and no expected checksums', async () => {
      store.setIntegrity(KEY, { encryption: 'aws:kms', etag: 'f'.repeat(32), metadata: { sha256: sha256(data) } });
      const verdict = await verifyObjectIntegrity(store, KEY, { size: data.length, known: {} });
      expect(verdict).toMatchObject({ status: 'unverifiable', evidence: 'none', bytesDownloaded: 0 });
    });
  });
});

describe('normalizeChecksum', () => {
  it.each([
    ['md5', 'D41D8CD98F00B204E9800998ECF8427E', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['md5', '1B2M2Y8AsgTpgAmY7PhCfg==', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['crc32c', 'e3069283', '4waSgw=='],
    ['crc32c', '4waSgw==', '4waSgw=='],
  ] as const)('normalizes %s %s', (algorithm, value, normal) => {
    expect(normalizeChecksum(algorithm, value)).toBe(normal);
  });
});
