import { runChecksumSample } from '../../lambdas/checksum/checksum';
import type { EventObject } from '../../lambdas/core/execution-input';
import { runInventory, type InventoryFinding, type InventorySummary } from '../../lambdas/inventory/inventory';
import { countLedger, countObjectStore, portCalls, type PortCalls } from '../fixtures/counting-stores';
import { testDeps, type TestDeps } from '../fixtures/integrity-object-store';

const body = (text: string): Uint8Array => new TextEncoder().encode(text);
const LOADED = 200;

/**
 * A prefix of LOADED loaded files (listed in a manifest, one of them with a wrong size), plus the
 * files of the test; the stages see the stores through counting wrappers.
 */
async function seeded(): Promise<{ deps: TestDeps; calls: PortCalls }> {
  const deps = testDeps();
  const files = [];
  for (let i = 0; i < LOADED; i += 1) {
    const o = await deps.objects.put(`orders/old/f-${String(i).padStart(4, '0')}.parquet`, body(`old ${i}`));
    deps.ledger.set({ dataset: 'orders', key: o.key, etag: o.etag, size: o.size, status: 'loaded', loadId: 'l0' });
    files.push({ key: o.key, size: i === 7 ? o.size + 1 : o.size, checksums: {} });
  }
  await deps.objects.putJson('_syncproof/manifests/orders/old.json', { dataset: 'orders', files });
  const calls = portCalls();
  return { deps: { ...deps, objects: countObjectStore(deps.objects, calls), ledger: countLedger(deps.ledger, calls) }, calls };
}

async function findings(deps: TestDeps, runId: string): Promise<InventoryFinding[]> {
  const summary = (await deps.objects.getJson(`_syncproof/inventory/orders/${runId}.json`)) as InventorySummary;
  return summary.partKeys.flatMap((k) => deps.objects.text(k).split('\n').filter(Boolean).map((l) => JSON.parse(l) as InventoryFinding));
}

async function newFiles(deps: TestDeps, count: number): Promise<EventObject[]> {
  const events: EventObject[] = [];
  for (let i = 0; i < count; i += 1) {
    const o = await deps.objects.put(`orders/new/n-${i}.parquet`, body(`new ${i}`));
    events.push({ key: o.key, etag: o.etag, size: o.size });
  }
  return events;
}

const syncInput = (events: readonly EventObject[]) => ({ dataset: 'orders', trigger: { source: 's3' as const, objects: events.length, events: [...events] } });

describe('an event run looks at its batch only', () => {
  it('inventories the batch without listing anything or reading the whole ledger', async () => {
    const { deps, calls } = await seeded();
    const events = await newFiles(deps, 3);
    calls.lists.length = 0;

    const out = await runInventory({ input: syncInput(events), runId: 'r1', mode: 'sync' }, deps);

    expect(calls.lists).toEqual([]);
    expect(calls.ledgerScans).toEqual([]);
    expect(calls.ledgerReads.flat().map((k) => k.key).sort()).toEqual(events.map((e) => e.key).sort());
    expect(calls.heads.sort()).toEqual(events.map((e) => e.key).sort());
    expect(out).toMatchObject({ scope: 'batch', objects: 3, notLoaded: 3, sizeMismatch: 0, status: 'PASSED' });
    expect((await findings(deps, 'r1')).map((f) => f.key).sort()).toEqual(events.map((e) => e.key).sort());
  });

  it('samples checksums from the batch without listing anything or reading the whole ledger', async () => {
    const { deps, calls } = await seeded();
    const events = await newFiles(deps, 5);
    calls.lists.length = 0;

    const out = await runChecksumSample({ input: { ...syncInput(events), checksumSample: 'all' }, runId: 'r1', mode: 'sync' }, deps);

    expect(calls.lists).toEqual([]);
    expect(calls.ledgerScans).toEqual([]);
    expect(calls.ledgerReads.flat().map((k) => k.key).sort()).toEqual(events.map((e) => e.key).sort());
    expect(out).toMatchObject({ population: 5, sampled: 5 });
  });

  it('leaves a loaded version of the batch out of the checksum population', async () => {
    const { deps } = await seeded();
    const events = await newFiles(deps, 2);
    deps.ledger.set({ dataset: 'orders', key: events[0]!.key, etag: events[0]!.etag, size: events[0]!.size, status: 'loaded' });
    const out = await runChecksumSample({ input: { ...syncInput(events), checksumSample: 'all' }, runId: 'r1', mode: 'sync' }, deps);
    expect(out).toMatchObject({ population: 1, sampled: 1 });
  });

  it('reports a loaded version its event named that the key no longer holds, and a size its event contradicts', async () => {
    const { deps } = await seeded();
    const [first] = await newFiles(deps, 1);
    deps.ledger.set({ dataset: 'orders', key: first!.key, etag: first!.etag, size: first!.size, status: 'loaded', loadId: 'l1' });
    const now = await deps.objects.put(first!.key, body('overwritten since'));
    const short = await deps.objects.put('orders/new/short.parquet', body('abc'));
    const second: EventObject = { key: short.key, etag: short.etag, size: 99 };

    await expect(runInventory({ input: syncInput([first!, second]), runId: 'r1', mode: 'sync' }, deps)).rejects.toThrow(/differ in size/);

    expect((await deps.runs.get('r1'))?.stages?.inventory).toMatchObject({ loadedOverwritten: 1, sizeMismatch: 1, status: 'FAILED' });
    expect(await findings(deps, 'r1')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ category: 'loaded-gone', key: first!.key, etag: first!.etag, reason: 'overwritten', currentEtag: now.etag }),
        expect.objectContaining({ category: 'size-mismatch', key: second.key, against: 'event', expectedSize: 99, actualSize: 3 }),
      ]),
    );
  });
});

describe('a reconcile run lists the prefix', () => {
  it('inventories by one listing of the data prefix against the manifests and the ledger', async () => {
    const { deps, calls } = await seeded();
    const events = await newFiles(deps, 3);
    calls.lists.length = 0;

    await expect(runInventory({ input: { dataset: 'orders', mode: 'reconcile', trigger: syncInput(events).trigger }, runId: 'r1', mode: 'sync' }, deps)).rejects.toThrow(/differ in size/);

    expect(calls.lists.filter((p) => p === 'orders/')).toHaveLength(1);
    expect(calls.ledgerScans).toEqual(['orders']);
  });

  it('samples checksums from one listing of the data prefix', async () => {
    const { deps, calls } = await seeded();
    await newFiles(deps, 3);
    calls.lists.length = 0;
    const out = await runChecksumSample({ input: { dataset: 'orders', checksumSample: 'all' }, runId: 'r1', mode: 'sync' }, deps);
    expect(calls.lists.filter((p) => p === 'orders/')).toHaveLength(1);
    expect(out.population).toBe(3);
  });
});
