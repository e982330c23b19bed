import { createHash } from 'node:crypto';
import { runChecksumSample, type ChecksumReport } from '../../lambdas/checksum/checksum';
import { parseConfig } from '../../lambdas/core/config';
import { IntegrityCheckFailedError, judgeChecksums } from '../../lambdas/core/verification';
import { TEST_CONFIG, testDeps, type TestDeps } from '../fixtures/integrity-object-store';

const body = (text: string): Uint8Array => new TextEncoder().encode(text);
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');
const CRC = 'AAAAAAAAAAE=';
const OTHER_CRC = 'AAAAAAAAAAI=';

async function report(deps: TestDeps, runId: string): Promise<ChecksumReport> {
  return (await deps.objects.getJson(`_syncproof/checksums/orders/${runId}.json`)) as ChecksumReport;
}

async function putFiles(deps: TestDeps, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `orders/f-${String(i).padStart(4, '0')}.parquet`);
  for (const k of keys) await deps.objects.put(k, body(k));
  return keys;
}

describe('runChecksumSample', () => {
  let deps: TestDeps;
  beforeEach(() => {
    deps = testDeps();
  });

  it('draws the same sample for the same run id and another for another run id', async () => {
    await putFiles(deps, 200);
    const keys = async (runId: string) => (await report(deps, runId)).verdicts.map((v) => v.key);
    const first = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'run-a' }, deps);
    const firstKeys = await keys('run-a');
    await runChecksumSample({ input: { dataset: 'orders' }, runId: 'run-a' }, deps);
    await runChecksumSample({ input: { dataset: 'orders' }, runId: 'run-b' }, deps);
    expect(first.sampled).toBe(20);
    expect(await keys('run-a')).toEqual(firstKeys);
    expect(await keys('run-b')).not.toEqual(firstKeys);
  });

  it.each([
    ['10% of 50 files', undefined, 50, 5],
    ['at least 1 file', undefined, 3, 1],
    ['at most 20 files', undefined, 500, 20],
    ['a count from the execution input', '7', 50, 7],
    ['all files from the execution input', 'all', 30, 30],
  ])('samples %s', async (_name, override, files, expected) => {
    await putFiles(deps, files);
    const input = override === undefined ? { dataset: 'orders' } : { dataset: 'orders', checksumSample: override };
    const out = await runChecksumSample({ input, runId: 'r' }, deps);
    expect([out.population, out.sampled]).toEqual([files, expected]);
  });

  it("takes the dataset's checksumSample from the configuration", async () => {
    deps = testDeps(parseConfig({ datasets: [{ ...TEST_CONFIG.datasets[0], checksumSample: '3' }] }));
    await putFiles(deps, 50);
    expect((await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps)).sampled).toBe(3);
  });

  it("decides by S3's stored full-object checksum without downloading", async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'), undefined, { stored: { algorithm: 'crc64nvme', value: CRC, type: 'FULL_OBJECT' } });
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 4, checksums: { crc64nvme: CRC } }] });
    const out = await runChecksumSample({ input: { dataset: 'orders', checksumSample: 'all' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ status: 'PASSED', byStatus: { match: 1 }, byEvidence: { 'stored-checksum': 1 }, bytesDownloaded: 0 });
    expect(deps.objects.bytesStreamed).toBe(0);
    expect((await report(deps, 'r')).verdicts[0]).toMatchObject({ key: 'orders/a.parquet', status: 'match', evidence: 'stored-checksum', expectedFrom: 'manifest' });
  });

  it('reports a stored checksum that differs from the manifest as a mismatch, and fails in sync mode after storing the report', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'), undefined, { stored: { algorithm: 'crc64nvme', value: OTHER_CRC, type: 'FULL_OBJECT' } });
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 4, checksums: { crc64nvme: CRC } }] });
    const verify = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(verify).toMatchObject({ status: 'FAILED', byStatus: { mismatch: 1 } });
    await expect(runChecksumSample({ input: { dataset: 'orders' }, runId: 's', mode: 'sync' }, deps)).rejects.toThrow(IntegrityCheckFailedError);
    expect((await report(deps, 's')).byStatus.mismatch).toBe(1);
  });

  it('skips a COMPOSITE stored checksum and decides by the ETag instead', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'), undefined, { stored: { algorithm: 'crc32c', value: 'AAAAAA==-2', type: 'COMPOSITE' } });
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 4, checksums: { md5: md5('aaaa'), crc32c: 'AAAAAA==' } }] });
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ byStatus: { match: 1 }, byEvidence: { 'etag-md5': 1 }, bytesDownloaded: 0 });
  });

  it('downloads and recomputes when only a SHA-256 is known, counting the bytes', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 4, checksums: { sha256: sha256('aaaa') } }] });
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ byStatus: { match: 1 }, byEvidence: { 'full-recompute': 1 }, bytesDownloaded: 4 });
    expect(deps.objects.bytesStreamed).toBe(4);
  });

  it("checks a file no manifest lists against its writer's metadata checksum, never against itself", async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'), undefined, { metadata: { md5: md5('aaaa') } });
    await deps.objects.put('orders/b.parquet', body('bbbb'), undefined, { metadata: { md5: md5('not b') } });
    const out = await runChecksumSample({ input: { dataset: 'orders', checksumSample: 'all' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ byStatus: { match: 1, mismatch: 1 }, byEvidence: { 'etag-md5': 2 }, byExpectedSource: { metadata: 2 } });
    const verdicts = (await report(deps, 'r')).verdicts;
    expect(verdicts.map((v) => [v.key, v.status, v.evidence])).toEqual([
      ['orders/a.parquet', 'match', 'etag-md5'],
      ['orders/b.parquet', 'mismatch', 'etag-md5'],
    ]);
    expect(verdicts[0]?.detail).toContain("writer's metadata checksum");
  });

  it('reports a file with no manifest entry and no metadata checksum as unverifiable, with no download, and says why', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ status: 'PASSED_WITH_WARNINGS', byStatus: { unverifiable: 1, match: 0 }, byEvidence: { none: 1 }, byExpectedSource: { none: 1 }, bytesDownloaded: 0 });
    const r = await report(deps, 'r');
    expect(r.verdicts[0]?.detail).toMatch(/nothing independent to compare/);
    expect(r.note).toMatch(/comparing an object with itself would prove nothing/);
  });

  it('reports a manifest size that differs from the object as a size mismatch', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 5, checksums: { md5: md5('aaaa') } }] });
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(out).toMatchObject({ status: 'FAILED', byStatus: { mismatch: 1 }, byEvidence: { size: 1 } });
  });

  it('in sync mode, samples only the files the run is about to load', async () => {
    const a = await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.put('orders/b.parquet', body('bbbb'));
    deps.ledger.set({ dataset: 'orders', key: a.key, etag: a.etag, size: 4, status: 'loaded' });
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r', mode: 'sync' }, deps);
    expect([out.population, out.sampled]).toEqual([1, 1]);
    expect((await report(deps, 'r')).verdicts.map((v) => v.key)).toEqual(['orders/b.parquet']);
  });

  it('returns counts and the report URI only, and records them in the run record', async () => {
    await putFiles(deps, 5);
    const out = await runChecksumSample({ input: { dataset: 'orders' }, runId: 'r' }, deps);
    expect(out.reportUri).toBe('s3://test-bucket/_syncproof/checksums/orders/r.json');
    expect(JSON.stringify(out).length).toBeLessThan(1024);
    expect(deps.runs.runs.get('r')?.stages?.checksum).toEqual(out);
  });

  it('rejects a bad checksumSample in the execution input, naming it', async () => {
    await expect(runChecksumSample({ input: { dataset: 'orders', checksumSample: 'most' }, runId: 'r' }, deps)).rejects.toThrow(/checksumSample/);
  });
});

describe('judgeChecksums', () => {
  it.each([
    [{ match: 3, mismatch: 0, missing: 0, unverifiable: 0 }, 'verify', 'PASSED'],
    [{ match: 3, mismatch: 0, missing: 0, unverifiable: 1 }, 'verify', 'PASSED_WITH_WARNINGS'],
    [{ match: 3, mismatch: 1, missing: 0, unverifiable: 0 }, 'verify', 'FAILED'],
    [{ match: 3, mismatch: 0, missing: 1, unverifiable: 0 }, 'verify', 'FAILED'],
    [{ match: 3, mismatch: 0, missing: 1, unverifiable: 0 }, 'sync', 'PASSED'],
  ] as const)('judges %j in %s scope as %s', (counts, scope, status) => {
    expect(judgeChecksums(counts, scope).status).toBe(status);
  });
});
