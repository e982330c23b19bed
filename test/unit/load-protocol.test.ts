import { LEASE_MS, LEASE_RENEW_MS, decideFile, renewalDue, settleFile, versionId, type FileFacts } from '../../lambdas/core/load-protocol';
import type { LedgerEntry } from '../../lambdas/core/ports';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const me = { loadId: 'ld_me', now: NOW };
const live = new Date(NOW.getTime() + 60_000).toISOString();
const expired = new Date(NOW.getTime() - 1).toISOString();

function entry(patch: Partial<LedgerEntry>): LedgerEntry {
  return { dataset: 'd', key: 'k', etag: 'e', size: 1, lastModified: '2026-01-01T00:00:00.000Z', status: 'discovered', fence: 3, updatedAt: '2026-01-01T00:00:00.000Z', ...patch };
}

const committed = { loadId: 'ld_other_1', rows: 10, loads: 1 };

describe('decideFile', () => {
  it.each<[string, FileFacts, ReturnType<typeof decideFile>]>([
    ['claims a discovered file with the fence it read', { ledger: entry({}), committed: undefined }, { kind: 'claim', fence: 3 }],
    ['claims a failed file again', { ledger: entry({ status: 'failed' }), committed: undefined }, { kind: 'claim', fence: 3 }],
    ['leaves a quarantined file', { ledger: entry({ status: 'quarantined' }), committed: undefined }, { kind: 'done' }],
    ['settles a file the audit holds, whoever holds its lease', { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: live } }), committed }, { kind: 'settle-loaded', fence: 3, loadId: 'ld_other_1', rows: 10 }],
    ['settles a failed file the audit holds (its load committed after all)', { ledger: entry({ status: 'failed' }), committed }, { kind: 'settle-loaded', fence: 3, loadId: 'ld_other_1', rows: 10 }],
    ['is done with a loaded file the audit holds', { ledger: entry({ status: 'loaded' }), committed }, { kind: 'done' }],
    ['leaves a live lease of another load alone', { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: live } }), committed: undefined }, { kind: 'held', by: 'ld_x' }],
    [
      'waits for its own running statement instead of submitting again',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_me', expiresAt: live, attemptId: 'ld_me_1' } }), committed: undefined, statement: 'running' },
      { kind: 'await', attemptId: 'ld_me_1', mine: true },
    ],
    [
      'waits for its own running statement even after its lease ran out (it renews it while waiting)',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_me', expiresAt: expired, attemptId: 'ld_me_1' } }), committed: undefined, statement: 'running' },
      { kind: 'await', attemptId: 'ld_me_1', mine: true },
    ],
    [
      'waits for the running statement of an expired lease, never cancelling or taking it over',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: expired, attemptId: 'ld_x_1' } }), committed: undefined, statement: 'running' },
      { kind: 'await', attemptId: 'ld_x_1', mine: false },
    ],
    [
      'leaves a renewed lease alone while its statement runs',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: live, attemptId: 'ld_x_1' } }), committed: undefined, statement: 'running' },
      { kind: 'held', by: 'ld_x' },
    ],
    [
      'takes over an expired lease whose statement the warehouse no longer knows (its holder is gone)',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: expired, attemptId: 'ld_x_1' } }), committed: undefined, statement: 'unknown' },
      { kind: 'claim', fence: 3, attemptId: 'ld_x_1' },
    ],
    [
      'takes over an expired lease whose statement ended without committing',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: expired, attemptId: 'ld_x_1' } }), committed: undefined, statement: 'failed' },
      { kind: 'claim', fence: 3, attemptId: 'ld_x_1' },
    ],
    [
      'takes over an expired lease that never submitted',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_x', expiresAt: expired } }), committed: undefined },
      { kind: 'claim', fence: 3 },
    ],
    [
      'claims its own lease again once its statement ended (a retry of the same load)',
      { ledger: entry({ status: 'loading', lease: { loadId: 'ld_me', expiresAt: live, attemptId: 'ld_me_1' } }), committed: undefined, statement: 'aborted' },
      { kind: 'claim', fence: 3, attemptId: 'ld_me_1' },
    ],
  ])('%s', (_name, facts, expected) => {
    expect(decideFile(facts, me)).toEqual(expected);
  });

  it('reports a ledger that says loaded without a committed audit row (I3 broken elsewhere)', () => {
    expect(decideFile({ ledger: entry({ status: 'loaded', loadedBy: 'ld_gone' }), committed: undefined }, me)).toMatchObject({ kind: 'inconsistent' });
  });

  it('keeps a lease live for longer than a Lambda may run', () => {
    expect(LEASE_MS).toBeGreaterThan(15 * 60 * 1000);
  });
});

describe('renewalDue', () => {
  it('renews a lease once a renewal period of it went by, not before', () => {
    const fresh = new Date(NOW.getTime() + LEASE_MS).toISOString();
    expect(renewalDue(fresh, NOW)).toBe(false);
    expect(renewalDue(fresh, new Date(NOW.getTime() + LEASE_RENEW_MS - 1))).toBe(false);
    expect(renewalDue(fresh, new Date(NOW.getTime() + LEASE_RENEW_MS))).toBe(true);
    expect(renewalDue(expired, NOW)).toBe(true);
  });

  it('renews often enough that a live holder misses several renewals before its lease ends', () => {
    expect(LEASE_MS / LEASE_RENEW_MS).toBeGreaterThanOrEqual(3);
  });
});

describe('settleFile', () => {
  const id = versionId('k', 'e');

  it('marks loaded what the audit holds, whatever the attempt reported', () => {
    expect(settleFile(id, committed, { kind: 'not-committed' })).toEqual({ kind: 'loaded', loadId: 'ld_other_1', rows: 10 });
  });

  it('quarantines the file a COPY error names and retries the others of the batch', () => {
    const outcome = { kind: 'file-errors' as const, files: new Map([[id, "s3 object 'k': bad"]]) };
    expect(settleFile(id, undefined, outcome)).toEqual({ kind: 'quarantine', reason: "s3 object 'k': bad" });
    expect(settleFile(versionId('other', 'e'), undefined, outcome)).toMatchObject({ kind: 'retry' });
  });

  it('fails (never quarantines) on a failure no file causes', () => {
    expect(settleFile(id, undefined, { kind: 'failed', reason: 'not authorized to assume IAM Role' })).toEqual({ kind: 'fail', reason: 'not authorized to assume IAM Role' });
  });

  it('quarantines a lone file whose content the warehouse read differently, but retries one of a larger batch', () => {
    const refused = { kind: 'refused' as const, reason: 'rows differ', alreadyLoaded: 0, contentMismatch: true };
    expect(settleFile(id, undefined, { ...refused, files: 1 })).toMatchObject({ kind: 'quarantine' });
    expect(settleFile(id, undefined, { ...refused, files: 2 })).toMatchObject({ kind: 'retry' });
  });
});
