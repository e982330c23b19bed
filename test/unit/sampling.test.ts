import { InvalidInputError } from '../../lambdas/core/errors';
import { DEFAULT_SAMPLE, SeededSampler, parseSampleSpec, sampleRank, sampleSize } from '../../lambdas/core/sampling';

const keys = (n: number): { key: string }[] => Array.from({ length: n }, (_, i) => ({ key: `data/part-${String(i).padStart(5, '0')}.parquet` }));

function sample(seed: string, size: number, items: readonly { key: string }[]): string[] {
  const sampler = new SeededSampler<{ key: string }>(seed, size);
  for (const item of items) sampler.offer(item);
  return sampler.result().map((i) => i.key);
}

/** Deterministic shuffle (Fisher–Yates with an LCG). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('parseSampleSpec', () => {
  it.each([
    ['all', { kind: 'all' }],
    ['ALL', { kind: 'all' }],
    ['20', { kind: 'count', count: 20 }],
    ['0', { kind: 'count', count: 0 }],
    ['10%', { kind: 'percent', percent: 10, min: 1, max: 20 }],
    [' 2.5 % ', { kind: 'percent', percent: 2.5, min: 1, max: 20 }],
    ['100%', { kind: 'percent', percent: 100, min: 1, max: 20 }],
  ])('parses %p', (text, spec) => {
    expect(parseSampleSpec(text)).toEqual(spec);
  });

  it('applies given bounds to a percentage', () => {
    expect(parseSampleSpec('50%', { min: 2, max: 5 })).toEqual({ kind: 'percent', percent: 50, min: 2, max: 5 });
  });

  it.each(['', 'some', '-1', '1.5', '0%', '101%', '10%%', '%', '1e3', 'all files'])('rejects %p naming the value and the accepted forms', (text) => {
    expect(() => parseSampleSpec(text)).toThrow(InvalidInputError);
    expect(() => parseSampleSpec(text)).toThrow(`'${text}'`);
    expect(() => parseSampleSpec(text)).toThrow(/accepted forms: 'all'.*'20'.*'10%'/);
  });

  it('rejects bounds with min above max', () => {
    expect(() => parseSampleSpec('10%', { min: 5, max: 2 })).toThrow(/min=5 max=2/);
  });
});

describe('sampleSize', () => {
  it.each([
    [0, 0],
    [1, 1],
    [5, 1],
    [10, 1],
    [11, 2],
    [100, 10],
    [150, 15],
    [1000, 20],
  ])('takes 10%%, at least 1, at most 20 by default: %i files → %i', (population, size) => {
    expect(sampleSize(DEFAULT_SAMPLE, population)).toBe(size);
  });

  it('takes everything for all', () => {
    expect(sampleSize({ kind: 'all' }, 1234)).toBe(1234);
  });

  it('never takes more than the population', () => {
    expect(sampleSize({ kind: 'count', count: 50 }, 7)).toBe(7);
    expect(sampleSize({ kind: 'percent', percent: 10, min: 5, max: 20 }, 3)).toBe(3);
  });
});

describe('SeededSampler', () => {
  const items = keys(500);

  it('selects the same sample for the same seed', () => {
    expect(sample('run-1', 20, items)).toEqual(sample('run-1', 20, items));
  });

  it('selects the same sample whatever order the keys arrive in', () => {
    const expected = sample('run-1', 20, items);
    expect(sample('run-1', 20, shuffled(items, 7))).toEqual(expected);
    expect(sample('run-1', 20, [...items].reverse())).toEqual(expected);
  });

  it('selects a different sample for a different seed', () => {
    expect(sample('run-1', 20, items)).not.toEqual(sample('run-2', 20, items));
  });

  it('selects the keys with the smallest seeded ranks, in key order', () => {
    const expected = [...items]
      .sort((a, b) => (sampleRank('s', a.key) < sampleRank('s', b.key) ? -1 : 1))
      .slice(0, 15)
      .map((i) => i.key)
      .sort();
    expect(sample('s', 15, shuffled(items, 3))).toEqual(expected);
  });

  it('separates seed and key in the rank', () => {
    expect(sampleRank('ab', 'c')).not.toBe(sampleRank('a', 'bc'));
  });

  it('returns every item when the sample is larger than the population', () => {
    expect(sample('s', 10, keys(3))).toEqual(keys(3).map((i) => i.key));
  });

  it('returns nothing for size 0', () => {
    expect(sample('s', 0, items)).toEqual([]);
  });

  it('keeps a key offered twice once', () => {
    const twice = [...keys(5), ...keys(5)];
    expect(sample('s', 10, twice)).toEqual(keys(5).map((i) => i.key));
  });

  it('keeps the whole item, not just its key', () => {
    const sampler = new SeededSampler<{ key: string; size: number }>('s', 1);
    sampler.offer({ key: 'a', size: 7 });
    expect(sampler.result()).toEqual([{ key: 'a', size: 7 }]);
  });

  it('rejects a negative size', () => {
    expect(() => new SeededSampler('s', -1)).toThrow(InvalidInputError);
  });
});
