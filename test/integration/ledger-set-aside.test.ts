/**
 * A file left `failed` (schema drift) fails every later run of its dataset until an operator sets
 * it aside: `syncproof ledger quarantine|forget DATASET KEY --reason TEXT`, named by the failure
 * message, recorded with who, when and why; the next run loads the rest. Through the CLI as a user
 * runs it; assertions read back the warehouse and the ledger.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import type { LedgerEntry } from '../../lambdas/core/ports';
import { seedLocalS3Store } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';
import { runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';
import { useTestDatabase } from '../support/postgres';

jest.setTimeout(600_000);

const BUCKET = 'syncproof-local';
const DATASET = 'drifty';

function file(ids: readonly number[], extra = false): Buffer {
  return Buffer.from(
    encodeParquet([
      { name: 'id', type: 'INT64', data: ids.map((id) => BigInt(id)) },
      { name: 'name', type: 'STRING', data: ids.map((id) => `item-${id}`) },
      ...(extra ? [{ name: 'extra', type: 'STRING' as const, data: ids.map(() => 'v2') }] : []),
    ]),
  );
}

describe('setting a failed file aside with syncproof ledger quarantine|forget', () => {
  const databaseUrl = useTestDatabase();
  let work: string;
  let dataDir: string;
  let config: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-set-aside-'));
    dataDir = join(work, 'state');
    config = join(work, 'config.json');
    await writeFile(config, JSON.stringify({ datasets: [{ name: DATASET, prefix: `${DATASET}/`, target: { schema: 'public', table: DATASET }, keyColumns: ['id'], loadMode: 'upsert' }] }));
    const client = new Client({ connectionString: databaseUrl() });
    await client.connect();
    await client.query(`CREATE TABLE public.${DATASET} (id BIGINT, name VARCHAR(32) NOT NULL)`);
    await client.end();
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const sync = () => runCli(['sync', DATASET, '--config', config, '--data-dir', dataDir, '--warehouse', databaseUrl()]);
  const ledger = (...args: string[]) => runCli(['ledger', ...args, '--data-dir', dataDir]);
  const entry = (key: string): Promise<LedgerEntry | undefined> =>
    withLocalDynamoDb(dataDir, async (client) => {
      for await (const e of new DynamoDbLedgerStore(client, LOCAL_TABLES.ledger).versions(key)) return e;
      return undefined;
    });
  async function ids(): Promise<number[]> {
    const client = new Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return (await client.query(`SELECT id FROM public.${DATASET} ORDER BY id`)).rows.map((r: { id: string }) => Number(r.id));
    } finally {
      await client.end();
    }
  }

  it('names the commands in the failure that blocks the dataset; quarantine records who, when and why, and the next run loads the rest', async () => {
    await seedLocalS3Store(join(dataDir, 's3'), BUCKET, [
      { key: `${DATASET}/a.parquet`, body: file([1, 2]) },
      { key: `${DATASET}/x.parquet`, body: file([3], true) },
    ]);
    const blocked = await sync();
    expect(blocked.code).toBe(2);
    expect(blocked.stdout + blocked.stderr).toContain(`syncproof ledger quarantine ${DATASET} ${DATASET}/x.parquet --reason TEXT`);
    expect(blocked.stdout + blocked.stderr).toContain(`syncproof ledger forget ${DATASET} ${DATASET}/x.parquet --reason TEXT`);
    expect((await entry(`${DATASET}/x.parquet`))?.status).toBe('failed');
    expect((await sync()).code).toBe(2); // blocked, run after run
    expect(await ids()).toEqual([]);

    const q = await ledger('quarantine', DATASET, `${DATASET}/x.parquet`, '--reason', 'written by the v2 exporter; ask the team for a v1 file', '--by', 'alice');
    expect([q.code, q.stderr]).toEqual([0, '']);
    expect(q.stdout).toMatch(/quarantined 'drifty\/x\.parquet' \(ETag \S+\): failed → quarantined, by alice at /);
    expect(await entry(`${DATASET}/x.parquet`)).toMatchObject({ status: 'quarantined', reason: 'written by the v2 exporter; ask the team for a v1 file', setAsideBy: 'alice', setAsideAt: expect.stringMatching(/^\d{4}-/) });

    const next = await sync();
    expect([next.code, next.stdout]).toEqual([0, expect.stringContaining(`sync ${DATASET}: PASSED`)]);
    expect(await ids()).toEqual([1, 2]);
    expect((await entry(`${DATASET}/x.parquet`))?.status).toBe('quarantined'); // never loaded

    const list = await ledger('list', DATASET, '--state', 'quarantined');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/drifty\/x\.parquet\s+\S+\s+quarantined\s+reason: written by the v2 exporter; ask the team for a v1 file \(set aside by alice at /);
  });

  it('forget: the file is never offered again, the entry keeps who, when and why, and retry undoes it', async () => {
    await seedLocalS3Store(join(dataDir, 's3'), BUCKET, [
      { key: `${DATASET}/b.parquet`, body: file([4]) },
      { key: `${DATASET}/y.parquet`, body: file([5], true) },
    ]);
    expect((await sync()).code).toBe(2);
    const f = await ledger('forget', DATASET, `${DATASET}/y.parquet`, '--reason', 'test upload, not data');
    expect([f.code, f.stderr]).toEqual([0, '']);
    expect(await entry(`${DATASET}/y.parquet`)).toMatchObject({ status: 'forgotten', reason: 'test upload, not data', setAsideBy: expect.stringContaining('@') });

    const next = await sync();
    expect(next.code).toBe(0);
    expect(await ids()).toEqual([1, 2, 4]);
    expect((await entry(`${DATASET}/y.parquet`))?.status).toBe('forgotten');

    const retried = await ledger('retry', DATASET, `${DATASET}/y.parquet`);
    expect(retried.code).toBe(0);
    expect(await entry(`${DATASET}/y.parquet`)).toMatchObject({ status: 'discovered' });
    expect((await entry(`${DATASET}/y.parquet`))?.setAsideBy).toBeUndefined();
  });

  it('refuses to set aside a loaded file, with exit 2, and leaves it as it was; an empty reason is an error', async () => {
    const before = await entry(`${DATASET}/a.parquet`);
    const r = await ledger('quarantine', DATASET, `${DATASET}/a.parquet`, '--reason', 'oops');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused: 'drifty\/a\.parquet' \(ETag \S+\) is loaded/);
    expect(await entry(`${DATASET}/a.parquet`)).toEqual(before);
    const empty = await ledger('forget', DATASET, `${DATASET}/b.parquet`, '--reason', ' ');
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('--reason is empty');
  });
});
