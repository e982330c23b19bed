import { matchesPattern } from '../../local/event-pattern';

const pattern = {
  source: ['aws.s3'],
  'detail-type': ['Object Created'],
  detail: { bucket: { name: ['data'] }, object: { key: [{ prefix: 'orders/' }, { prefix: 'crm/' }] } },
};

function event(key: string, bucket = 'data', source = 'aws.s3') {
  return { source, 'detail-type': 'Object Created', detail: { bucket: { name: bucket }, object: { key } } };
}

describe('matchesPattern', () => {
  it.each([
    ['orders/a.parquet', 'data', 'aws.s3', true],
    ['crm/x.parquet', 'data', 'aws.s3', true],
    ['misc/a.parquet', 'data', 'aws.s3', false],
    ['orders/a.parquet', 'other', 'aws.s3', false],
    ['orders/a.parquet', 'data', 'custom', false],
  ])('key %s bucket %s source %s → %s', (key, bucket, source, expected) => {
    expect(matchesPattern(pattern, event(key, bucket, source))).toBe(expected);
  });

  it('supports suffix, exists and anything-but', () => {
    expect(matchesPattern({ a: [{ suffix: '.parquet' }] }, { a: 'x.parquet' })).toBe(true);
    expect(matchesPattern({ a: [{ exists: false }] }, {})).toBe(true);
    expect(matchesPattern({ a: [{ exists: true }] }, {})).toBe(false);
    expect(matchesPattern({ a: [{ 'anything-but': ['x'] }] }, { a: 'y' })).toBe(true);
    expect(matchesPattern({ a: [{ 'anything-but': ['x'] }] }, { a: 'x' })).toBe(false);
  });
});
