/**
 * Reproducible samples (issue #3): which files the checksum stage verifies. A sample is the `size`
 * keys with the smallest sha256(seed + '\0' + key), so the same seed and keys give the same sample
 * whatever order the listing returns them in, and a new seed gives an independent sample.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from './errors';

/** `all`, a count (`20`), or a percentage (`10%`), bounded by `min` and `max` (not for `all`). */
export type SampleSpec =
  | { readonly kind: 'all' }
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'percent'; readonly percent: number; readonly min: number; readonly max: number };

const DEFAULT_MIN = 1;
const DEFAULT_MAX = 20;

/** The default: 10% of files, at least 1, at most 20. */
export const DEFAULT_SAMPLE: SampleSpec = { kind: 'percent', percent: 10, min: DEFAULT_MIN, max: DEFAULT_MAX };

const ACCEPTED = "accepted forms: 'all', a whole count such as '20', or a percentage in (0, 100] such as '10%'";

function invalid(text: string, why: string): InvalidInputError {
  return new InvalidInputError(`sample spec '${text}' ${why}; ${ACCEPTED}`);
}

/**
 * Parses `all`, `N` or `P%` (CLI `--sample`, config); throws InvalidInputError naming the value.
 * `N` is a whole number ≥ 0; `P` is a decimal in (0, 100]. A percentage takes `bounds` (default
 * min 1, max 20 as in DEFAULT_SAMPLE); bounds must be whole numbers with 0 ≤ min ≤ max.
 */
export function parseSampleSpec(text: string, bounds: { min?: number; max?: number } = {}): SampleSpec {
  const value = text.trim();
  if (/^all$/i.test(value)) return { kind: 'all' };
  if (/^\d+$/.test(value)) {
    const count = Number(value);
    if (!Number.isSafeInteger(count)) throw invalid(text, 'is too large');
    return { kind: 'count', count };
  }
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100)) throw invalid(text, 'is not a percentage in (0, 100]');
    const min = bounds.min ?? DEFAULT_MIN;
    const max = bounds.max ?? DEFAULT_MAX;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
      throw invalid(text, `has invalid bounds min=${String(min)} max=${String(max)} (need whole numbers, 0 <= min <= max)`);
    }
    return { kind: 'percent', percent: p, min, max };
  }
  throw invalid(text, 'is not recognised');
}

/**
 * How many of `population` items the spec selects: never more than `population`. A percentage
 * rounds up (ceil(population × P / 100)), then is clamped to [min, max].
 */
export function sampleSize(spec: SampleSpec, population: number): number {
  const total = Math.max(0, Math.floor(population));
  switch (spec.kind) {
    case 'all':
      return total;
    case 'count':
      return Math.min(spec.count, total);
    case 'percent': {
      const raw = Math.ceil((total * spec.percent) / 100 - 1e-9);
      return Math.min(total, Math.max(spec.min, Math.min(spec.max, raw)));
    }
  }
}

/** The seeded rank of a key: sha256(seed + '\0' + key), hex (compares like the digest bytes). */
export function sampleRank(seed: string, key: string): string {
  return createHash('sha256').update(seed).update('\0').update(key).digest('hex');
}

interface Ranked<T> {
  readonly rank: string;
  readonly item: T;
}

/** Larger rank first; equal ranks (same key offered twice) ordered by key for determinism. */
function above<T extends { readonly key: string }>(a: Ranked<T>, b: Ranked<T>): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.item.key > b.item.key);
}

/**
 * Streaming, reproducible selection: the `size` keys with the smallest seeded hash
 * (sha256(seed + '\0' + key)), whatever order they arrive in; memory O(size) (a bounded max-heap
 * whose root is the largest kept rank). Same seed and keys → same sample. Offering a key twice
 * keeps it once.
 */
export class SeededSampler<T extends { readonly key: string }> {
  private readonly heap: Ranked<T>[] = [];
  private readonly keys = new Set<string>();
  private readonly size: number;

  constructor(
    private readonly seed: string,
    size: number,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidInputError(`sample size ${String(size)} is not a whole number >= 0`);
    this.size = size;
  }

  /** Considers one item; O(log size). */
  offer(item: T): void {
    if (this.size === 0 || this.keys.has(item.key)) return;
    const entry: Ranked<T> = { rank: sampleRank(this.seed, item.key), item };
    if (this.heap.length < this.size) {
      this.heap.push(entry);
      this.keys.add(item.key);
      this.siftUp(this.heap.length - 1);
      return;
    }
    const root = this.heap[0]!;
    if (!above(root, entry)) return;
    this.keys.delete(root.item.key);
    this.keys.add(item.key);
    this.heap[0] = entry;
    this.siftDown(0);
  }

  /** The selected items in key order. */
  result(): T[] {
    return this.heap.map((e) => e.item).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(this.heap[i]!, this.heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < this.heap.length && above(this.heap[left]!, this.heap[largest]!)) largest = left;
      if (right < this.heap.length && above(this.heap[right]!, this.heap[largest]!)) largest = right;
      if (largest === i) return;
      this.swap(i, largest);
      i = largest;
    }
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = t;
  }
}
