import { parseConfig } from '../../lambdas/core/config';
import { InvalidInputError } from '../../lambdas/core/errors';
import type { LedgerStore, ObjectStore, ObjectSummary } from '../../lambdas/core/ports';
import { runDiscover, type DiscoverOutput } from '../../lambdas/discover/discover';
import type { BatchDocument } from '../../lambdas/core/documents';
import { IntegrityObjectStore, MemoryLedger, TEST_CONFIG, testDeps, type TestDeps } from '../fixtures/integrity-object-store';

/** Counts every ledger call by method name. */
function countingLedger(inner: MemoryLedger): { ledger: LedgerStore; calls: Record<string, number>; total: () => number } {
  const calls: Record<string, number> = {};
  const ledger = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as LedgerStore;
  return { ledger, calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) };
}

/** The in-memory store with listings and HEADs counted, and LastModified set per key by the test. */
class CountingObjects implements ObjectStore {
  lists = 0;
  readonly heads: string[] = [];
  readonly lastModified = new Map<string, string>();

  constructor(readonly inner: IntegrityObjectStore) {}

  get bucket(): string {
    return this.inner.bucket;
  }
  private stamp(o: ObjectSummary): ObjectSummary {
    return { ...o, lastModified: this.lastModified.get(o.key) ?? o.lastModified };
  }
  async *list(prefix: string): AsyncIterable<ObjectSummary> {
    this.lists += 1;
    for await (const o of this.inner.list(prefix)) yield this.stamp(o);
  }
  async head(key: string): Promise<ObjectSummary | undefined> {
    this.heads.push(key);
    const o = await this.inner.head(key);
    return o && this.stamp(o);
  }
  integrity = (key: string) => this.inner.integrity(key);
  stream = (key: string, options?: { ifMatch?: string }) => this.inner.stream(key, options);
  getBytes = (key: string, range?: { start: number; end: number }, options?: { ifMatch?: string }) => this.inner.getBytes(key, range, options);
  put = (key: string, body: Uint8Array | string) => this.inner.put(key, body);
  putJson = (key: string, value: unknown) => this.inner.putJson(key, value);
  getJson = (key: string) => this.inner.getJson(key);
  delete = (key: string, options?: { readonly ifMatch?: string }) => this.inner.delete(key, options);
  getObject = (key: string) => this.inner.getObject(key);
  copy = (sourceKey: string, destinationKey: string, options: { readonly ifMatch: string }) => this.inner.copy(sourceKey, destinationKey, options);
}

interface Harness {
  readonly deps: TestDeps;
  readonly store: IntegrityObjectStore;
  readonly objects: CountingObjects;
  readonly memory: MemoryLedger;
  readonly ledger: ReturnType<typeof countingLedger>;
  /** Puts an object and returns its summary (ETag = MD5 of `body`). */
  put(key: string, body?: string, lastModified?: string): Promise<ObjectSummary>;
  batch(output: DiscoverOutput): Promise<BatchDocument>;
}

function harness(config = TEST_CONFIG): Harness {
  const base = testDeps(config);
  const objects = new CountingObjects(base.objects);
  const ledger = countingLedger(base.ledger);
  const deps = { ...base, objects, ledger: ledger.ledger } as unknown as TestDeps;
  return {
    deps,
    store: base.objects,
    objects,
    memory: base.ledger,
    ledger,
    put: async (key, body = key, lastModified = '2024-04-01T00:00:00.000Z') => {
      objects.lastModified.set(key, lastModified);
      return { ...(await base.objects.put(key, body)), lastModified };
    },
    batch: async (output) => (await base.objects.getJson(output.batchUri!.replace('s3://test-bucket/', ''))) as BatchDocument,
  };
}

const event = (o: ObjectSummary, sequencer?: string) => ({ key: o.key, etag: o.etag, size: o.size, ...(sequencer ? { sequencer } : {}) });
const eventRun = (events: ReturnType<typeof event>[], extra: Record<string, unknown> = {}) => ({
  input: { dataset: 'orders', trigger: { source: 's3', objects: events.length, events }, ...extra },
  runId: 'run-1',
});

describe('runDiscover, event runs', () => {
  it('makes O(k) ledger calls and no listing for 10 new objects under a prefix with 100,000 loaded ones', async () => {
    const h = harness();
    for (let i = 0; i < 100_000; i += 1) {
      const key = `orders/old/part-${String(i).padStart(6, '0')}.parquet`;
      const o = await h.store.put(key, key);
      h.memory.set({ dataset: 'orders', key, etag: o.etag, size: o.size, status: 'loaded', fence: 1 });
    }
    const fresh = [];
    for (let i = 0; i < 10; i += 1) fresh.push(await h.put(`orders/new/part-${i}.parquet`, `new ${i}`));
    const k = fresh.length;
    const c = 2; // ledger calls per object an event run may make: a share of one batched read, one write

    const out = await runDiscover(eventRun(fresh.map((o) => event(o))), h.deps);

    expect(out).toMatchObject({ mode: 'event', files: 10, discovered: 10, checked: 10, hasMore: false });
    expect(h.ledger.total()).toBeLessThanOrEqual(k * c);
    expect(h.ledger.calls).toEqual({ getMany: 1, discover: 10 });
    expect(h.ledger.calls.listDataset).toBeUndefined();
    expect(h.objects.lists).toBe(0);
    expect(h.objects.heads.sort()).toEqual(fresh.map((o) => o.key).sort());
    expect((await h.batch(out)).files.map((f) => f.key).sort()).toEqual(fresh.map((o) => o.key).sort());
  });

  it('orders candidates by LastModified, then sequencer (right-padded), then key, and stores the sequencers', async () => {
    const h = harness();
    const t0 = '2024-04-01T00:00:00.000Z';
    const t1 = '2024-04-01T00:00:01.000Z';
    const t2 = '2024-04-01T00:00:02.000Z';
    const a = await h.put('orders/a.parquet', 'a', t2);
    const b = await h.put('orders/b.parquet', 'b', t1);
    const c = await h.put('orders/c.parquet', 'c', t1);
    const d = await h.put('orders/d.parquet', 'd', t1);
    const x = await h.put('orders/x.parquet', 'x', t0);
    const y = await h.put('orders/y.parquet', 'y', t0);
    // b: 0A → 0A00; c: 09FF; right-padded, c comes first (left-padding would put b first).
    const events = [event(a, '0B'), event(b, '0A'), event(c, '09FF'), event(d), event(y, '01'), event(x, '01')];

    const out = await runDiscover(eventRun(events), h.deps);

    const files = (await h.batch(out)).files;
    expect(files.map((f) => f.key)).toEqual(['orders/x.parquet', 'orders/y.parquet', 'orders/d.parquet', 'orders/c.parquet', 'orders/b.parquet', 'orders/a.parquet']);
    expect(files.map((f) => f.sequencer)).toEqual(['01', '01', undefined, '09FF', '0A', '0B']);
    expect((await h.memory.get(c.key, c.etag))?.sequencer).toBe('09FF');
    expect((await h.memory.get(d.key, d.etag))?.sequencer).toBeUndefined();
  });

  it("records what an overwritten key holds now, never the new bytes under its event's old ETag", async () => {
    const h = harness();
    const v1 = await h.put('orders/a.parquet', 'version 1');
    const v2 = await h.put('orders/a.parquet', 'version 2', '2024-04-02T00:00:00.000Z');

    const out = await runDiscover(eventRun([event(v1, '0100')]), h.deps);

    const files = (await h.batch(out)).files;
    expect(files).toEqual([{ key: 'orders/a.parquet', etag: v2.etag, size: v2.size, lastModified: '2024-04-02T00:00:00.000Z' }]);
    expect(await h.memory.get(v1.key, v1.etag)).toBeUndefined();
    const entry = await h.memory.get(v2.key, v2.etag);
    expect(entry).toMatchObject({ status: 'discovered', size: v2.size });
    expect(entry?.sequencer).toBeUndefined();
  });

  it('finds the version in the ledger when its own event follows, and skips a key that no longer exists', async () => {
    const h = harness();
    const v1 = await h.put('orders/a.parquet', 'version 1');
    const v2 = await h.put('orders/a.parquet', 'version 2');
    const gone = await h.put('orders/gone.parquet', 'gone');
    h.store.delete(gone.key);
    await runDiscover(eventRun([event(v1, '01')]), h.deps);

    const out = await runDiscover({ ...eventRun([event(v2, '02'), event(gone, '03')]), runId: 'run-2' }, h.deps);

    expect(out).toMatchObject({ discovered: 0, checked: 1, files: 1 });
    expect((await h.batch(out)).files.map((f) => f.etag)).toEqual([v2.etag]);
    expect([...h.memory.entries.values()].map((e) => e.etag)).toEqual([v2.etag]);
  });

  it('offers discovered, failed and expired loading versions, and skips loaded, quarantined and leased ones', async () => {
    const h = harness();
    const states = [
      ['discovered', undefined],
      ['failed', undefined],
      ['loading', '2024-04-30T00:00:00.000Z'],
      ['loading', '2024-05-02T00:00:00.000Z'],
      ['loaded', undefined],
      ['quarantined', undefined],
    ] as const;
    const put = [];
    for (const [i, [status, expiresAt]] of states.entries()) {
      const o = await h.put(`orders/${i}-${status}.parquet`);
      h.memory.set({ dataset: 'orders', key: o.key, etag: o.etag, size: o.size, status, fence: 1, ...(expiresAt ? { lease: { loadId: 'ld', expiresAt } } : {}) });
      put.push(o);
    }

    const out = await runDiscover(eventRun(put.map((o) => event(o))), h.deps);

    expect((await h.batch(out)).files.map((f) => f.key).sort()).toEqual(['orders/0-discovered.parquet', 'orders/1-failed.parquet', 'orders/2-loading.parquet']);
    expect(h.ledger.calls).toEqual({ getMany: 1 });
  });

  it('reads the events document the trigger wrote for many events', async () => {
    const h = harness();
    const objects = [];
    for (let i = 0; i < 12; i += 1) objects.push(await h.put(`orders/p-${String(i).padStart(2, '0')}.parquet`));
    const key = '_syncproof/events/orders/orders-abc.json';
    await h.store.putJson(key, { dataset: 'orders', executionName: 'orders-abc', objects: objects.map((o) => event(o)) });

    const out = await runDiscover({ input: { dataset: 'orders', trigger: { source: 's3', objects: 12, eventsUri: `s3://test-bucket/${key}` } }, runId: 'run-1' }, h.deps);

    expect(out).toMatchObject({ mode: 'event', files: 12, discovered: 12 });
    expect(h.objects.lists).toBe(0);
  });

  it('refuses an events document of another dataset or with another count', async () => {
    const h = harness();
    const o = await h.put('orders/a.parquet');
    await h.store.putJson('_syncproof/events/orders/x.json', { dataset: 'orders', executionName: 'x', objects: [event(o)] });
    await h.store.putJson('_syncproof/events/other/y.json', { dataset: 'other', executionName: 'y', objects: [event(o)] });
    const run = (eventsUri: string, objects = 1) => runDiscover({ input: { dataset: 'orders', trigger: { source: 's3', objects, eventsUri } }, runId: 'r' }, h.deps);

    await expect(run('s3://test-bucket/_syncproof/events/other/y.json')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(run('s3://test-bucket/_syncproof/events/orders/x.json', 2)).rejects.toThrow(/holds 1 objects, the execution input says 2/);
  });

  it('refuses a trigger with both events and eventsUri, a wrong count, or a sequencer that is not hexadecimal', async () => {
    const h = harness();
    const e = { key: 'orders/a.parquet', etag: 'e', size: 1 };
    const run = (trigger: unknown) => runDiscover({ input: { dataset: 'orders', trigger }, runId: 'r' }, h.deps);

    await expect(run({ source: 's3', objects: 1, events: [e], eventsUri: 's3://test-bucket/_syncproof/events/orders/x.json' })).rejects.toThrow(/not both/);
    await expect(run({ source: 's3', objects: 2, events: [e] })).rejects.toThrow(/must equal the number of events/);
    await expect(run({ source: 's3', objects: 1, events: [{ ...e, sequencer: 'xyz' }] })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('keeps a batch within maxFilesPerBatch and says more are waiting', async () => {
    const h = harness(parseConfig({ datasets: TEST_CONFIG.datasets, maxFilesPerBatch: 2 }));
    const put = [];
    for (let i = 0; i < 5; i += 1) put.push(await h.put(`orders/p-${i}.parquet`, `p${i}`, `2024-04-01T00:00:0${4 - i}.000Z`));

    const out = await runDiscover(eventRun(put.map((o) => event(o))), h.deps);

    expect(out).toMatchObject({ files: 2, hasMore: true, discovered: 5 });
    expect((await h.batch(out)).files.map((f) => f.key)).toEqual(['orders/p-4.parquet', 'orders/p-3.parquet']);
  });
});

describe('runDiscover, reconcile runs', () => {
  async function seeded(h: Harness): Promise<ObjectSummary[]> {
    const all = [];
    for (let i = 0; i < 250; i += 1) {
      const o = await h.put(`orders/part-${String(i).padStart(3, '0')}.parquet`);
      if (i % 100 !== 7) h.memory.set({ dataset: 'orders', key: o.key, etag: o.etag, size: o.size, status: 'loaded', fence: 1 });
      all.push(o);
    }
    await h.put('orders/_SUCCESS', '');
    return all.filter((_, i) => i % 100 === 7);
  }

  it('finds an object that had no event, paging the listing through batched ledger reads', async () => {
    const h = harness();
    const missed = await seeded(h);

    const out = await runDiscover({ input: { dataset: 'orders' }, runId: 'run-1' }, h.deps);

    expect(out).toMatchObject({ mode: 'reconcile', checked: 250, discovered: 3, files: 3 });
    expect((await h.batch(out)).files.map((f) => f.key)).toEqual(missed.map((o) => o.key));
    expect(h.ledger.calls).toEqual({ getMany: 3, discover: 3 });
    expect(h.objects.lists).toBe(1);
  });

  it("lists the prefix when asked to reconcile, although the trigger passed events", async () => {
    const h = harness();
    const missed = await seeded(h);
    const withEvent = await h.put('orders/with-event.parquet');

    const out = await runDiscover(eventRun([event(withEvent)], { mode: 'reconcile' }), h.deps);

    expect(out.mode).toBe('reconcile');
    expect((await h.batch(out)).files.map((f) => f.key).sort()).toEqual([...missed.map((o) => o.key), withEvent.key].sort());
  });

  it('reconciles an execution the trigger started before it passed events', async () => {
    const h = harness();
    const missed = await seeded(h);

    const out = await runDiscover({ input: { dataset: 'orders', trigger: { source: 's3', objects: 2 } }, runId: 'run-1' }, h.deps);

    expect(out).toMatchObject({ mode: 'reconcile', files: missed.length });
  });
});
