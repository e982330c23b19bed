import { parseConfig } from '../../lambdas/core/config';
import { executionName } from '../../lambdas/core/ids';
import type { ExecutionStarter } from '../../lambdas/core/ports';
import { runTrigger, type ObjectCreatedEvent } from '../../lambdas/trigger/trigger';

const config = parseConfig({
  datasets: [
    { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'] },
    { name: 'customers', prefix: 'crm/customers/', target: { schema: 'public', table: 'customers' }, keyColumns: ['id'] },
  ],
});

function created(key: string, etag = 'e', bucket = 'data'): ObjectCreatedEvent {
  return { 'detail-type': 'Object Created', detail: { bucket: { name: bucket }, object: { key, etag } } };
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

describe('runTrigger', () => {
  it('starts one execution per dataset with a deterministic name', async () => {
    const starter = recordingStarter();
    const result = await runTrigger([created('orders/a.parquet'), created('orders/b.parquet'), created('crm/customers/c.parquet')], {
      config,
      bucket: 'data',
      starter,
    });
    expect(result.started).toEqual([
      executionName('orders', [
        { key: 'orders/a.parquet', etag: 'e' },
        { key: 'orders/b.parquet', etag: 'e' },
      ]),
      executionName('customers', [{ key: 'crm/customers/c.parquet', etag: 'e' }]),
    ]);
    expect(starter.calls.map((c) => c.input)).toEqual([
      { dataset: 'orders', trigger: { source: 's3', objects: 2 } },
      { dataset: 'customers', trigger: { source: 's3', objects: 1 } },
    ]);
  });

  it('reports a redelivered batch as a duplicate instead of starting it again', async () => {
    const starter = recordingStarter();
    await runTrigger([created('orders/a.parquet')], { config, bucket: 'data', starter });
    const again = await runTrigger([created('orders/a.parquet')], { config, bucket: 'data', starter });
    expect(again).toEqual({ started: [], duplicates: [starter.calls[0]!.name], ignored: 0 });
  });

  it('starts a new execution for an overwritten object (new ETag)', async () => {
    const starter = recordingStarter();
    await runTrigger([created('orders/a.parquet', 'v1')], { config, bucket: 'data', starter });
    const second = await runTrigger([created('orders/a.parquet', 'v2')], { config, bucket: 'data', starter });
    expect(second.started).toHaveLength(1);
  });

  it('ignores keys outside every prefix, syncproof objects and other buckets', async () => {
    const starter = recordingStarter();
    const result = await runTrigger(
      [created('misc/a.parquet'), created('_syncproof/reports/x.json'), created('orders/a.parquet', 'e', 'other')],
      { config, bucket: 'data', starter },
    );
    expect(result).toEqual({ started: [], duplicates: [], ignored: 3 });
    expect(starter.calls).toHaveLength(0);
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
