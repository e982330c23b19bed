import { randomInt } from 'node:crypto';

/**
 * How the local runtime delivers S3 "Object Created" events to the trigger, as S3 → EventBridge →
 * SQS → Lambda does in AWS: **at least once, possibly duplicated, reordered and late**. Every
 * random choice comes from one PRNG seeded by `seed`, so a given seed and the same sequence of
 * uploads yield the same duplicates, delays and orders (which trigger batch a message lands in
 * also depends on when it becomes visible: batches form on timers, as SQS's do).
 *
 * The default (every field omitted) is the AWS-like policy: a random seed (read it back from
 * `LocalRuntime.eventDeliverySeed` to replay a failure), 10% of events delivered twice with the
 * copy up to 1 s behind the original (so usually in another trigger batch), every event held back
 * 0–500 ms, and each flush of ready messages shuffled before it is cut into batches. Pass
 * `{ duplicateRate: 0, maxDelayMs: 0, reorder: false }` for in-order, exactly-once delivery.
 * The fault hooks (`duplicate`, `delayMs`, `hold`) override the random choices per object key;
 * they exist for tests and are off otherwise.
 */
export interface EventDeliveryOptions {
  /** PRNG seed (any 32-bit integer). @default a random seed per runtime */
  readonly seed?: number;
  /** Probability (0–1) that an event is delivered a second time. @default 0.1 */
  readonly duplicateRate?: number;
  /** Upper bound (ms) of the random hold-back of each delivery. @default 500 */
  readonly maxDelayMs?: number;
  /** How far (ms) behind its original a duplicate may become visible, at most. @default 1000 */
  readonly maxDuplicateLagMs?: number;
  /** Shuffle the messages of each flush before cutting it into trigger batches. @default true */
  readonly reorder?: boolean;
  /** Fault hook: true delivers the event of this key twice (overrides `duplicateRate`). */
  readonly duplicate?: (key: string) => boolean;
  /** Fault hook: hold this key's deliveries back this many ms (overrides the random delay). */
  readonly delayMs?: (key: string) => number | undefined;
  /** Fault hook: true holds this key's deliveries until `LocalRuntime.releaseHeldEvents()`. */
  readonly hold?: (key: string) => boolean;
}

/** One delivery of an event: when it becomes visible to the trigger, relative to its arrival. */
export interface PlannedDelivery {
  /** Milliseconds after arrival. */
  readonly delayMs: number;
  /** Invisible until released by hand (a test fault). */
  readonly held: boolean;
}

/** A seeded policy: deterministic given its seed and the order of calls. */
export interface EventDeliveryPolicy {
  readonly seed: number;
  /** The deliveries (1, or 2 for a duplicate) of the event for `key`. */
  plan(key: string): readonly PlannedDelivery[];
  /** The order in which one flush of ready messages is cut into batches. */
  order<T>(items: readonly T[]): T[];
}

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the policy of {@link EventDeliveryOptions}; throws RangeError on an invalid rate or bound. */
export function eventDeliveryPolicy(options: EventDeliveryOptions = {}): EventDeliveryPolicy {
  const seed = options.seed ?? randomInt(0, 2 ** 31);
  const duplicateRate = options.duplicateRate ?? 0.1;
  const maxDelayMs = options.maxDelayMs ?? 500;
  const maxLagMs = options.maxDuplicateLagMs ?? 1000;
  if (!(duplicateRate >= 0 && duplicateRate <= 1)) throw new RangeError(`duplicateRate must be from 0 to 1, got ${duplicateRate}`);
  if (!(maxDelayMs >= 0) || !(maxLagMs >= 0)) throw new RangeError(`maxDelayMs and maxDuplicateLagMs must be ≥ 0, got ${maxDelayMs} and ${maxLagMs}`);
  const random = seededRandom(seed);
  const reorder = options.reorder ?? true;
  return {
    seed,
    plan(key) {
      // Draw every random number whatever the hooks say, so a hook never shifts the others' draws.
      const twice = random() < duplicateRate;
      const delay = Math.floor(random() * maxDelayMs);
      const lag = Math.floor(random() * maxLagMs);
      const held = options.hold?.(key) ?? false;
      const forced = options.delayMs?.(key);
      const first = forced ?? delay;
      const deliveries: PlannedDelivery[] = [{ delayMs: first, held }];
      if (options.duplicate?.(key) ?? twice) deliveries.push({ delayMs: first + lag, held });
      return deliveries;
    },
    order(items) {
      const out = [...items];
      if (!reorder) return out;
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}
