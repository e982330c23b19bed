import { parseConfig } from '../../lambdas/core/config';
import { eventsDocumentSchema, executionInputSchema, INLINE_EVENT_OBJECTS } from '../../lambdas/core/execution-input';
import { executionName } from '../../lambdas/core/ids';
import type { ExecutionStarter } from '../../lambdas/core/ports';
import { runTrigger, type ObjectCreatedEvent, type TriggerDeps } from '../../lambdas/trigger/trigger';
import { IntegrityObjectStore } from '../fixtures/integrity-object-store';

const config = parseConfig({
  datasets: [
    { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'] },
    { name: 'customers', prefix: 'crm/customers/', target: { schema: 'public', table: 'customers' }, keyColumns: ['id'] },
  ],
});

function created(key: string, etag = 'e', bucket = 'data', extra: { sequencer?: unknown; time?: string; size?: number } = {}): ObjectCreatedEvent {
  return {
    'detail-type': 'Object Created',
    ...(extra.time ? { time: extra.time } : {}),
    detail: { bucket: { name: bucket }, object: { key, etag, size: extra.size ?? 10, ...(extra.sequencer !== undefined ? { sequencer: extra.sequencer } : {}) } },
  };
}

/** Records starts; answers 'duplicate' for a name seen before, like Step Functions. */
function recordingStarter(): ExecutionStarter & { calls: { name: string; input: unknown }[] } {
  const calls: { name: string; input: unknown }[] = [];
  return {
    calls,
    start: async (name, input) => {
      const seen = calls.some((c) => c.name === name);
      calls.push({ name, input });
      return seen ? 'duplicate' : 'started';
    },
  };
}

let objects: IntegrityObjectStore;
let starter: ReturnType<typeof recordingStarter>;
let deps: TriggerDeps;
beforeEach(() => {
  objects = new IntegrityObjectStore('data');
  starter = recordingStarter();
  deps = { config, objects, starter };
});

describe('runTrigger', () => {
  it('starts one execution per dataset with a deterministic name', async () => {
    const result = await runTrigger([created('orders/a.parquet'), created('orders/b.parquet'), created('crm/customers/c.parquet')], deps);
    expect(result.started).toEqual([
      executionName('orders', [
        { key: 'orders/a.parquet', etag: 'e' },
        { key: 'orders/b.parquet', etag: 'e' },
      ]),
      executionName('customers', [{ key: 'crm/customers/c.parquet', etag: 'e' }]),
    ]);
    expect(starter.calls.map((c) => c.input)).toEqual([
      {
        dataset: 'orders',
        trigger: { source: 's3', objects: 2, events: [{ key: 'orders/a.parquet', etag: 'e', size: 10 }, { key: 'orders/b.parquet', etag: 'e', size: 10 }] },
      },
      { dataset: 'customers', trigger: { source: 's3', objects: 1, events: [{ key: 'crm/customers/c.parquet', etag: 'e', size: 10 }] } },
    ]);
    expect(objects.keys()).toEqual([]);
  });

  it('reports a redelivered batch as a duplicate instead of starting it again', async () => {
    await runTrigger([created('orders/a.parquet')], deps);
    const again = await runTrigger([created('orders/a.parquet')], deps);
    expect(again).toEqual({ started: [], duplicates: [starter.calls[0]!.name], ignored: 0 });
  });

  it('starts a new execution for an overwritten object (new ETag)', async () => {
    await runTrigger([created('orders/a.parquet', 'v1')], deps);
    const second = await runTrigger([created('orders/a.parquet', 'v2')], deps);
    expect(second.started).toHaveLength(1);
  });

  it('ignores keys outside every prefix, syncproof objects and other buckets', async () => {
    const result = await runTrigger([created('misc/a.parquet'), created('_syncproof/reports/x.json'), created('orders/a.parquet', 'e', 'other')], deps);
    expect(result).toEqual({ started: [], duplicates: [], ignored: 3 });
    expect(starter.calls).toHaveLength(0);
  });

  it("passes each event's key, ETag, size, sequencer and time inline, in an input Discover accepts", async () => {
    await runTrigger([created('orders/a.parquet', '"abc"', 'data', { sequencer: '0055AED6DCD90281E5', time: '2024-05-01T10:00:00Z', size: 1234 })], deps);

    const input = starter.calls[0]!.input;
    expect(input).toEqual({
      dataset: 'orders',
      trigger: { source: 's3', objects: 1, events: [{ key: 'orders/a.parquet', etag: 'abc', size: 1234, sequencer: '0055AED6DCD90281E5', eventTime: '2024-05-01T10:00:00Z' }] },
    });
    expect(executionInputSchema.safeParse(input).success).toBe(true);
  });

  it("keeps the S3 emulator's numeric sequencer as digits and drops one that is not hexadecimal", async () => {
    await runTrigger([created('orders/a.parquet', 'e1', 'data', { sequencer: 1714557600000 }), created('orders/b.parquet', 'e2', 'data', { sequencer: 'not-hex' })], deps);

    const events = (starter.calls[0]!.input as { trigger: { events: { sequencer?: string }[] } }).trigger.events;
    expect(events.map((e) => e.sequencer)).toEqual(['1714557600000', undefined]);
  });

  it('counts an object version repeated within a batch once', async () => {
    await runTrigger([created('orders/a.parquet'), created('orders/a.parquet')], deps);

    expect(starter.calls[0]!.name).toBe(executionName('orders', [{ key: 'orders/a.parquet', etag: 'e' }]));
    expect(starter.calls[0]!.input).toMatchObject({ trigger: { objects: 1 } });
  });

  it('writes the events document and passes only its URI when the events exceed the inline limit', async () => {
    const events = Array.from({ length: INLINE_EVENT_OBJECTS + 1 }, (_, i) => created(`orders/part-${String(i).padStart(2, '0')}.parquet`, `e${i}`, 'data', { sequencer: `00${i}` }));

    await runTrigger(events, deps);

    const { name, input } = starter.calls[0]!;
    const key = `_syncproof/events/orders/${name}.json`;
    expect(input).toEqual({ dataset: 'orders', trigger: { source: 's3', objects: INLINE_EVENT_OBJECTS + 1, eventsUri: `s3://data/${key}` } });
    expect(executionInputSchema.safeParse(input).success).toBe(true);
    const doc = eventsDocumentSchema.parse(await objects.getJson(key));
    expect(doc).toMatchObject({ dataset: 'orders', executionName: name });
    expect(doc.objects.map((o) => `${o.key}@${o.etag}@${o.sequencer}`)).toEqual(events.map((e, i) => `${e.detail.object.key}@e${i}@00${i}`));
  });

  it('gives the same events twice, in another order, the same execution name and the same document', async () => {
    const events = Array.from({ length: INLINE_EVENT_OBJECTS + 5 }, (_, i) => created(`orders/part-${String(i).padStart(2, '0')}.parquet`, `e${i}`));
    await runTrigger(events, deps);
    const first = starter.calls[0]!;
    const firstDoc = objects.text(`_syncproof/events/orders/${first.name}.json`);

    const again = await runTrigger([...events].reverse(), deps);

    expect(again).toEqual({ started: [], duplicates: [first.name], ignored: 0 });
    expect(starter.calls[1]).toEqual(first);
    expect(objects.keys('_syncproof/events/')).toEqual([`_syncproof/events/orders/${first.name}.json`]);
    expect(objects.text(`_syncproof/events/orders/${first.name}.json`)).toBe(firstDoc);
  });
});

describe('executionName', () => {
  it('does not depend on event order and fits Step Functions limits', () => {
    const a = executionName('orders', [
      { key: 'x', etag: '1' },
      { key: 'y', etag: '2' },
    ]);
    const b = executionName('orders', [
      { key: 'y', etag: '2' },
      { key: 'x', etag: '1' },
    ]);
    expect(a).toBe(b);
    expect(a).toMatch(/^orders-[0-9a-f]{32}$/);
    expect(executionName('a'.repeat(40), [{ key: 'k', etag: 'e' }]).length).toBeLessThanOrEqual(80);
  });
});
