import { createHash } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { runChecksumSample, type ChecksumOutput, type ChecksumReport } from '../../lambdas/checksum/checksum';
import type { LocalRuntime } from '../../local/runtime';
import { startRuntime } from './support';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('base64');

/**
 * Scheduled verification (VerifyStateMachine) on the local runtime. s3rver ignores additional
 * checksums (DESIGN.md §7), so S3-stored checksums are covered by the unit tests; here the ETag,
 * metadata and full-recompute paths run against the emulator, and every assertion reads the run
 * record (DynamoDB) or the report (S3) back.
 */
describe('scheduled verification on the local runtime', () => {
  let runtime: LocalRuntime;
  const bodies: Record<string, Buffer> = {};

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false });
    const s3 = createS3Client({ region: runtime.region, credentials: runtime.credentials, s3: runtime.s3Endpoint });
    for (const name of ['etag', 'meta', 'sha', 'bad', 'writer', 'unknown']) bodies[name] = Buffer.from(`${name} `.repeat(1000));
    const put = (name: string, metadata?: Record<string, string>) =>
      s3.send(new PutObjectCommand({ Bucket: runtime.bucket, Key: `orders/v/${name}.parquet`, Body: bodies[name], Metadata: metadata }));
    await put('etag');
    await put('meta', { 'syncproof-md5': md5(bodies.meta!) });
    await put('sha');
    await put('bad');
    await put('writer', { 'syncproof-md5': md5(bodies.writer!) });
    await put('unknown');
    await runtime.deps.objects.putJson('_syncproof/manifests/orders/v.json', {
      dataset: 'orders',
      files: [
        { key: 'orders/v/etag.parquet', size: bodies.etag!.length, checksums: { md5: md5(bodies.etag!) } },
        { key: 'orders/v/meta.parquet', size: bodies.meta!.length, checksums: { md5: md5(bodies.meta!) } },
        { key: 'orders/v/sha.parquet', size: bodies.sha!.length, checksums: { sha256: sha256(bodies.sha!) } },
        { key: 'orders/v/bad.parquet', size: bodies.bad!.length, checksums: { md5: md5(Buffer.from('something else')) } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  const report = async (output: ChecksumOutput): Promise<ChecksumReport> =>
    (await runtime.deps.objects.getJson(output.reportUri.replace(`s3://${runtime.bucket}/`, ''))) as ChecksumReport;

  it('reports each sampled object with its evidence, downloading only what needs a recompute, and fails on a mismatch', async () => {
    const execution = await runtime.startVerification('orders', { checksumSample: 'all' });

    expect(execution).toMatchObject({ machine: 'verify', status: 'FAILED', error: 'VerificationFailedError' });
    expect(execution.run).toMatchObject({ status: 'FAILED' });
    const checksum = execution.run?.stages?.checksum as ChecksumOutput;
    expect(checksum).toMatchObject({
      mode: 'verify',
      status: 'FAILED',
      population: 6,
      sampled: 6,
      byStatus: { match: 4, mismatch: 1, missing: 0, unverifiable: 1 },
      byEvidence: { 'etag-md5': 3, 'metadata-checksum': 1, 'full-recompute': 1, none: 1 },
      byExpectedSource: { manifest: 4, metadata: 1, none: 1 },
      bytesDownloaded: bodies.sha!.length,
    });
    const verdicts = Object.fromEntries((await report(checksum)).verdicts.map((v) => [v.key.replace(/^orders\/v\/|\.parquet$/g, ''), v]));
    expect(verdicts.etag).toMatchObject({ status: 'match', evidence: 'etag-md5', bytesDownloaded: 0, expectedFrom: 'manifest' });
    expect(verdicts.meta).toMatchObject({ status: 'match', evidence: 'metadata-checksum', bytesDownloaded: 0 });
    expect(verdicts.sha).toMatchObject({ status: 'match', evidence: 'full-recompute', algorithm: 'sha256', bytesDownloaded: bodies.sha!.length });
    expect(verdicts.bad).toMatchObject({ status: 'mismatch', evidence: 'etag-md5' });
    expect(verdicts.writer).toMatchObject({ status: 'match', evidence: 'etag-md5', expectedFrom: 'metadata' });
    expect(verdicts.unknown).toMatchObject({ status: 'unverifiable', evidence: 'none', expectedFrom: 'none', bytesDownloaded: 0 });
    expect(verdicts.unknown?.detail).toMatch(/nothing independent to compare/);
    expect(execution.run?.stages?.finish).toMatchObject({ status: 'FAILED', checksum: checksum.reportUri });
  });

  it('draws the same sample for the same run id from the emulator listing', async () => {
    const first = await runChecksumSample({ input: { dataset: 'orders', checksumSample: '2' }, runId: 'same-seed' }, runtime.deps);
    const firstKeys = (await report(first)).verdicts.map((v) => v.key);
    const again = await runChecksumSample({ input: { dataset: 'orders', checksumSample: '2' }, runId: 'same-seed' }, runtime.deps);
    expect((await report(again)).verdicts.map((v) => v.key)).toEqual(firstKeys);
    expect(firstKeys).toHaveLength(2);
  });

  it('passes with warnings and succeeds once the bad file is gone from S3 and from its manifest', async () => {
    const s3 = createS3Client({ region: runtime.region, credentials: runtime.credentials, s3: runtime.s3Endpoint });
    await s3.send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: 'orders/v/bad.parquet' }));
    const manifest = (await runtime.deps.objects.getJson('_syncproof/manifests/orders/v.json')) as { dataset: string; files: { key: string }[] };
    await runtime.deps.objects.putJson('_syncproof/manifests/orders/v.json', { ...manifest, files: manifest.files.filter((f) => f.key !== 'orders/v/bad.parquet') });

    const execution = await runtime.startVerification('orders', { checksumSample: 'all' });

    // Nothing is loaded (S3 events are off here) and two files are in no manifest: warnings only.
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { status: 'PASSED_WITH_WARNINGS' } });
    expect(execution.run).toMatchObject({ status: 'PASSED_WITH_WARNINGS' });
    expect(execution.run?.stages?.inventory).toMatchObject({ status: 'PASSED_WITH_WARNINGS', unexpected: 2, notLoaded: 5, missing: 0, sizeMismatch: 0 });
    expect(execution.run?.stages?.checksum).toMatchObject({ status: 'PASSED_WITH_WARNINGS', byStatus: { mismatch: 0, unverifiable: 1 } });
    for (const [state, bytes] of Object.entries(execution.stateOutputBytes)) expect([state, bytes < 8 * 1024]).toEqual([state, true]);
  });

  it('fails an execution with malformed input, naming the field', async () => {
    const execution = await runtime.startExecution({ dataset: 'orders', checksumSample: 'most' }, 'verify-bad-input', 'verify');
    expect(execution).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
    expect(execution.cause).toMatch(/checksumSample/);
    expect(execution.run).toMatchObject({ status: 'FAILED' });
  });
});
