import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventDeliveryPolicy, seededRandom } from '../../local/event-delivery';
import { EventQueue, type QueueMessage } from '../../local/event-queue';

describe('event delivery policy', () => {
  it('makes the same choices for the same seed and the same arrivals', () => {
    const keys = Array.from({ length: 50 }, (_, i) => `orders/${i}.parquet`);
    const a = eventDeliveryPolicy({ seed: 42, duplicateRate: 0.3 });
    const b = eventDeliveryPolicy({ seed: 42, duplicateRate: 0.3 });
    expect(keys.map((k) => a.plan(k))).toEqual(keys.map((k) => b.plan(k)));
    expect(a.order(keys)).toEqual(b.order(keys));
  });

  it('duplicates about duplicateRate of the events, the copy no earlier than the original', () => {
    const policy = eventDeliveryPolicy({ seed: 7, duplicateRate: 0.25, maxDelayMs: 100, maxDuplicateLagMs: 1000 });
    const plans = Array.from({ length: 2000 }, (_, i) => policy.plan(`k${i}`));
    const twice = plans.filter((p) => p.length === 2);
    expect(twice.length / plans.length).toBeGreaterThan(0.2);
    expect(twice.length / plans.length).toBeLessThan(0.3);
    for (const [first, copy] of twice) expect(copy!.delayMs).toBeGreaterThanOrEqual(first!.delayMs);
    expect(plans.every((p) => p.every((d) => d.delayMs >= 0 && d.delayMs < 1100))).toBe(true);
  });

  it('delivers each event once, at once and in order, when duplicates, delays and reordering are off', () => {
    const policy = eventDeliveryPolicy({ seed: 1, duplicateRate: 0, maxDelayMs: 0, reorder: false });
    expect(policy.plan('a')).toEqual([{ delayMs: 0, held: false }]);
    expect(policy.order([1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });

  it('lets the fault hooks force a duplicate, a delay or a hold per key', () => {
    const policy = eventDeliveryPolicy({ seed: 3, duplicateRate: 0, duplicate: (k) => k === 'dup', delayMs: (k) => (k === 'slow' ? 5000 : undefined), hold: (k) => k === 'held' });
    expect(policy.plan('dup')).toHaveLength(2);
    expect(policy.plan('slow')[0]?.delayMs).toBe(5000);
    expect(policy.plan('held')[0]?.held).toBe(true);
    expect(policy.plan('plain')).toHaveLength(1);
  });

  it('reorders a flush as a permutation of it', () => {
    const items = Array.from({ length: 30 }, (_, i) => i);
    const ordered = eventDeliveryPolicy({ seed: 9 }).order(items);
    expect([...ordered].sort((x, y) => x - y)).toEqual(items);
    expect(ordered).not.toEqual(items);
  });

  it('refuses a rate outside 0–1', () => {
    expect(() => eventDeliveryPolicy({ duplicateRate: 1.5 })).toThrow(/duplicateRate/);
  });

  it('draws uniformly from a seeded generator', () => {
    const random = seededRandom(123);
    const draws = Array.from({ length: 1000 }, () => random());
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(draws.reduce((s, x) => s + x, 0) / draws.length).toBeCloseTo(0.5, 1);
  });
});

describe('event queue', () => {
  let dir: string;
  const exact = () => eventDeliveryPolicy({ seed: 1, duplicateRate: 0, maxDelayMs: 0, reorder: false });
  const body = (key: string) => ({ detail: { object: { key } } });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncproof-queue-test-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function drained(queue: EventQueue): Promise<void> {
    while (!queue.idle()) await new Promise((r) => setTimeout(r, 10));
  }

  it('keeps a message on disk from enqueue until the trigger processed it', async () => {
    let release: (failed: Set<string>) => void = () => undefined;
    const seen: QueueMessage[][] = [];
    const { queue } = EventQueue.open({
      dir,
      policy: exact(),
      windowMs: 5,
      deliver: (batch) => {
        seen.push([...batch]);
        return new Promise((resolve) => (release = resolve));
      },
    });
    queue.enqueue(body('a'), 'a');
    expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(1); // on disk before enqueue returned
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(1); // in flight: still there
    release(new Set());
    await drained(queue);
    expect(readdirSync(dir).filter((n) => n.endsWith('.json'))).toHaveLength(0);
    await queue.stop();
  });

  it('delivers again, in a later process, a message whose trigger never returned', async () => {
    let inFlight = false;
    const first = EventQueue.open({
      dir,
      policy: exact(),
      windowMs: 5,
      deliver: () => {
        inFlight = true;
        return new Promise(() => undefined);
      },
    }).queue;
    first.enqueue(body('a'), 'a');
    first.enqueue(body('b'), 'b');
    while (!inFlight) await new Promise((r) => setTimeout(r, 5));
    void first.stop(); // the process "dies" with the batch in flight

    const delivered: string[] = [];
    const { queue, recovered } = EventQueue.open({
      dir,
      policy: exact(),
      windowMs: 5,
      deliver: async (batch) => {
        delivered.push(...batch.map((m) => m.key));
        return new Set();
      },
    });
    expect(recovered).toBe(2);
    await drained(queue);
    expect(delivered.sort()).toEqual(['a', 'b']);
    await queue.stop();
  });

  it('redelivers a failed batch item and moves it to the dead-letter queue after five receives', async () => {
    const receives = new Map<string, number>();
    const { queue } = EventQueue.open({
      dir,
      policy: exact(),
      windowMs: 1,
      deliver: async (batch) => {
        for (const m of batch) receives.set(m.key, m.receiveCount);
        return new Set(batch.filter((m) => m.key === 'bad').map((m) => m.id));
      },
    });
    queue.enqueue(body('good'), 'good');
    queue.enqueue(body('bad'), 'bad');
    await drained(queue);
    expect(receives.get('good')).toBe(1);
    expect(receives.get('bad')).toBe(5);
    expect(queue.deadLetters().map((m) => m.key)).toEqual(['bad']);
    expect(existsSync(join(dir, 'dead'))).toBe(true);
    await queue.stop();
  });

  it('cuts ready messages into batches of at most batchSize', async () => {
    const sizes: number[] = [];
    const { queue } = EventQueue.open({
      dir,
      policy: exact(),
      batchSize: 10,
      windowMs: 20,
      deliver: async (batch) => {
        sizes.push(batch.length);
        return new Set();
      },
    });
    for (let i = 0; i < 25; i++) queue.enqueue(body(`k${i}`), `k${i}`);
    await drained(queue);
    expect(sizes.reduce((s, n) => s + n, 0)).toBe(25);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    await queue.stop();
  });

  it('holds a held message until release, and counts it idle meanwhile', async () => {
    const delivered: string[] = [];
    const { queue } = EventQueue.open({
      dir,
      policy: eventDeliveryPolicy({ seed: 1, duplicateRate: 0, maxDelayMs: 0, hold: (k) => k === 'late' }),
      windowMs: 5,
      deliver: async (batch) => {
        delivered.push(...batch.map((m) => m.key));
        return new Set();
      },
    });
    queue.enqueue(body('late'), 'late');
    queue.enqueue(body('now'), 'now');
    await drained(queue);
    expect(delivered).toEqual(['now']);
    queue.release();
    expect(queue.idle()).toBe(false);
    await drained(queue);
    expect(delivered).toEqual(['now', 'late']);
    await queue.stop();
  });
});
