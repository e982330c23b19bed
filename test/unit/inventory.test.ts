import { IntegrityCheckFailedError, judgeInventory } from '../../lambdas/core/verification';
import { runInventory, type InventoryFinding, type InventorySummary } from '../../lambdas/inventory/inventory';
import { InvalidManifestError } from '../../lambdas/core/manifests';
import { testDeps, type TestDeps } from '../fixtures/integrity-object-store';

const body = (text: string): Uint8Array => new TextEncoder().encode(text);

async function findings(deps: TestDeps, runId: string): Promise<InventoryFinding[]> {
  const summary = (await deps.objects.getJson(`_syncproof/inventory/orders/${runId}.json`)) as InventorySummary;
  return summary.partKeys.flatMap((k) =>
    deps.objects
      .text(k)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as InventoryFinding),
  );
}

describe('runInventory', () => {
  let deps: TestDeps;
  beforeEach(() => {
    deps = testDeps();
  });

  it('reaches every category and writes one JSON line per finding', async () => {
    const a = await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.put('orders/b.parquet', body('bbbbbb'));
    await deps.objects.put('orders/stray.parquet', body('s'));
    const gone = 'orders/gone.parquet';
    const over = await deps.objects.put('orders/over.parquet', body('new version'));
    await deps.objects.putJson('_syncproof/manifests/orders/m1.json', {
      dataset: 'orders',
      files: [
        { key: 'orders/a.parquet', size: 4, checksums: {} },
        { key: 'orders/b.parquet', size: 5, checksums: {} },
        { key: 'orders/missing.parquet', size: 7, checksums: {} },
        { key: 'orders/over.parquet', size: 11, checksums: {} },
      ],
    });
    deps.ledger.set({ dataset: 'orders', key: a.key, etag: a.etag, size: 4, status: 'loaded', loadId: 'l1' });
    deps.ledger.set({ dataset: 'orders', key: gone, etag: 'e-gone', size: 3, status: 'loaded', loadId: 'l1' });
    deps.ledger.set({ dataset: 'orders', key: over.key, etag: 'e-old', size: 9, status: 'loaded', loadId: 'l1' });

    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);

    expect(out).toMatchObject({ objects: 4, manifests: 1, manifestFiles: 4, missing: 1, unexpected: 1, sizeMismatch: 1, notLoaded: 3, loadedDeleted: 1, loadedOverwritten: 1, status: 'FAILED', parts: 1 });
    const lines = await findings(deps, 'r1');
    expect(lines).toHaveLength(out.findings);
    expect(lines).toEqual(
      expect.arrayContaining([
        { category: 'missing', key: 'orders/missing.parquet', manifestSize: 7, manifest: '_syncproof/manifests/orders/m1.json' },
        expect.objectContaining({ category: 'unexpected', key: 'orders/stray.parquet' }),
        expect.objectContaining({ category: 'size-mismatch', key: 'orders/b.parquet', against: 'manifest', expectedSize: 5, actualSize: 6 }),
        expect.objectContaining({ category: 'not-loaded', key: 'orders/b.parquet', ledgerStatus: 'unrecorded' }),
        { category: 'loaded-gone', key: gone, etag: 'e-gone', reason: 'deleted', loadId: 'l1' },
        expect.objectContaining({ category: 'loaded-gone', key: over.key, etag: 'e-old', reason: 'overwritten', currentEtag: over.etag }),
      ]),
    );
  });

  it('reports a size that differs from the ledger for the same key and ETag', async () => {
    const a = await deps.objects.put('orders/a.parquet', body('aaaa'));
    deps.ledger.set({ dataset: 'orders', key: a.key, etag: a.etag, size: 99, status: 'loaded' });
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);
    expect(out.sizeMismatch).toBe(1);
    expect(await findings(deps, 'r1')).toEqual([{ category: 'size-mismatch', key: a.key, etag: a.etag, against: 'ledger', expectedSize: 99, actualSize: 4 }]);
  });

  it('fails on an object in no manifest although a manifest was written over an hour after it (an extra file), and only warns on one its manifest may still list', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      await deps.objects.put('orders/extra.parquet', body('e'));
      jest.setSystemTime(Date.parse('2026-01-01T00:30:00Z'));
      await deps.objects.put('orders/recent.parquet', body('r'));
      jest.setSystemTime(Date.parse('2026-01-01T01:00:00Z'));
      await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [] });
      jest.setSystemTime(Date.parse('2026-01-01T01:02:00Z'));
      await deps.objects.put('orders/later.parquet', body('l'));
    } finally {
      jest.useRealTimers();
    }
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);
    expect(out).toMatchObject({ unexpected: 3, unexpectedBeforeManifest: 1, status: 'FAILED' });
    expect(await findings(deps, 'r1')).toEqual(
      expect.arrayContaining([
        { category: 'unexpected', key: 'orders/extra.parquet', etag: expect.any(String), size: 1, beforeManifest: true },
        { category: 'unexpected', key: 'orders/recent.parquet', etag: expect.any(String), size: 1, beforeManifest: false },
        { category: 'unexpected', key: 'orders/later.parquet', etag: expect.any(String), size: 1, beforeManifest: false },
      ]),
    );
  });

  it('reports no unexpected files and manifests 0 when the dataset has no manifest', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);
    expect(out).toMatchObject({ manifests: 0, unexpected: 0, missing: 0, notLoaded: 1, status: 'PASSED_WITH_WARNINGS' });
  });

  it('returns counts and URIs only, and records them in the run record', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);
    expect(Object.values(out).every((v) => typeof v !== 'object')).toBe(true);
    expect(out.summaryUri).toBe('s3://test-bucket/_syncproof/inventory/orders/r1.json');
    expect(out.findingsUri).toBe('s3://test-bucket/_syncproof/inventory/orders/r1/');
    expect(deps.runs.runs.get('r1')?.stages?.inventory).toEqual(out);
  });

  it('writes findings in parts of bounded size', async () => {
    for (let i = 0; i < 25; i += 1) await deps.objects.put(`orders/f-${String(i).padStart(2, '0')}.parquet`, body('x'));
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps, { linesPerPart: 10 });
    expect(out.parts).toBe(3);
    expect(deps.objects.keys('_syncproof/inventory/orders/r1/')).toEqual(['part-0001', 'part-0002', 'part-0003'].map((p) => `_syncproof/inventory/orders/r1/${p}.jsonl`));
    expect((await findings(deps, 'r1')).length).toBe(25);
  });

  it('in sync mode, fails after storing its findings when a size contradicts a manifest', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: 5 }] });
    await expect(runInventory({ input: { dataset: 'orders' }, runId: 'r1', mode: 'sync' }, deps)).rejects.toThrow(IntegrityCheckFailedError);
    expect((await findings(deps, 'r1')).map((f) => f.category)).toEqual(['size-mismatch', 'not-loaded']);
  });

  it('in sync mode, does not judge files that have not arrived or are not loaded yet', async () => {
    await deps.objects.put('orders/a.parquet', body('aaaa'));
    await deps.objects.putJson('_syncproof/manifests/orders/m.json', { dataset: 'orders', files: [{ key: 'orders/later.parquet', size: 5 }] });
    const out = await runInventory({ input: { dataset: 'orders' }, runId: 'r1', mode: 'sync' }, deps);
    expect(out).toMatchObject({ missing: 1, unexpected: 1, notLoaded: 1, status: 'PASSED' });
  });

  it('rejects an invalid manifest naming the object and the field', async () => {
    await deps.objects.putJson('_syncproof/manifests/orders/bad.json', { dataset: 'orders', files: [{ key: 'orders/a.parquet', size: -1 }] });
    const run = runInventory({ input: { dataset: 'orders' }, runId: 'r1' }, deps);
    await expect(run).rejects.toThrow(InvalidManifestError);
    await expect(runInventory({ input: { dataset: 'orders' }, runId: 'r2' }, deps)).rejects.toThrow(/bad\.json.*files\.0\.size/);
  });

  it('rejects a malformed execution input naming the field', async () => {
    await expect(runInventory({ input: { datset: 'orders' }, runId: 'r1' }, deps)).rejects.toThrow(/dataset/);
  });
});

describe('judgeInventory', () => {
  const zero = { manifests: 1, missing: 0, unexpected: 0, sizeMismatch: 0, notLoaded: 0, loadedDeleted: 0, loadedOverwritten: 0 };
  it.each([
    [{}, 'verify', 'PASSED'],
    [{ loadedOverwritten: 3 }, 'verify', 'PASSED'],
    [{ notLoaded: 1 }, 'verify', 'PASSED_WITH_WARNINGS'],
    [{ unexpected: 1 }, 'verify', 'PASSED_WITH_WARNINGS'],
    [{ unexpected: 2, unexpectedBeforeManifest: 1 }, 'verify', 'FAILED'],
    [{ unexpected: 1, unexpectedBeforeManifest: 1 }, 'sync', 'PASSED'],
    [{ loadedDeleted: 1 }, 'verify', 'PASSED_WITH_WARNINGS'],
    [{ missing: 1 }, 'verify', 'FAILED'],
    [{ sizeMismatch: 1 }, 'verify', 'FAILED'],
    [{ missing: 1, notLoaded: 1, unexpected: 1 }, 'sync', 'PASSED'],
    [{ loadedDeleted: 1 }, 'sync', 'PASSED_WITH_WARNINGS'],
    [{ sizeMismatch: 1 }, 'sync', 'FAILED'],
  ] as const)('judges %j in %s scope as %s', (counts, scope, status) => {
    expect(judgeInventory({ ...zero, ...counts }, scope).status).toBe(status);
  });
});
