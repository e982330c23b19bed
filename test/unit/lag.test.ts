import { parseConfig } from '../../lambdas/core/config';
import { cursorInstant, databaseProvenThrough, fileProvenThrough, formatLag, lagAt, lagThresholdsOf } from '../../lambdas/core/lag';
import type { WatermarkRecord } from '../../lambdas/core/watermark';

const HOUR = 3600;

function watermark(cursor: string, run: { hasMore?: boolean; end?: string | null; status?: 'PASSED' | 'RESET' | 'FAILED' } = {}): WatermarkRecord {
  return {
    dataset: 'orders',
    version: 3,
    position: { cursor, key: ['7'] },
    strategy: 'keyset',
    updatedAt: '2026-12-07T10:00:00.000Z',
    lastRun: {
      runId: 'r1',
      mode: 'incremental',
      startedAt: '2026-12-07T09:00:00.000Z',
      endedAt: '2026-12-07T09:01:00.000Z',
      status: run.status ?? 'PASSED',
      extraction: { rows: 1, files: 1, bytes: 1, nullCursorRows: 0, zeroDates: {}, hasMore: run.hasMore ?? false, end: run.end === undefined ? null : run.end },
      loadedRows: 1,
    },
  };
}

describe('lag thresholds', () => {
  it('defaults to 1 h and 6 h', () => {
    expect(lagThresholdsOf({})).toEqual({ warnSeconds: HOUR, failSeconds: 6 * HOUR });
  });

  it('reads lagWarn and lagFail, moving a default threshold so that warn never exceeds fail', () => {
    expect(lagThresholdsOf({ lagWarn: '30m', lagFail: '2d' })).toEqual({ warnSeconds: 1800, failSeconds: 2 * 86_400 });
    expect(lagThresholdsOf({ lagWarn: '12h' })).toEqual({ warnSeconds: 12 * HOUR, failSeconds: 12 * HOUR });
    expect(lagThresholdsOf({ lagFail: '30m' })).toEqual({ warnSeconds: 1800, failSeconds: 1800 });
  });

  it('refuses a lagFail below lagWarn and a duration without a unit, naming the key', () => {
    const base = { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'] };
    expect(() => parseConfig({ datasets: [{ ...base, lagWarn: '2h', lagFail: '1h' }] })).toThrow(/lagFail.*must be at least lagWarn/);
    expect(() => parseConfig({ datasets: [{ ...base, lagWarn: '90' }] })).toThrow(/lagWarn.*'30m', '6h' or '2d'/);
  });
});

describe('lag levels at a clock reading', () => {
  const thresholds = lagThresholdsOf({});
  const proven = { at: '2026-12-07T00:00:00.000Z', basis: 'object' as const };
  it.each([
    ['2026-12-07T00:59:59.000Z', 3599, 'ok'],
    ['2026-12-07T01:00:00.000Z', 3600, 'warn'],
    ['2026-12-07T05:59:59.000Z', 6 * HOUR - 1, 'warn'],
    ['2026-12-07T06:00:00.000Z', 6 * HOUR, 'fail'],
    ['2026-12-06T23:00:00.000Z', 0, 'ok'],
  ])('at %s the lag is %d s: %s', (now, seconds, level) => {
    expect(lagAt(new Date(now), proven, thresholds)).toMatchObject({ seconds, level });
  });

  it('is unknown when nothing is proven', () => {
    expect(lagAt(new Date(), undefined, thresholds)).toEqual({ level: 'unknown', thresholds });
  });

  it('formats as a person reads it', () => {
    expect([formatLag(45), formatLag(125), formatLag(3 * HOUR + 720), formatLag(2 * 86_400 + 4 * HOUR), formatLag(undefined)]).toEqual(['45s', '2m', '3h 12m', '2d 4h', 'unknown']);
  });
});

describe('what a watermark proves', () => {
  it('takes a complete run’s end bound over its last cursor', () => {
    expect(databaseProvenThrough(watermark('2026-12-07 08:00:00', { end: '2026-12-07 08:59:00.000000' }), 'UTC')).toEqual({ at: '2026-12-07T08:59:00.000Z', basis: 'cursor' });
  });

  it('takes the cursor when the run stopped with rows left', () => {
    expect(databaseProvenThrough(watermark('2026-12-07 08:00:00', { end: '2026-12-07 08:59:00', hasMore: true }), 'UTC')).toEqual({ at: '2026-12-07T08:00:00.000Z', basis: 'cursor' });
  });

  it('reads a naive cursor as the source zone’s wall clock, across a DST change', () => {
    expect(cursorInstant('2026-07-01 08:00:00', 'America/New_York')?.toISOString()).toBe('2026-07-01T12:00:00.000Z');
    expect(cursorInstant('2026-01-01 08:00:00', 'America/New_York')?.toISOString()).toBe('2026-01-01T13:00:00.000Z');
    expect(cursorInstant('2026-01-01T08:00:00+02:00', 'America/New_York')?.toISOString()).toBe('2026-01-01T06:00:00.000Z');
  });

  it('uses the run start for an integer cursor read to the end, and nothing when rows were left', () => {
    expect(databaseProvenThrough(watermark('1042', { end: '1043' }), 'UTC')).toEqual({ at: '2026-12-07T09:00:00.000Z', basis: 'run' });
    expect(databaseProvenThrough(watermark('1042', { end: '1043', hasMore: true }), 'UTC')).toBeUndefined();
  });

  it('proves nothing after a reset or before a first run', () => {
    expect(databaseProvenThrough(watermark('2026-12-07 08:00:00', { status: 'RESET' }), 'UTC')).toBeUndefined();
    expect(databaseProvenThrough(undefined, 'UTC')).toBeUndefined();
  });

  it('takes the newest loaded object of a file dataset', () => {
    expect(fileProvenThrough([{ lastModified: '2026-12-07T01:00:00.000Z' }, { lastModified: '2026-12-07T03:00:00.000Z' }, { lastModified: 'garbage' }])).toEqual({ at: '2026-12-07T03:00:00.000Z', basis: 'object' });
    expect(fileProvenThrough([])).toBeUndefined();
  });
});
