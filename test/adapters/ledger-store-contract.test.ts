/**
 * One contract for every LedgerStore: the DynamoDB adapter on dynalite and the in-memory store the
 * model tests use must take exactly the same conditional transitions, or the model proves nothing
 * about the running code.
 */
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import type { LedgerStore } from '../../lambdas/core/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb, type LocalDynamoDb } from '../../local/emulators';
import { MemoryLedgerStore } from '../fixtures/memory-ledger-store';

const NOW = '2026-06-01T12:00:00.000Z';
const LEASE = { loadId: 'ld_a', expiresAt: '2026-06-01T12:20:00.000Z' };
const TABLES = { ledger: 'contract-ledger', runs: 'contract-runs', watermarks: 'contract-watermarks' };

let dynamo: LocalDynamoDb;
beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  await ensureTables(dynamo.endpoint, TABLES);
});
afterAll(async () => {
  await dynamo?.stop();
});

let n = 0;
const stores: [string, () => LedgerStore][] = [
  ['memory', () => new MemoryLedgerStore()],
  ['DynamoDB (dynalite)', () => new DynamoDbLedgerStore(createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), TABLES.ledger)],
];

describe.each(stores)('LedgerStore contract: %s', (_name, make) => {
  let ledger: LedgerStore;
  let key: string;
  beforeEach(async () => {
    ledger = make();
    key = `ds/f${++n}.parquet`;
    await ledger.discover({ dataset: 'ds', key, etag: 'e1', size: 10, lastModified: NOW }, NOW);
  });

  it('records a new object version once, at fence 0', async () => {
    expect(await ledger.discover({ dataset: 'ds', key, etag: 'e1', size: 10, lastModified: NOW }, NOW)).toBe(false);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'discovered', fence: 0 });
  });

  it('lets exactly one of two claims with the same fence win, and raises the fence', async () => {
    const first = await ledger.claim(key, 'e1', 0, LEASE, NOW);
    const second = await ledger.claim(key, 'e1', 0, { ...LEASE, loadId: 'ld_b' }, NOW);
    expect([first, second]).toEqual([1, undefined]);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'loading', fence: 1, lease: { loadId: 'ld_a', expiresAt: LEASE.expiresAt } });
  });

  it('refuses every write of a load whose fence was taken over', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    await ledger.claim(key, 'e1', 1, { ...LEASE, loadId: 'ld_b' }, NOW);
    const stale = { key, etag: 'e1', fence: 1 };
    expect(await ledger.recordAttempt(stale, 'ld_a_1', NOW)).toBe(false);
    expect(await ledger.markFailed(stale, 'x', NOW)).toBe(false);
    expect(await ledger.markQuarantined(stale, 'x', NOW)).toBe(false);
    expect(await ledger.markLoaded(stale, 'ld_a_1', 5, NOW)).toBe(false);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'loading', fence: 2, lease: { loadId: 'ld_b' } });
  });

  it('refuses a claim that would forget an attempt written ahead after the claimer read the entry', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    // The claimer read the expired lease without an attempt; its holder then wrote one ahead.
    await ledger.recordAttempt({ key, etag: 'e1', fence: 1 }, 'ld_a_1', NOW);
    expect(await ledger.claim(key, 'e1', 1, { ...LEASE, loadId: 'ld_b' }, NOW)).toBeUndefined();
    expect(await ledger.claim(key, 'e1', 1, { ...LEASE, loadId: 'ld_b' }, NOW, 'ld_a_1')).toBe(2);
  });

  it('writes the attempt ahead into the lease, and clears it when the entry settles', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    const at = { key, etag: 'e1', fence: 1 };
    expect(await ledger.recordAttempt(at, 'ld_a_1', NOW)).toBe(true);
    expect((await ledger.get(key, 'e1'))?.lease?.attemptId).toBe('ld_a_1');
    expect(await ledger.markLoaded(at, 'ld_a_1', 7, NOW)).toBe(true);
    const loaded = await ledger.get(key, 'e1');
    expect(loaded).toMatchObject({ status: 'loaded', loadedBy: 'ld_a_1', rows: 7, fence: 1 });
    expect(loaded?.lease).toBeUndefined();
    expect(await ledger.markLoaded(at, 'ld_a_1', 7, NOW)).toBe(false);
  });

  it('renews the lease of the attempt still holding it, and of no other attempt or fence', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    const at = { key, etag: 'e1', fence: 1 };
    const later = '2026-06-01T12:40:00.000Z';
    expect(await ledger.renewLease(at, 'ld_a_1', later, NOW)).toBe(false); // no attempt written ahead yet
    await ledger.recordAttempt(at, 'ld_a_1', NOW);
    expect(await ledger.renewLease(at, 'ld_a_2', later, NOW)).toBe(false);
    expect(await ledger.renewLease({ ...at, fence: 0 }, 'ld_a_1', later, NOW)).toBe(false);
    expect(await ledger.renewLease(at, 'ld_a_1', later, NOW)).toBe(true);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'loading', fence: 1, lease: { loadId: 'ld_a', attemptId: 'ld_a_1', expiresAt: later } });
    await ledger.markFailed(at, 'x', NOW);
    expect(await ledger.renewLease(at, 'ld_a_1', later, NOW)).toBe(false);
  });

  it('settles loaded by fact from failed (no lease needed) but never claims a loaded entry', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    await ledger.markFailed({ key, etag: 'e1', fence: 1 }, 'lost reply', NOW);
    expect(await ledger.markLoaded({ key, etag: 'e1', fence: 1 }, 'ld_x', null, NOW)).toBe(true);
    expect(await ledger.claim(key, 'e1', 1, LEASE, NOW)).toBeUndefined();
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'loaded', rows: null });
  });

  it('releases a quarantined entry for an operator retry, but not a loaded one', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    await ledger.markQuarantined({ key, etag: 'e1', fence: 1 }, 'bad file', NOW);
    expect(await ledger.release(key, 'e1', NOW)).toBe(true);
    const released = await ledger.get(key, 'e1');
    expect(released).toMatchObject({ status: 'discovered', fence: 1 });
    expect(released?.reason).toBeUndefined();
    expect(await ledger.claim(key, 'e1', 1, LEASE, NOW)).toBe(2);
    await ledger.markLoaded({ key, etag: 'e1', fence: 2 }, 'ld_a_2', 1, NOW);
    expect(await ledger.release(key, 'e1', NOW)).toBe(false);
  });

  it('sets a failed entry aside for an operator at its fence, recording who and when; never a loading or loaded one; retry undoes it', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    expect(await ledger.setAside(key, 'e1', 1, 'forgotten', 'why', 'alice', NOW)).toBe(false); // loading
    await ledger.markFailed({ key, etag: 'e1', fence: 1 }, 'drift', NOW);
    expect(await ledger.setAside(key, 'e1', 0, 'quarantined', 'why', 'alice', NOW)).toBe(false); // stale fence
    expect(await ledger.setAside(key, 'e1', 1, 'forgotten', 'not data', 'alice', NOW)).toBe(true);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'forgotten', fence: 1, reason: 'not data', setAsideBy: 'alice', setAsideAt: NOW });
    expect(await ledger.claim(key, 'e1', 1, LEASE, NOW)).toBeUndefined(); // never offered, never claimed
    expect(await ledger.release(key, 'e1', NOW)).toBe(true);
    const released = await ledger.get(key, 'e1');
    expect(released).toMatchObject({ status: 'discovered', fence: 1 });
    expect([released?.reason, released?.setAsideBy, released?.setAsideAt]).toEqual([undefined, undefined, undefined]);
    await ledger.claim(key, 'e1', 1, LEASE, NOW);
    await ledger.markLoaded({ key, etag: 'e1', fence: 2 }, 'ld_a_2', 1, NOW);
    expect(await ledger.setAside(key, 'e1', 2, 'quarantined', 'why', 'alice', NOW)).toBe(false); // loaded
  });

  it('marks only a loaded entry deleted (retention), keeping its load; a deleted entry is never claimed, released, set aside or loaded again', async () => {
    expect(await ledger.markDeleted(key, 'e1', 'clean_1', NOW)).toBe(false); // discovered
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    expect(await ledger.markDeleted(key, 'e1', 'clean_1', NOW)).toBe(false); // loading
    await ledger.markLoaded({ key, etag: 'e1', fence: 1 }, 'ld_a_1', 7, NOW);
    expect(await ledger.markDeleted(key, 'e1', 'clean_1', NOW)).toBe(true);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'deleted', fence: 1, loadedBy: 'ld_a_1', rows: 7, deletedAt: NOW, deletedBy: 'clean_1' });
    expect(await ledger.markDeleted(key, 'e1', 'clean_2', NOW)).toBe(false); // already deleted
    expect(await ledger.markLoaded({ key, etag: 'e1', fence: 1 }, 'ld_z', 9, NOW)).toBe(false); // a late settle of the same fence
    expect(await ledger.claim(key, 'e1', 1, LEASE, NOW)).toBeUndefined();
    expect(await ledger.release(key, 'e1', NOW)).toBe(false);
    expect(await ledger.setAside(key, 'e1', 1, 'quarantined', 'why', 'alice', NOW)).toBe(false);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'deleted', loadedBy: 'ld_a_1', rows: 7 });
  });

  it('never marks a failed or quarantined entry deleted', async () => {
    await ledger.claim(key, 'e1', 0, LEASE, NOW);
    await ledger.markQuarantined({ key, etag: 'e1', fence: 1 }, 'bad', NOW);
    expect(await ledger.markDeleted(key, 'e1', 'clean_1', NOW)).toBe(false);
    await ledger.release(key, 'e1', NOW);
    await ledger.claim(key, 'e1', 1, LEASE, NOW);
    await ledger.markFailed({ key, etag: 'e1', fence: 2 }, 'x', NOW);
    expect(await ledger.markDeleted(key, 'e1', 'clean_1', NOW)).toBe(false);
    expect(await ledger.get(key, 'e1')).toMatchObject({ status: 'failed' });
  });
});
