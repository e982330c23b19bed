import type { LedgerEntry, LedgerStatus, ObjectSummary, RunRecord } from '../../lambdas/core/ports';
import { behindWatermark, judgeDataObject, judgeRunDocument, lastPassedVerification, retentionAgeMs, runIdOfDocument, type DataContext } from '../../lambdas/core/retention';

const DAY = 86_400_000;
const T = (day: number) => new Date(Date.UTC(2024, 0, 1) + day * DAY).toISOString();
const OBJECT: ObjectSummary = { key: 'orders/a.parquet', etag: 'e1', size: 10, lastModified: T(1) };
const CTX: DataContext = { cutoffMs: Date.parse(T(10)), verifiedFromMs: Date.parse(T(5)) };

function entry(status: LedgerStatus, loadedAt = T(2)): LedgerEntry {
  return { dataset: 'orders', key: OBJECT.key, etag: 'e1', size: 10, lastModified: OBJECT.lastModified, status, fence: 1, updatedAt: loadedAt };
}

describe('judgeDataObject', () => {
  it('removes a loaded object older than the cutoff and loaded before the last passed verification, writing deleted ahead', () => {
    expect(judgeDataObject(OBJECT, entry('loaded'), CTX)).toEqual({ remove: true, writeAhead: true });
  });

  it('removes again an object whose entry is already deleted (a crash between the ledger write and the delete), with no ledger write', () => {
    expect(judgeDataObject(OBJECT, entry('deleted', T(20)), CTX)).toEqual({ remove: true, writeAhead: false });
  });

  it.each<[string, LedgerEntry | undefined]>([
    ['no ledger entry', undefined],
    ['discovered', entry('discovered')],
    ['loading', entry('loading')],
    ['failed', entry('failed')],
    ['forgotten', entry('forgotten')],
  ])('keeps an object that is not loaded: %s', (_what, e) => {
    expect(judgeDataObject(OBJECT, e, CTX)).toEqual({ remove: false, reason: 'not-loaded' });
  });

  it('keeps a quarantined object', () => {
    expect(judgeDataObject(OBJECT, entry('quarantined'), CTX)).toEqual({ remove: false, reason: 'quarantined' });
  });

  it('keeps an object written or loaded at or after the cutoff', () => {
    expect(judgeDataObject({ ...OBJECT, lastModified: T(10) }, entry('loaded'), { ...CTX, verifiedFromMs: Date.parse(T(30)) })).toEqual({ remove: false, reason: 'within-retention' });
    expect(judgeDataObject(OBJECT, entry('loaded', T(11)), { ...CTX, verifiedFromMs: Date.parse(T(30)) })).toEqual({ remove: false, reason: 'within-retention' });
  });

  it('keeps an object loaded at or after the start of the last passed verification, or when there is none', () => {
    expect(judgeDataObject(OBJECT, entry('loaded', T(5)), CTX)).toEqual({ remove: false, reason: 'newer-than-verification' });
    expect(judgeDataObject(OBJECT, entry('loaded'), { ...CTX, verifiedFromMs: undefined })).toEqual({ remove: false, reason: 'newer-than-verification' });
  });

  it('keeps a deleted entry\'s object uploaded again after the last passed verification', () => {
    expect(judgeDataObject({ ...OBJECT, lastModified: T(6) }, entry('deleted', T(3)), CTX)).toEqual({ remove: false, reason: 'newer-than-verification' });
  });

  it('keeps an extraction file whose last row is ahead of the watermark', () => {
    expect(judgeDataObject(OBJECT, entry('loaded'), { ...CTX, behindWatermark: () => false })).toEqual({ remove: false, reason: 'ahead-of-watermark' });
  });
});

describe('behindWatermark', () => {
  const lastRows = new Map([
    ['x/1.parquet', { cursor: '10', key: ['10'] }],
    ['x/2.parquet', { cursor: '20', key: ['20'] }],
  ]);
  it('is true only for files whose last row is at or before the watermark', () => {
    const behind = behindWatermark({ kind: 'integer', position: { cursor: '10', key: ['10'] }, lastRows });
    expect(['x/1.parquet', 'x/2.parquet', 'x/unknown.parquet'].map(behind)).toEqual([true, false, false]);
  });
  it('is false for every file before the first watermark', () => {
    expect(behindWatermark({ kind: 'integer', position: undefined, lastRows })('x/1.parquet')).toBe(false);
  });
});

describe('lastPassedVerification', () => {
  const run = (runId: string, startedAt: string, status: RunRecord['status'], mode: string): RunRecord => ({ runId, dataset: 'orders', status, startedAt, updatedAt: startedAt, stages: { inventory: { mode } } });
  it('takes the newest passed (or passed with warnings) verification run, never a sync run, a partial or a failed one', () => {
    const runs = [
      run('v1', T(1), 'PASSED', 'verify'),
      run('v2', T(2), 'PASSED_WITH_WARNINGS', 'verify'),
      run('v3', T(3), 'FAILED', 'verify'),
      run('v4', T(4), 'PASSED_PARTIAL', 'verify'),
      run('s5', T(5), 'PASSED', 'sync'),
    ];
    expect(lastPassedVerification(runs)).toEqual({ runId: 'v2', startedAt: T(2), status: 'PASSED_WITH_WARNINGS' });
    expect(lastPassedVerification(runs.slice(2))).toBeUndefined();
  });
});

describe('run documents', () => {
  it.each([
    ['run-1/0001.json', 'run-1'],
    ['run-1.json', 'run-1'],
    ['run-1/part-0001.jsonl', 'run-1'],
    ['content-2024-01-01T00-00-00-000Z.json', 'content-2024-01-01T00-00-00-000Z'],
  ])('names the run of %s', (relative, runId) => {
    expect(runIdOfDocument(relative)).toBe(runId);
  });

  it('keeps documents of runs in use and those within retention; removes the rest', () => {
    const doc = { key: '_syncproof/batches/orders/r1/1.json', etag: 'd', size: 5, lastModified: T(1) };
    expect(judgeRunDocument(doc, 'r1', Date.parse(T(10)), new Set(['r1']))).toEqual({ remove: false, reason: 'in-use' });
    expect(judgeRunDocument({ ...doc, lastModified: T(10) }, 'r1', Date.parse(T(10)), new Set())).toEqual({ remove: false, reason: 'within-retention' });
    expect(judgeRunDocument(doc, 'r1', Date.parse(T(10)), new Set(['r2']))).toEqual({ remove: true, writeAhead: false });
  });
});

it('reads retention ages in minutes, hours and days', () => {
  expect([retentionAgeMs('90m'), retentionAgeMs('36h'), retentionAgeMs('7d'), retentionAgeMs('7'), retentionAgeMs('0d')]).toEqual([90 * 60_000, 36 * 3_600_000, 7 * DAY, undefined, undefined]);
});
