import { sampleSegments } from '../../lambdas/core/content/bisect';

describe('sampleSegments', () => {
  it('draws `count` distinct top-level segments, the same ones for the same seed', () => {
    const a = sampleSegments(32, 4, 'verify-orders-1');
    expect(a.size).toBe(4);
    expect([...a].every((i) => i >= 0 && i < 32)).toBe(true);
    expect([...sampleSegments(32, 4, 'verify-orders-1')]).toEqual([...a]);
  });

  it('draws other segments for another seed, and all of them when asked for more than there are', () => {
    const seeds = ['a', 'b', 'c', 'd'].map((seed) => [...sampleSegments(32, 4, seed)].sort((x, y) => x - y).join(','));
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(sampleSegments(3, 16, 'x')).toEqual(new Set([0, 1, 2]));
  });
});
