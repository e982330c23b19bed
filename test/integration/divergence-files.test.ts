/**
 * The divergence suite of issue #15 (acceptance), the file dataset: Parquet files listed in a
 * manifest (sizes, rows, MD5s) loaded from S3 into the local runtime by a sync run, then each
 * divergence injected — in S3 (missing, extra, truncated file, a flipped byte) or in the warehouse
 * (a changed value, a duplicated row) — and the VerifyStateMachine run with `tier: 'content'` and
 * every object sampled, as the schedule starts it. The verdict is read from the run record; the
 * named object from the inventory's findings or the checksum report, the named key from the
 * content report. Each injection is undone and the same check PASSES again.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { createS3Client } from '../../lambdas/adapters/clients';
import type { ChecksumOutput, ChecksumReport } from '../../lambdas/checksum/checksum';
import { parseConfig } from '../../lambdas/core/config';
import type { InventoryFinding, InventoryOutput, InventorySummary } from '../../lambdas/inventory/inventory';
import type { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import { NOTHING, contentReport, namedIn, range } from '../support/divergence';
import { query, startRuntime } from './support';

jest.setTimeout(240_000);

const CONFIG = parseConfig({
  datasets: [
    {
      name: 'parts',
      prefix: 'parts/',
      target: { schema: 'public', table: 'parts' },
      keyColumns: ['part_id'],
      loadMode: 'upsert',
      columns: [
        { name: 'part_id', type: 'BIGINT' },
        { name: 'label', type: 'VARCHAR(32)' },
        { name: 'price', type: 'DECIMAL(10,2)' },
      ],
      content: { fetchRows: 4, factor: 4 },
    },
  ],
  maxFilesPerBatch: 100,
});

function partsFile(ids: readonly number[]): Buffer {
  return Buffer.from(
    encodeParquet([
      { name: 'part_id', type: 'INT64', data: ids.map(BigInt) },
      { name: 'label', type: 'STRING', data: ids.map((id) => `part ${id}`) },
      { name: 'price', type: 'DECIMAL', precision: 10, scale: 2, data: ids.map((id) => `${id}.${String(id % 100).padStart(2, '0')}`) },
    ]),
  );
}

const FILES: Record<string, Buffer> = { a: partsFile(range(1, 10)), b: partsFile(range(11, 10)), c: partsFile(range(21, 10)), d: partsFile(range(31, 10)) };
const keyOf = (name: string) => `parts/${name}.parquet`;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('divergences of a file dataset (S3 Parquet → warehouse)', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let n = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'syncproof-divergence-files-'));
    runtime = await startRuntime({ config: CONFIG, s3Events: false, dataDir });
    await runtime.deps.objects.putJson('_syncproof/manifests/parts/m1.json', {
      dataset: 'parts',
      files: Object.entries(FILES).map(([name, body]) => ({ key: keyOf(name), size: body.length, rows: 10, checksums: { md5: md5(body) } })),
    });
    for (const [name, body] of Object.entries(FILES)) await runtime.deps.objects.put(keyOf(name), body);
    const sync = await runtime.startExecution({ dataset: 'parts', mode: 'reconcile' }, 'div-parts-sync');
    expect([sync.status, sync.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
    await query(runtime, 'CREATE TABLE public.parts_as_loaded AS SELECT * FROM public.parts');
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const warehouse = (sql: string) => query(runtime, sql);

  async function verify(): Promise<{ execution: ExecutionSummary; findings: InventoryFinding[]; mismatched: string[]; named: ReturnType<typeof namedIn> }> {
    const execution = await runtime.startExecution({ dataset: 'parts', tier: 'content', checksumSample: 'all' }, `div-parts-verify-${++n}`, 'verify');
    const inventory = execution.run?.stages?.inventory as InventoryOutput;
    const summary = (await runtime.deps.objects.getJson(inventory.summaryUri.replace(`s3://${runtime.bucket}/`, ''))) as InventorySummary;
    const findings: InventoryFinding[] = [];
    for (const key of summary.partKeys) {
      const text = new TextDecoder().decode(await runtime.deps.objects.getBytes(key));
      for (const line of text.split('\n').filter(Boolean)) findings.push(JSON.parse(line) as InventoryFinding);
    }
    const checksum = execution.run?.stages?.checksum as ChecksumOutput;
    const report = (await runtime.deps.objects.getJson(checksum.reportUri.replace(`s3://${runtime.bucket}/`, ''))) as ChecksumReport;
    const mismatched = report.verdicts.filter((v) => v.status !== 'match').map((v) => `${v.key}: ${v.status}`);
    return { execution, findings, mismatched, named: namedIn(await contentReport(runtime, 'parts', execution)) };
  }

  const verdict = (e: ExecutionSummary) => [e.status, e.run?.status, e.error];
  const FAILED = ['FAILED', 'FAILED', 'VerificationFailedError'];

  async function expectPassed(): Promise<void> {
    const v = await verify();
    expect(verdict(v.execution)).toEqual(['SUCCEEDED', 'PASSED', undefined]);
    expect([v.findings, v.mismatched, v.named]).toEqual([[], [], NOTHING]);
  }

  const s3 = () => createS3Client({ region: runtime.region, credentials: runtime.credentials, s3: runtime.s3Endpoint });

  it('passes the untouched dataset', async () => {
    await expectPassed();
  });

  it('missing file: FAILED, the inventory names the object; PASSED once it is back', async () => {
    await s3().send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: keyOf('b') }));
    try {
      const v = await verify();
      expect(verdict(v.execution)).toEqual(FAILED);
      expect(v.findings.filter((f) => f.category === 'missing').map((f) => f.key)).toEqual([keyOf('b')]);
    } finally {
      await runtime.deps.objects.put(keyOf('b'), FILES.b!);
    }
    await expectPassed();
  });

  it('extra file (in no manifest, a manifest written over an hour after it): FAILED, the inventory names the object; PASSED once it is gone', async () => {
    await runtime.deps.objects.put('parts/extra.parquet', partsFile([99]));
    // Written two hours before the manifest (m1 is rewritten now): its producer listed later files and not it.
    const stored = join(dataDir, 's3', runtime.bucket, 'parts', 'extra.parquet._S3rver_object');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stored, twoHoursAgo, twoHoursAgo);
    await runtime.deps.objects.putJson('_syncproof/manifests/parts/m1.json', await runtime.deps.objects.getJson('_syncproof/manifests/parts/m1.json'));
    try {
      const v = await verify();
      expect(v.findings.filter((f) => f.category === 'unexpected').map((f) => f.key)).toEqual(['parts/extra.parquet']);
      expect(verdict(v.execution)).toEqual(FAILED);
    } finally {
      await s3().send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: 'parts/extra.parquet' }));
    }
    await expectPassed();
  });

  it('an object in no manifest that its manifest may still list (newer than every manifest) is only a warning', async () => {
    await runtime.deps.objects.put('parts/arriving.parquet', partsFile([98]));
    try {
      const v = await verify();
      expect(v.findings.filter((f) => f.category === 'unexpected').map((f) => f.key)).toEqual(['parts/arriving.parquet']);
      expect(verdict(v.execution)).not.toEqual(FAILED);
    } finally {
      await s3().send(new DeleteObjectCommand({ Bucket: runtime.bucket, Key: 'parts/arriving.parquet' }));
    }
  });

  it('truncated file: FAILED, the inventory names the object and both sizes; PASSED once restored', async () => {
    const body = FILES.c!;
    await runtime.deps.objects.put(keyOf('c'), body.subarray(0, body.length - 100));
    try {
      const v = await verify();
      expect(verdict(v.execution)).toEqual(FAILED);
      expect(v.findings.filter((f) => f.category === 'size-mismatch')).toEqual([
        expect.objectContaining({ key: keyOf('c'), against: 'manifest', expectedSize: body.length, actualSize: body.length - 100 }),
      ]);
    } finally {
      await runtime.deps.objects.put(keyOf('c'), body);
    }
    await expectPassed();
  });

  it('a flipped byte in an object (same size): FAILED, the checksum tier names the object; PASSED once restored', async () => {
    const body = FILES.d!;
    const flipped = Buffer.from(body);
    flipped[Math.floor(body.length / 2)]! ^= 0x01;
    await runtime.deps.objects.put(keyOf('d'), flipped);
    try {
      const v = await verify();
      expect(verdict(v.execution)).toEqual(FAILED);
      expect(v.mismatched).toEqual([`${keyOf('d')}: mismatch`]);
    } finally {
      await runtime.deps.objects.put(keyOf('d'), body);
    }
    await expectPassed();
  });

  it('one changed value in the warehouse: FAILED, the content report names the key and column; PASSED once undone', async () => {
    await warehouse("UPDATE public.parts SET label = 'changed' WHERE part_id = 14");
    try {
      const v = await verify();
      expect(verdict(v.execution)).toEqual(FAILED);
      expect(v.named).toEqual({ ...NOTHING, changed: ['14'], changedColumns: ['14: label'] });
    } finally {
      await restoreWarehouse();
    }
    await expectPassed();
  });

  it('a duplicated row in the warehouse (upsert target larger than fetchRows): FAILED, naming the key; PASSED once undone', async () => {
    await warehouse('INSERT INTO public.parts SELECT * FROM public.parts_as_loaded WHERE part_id = 27');
    try {
      const v = await verify();
      expect(verdict(v.execution)).toEqual(FAILED);
      expect(v.named).toEqual({ ...NOTHING, duplicates: ['27'] });
    } finally {
      await restoreWarehouse();
    }
    await expectPassed();
  });

  async function restoreWarehouse(): Promise<void> {
    await warehouse('DELETE FROM public.parts');
    await warehouse('INSERT INTO public.parts SELECT * FROM public.parts_as_loaded');
  }
});
