/**
 * Reproducible samples (issue #3). CONTRACT — implementation pending.
 */

/** `all`, a count (`20`), or a percentage (`10%`), bounded by `min` and `max` (not for `all`). */
export type SampleSpec =
  | { readonly kind: 'all' }
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'percent'; readonly percent: number; readonly min: number; readonly max: number };

/** The default: 10% of files, at least 1, at most 20. */
export const DEFAULT_SAMPLE: SampleSpec = { kind: 'percent', percent: 10, min: 1, max: 20 };

/** Parses `all`, `N` or `P%` (CLI `--sample`, config); throws InvalidInputError naming the value. */
export function parseSampleSpec(_text: string, _bounds?: { min?: number; max?: number }): SampleSpec {
  throw new Error('not implemented');
}

/** How many of `population` items the spec selects. */
export function sampleSize(_spec: SampleSpec, _population: number): number {
  throw new Error('not implemented');
}

/**
 * Streaming, reproducible selection: the `size` keys with the smallest seeded hash
 * (sha256(seed + key)), whatever order they arrive in; memory O(size). Same seed and keys →
 * same sample.
 */
export class SeededSampler<T extends { readonly key: string }> {
  constructor(_seed: string, _size: number) {
    throw new Error('not implemented');
  }

  offer(_item: T): void {
    throw new Error('not implemented');
  }

  /** The selected items in key order. */
  result(): T[] {
    throw new Error('not implemented');
  }
}
