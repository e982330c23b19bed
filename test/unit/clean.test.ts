/**
 * The clean core on in-memory ports: the ledger write goes ahead of the delete, a failing delete
 * leaves the rest consistent and a second clean finishes it, a key written again keeps its new
 * version, a dry run removes nothing, and a dataset with no passed verification keeps everything.
 */
import { applyClean, planClean, runClean, runScheduledClean } from '../../lambdas/clean/clean';
import { TransientError } from '../../lambdas/core/errors';
import { testDeps, type TestDeps } from '../fixtures/integrity-object-store';

const BASE = Date.now();
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();

async function loaded(deps: TestDeps, key: string, body: string): Promise<string> {
  const o = await deps.objects.put(key, body);
  await deps.ledger.discover({ dataset: 'orders', key, etag: o.etag, size: o.size, lastModified: o.lastModified }, at(0));
  await deps.ledger.claim(key, o.etag, 0, { loadId: 'ld', expiresAt: at(10) }, at(0));
  await deps.ledger.markLoaded({ key, etag: o.etag, fence: 1 }, 'ld_1', 1, at(1));
  return o.etag;
}

async function verified(deps: TestDeps, startedAt: string): Promise<void> {
  await deps.runs.start({ runId: 'verify-1', dataset: 'orders', status: 'PASSED', startedAt, updatedAt: startedAt, stages: { inventory: { mode: 'verify' } } });
}

function setup(): TestDeps {
  const deps = testDeps();
  return { ...deps, clock: { now: () => new Date(BASE + 30 * 86_400_000) } };
}

describe('runClean', () => {
  it('marks the entry deleted before the delete; a failing delete is named, and the next clean removes the object', async () => {
    const deps = setup();
    const etag = await loaded(deps, 'orders/a.parquet', 'a');
    await verified(deps, at(5));
    const failing = { ...deps, objects: Object.assign(Object.create(deps.objects) as typeof deps.objects, { delete: () => Promise.reject(new TransientError('SlowDown; retry later')) }) };
    await expect(runScheduledClean({ dataset: 'orders', olderThan: '7d' }, failing)).rejects.toThrow(/1 deletes failed \(orders\/a\.parquet: TransientError: SlowDown; retry later\)/);
    expect([(await deps.ledger.get('orders/a.parquet', etag))?.status, deps.objects.keys('orders/')]).toEqual(['deleted', ['orders/a.parquet']]);

    const again = await runClean({ dataset: 'orders', olderThan: '7d' }, deps);
    expect(again.results[0]).toMatchObject({ removed: { data: { objects: 1, bytes: 1 } }, failures: [] });
    expect(deps.objects.keys('orders/')).toEqual([]);
    expect(await deps.ledger.get('orders/a.parquet', etag)).toMatchObject({ status: 'deleted', loadedBy: 'ld_1', rows: 1 });
  });

  it('leaves a key written again after the plan with its new version', async () => {
    const deps = setup();
    await loaded(deps, 'orders/a.parquet', 'a');
    await verified(deps, at(5));
    const plan = await planClean({ dataset: 'orders', olderThan: '7d' }, deps);
    const rewritten = await deps.objects.put('orders/a.parquet', 'a2');
    const [result] = await applyClean(plan, deps);
    expect(result).toMatchObject({ changed: 1, failures: [], removed: { data: { objects: 0 } } });
    expect((await deps.objects.head('orders/a.parquet'))?.etag).toBe(rewritten.etag);
  });

  it('removes nothing on a dry run, and says what it would free', async () => {
    const deps = setup();
    const etag = await loaded(deps, 'orders/a.parquet', 'abc');
    await verified(deps, at(5));
    const out = await runClean({ dataset: 'orders', olderThan: '7d', dryRun: true }, deps);
    expect(out.datasets[0]?.freeing.data).toEqual({ objects: 1, bytes: 3 });
    expect([deps.objects.keys('orders/'), (await deps.ledger.get('orders/a.parquet', etag))?.status]).toEqual([['orders/a.parquet'], 'loaded']);
  });

  it('keeps everything of a dataset with no passed verification, and says why', async () => {
    const deps = setup();
    await loaded(deps, 'orders/a.parquet', 'a');
    const out = await runClean({ dataset: 'orders', olderThan: '7d' }, deps);
    expect(out.datasets[0]?.skipped).toMatch(/^dataset 'orders' has no passed verification/);
    expect(deps.objects.keys('orders/')).toEqual(['orders/a.parquet']);
  });

  it('removes run documents past retention except those of the newest run and of the verification', async () => {
    const deps = setup();
    await verified(deps, at(5));
    await deps.runs.start({ runId: 'sync-new', dataset: 'orders', status: 'PASSED', startedAt: at(6), updatedAt: at(6) });
    for (const run of ['sync-old', 'verify-1', 'sync-new']) await deps.objects.put(`_syncproof/batches/orders/${run}/1.json`, '{}');
    await deps.objects.put('_syncproof/inventory/orders/sync-old.json', '{}');
    await deps.objects.put('_syncproof/manifests/orders/m.json', '{}');
    await runClean({ dataset: 'orders', olderThan: '7d' }, deps);
    expect(deps.objects.keys('_syncproof/')).toEqual(['_syncproof/batches/orders/sync-new/1.json', '_syncproof/batches/orders/verify-1/1.json', '_syncproof/manifests/orders/m.json']);
  });
});
