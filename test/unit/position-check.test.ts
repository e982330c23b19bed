import { canonicalTime, checkColumnValue } from '../../lambdas/core/position-check';
import type { MappedType } from '../../lambdas/core/source-types';

const BIGINT: MappedType = { parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' };
const INTEGER: MappedType = { parquet: { type: 'INT32' }, redshift: 'INTEGER', rule: 'int' };
const DECIMAL: MappedType = { parquet: { type: 'DECIMAL', precision: 6, scale: 2 }, redshift: 'DECIMAL(6,2)', rule: 'decimal' };

describe('canonicalTime', () => {
  it.each([
    ['2026-02-28 12:00:00', '2026-02-28 12:00:00'],
    ['2026-02-28 12:00:00.123456', '2026-02-28 12:00:00.123456'],
    ['2026-02-28T12:00:00Z', '2026-02-28 12:00:00'],
    ['2026-02-28T12:00:00', '2026-02-28 12:00:00'],
    ['2026-03-01T01:30:00.5+02:00', '2026-02-28 23:30:00.5'],
    ['2026-02-28T22:00:00-03:00', '2026-03-01 01:00:00'],
    ['2024-02-29', '2024-02-29'],
  ])('accepts %s as %s', (text, canonical) => {
    expect(canonicalTime(text)).toEqual({ ok: true, text: canonical });
  });

  it.each([
    ['2026-02-30 12:00:00', /not a calendar date \(2026-02 has 28 days\)/],
    ['2023-02-29', /not a calendar date/],
    ['2026-13-01 00:00:00', /months are 01–12/],
    ['2026-02-28 24:00:00', /not a time of day/],
    ['2026-02-28 12:60:00', /not a time of day/],
    ['28/02/2026', /accepted form: 'YYYY-MM-DD HH:MM:SS\[\.ffffff\]' \(UTC\)/],
    ['2026-02-28 12:00:00.1234567', /accepted form/],
  ])('refuses %s', (text, reason) => {
    const r = canonicalTime(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });
});

describe('checkColumnValue', () => {
  it.each([
    [BIGINT, '9223372036854775807', true],
    [BIGINT, '9223372036854775808', false],
    [BIGINT, 'abc', false],
    [BIGINT, '1.5', false],
    [INTEGER, '2147483648', false],
    [INTEGER, '-2147483648', true],
    [DECIMAL, '1234.56', true],
    [DECIMAL, '12345.6', false],
    [DECIMAL, '1.234', false],
    [DECIMAL, 'x', false],
  ] as const)('%j: %s → ok %s', (type, text, ok) => {
    expect(checkColumnValue(text, type).ok).toBe(ok);
  });
});
