import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COMMON_PART_SIZES,
  StreamingDigest,
  candidatePartSizes,
  digestFile,
  digestStream,
  etagMatches,
  matchingPartSize,
  multipartEtag,
  parseEtag,
  type DigestResult,
} from '../../lambdas/core/checksums';
import { InvalidInputError } from '../../lambdas/core/errors';

const MiB = 1024 * 1024;
const ALL = ['crc64nvme', 'crc32c', 'crc32', 'sha256', 'sha1'] as const;

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** The multipart ETag computed independently: md5 of each explicit slice, then md5 of the concatenation. */
function expectedEtag(data: Uint8Array, partSize: number): string {
  const parts: Buffer[] = [];
  for (let start = 0; start < data.length; start += partSize) parts.push(md5(data.subarray(start, start + partSize)));
  if (parts.length === 0) parts.push(md5(data));
  return `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function digestInChunks(data: Uint8Array, chunkSizes: readonly number[], options: ConstructorParameters<typeof StreamingDigest>[0]): Promise<DigestResult> {
  const digest = new StreamingDigest(options);
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const size = chunkSizes[i % chunkSizes.length]!;
    digest.update(data.subarray(pos, pos + size));
    pos += size;
  }
  return digest.digestAsync();
}

describe('parseEtag', () => {
  it.each([
    ['d41d8cd98f00b204e9800998ecf8427e', { kind: 'md5', md5: 'd41d8cd98f00b204e9800998ecf8427e' }],
    ['"D41D8CD98F00B204E9800998ECF8427E"', { kind: 'md5', md5: 'd41d8cd98f00b204e9800998ecf8427e' }],
    ['9b2cf535f27731c974343645a3985328-3', { kind: 'multipart', digest: '9b2cf535f27731c974343645a3985328', parts: 3 }],
    ['9b2cf535f27731c974343645a3985328-10000', { kind: 'multipart', digest: '9b2cf535f27731c974343645a3985328', parts: 10000 }],
  ])('classifies %s', (etag, parsed) => {
    expect(parseEtag(etag)).toEqual(parsed);
  });

  it.each(['', 'abc', '9b2cf535f27731c974343645a3985328-0', '9b2cf535f27731c974343645a3985328-10001', 'zz2cf535f27731c974343645a3985328'])(
    'treats %p as opaque',
    (etag) => {
      expect(parseEtag(etag).kind).toBe('opaque');
    },
  );
});

describe('candidatePartSizes', () => {
  it('puts 8 MiB first for 20 MiB in 3 parts, then the other fits', () => {
    const sizes = candidatePartSizes(20 * MiB, 3);
    expect(sizes[0]).toBe(8 * MiB);
    expect(sizes).toEqual([8 * MiB, 7 * MiB, 9 * MiB]);
  });

  it('keeps the documented order of common sizes', () => {
    // 100 MiB in 7 parts: 15 and 16 MiB both fit; 15 (s3cmd) is listed before 16.
    expect(candidatePartSizes(100 * MiB, 7).slice(0, 2)).toEqual([15 * MiB, 16 * MiB]);
    // 100 MiB in 20 parts: exactly 5 MiB.
    expect(candidatePartSizes(100 * MiB, 20)[0]).toBe(5 * MiB);
  });

  it('only returns sizes that give exactly that many parts', () => {
    for (const [size, parts] of [[20 * MiB, 3], [1000 * MiB + 17, 9], [64 * MiB, 2], [3 * 1024 * MiB, 12]] as const) {
      const sizes = candidatePartSizes(size, parts);
      expect(sizes.length).toBeGreaterThan(0);
      for (const p of sizes) expect(Math.ceil(size / p)).toBe(parts);
    }
  });

  it('includes lib-storage large-file size ceil(size / 10000)', () => {
    const size = 200 * 1024 * MiB + 12345; // 200 GiB: 5 MiB parts would exceed 10 000
    const partSize = Math.ceil(size / 10000);
    expect(candidatePartSizes(size, Math.ceil(size / partSize))).toContain(partSize);
  });

  it('returns one size for a single part, including a zero-byte upload', () => {
    expect(candidatePartSizes(3 * MiB, 1)).toEqual([8 * MiB]);
    expect(candidatePartSizes(0, 1)).toEqual([8 * MiB]);
  });

  it.each([
    ['more parts than bytes allow with 5 MiB minimum', 10 * MiB, 3],
    ['more than 10 000 parts', 100 * 1024 * MiB, 10001],
    ['zero parts', 10 * MiB, 0],
    ['an empty upload in 2 parts', 0, 2],
    ['parts larger than 5 GiB', 20 * 1024 * MiB, 2],
  ])('returns [] for an impossible combination: %s', (_name, size, parts) => {
    expect(candidatePartSizes(size, parts)).toEqual([]);
  });

  it('bounds the number of candidates', () => {
    const sizes = candidatePartSizes(4 * 1024 * MiB, 2);
    expect(sizes.length).toBe(16);
    expect(candidatePartSizes(4 * 1024 * MiB, 2, { max: 3 })).toHaveLength(3);
  });

  it('exposes the common sizes in likelihood order', () => {
    expect(COMMON_PART_SIZES.slice(0, 3)).toEqual([8 * MiB, 5 * MiB, 15 * MiB]);
  });
});

describe('multipartEtag', () => {
  it('is hex(md5(concatenated part md5s))-N', () => {
    const a = md5(Buffer.from('a'));
    const b = md5(Buffer.from('b'));
    expect(multipartEtag([a, b])).toBe(`${createHash('md5').update(Buffer.concat([a, b])).digest('hex')}-2`);
  });
});

describe('StreamingDigest known vectors', () => {
  it('gives the MD5 of the empty string and of abc', () => {
    expect(new StreamingDigest().digest().checksums.md5).toBe('d41d8cd98f00b204e9800998ecf8427e');
    const d = new StreamingDigest();
    d.update(Buffer.from('abc'));
    expect(d.digest().checksums.md5).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('gives the CRC check values for 123456789 as S3 encodes them (base64 big-endian)', async () => {
    const d = new StreamingDigest({ checksums: ['crc32c', 'crc32', 'crc64nvme'] });
    d.update(Buffer.from('123456789'));
    const { checksums } = await d.digestAsync();
    expect(checksums.crc32c).toBe(hexToBase64('e3069283'));
    expect(checksums.crc32).toBe(hexToBase64('cbf43926'));
    expect(checksums.crc64nvme).toBe(hexToBase64('ae8b14860a799888'));
    expect(checksums.crc64nvme).toBe('rosUhgp5mIg=');
  });

  it('gives SHA-256 and SHA-1 as base64', () => {
    const d = new StreamingDigest({ checksums: ['sha256', 'sha1'] });
    d.update(Buffer.from('abc'));
    const { checksums } = d.digest();
    expect(checksums.sha256).toBe(createHash('sha256').update('abc').digest('base64'));
    expect(checksums.sha1).toBe(createHash('sha1').update('abc').digest('base64'));
  });

  it('reads CRC64NVME the same through the async public API', async () => {
    const d = new StreamingDigest({ checksums: ['crc64nvme'] });
    d.update(Buffer.from('123456789'));
    expect((await d.digestAsync()).checksums.crc64nvme).toBe('rosUhgp5mIg=');
  });

  it('digests a zero-byte input', async () => {
    const result = await new StreamingDigest({ partSizes: [5 * MiB], checksums: [...ALL] }).digestAsync();
    expect(result.size).toBe(0);
    expect(result.checksums.crc32c).toBe('AAAAAA==');
    expect(result.checksums.crc64nvme).toBe('AAAAAAAAAAA=');
    expect(result.multipartEtags.get(5 * MiB)).toBe(expectedEtag(new Uint8Array(0), 5 * MiB));
  });
});

describe('StreamingDigest multipart ETags', () => {
  const small = 1000; // small part sizes keep these tests fast; the maths is the same
  const cases: [string, number, number][] = [
    ['3 parts: 2 full + tail', 2 * small + 123, small],
    ['exact multiple', 4 * small, small],
    ['1 part smaller than the part size', 456, small],
    ['1 part exactly the part size', small, small],
  ];

  it.each(cases)('matches explicit slices: %s', async (_name, length, partSize) => {
    const data = bytes(length, length);
    expect((await digestInChunks(data, [length || 1], { partSizes: [partSize] })).multipartEtags.get(partSize)).toBe(expectedEtag(data, partSize));
  });

  it('computes three 5 MiB parts plus a tail, and 8 MiB parts, in one pass', async () => {
    const data = bytes(15 * MiB + 777, 7);
    const result = await digestInChunks(data, [1 * MiB + 3], { partSizes: [5 * MiB, 8 * MiB] });
    expect(result.multipartEtags.get(5 * MiB)).toBe(expectedEtag(data, 5 * MiB));
    expect(result.multipartEtags.get(5 * MiB)).toMatch(/-4$/);
    expect(result.multipartEtags.get(8 * MiB)).toBe(expectedEtag(data, 8 * MiB));
    expect(result.checksums.md5).toBe(md5(data).toString('hex'));
  });

  it.each([
    ['1-byte chunks', [1]],
    ['7-byte chunks', [7]],
    ['chunks straddling part boundaries', [999, 1001, 2, 1500]],
    ['a chunk spanning several parts', [3500, 1]],
  ])('equals the one-shot digest with %s', async (_name, chunkSizes) => {
    const data = bytes(5 * 1000 + 17, 3);
    const options = { partSizes: [1000, 1024, 7, 5017, 6000], checksums: [...ALL] };
    const oneShot = await digestInChunks(data, [data.length], options);
    const chunked = await digestInChunks(data, chunkSizes, options);
    expect(chunked).toEqual(oneShot);
    for (const p of options.partSizes) expect(chunked.multipartEtags.get(p)).toBe(expectedEtag(data, p));
  });

  it('rejects a part size that is not a positive whole number', () => {
    expect(() => new StreamingDigest({ partSizes: [0] })).toThrow(InvalidInputError);
    expect(() => new StreamingDigest({ partSizes: [1.5] })).toThrow('1.5');
  });

  it('refuses a synchronous digest() when CRC64NVME was requested, naming digestAsync', () => {
    const d = new StreamingDigest({ checksums: ['crc64nvme'] });
    d.update(Buffer.from('x'));
    expect(() => d.digest()).toThrow(/digestAsync/);
  });

  it('refuses updates after digest and returns the same result twice', () => {
    const d = new StreamingDigest();
    d.update(Buffer.from('x'));
    const first = d.digest();
    expect(d.digest()).toBe(first);
    expect(() => d.update(Buffer.from('y'))).toThrow(/after digest/);
  });
});

describe('digestStream and digestFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'checksums-test-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('digests an async stream like one update', async () => {
    const data = bytes(10_000, 9);
    async function* source(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < data.length; i += 333) yield data.subarray(i, i + 333);
    }
    const streamed = await digestStream(source(), { partSizes: [4096], checksums: ['crc64nvme'] });
    expect(streamed).toEqual(await digestInChunks(data, [data.length], { partSizes: [4096], checksums: ['crc64nvme'] }));
  });

  it('digests a file larger than one read', async () => {
    const data = bytes(9 * MiB + 5, 11);
    const path = join(dir, 'f.bin');
    writeFileSync(path, data);
    const result = await digestFile(path, { partSizes: [8 * MiB], checksums: ['crc32c'] });
    expect(result.size).toBe(data.length);
    expect(result.checksums.md5).toBe(md5(data).toString('hex'));
    expect(result.multipartEtags.get(8 * MiB)).toBe(expectedEtag(data, 8 * MiB));
  });

  it('digests an empty file', async () => {
    const path = join(dir, 'empty.bin');
    writeFileSync(path, '');
    expect((await digestFile(path)).checksums.md5).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });
});

describe('etagMatches', () => {
  const data = bytes(3000, 5);
  const streaming = new StreamingDigest({ partSizes: [1000, 1500] });
  streaming.update(data);
  // No CRC64NVME requested, so the synchronous digest() is available.
  const digest = streaming.digest();

  it('matches an MD5 ETag by the MD5', () => {
    expect(etagMatches(parseEtag(md5(data).toString('hex')), digest)).toBe(true);
    expect(etagMatches(parseEtag('0'.repeat(32)), digest)).toBe(false);
  });

  it('matches a multipart ETag when one computed part size reproduces it', () => {
    const etag = parseEtag(expectedEtag(data, 1500));
    expect(etagMatches(etag, digest)).toBe(true);
    expect(matchingPartSize(etag, digest)).toBe(1500);
    expect(etagMatches(parseEtag(expectedEtag(data, 750)), digest)).toBe(false);
  });

  it('never matches an opaque ETag', () => {
    expect(etagMatches(parseEtag('not-an-md5'), digest)).toBe(false);
  });
});
