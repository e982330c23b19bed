import fc from 'fast-check';
import { compareS3Order, s3OrderKey } from '../../lambdas/core/s3-order';

const version = fc.record({
  key: fc.constantFrom('a', 'b', 'a/b', 'z'),
  lastModified: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2025-12-31T23:59:59.999Z'),
  sequencer: fc.option(fc.stringMatching(/^[0-9A-F]{1,20}$/), { nil: undefined }),
});

describe('s3OrderKey', () => {
  it('sorts as a string exactly as compareS3Order orders versions (the warehouse compares it in SQL)', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const ka = s3OrderKey(a);
        const kb = s3OrderKey(b);
        expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(Math.sign(compareS3Order(a, b)));
      }),
      { numRuns: 2000 },
    );
  });
});
