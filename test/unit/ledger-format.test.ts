import { countStates, countsLine, decideRetry, decideSetAside, entryDetail, normalizeEtag, viewOf } from '../../cli/ledger-format';
import type { LedgerEntry, LedgerStatus } from '../../lambdas/core/ports';

const NOW = new Date('2024-06-01T12:00:00.000Z');

function entry(etag: string, status: LedgerStatus, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return { dataset: 'orders', key: 'orders/a.parquet', etag, size: 1, lastModified: '2024-05-01T00:00:00.000Z', status, fence: 1, updatedAt: '2024-05-01T00:00:00.000Z', ...extra };
}

const loading = (etag: string, expiresAt: string) => entry(etag, 'loading', { lease: { loadId: 'run-1/batch-0', expiresAt } });

describe('decideSetAside', () => {
  it.each<[string, LedgerEntry[], string | undefined, string, string | null]>([
    ['sets aside the only version when it is failed', [entry('e1', 'failed')], undefined, 'set', 'e1'],
    ['sets aside a discovered version', [entry('e1', 'discovered')], undefined, 'set', 'e1'],
    ['sets aside a quarantined version again (a new reason)', [entry('e1', 'quarantined')], undefined, 'set', 'e1'],
    ['takes the only version not loaded among several', [entry('e1', 'loaded'), entry('e2', 'failed')], undefined, 'set', 'e2'],
    ['asks for --etag when several versions are not loaded', [entry('e1', 'failed'), entry('e2', 'discovered')], undefined, 'error', null],
    ['refuses a loaded version', [entry('e1', 'loaded')], undefined, 'refuse', null],
    ['refuses a loading version', [loading('e1', '2999-01-01T00:00:00.000Z')], undefined, 'refuse', null],
    ['fails for a key of another dataset', [{ ...entry('e1', 'failed'), dataset: 'events' }], undefined, 'error', null],
  ])('%s', (_name, versions, etag, action, chosen) => {
    const d = decideSetAside('orders', 'orders/a.parquet', etag, versions, 'quarantined', NOW);
    expect(d.action).toBe(action);
    if (chosen !== null) expect('entry' in d ? d.entry.etag : undefined).toBe(chosen);
  });

  it('retry releases a forgotten version', () => {
    expect(decideRetry('orders', 'orders/a.parquet', undefined, [entry('e1', 'loaded'), entry('e2', 'forgotten')], NOW)).toMatchObject({ action: 'release', entry: { etag: 'e2' } });
  });
});

describe('decideRetry', () => {
  it.each<[string, LedgerEntry[], string | undefined, string, string | null]>([
    ['releases the only version when it is quarantined', [entry('e1', 'quarantined')], undefined, 'release', 'e1'],
    ['releases the only version when it is failed', [entry('e1', 'failed')], undefined, 'release', 'e1'],
    ['releases the one failed version among several', [entry('e1', 'loaded'), entry('e2', 'failed')], undefined, 'release', 'e2'],
    ['releases the version --etag names', [entry('e1', 'failed'), entry('e2', 'quarantined')], 'e2', 'release', 'e2'],
    ['asks for --etag when several versions are retryable', [entry('e1', 'failed'), entry('e2', 'quarantined')], undefined, 'error', null],
    ['refuses a loaded version', [entry('e1', 'loaded')], undefined, 'refuse', null],
    ['refuses a loading version, expired or not', [loading('e1', '2000-01-01T00:00:00.000Z')], undefined, 'refuse', null],
    ['refuses when every version is loaded or loading', [entry('e1', 'loaded'), loading('e2', '2999-01-01T00:00:00.000Z')], undefined, 'refuse', null],
    ['does nothing for a discovered version', [entry('e1', 'discovered')], undefined, 'none', 'e1'],
    ['fails for an unknown ETag', [entry('e1', 'failed')], 'e9', 'error', null],
    ['fails for an unknown key', [], undefined, 'error', null],
    ['fails for a key of another dataset', [{ ...entry('e1', 'failed'), dataset: 'events' }], undefined, 'error', null],
  ])('%s', (_name, versions, etag, action, chosen) => {
    const d = decideRetry('orders', 'orders/a.parquet', etag, versions, NOW);
    expect(d.action).toBe(action);
    if (chosen !== null) expect('entry' in d ? d.entry.etag : undefined).toBe(chosen);
  });

  it('names the state and the lease in a loading refusal', () => {
    const d = decideRetry('orders', 'orders/a.parquet', undefined, [loading('e1', '2999-01-01T00:00:00.000Z')], NOW);
    expect(d).toMatchObject({ action: 'refuse', message: expect.stringMatching(/is loading \(by run-1\/batch-0, lease expires at 2999-01-01T00:00:00.000Z, fence 1\)/) });
  });

  it('names the dataset that holds a key of another dataset', () => {
    const d = decideRetry('orders', 'orders/a.parquet', undefined, [{ ...entry('e1', 'failed'), dataset: 'events' }], NOW);
    expect(d).toMatchObject({ message: expect.stringContaining("in the ledger of dataset 'events', not 'orders'") });
  });
});

describe('ledger list lines', () => {
  it('marks a lease expired at its expiry instant, as the load protocol does', () => {
    expect(entryDetail(viewOf(loading('e1', NOW.toISOString()), NOW))).toBe(`lease held by run-1/batch-0 until ${NOW.toISOString()} (expired)`);
    expect(entryDetail(viewOf(loading('e1', '2024-06-01T12:00:00.001Z'), NOW))).toMatch(/\(active\)$/);
  });

  it('puts a multi-line reason on one line', () => {
    expect(entryDetail(entry('e1', 'quarantined', { reason: 'line 1\n  line 2' }))).toBe('reason: line 1 line 2');
  });

  it('says when the load view reported no row count', () => {
    expect(entryDetail(entry('e1', 'loaded', { rows: null, loadedBy: 'run-1/batch-0' }))).toBe('rows not reported by the load view, loaded by run-1/batch-0');
  });

  it('counts every state, zero included', () => {
    expect(countsLine(countStates([entry('e1', 'loaded'), entry('e2', 'loaded'), entry('e3', 'failed')]))).toBe(
      '3 entries: 0 discovered, 0 loading, 2 loaded, 1 failed, 0 quarantined, 0 forgotten, 0 deleted',
    );
  });

  it('takes an ETag with or without the quotes S3 shows', () => {
    expect([normalizeEtag('"abc"'), normalizeEtag('abc'), normalizeEtag(' "abc-2" ')]).toEqual(['abc', 'abc', 'abc-2']);
  });
});
