import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEntry, RunRecord } from '../../lambdas/core/ports';
import * as discoverHandler from '../../lambdas/discover/handler';
import * as loadHandler from '../../lambdas/load/handler';
import * as triggerHandler from '../../lambdas/trigger/handler';
import { LAMBDA_TIMEOUT_ERROR, type LocalHandler } from '../../local/lambda-sandbox';
import type { LocalRuntime } from '../../local/runtime';
import { PARITY_CONFIG, eventsFile, ordersFile, query, range, startRuntime } from './support';

async function ledger(runtime: LocalRuntime, dataset: string): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const e of runtime.deps.ledger.listDataset(dataset)) out.push(e);
  return out;
}

/** Rows, distinct ids, and the largest number of rows one id has, read back from the warehouse. */
async function tableState(runtime: LocalRuntime, table: string, id: string): Promise<{ rows: number; ids: number; maxPerId: number }> {
  const [r] = await query(
    runtime,
    `SELECT (SELECT COUNT(*) FROM public.${table}) AS n, (SELECT COUNT(DISTINCT ${id}) FROM public.${table}) AS k, ` +
      `(SELECT COALESCE(MAX(c), 0) FROM (SELECT COUNT(*) AS c FROM public.${table} GROUP BY ${id}) t) AS m`,
  );
  return { rows: Number(r?.n), ids: Number(r?.k), maxPerId: Number(r?.m) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('local runtime parity with AWS: concurrency and time budgets', () => {
  let runtime: LocalRuntime;
  /** Per-test hooks the stage replacements below call (reset before each test). */
  let onLoad: ((runId: string) => Promise<void>) | undefined;
  let onDiscover: ((context: { getRemainingTimeInMillis(): number }) => Promise<void>) | undefined;

  beforeAll(async () => {
    const load: LocalHandler = async (event, context) => {
      await onLoad?.((event as { runId: string }).runId);
      return loadHandler.handler(event, context);
    };
    const discover: LocalHandler = async (event, context) => {
      await onDiscover?.(context as { getRemainingTimeInMillis(): number });
      return discoverHandler.handler(event, context);
    };
    // Budgets × 0.05: discover and record 3 s, load, inventory and checksum 45 s.
    runtime = await startRuntime({ config: PARITY_CONFIG, s3Events: false, timeBudgetScale: 0.05, stageHandlers: { load, discover } });
  });

  beforeEach(() => {
    onLoad = undefined;
    onDiscover = undefined;
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('runs two executions at once: both run records are RUNNING in DynamoDB while both are in their load stage', async () => {
    await runtime.deps.objects.put('orders/concurrent/a.parquet', ordersFile(range(1, 20), 0, 'new'));
    await runtime.deps.objects.put('events/concurrent/a.parquet', eventsFile(range(1, 20)));
    const inLoad = new Set<string>();
    let bothIn: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothIn = resolve));
    let seen: (RunRecord | undefined)[] = [];
    onLoad = async (runId) => {
      inLoad.add(runId);
      if (inLoad.size === 2) {
        seen = await Promise.all([...inLoad].map((id) => runtime.deps.runs.get(id)));
        bothIn();
      }
      // Executions run one at a time would never get here together: give up after 20 s.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([barrier, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
      clearTimeout(timer);
    };

    const [orders, events] = await Promise.all([
      runtime.startExecution({ dataset: 'orders' }, 'concurrent-orders'),
      runtime.startExecution({ dataset: 'events' }, 'concurrent-events'),
    ]);

    expect([...inLoad].sort()).toEqual(['concurrent-events', 'concurrent-orders']);
    expect(seen.map((r) => r?.status)).toEqual(['RUNNING', 'RUNNING']);
    expect([orders.status, events.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await tableState(runtime, 'orders', 'order_id')).toEqual({ rows: 20, ids: 20, maxPerId: 1 });
    expect(await tableState(runtime, 'events', 'event_id')).toEqual({ rows: 20, ids: 20, maxPerId: 1 });
  });

  it('refuses a second execution under a running or an ended name', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    onLoad = () => held;
    await runtime.deps.objects.put('orders/names/a.parquet', ordersFile(range(101, 5), 0, 'new'));
    const first = runtime.startExecution({ dataset: 'orders' }, 'unique-name');
    await expect(runtime.startExecution({ dataset: 'orders' }, 'unique-name')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    release();
    expect((await first).status).toBe('SUCCEEDED');
    await expect(runtime.startExecution({ dataset: 'orders' }, 'unique-name')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it("counts a stage's remaining time down from its Lambda's configured timeout", async () => {
    const remaining: number[] = [];
    onDiscover = async (context) => {
      remaining.push(context.getRemainingTimeInMillis());
      await sleep(50);
      remaining.push(context.getRemainingTimeInMillis());
    };
    const result = await runtime.startExecution({ dataset: 'orders' }, 'budget-countdown');
    expect(result.status).toBe('SUCCEEDED');
    const [first, later] = remaining as [number, number];
    // Discover's Timeout in the template is 60 s; × 0.05 = 3 s.
    expect(first).toBeLessThanOrEqual(3000);
    expect(first).toBeGreaterThan(0);
    expect(later).toBeLessThan(first);
  });

  it('fails a task whose handler outlives its budget with the Lambda timeout error, abandoning the handler', async () => {
    let finish: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (finish = resolve));
    let zombieEnded = false;
    onDiscover = async () => {
      await stalled;
      zombieEnded = true;
    };
    const result = await runtime.startExecution({ dataset: 'orders' }, 'budget-overrun');
    expect(result).toMatchObject({ status: 'FAILED', error: LAMBDA_TIMEOUT_ERROR });
    expect(result.cause).toContain('Task timed out after 3.00 seconds');
    expect(result.run).toMatchObject({ status: 'FAILED' });
    expect(zombieEnded).toBe(false);
    finish();
  });
});

describe('local runtime parity with AWS: at-least-once, reordered, late S3 events', () => {
  let runtime: LocalRuntime;
  /** Object key → how many times the trigger received its event. */
  const received = new Map<string, number>();

  beforeAll(async () => {
    const trigger: LocalHandler = async (event, context) => {
      for (const r of (event as { Records: { body: string }[] }).Records) {
        const key = (JSON.parse(r.body) as { detail: { object: { key: string } } }).detail.object.key;
        received.set(key, (received.get(key) ?? 0) + 1);
      }
      return triggerHandler.handler(event, context);
    };
    runtime = await startRuntime({
      config: PARITY_CONFIG,
      stageHandlers: { trigger },
      eventDelivery: { seed: 20260501, duplicate: (key) => !key.includes('/late'), maxDuplicateLagMs: 600, hold: (key) => key.includes('/late') },
    });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('loads every object exactly once when every event is delivered twice and batches are reordered', async () => {
    for (const i of range(0, 6)) {
      await runtime.deps.objects.put(`orders/dup/part-${i}.parquet`, ordersFile(range(1000 + i * 10, 10), 0, 'new'));
      await runtime.deps.objects.put(`events/dup/part-${i}.parquet`, eventsFile(range(1000 + i * 10, 10)));
    }
    await runtime.waitForIdle();

    for (const i of range(0, 6)) {
      expect(received.get(`orders/dup/part-${i}.parquet`)).toBe(2);
      expect(received.get(`events/dup/part-${i}.parquet`)).toBe(2);
    }
    expect(await tableState(runtime, 'orders', 'order_id')).toEqual({ rows: 60, ids: 60, maxPerId: 1 });
    expect(await tableState(runtime, 'events', 'event_id')).toEqual({ rows: 60, ids: 60, maxPerId: 1 });
    for (const dataset of ['orders', 'events']) {
      const entries = await ledger(runtime, dataset);
      expect(entries.map((e) => e.status)).toEqual(entries.map(() => 'loaded'));
      expect(entries).toHaveLength(6);
    }
    const [audit] = await query(runtime, 'SELECT COUNT(*) AS n, COUNT(DISTINCT object_key) AS k FROM public.syncproof_load_files');
    expect({ n: Number(audit?.n), k: Number(audit?.k) }).toEqual({ n: 12, k: 12 });
  });

  it('delivers a held event only once it is released, and then loads its object', async () => {
    await runtime.deps.objects.put('events/late/a.parquet', eventsFile(range(5000, 10)));
    await runtime.waitForIdle();
    expect((await ledger(runtime, 'events')).find((e) => e.key === 'events/late/a.parquet')).toBeUndefined();
    expect(received.get('events/late/a.parquet')).toBeUndefined();

    runtime.releaseHeldEvents();
    await runtime.waitForIdle();

    expect(received.get('events/late/a.parquet')).toBe(1);
    expect((await ledger(runtime, 'events')).find((e) => e.key === 'events/late/a.parquet')?.status).toBe('loaded');
    expect(await tableState(runtime, 'events', 'event_id')).toEqual({ rows: 70, ids: 70, maxPerId: 1 });
  });
});

describe('local runtime parity with AWS: a data dir whose event queue was lost', () => {
  it('starts a reconcile execution that loads the objects with neither a ledger entry nor a queued event', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'syncproof-reconcile-test-'));
    try {
      const first = await startRuntime({ config: PARITY_CONFIG, dataDir, eventDelivery: { hold: () => true } });
      await first.deps.objects.put('orders/lost/a.parquet', ordersFile(range(9000, 10), 0, 'new'));
      await first.waitForIdle(); // its event is held: nothing loads
      expect(await ledger(first, 'orders')).toEqual([]);
      await first.stop();
      await rm(join(dataDir, 'queue'), { recursive: true, force: true });

      const second = await startRuntime({ config: PARITY_CONFIG, dataDir });
      try {
        await second.waitForIdle();
        expect(second.executions().map((e) => e.name)).toEqual([expect.stringMatching(/^reconcile-orders-[0-9a-f]{24}$/)]);
        expect((await ledger(second, 'orders')).map((e) => [e.key, e.status])).toEqual([['orders/lost/a.parquet', 'loaded']]);
        expect(await tableState(second, 'orders', 'order_id')).toEqual({ rows: 10, ids: 10, maxPerId: 1 });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
