import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import type { LedgerEntry } from '../../lambdas/core/ports';
import { LOCAL_TABLES } from '../../local/runtime';
import { runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';

const NOW = '2024-06-01T12:00:00.000Z';
/** Leases far from any clock the test may run at: one never expires, one always has. */
const FUTURE = '2999-01-01T00:00:00.000Z';
const PAST = '2000-01-01T00:00:00.000Z';
const QUARANTINE_REASON = 'orders/b.parquet: column amount is DECIMAL(10,2) in the table, STRING in the file; fix the file and upload it again';

/** Opens dynalite on the data dir the way `syncproof local` does, runs `work`, closes it again. */
function withLedger<T>(dataDir: string, work: (ledger: DynamoDbLedgerStore, endpoint: string) => Promise<T>): Promise<T> {
  return withLocalDynamoDb(dataDir, (client, endpoint) => work(new DynamoDbLedgerStore(client, LOCAL_TABLES.ledger), endpoint));
}

async function seed(ledger: DynamoDbLedgerStore): Promise<void> {
  let uploaded = 0;
  const file = (dataset: string, key: string, etag: string) => ({ dataset, key, etag, size: 1234, lastModified: new Date(Date.UTC(2024, 4, 1, 0, ++uploaded)).toISOString() });
  const claimed = async (dataset: string, key: string, etag: string, loadId: string, expiresAt = FUTURE) => {
    expect(await ledger.discover(file(dataset, key, etag), NOW)).toBe(true);
    const fence = await ledger.claim(key, etag, 0, { loadId, expiresAt }, NOW);
    if (fence === undefined) throw new Error(`could not claim ${key}`);
    return { key, etag, fence };
  };
  // orders/a.parquet has two versions: the first loaded, the overwrite failed.
  expect(await ledger.markLoaded(await claimed('orders', 'orders/a.parquet', 'etag-a1', 'run-1/batch-0'), 'run-1/batch-0', 100, NOW)).toBe(true);
  expect(await ledger.markFailed(await claimed('orders', 'orders/a.parquet', 'etag-a2-longer', 'run-2/batch-0'), 'statement timed out; retry', NOW)).toBe(true);
  expect(await ledger.markQuarantined(await claimed('orders', 'orders/b.parquet', 'etag-b', 'run-1/batch-0'), QUARANTINE_REASON, NOW)).toBe(true);
  const c = await claimed('orders', 'orders/c.parquet', 'etag-c', 'run-3/batch-1');
  expect(await ledger.recordAttempt(c, 'attempt-c-1', NOW)).toBe(true);
  expect(await ledger.discover(file('orders', 'orders/d.parquet', 'etag-d'), NOW)).toBe(true);
  await claimed('orders', 'orders/e.parquet', 'etag-e', 'run-0/batch-0', PAST);
  expect(await ledger.discover(file('events', 'events/x.parquet', 'etag-x'), NOW)).toBe(true);
}

describe('syncproof ledger, as a separate process on a local data dir', () => {
  let work: string;
  let dataDir: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-ledger-test-'));
    dataDir = join(work, 'state');
    await withLedger(dataDir, seed);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const read = (key: string, etag: string): Promise<LedgerEntry | undefined> => withLedger(dataDir, (ledger) => ledger.get(key, etag));

  it('lists every entry of a dataset sorted by key, with its detail, and counts per state', async () => {
    const json = join(work, 'list.json');
    const r = await runCli(['ledger', 'list', 'orders', '--data-dir', dataDir, '--json', json]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['orders/a.parquet', 'etag-a1', 'loaded'],
      ['orders/a.parquet', 'etag-a2-longer', 'failed'],
      ['orders/b.parquet', 'etag-b', 'quarantined'],
      ['orders/c.parquet', 'etag-c', 'loading'],
      ['orders/d.parquet', 'etag-d', 'discovered'],
      ['orders/e.parquet', 'etag-e', 'loading'],
    ]);
    expect(lines[0]).toMatch(/100 rows, loaded by run-1\/batch-0$/);
    expect(lines[2]).toContain(`reason: ${QUARANTINE_REASON}`);
    expect(lines[3]).toMatch(new RegExp(`lease held by run-3/batch-1 until ${FUTURE} \\(active\\)$`));
    expect(lines[5]).toMatch(new RegExp(`lease held by run-0/batch-0 until ${PAST} \\(expired\\)$`));
    expect(lines.at(-1)).toBe("dataset 'orders': 6 entries: 1 discovered, 2 loading, 1 loaded, 1 failed, 1 quarantined, 0 forgotten, 0 deleted");

    const report = JSON.parse(await readFile(json, 'utf8')) as { dataset: string; total: number; counts: unknown; entries: Record<string, unknown>[]; target: unknown };
    expect(report).toMatchObject({ dataset: 'orders', total: 6, counts: { discovered: 1, loading: 2, loaded: 1, failed: 1, quarantined: 1 } });
    expect(report.target).toMatchObject({ kind: 'data-dir', table: LOCAL_TABLES.ledger });
    expect(report.entries.map((e) => [e.key, e.etag, e.status])).toEqual(lines.slice(0, -1).map((l) => l.split(/\s+/).slice(0, 3)));
    expect(report.entries[0]).toMatchObject({ rows: 100, loadedBy: 'run-1/batch-0', fence: 1 });
    expect(report.entries[3]).toMatchObject({ fence: 1, lease: { loadId: 'run-3/batch-1', expiresAt: FUTURE, attemptId: 'attempt-c-1' }, leaseExpired: false });
    expect(report.entries[5]).toMatchObject({ leaseExpired: true });
  });

  it('lists only the entries in the state --state names', async () => {
    const r = await runCli(['ledger', 'list', 'orders', '--state', 'quarantined', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^orders\/b\.parquet\s+etag-b\s+quarantined\s+reason: /);
    expect(lines[1]).toBe("1 of 6 entries of dataset 'orders' are quarantined");
  });

  it('shows every version of a key with all its fields', async () => {
    const json = join(work, 'show.json');
    const r = await runCli(['ledger', 'show', 'orders/a.parquet', '--data-dir', dataDir, '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orders/a.parquet: 2 versions in the ledger');
    expect(r.stdout).toMatch(/ETag etag-a1\n\s+dataset:\s+orders\n\s+state:\s+loaded\n\s+fence:\s+1\n\s+loaded by:\s+run-1\/batch-0\n\s+rows:\s+100\n/);
    expect(r.stdout).toMatch(/ETag etag-a2-longer\n\s+dataset:\s+orders\n\s+state:\s+failed\n\s+fence:\s+1\n\s+reason:\s+statement timed out; retry\n/);
    const report = JSON.parse(await readFile(json, 'utf8')) as { key: string; versions: Record<string, unknown>[] };
    expect(report.key).toBe('orders/a.parquet');
    expect(report.versions.map((v) => [v.etag, v.status])).toEqual([
      ['etag-a1', 'loaded'],
      ['etag-a2-longer', 'failed'],
    ]);
  });

  it("shows a loading entry's holder, fence, attempt id and expiry", async () => {
    const r = await runCli(['ledger', 'show', 'orders/c.parquet', '--etag', '"etag-c"', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lease holder:\s+run-3\/batch-1\n\s+fence:\s+1\n\s+attempt id:\s+attempt-c-1\n\s+lease expires:\s+2999-01-01T00:00:00.000Z \(not expired\)/);
  });

  it('releases a quarantined entry so the next run loads it', async () => {
    const r = await runCli(['ledger', 'retry', 'orders', 'orders/b.parquet', '--data-dir', dataDir]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain("released 'orders/b.parquet' (ETag etag-b): quarantined → discovered");
    const entry = await read('orders/b.parquet', 'etag-b');
    expect(entry).toMatchObject({ status: 'discovered', fence: 1 });
    expect(entry?.reason).toBeUndefined();
  });

  it('refuses to retry a loaded entry, with exit 2, and leaves it as it was', async () => {
    const before = await read('orders/a.parquet', 'etag-a1');
    const r = await runCli(['ledger', 'retry', 'orders', 'orders/a.parquet', '--etag', 'etag-a1', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused: 'orders\/a\.parquet' \(ETag etag-a1\) is loaded/);
    expect(await read('orders/a.parquet', 'etag-a1')).toEqual(before);
  });

  it('refuses to retry a loading entry, saying the protocol takes it over once its lease expired', async () => {
    const r = await runCli(['ledger', 'retry', 'orders', 'orders/c.parquet', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is loading .*once its lease has expired and the statement its holder submitted has ended, the next run takes it over/);
  });

  it('fails with exit 3 for an unknown key, and for an unknown dataset naming the closest one', async () => {
    const key = await runCli(['ledger', 'retry', 'orders', 'orders/nope.parquet', '--data-dir', dataDir]);
    expect(key.code).toBe(3);
    expect(key.stderr).toContain("no ledger entry for 'orders/nope.parquet' in dataset 'orders'");
    const dataset = await runCli(['ledger', 'list', 'order', '--data-dir', dataDir]);
    expect(dataset.code).toBe(3);
    expect(dataset.stderr).toContain("did you mean 'orders'?");
  });

  it('says the data dir is in use while a runtime holds it, and reads the ledger through --endpoint', async () => {
    const [locked, viaEndpoint] = await withLedger(dataDir, async (_ledger, endpoint) => [
      await runCli(['ledger', 'list', 'orders', '--data-dir', dataDir]),
      await runCli(['ledger', 'list', 'orders', '--state', 'loaded', '--endpoint', endpoint]),
    ]);
    expect(locked?.code).toBe(3);
    expect(locked?.stderr).toMatch(/is in use: its DynamoDB data is locked.*Stop it \(Ctrl-C\).*--endpoint/);
    expect(viaEndpoint?.code).toBe(0);
    expect(viaEndpoint?.stdout).toMatch(/^orders\/a\.parquet\s+etag-a1\s+loaded/);
  });
});
