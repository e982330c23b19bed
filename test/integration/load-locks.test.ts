/**
 * Locks and leases under load (issue #13 item 3), on the local runtime: the production load stage
 * through the local Redshift Data API over a PostgreSQL server (one connection per statement, so
 * transactions run concurrently and a `LOCK` makes others wait, as on Redshift; PGlite has one
 * connection and runs one transaction at a time).
 *
 * - A COPY held inside its transaction (its dataset's LOCK taken) keeps neither another dataset's
 *   load nor a read of the audit table waiting.
 * - A statement held past its lease is renewed by its holder's polls, never cancelled or taken
 *   over by another execution, and its file is loaded once, by it; a holder that is gone is not
 *   cancelled either: the next execution waits for its statement and settles its commit.
 *
 * Waiting is observed, not timed: PostgreSQL's `pg_locks` shows a lock request not yet granted.
 */
import { Client } from 'pg';
import { LEASE_MS, LEASE_RENEW_MS } from '../../lambdas/core/load-protocol';
import { lockTableName } from '../../lambdas/core/load-plan';
import type { ObjectSummary, Row } from '../../lambdas/core/ports';
import type { StageDeps } from '../../lambdas/core/stage-deps';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { runLoad, type LoadInput, type LoadOutput } from '../../lambdas/load/load';
import { WarehouseLoadTarget } from '../../lambdas/load/load-target';
import { requireDataset } from '../../lambdas/core/config';
import { LocalRuntime } from '../../local/runtime';
import { useTestDatabase } from '../support/postgres';

const columns = [{ name: 'id', type: 'BIGINT' }, { name: 'tag', type: 'VARCHAR(64)' }];
const appendDataset = (name: string) => ({ name, prefix: `${name}/`, target: { schema: 'public', table: name }, keyColumns: [], loadMode: 'append' as const, format: 'parquet' as const, columns });

// At the top level, so the database is dropped after the describe's afterAll stopped the runtime.
const databaseUrl = useTestDatabase();

describe('locks and leases of concurrent loads (local Data API over PostgreSQL)', () => {
  let runtime: LocalRuntime;
  let observer: Client;
  let offset = 0;
  let n = 0;

  beforeAll(async () => {
    runtime = await LocalRuntime.start({
      config: { datasets: [appendDataset('alpha'), appendDataset('beta')], maxFilesPerBatch: 100 },
      warehouse: databaseUrl(),
      s3Events: false,
      clock: { now: () => new Date(Date.now() + offset) },
    });
    observer = new Client({ connectionString: databaseUrl() });
    await observer.connect();
    // Each dataset's tables exist before the tests hold anything (their first load creates them).
    for (const dataset of ['alpha', 'beta']) expect((await load(await batch(dataset, [await upload(dataset, 'warm', [1])]))).status).toBe('DONE');
  }, 120_000);

  afterAll(async () => {
    runtime?.dataApi()?.faults.reset();
    await observer?.end();
    await runtime?.stop();
  });

  beforeEach(() => {
    runtime.dataApi()!.faults.reset();
  });

  /** Uploads a file of `ids` (each row tagged with the file's name) and discovers it. */
  async function upload(dataset: string, name: string, ids: readonly number[]): Promise<ObjectSummary & { tag: string; rows: number }> {
    const tag = `${name}-${++n}`;
    const body = encodeParquet([
      { name: 'id', type: 'INT64', data: ids.map((i) => BigInt(i)) },
      { name: 'tag', type: 'STRING', data: ids.map(() => tag) },
    ]);
    const summary = await runtime.deps.objects.put(`${dataset}/${tag}.parquet`, body);
    await runtime.deps.ledger.discover({ dataset, key: summary.key, etag: summary.etag, size: summary.size, lastModified: summary.lastModified }, runtime.deps.clock.now().toISOString());
    return { ...summary, tag, rows: ids.length };
  }

  async function batch(dataset: string, files: readonly ObjectSummary[], runId = `run-${dataset}-${++n}`): Promise<LoadInput> {
    const key = `_syncproof/batches/${dataset}/${runId}.json`;
    await runtime.deps.objects.putJson(key, { runId, dataset, files: files.map((f) => ({ key: f.key, etag: f.etag, size: f.size, lastModified: f.lastModified })) });
    return { runId, dataset, batchUri: `s3://${runtime.bucket}/${key}`, files: files.length, hasMore: false };
  }

  /** One invocation of the load stage; `budgetMs` 0 returns RUNNING after one poll of a statement still running. */
  function load(input: LoadInput, budgetMs = 900_000): Promise<LoadOutput> {
    const deps: StageDeps = { ...runtime.deps, remainingTimeMs: () => budgetMs };
    return runLoad(input, deps);
  }

  /** Lock requests of the test database not granted: a session waiting for another's lock. */
  async function waitingOnLocks(): Promise<number> {
    const { rows } = await observer.query<{ n: string }>('SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE NOT l.granted AND d.datname = current_database()');
    return Number(rows[0]!.n);
  }

  /** `work`'s result, or `'waits on a lock'` as soon as a session of the database waits for a lock before it ends. */
  async function withoutWaitingOnLocks<T>(work: Promise<T>): Promise<T | 'waits on a lock'> {
    let ended = false;
    const watched = work.finally(() => {
      ended = true;
    });
    const blocked = (async () => {
      while (!ended) {
        if ((await waitingOnLocks()) > 0) return 'waits on a lock' as const;
        await new Promise((r) => setImmediate(r));
      }
      return undefined;
    })();
    const first = await Promise.race([watched, blocked]);
    if (first === 'waits on a lock') return first;
    await blocked;
    return watched;
  }

  /** Matches the load transaction of `key` (not the reads of the audit that name it too). */
  const loadOf = (key: string) => (sqls: readonly string[]) => sqls.some((s) => s.startsWith('COPY ')) && sqls.some((s) => s.includes(key));
  const query = async (sql: string): Promise<Row[]> => (await runtime.warehouse()).query(sql);
  const rowsOf = async (table: string, tag: string) => Number((await query(`SELECT COUNT(*) AS n FROM public.${table} WHERE tag = '${tag}'`))[0]!.n);
  const audits = (key: string) => query(`SELECT f.load_id, l.status FROM public.syncproof_load_files f JOIN public.syncproof_loads l ON l.load_id = f.load_id WHERE f.object_key = '${key}'`);

  it("commits another dataset's load, and answers a read of the audit table, while a COPY holds its dataset's lock", async () => {
    const faults = runtime.dataApi()!.faults;
    const a = await upload('alpha', 'held', [10, 11, 12]);
    const b = await upload('beta', 'free', [20, 21]);
    const held = faults.holdNext(loadOf(a.key), { at: 'copy-read' });
    const alphaLoad = load(await batch('alpha', [a]));
    await held.started; // alpha's transaction has run its LOCK and waits in its COPY

    const beta = await withoutWaitingOnLocks(load(await batch('beta', [b])));
    const target = new WarehouseLoadTarget(await runtime.deps.warehouse(), requireDataset(runtime.deps.config, 'alpha'), runtime.deps.objects, runtime.deps.copyRoleArn);
    const read = await withoutWaitingOnLocks(target.committed([a, b]));

    expect(beta).toMatchObject({ status: 'DONE', filesLoaded: 1 });
    expect(await rowsOf('beta', b.tag)).toBe(2);
    expect(read === 'waits on a lock' ? read : [...read.keys()].length).toBe(1); // beta's file, committed; alpha's not yet
    expect(await rowsOf('alpha', a.tag)).toBe(0);

    held.release();
    expect(await alphaLoad).toMatchObject({ status: 'DONE', filesLoaded: 1 });
    expect(await rowsOf('alpha', a.tag)).toBe(3);
    expect(await audits(a.key)).toHaveLength(1);
    expect(await audits(b.key)).toHaveLength(1);
  }, 60_000);

  it('makes a reader of a locked table wait, as Redshift does (the local LOCK is exclusive)', async () => {
    const faults = runtime.dataApi()!.faults;
    const a = await upload('alpha', 'locker', [30]);
    const held = faults.holdNext(loadOf(a.key), { at: 'copy-read' });
    const alphaLoad = load(await batch('alpha', [a]));
    await held.started;
    // The tables (not its own temporary ones) the held load locked exclusively.
    const { rows: locked } = await observer.query<{ name: string }>(
      "SELECT n.nspname || '.' || c.relname AS name FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace " +
        "WHERE l.mode = 'AccessExclusiveLock' AND l.granted AND c.relpersistence = 'p'",
    );
    expect(locked.map((l) => l.name)).toEqual([`public.${lockTableName('alpha')}`]);

    const reader = (await runtime.deps.warehouse()).query(`SELECT COUNT(*) AS n FROM ${locked[0]!.name}`);
    expect(await withoutWaitingOnLocks(reader)).toBe('waits on a lock');

    held.release();
    expect(await reader).toHaveLength(1);
    expect(await alphaLoad).toMatchObject({ status: 'DONE', filesLoaded: 1 });
  }, 60_000);

  it('renews the lease of a statement held past it, so another execution neither cancels nor takes it over, and loads the file once', async () => {
    const faults = runtime.dataApi()!.faults;
    const file = await upload('alpha', 'slow', [40, 41, 42, 43]);
    // Held STARTED before it runs: a cancel would abort it, as Redshift aborts a running query.
    const held = faults.holdNext(loadOf(file.key));
    const first = await batch('alpha', [file]);
    // The holder submits; its statement outlives the invocation's budget (RUNNING → LoadWait → Load).
    expect((await load(first, 0)).status).toBe('RUNNING');
    await held.started;
    const attemptId = (await runtime.deps.ledger.get(file.key, file.etag))!.lease!.attemptId!;
    // The Load of the wait loop, a renewal period later: its poll renews the lease.
    offset += LEASE_RENEW_MS + 1_000;
    expect((await load(first, 0)).status).toBe('RUNNING');
    // Past the lease as first claimed (not as renewed): another execution of the same file.
    offset += LEASE_MS - LEASE_RENEW_MS;
    const other = await load(await batch('alpha', [file]));
    expect(other).toMatchObject({ status: 'DONE', filesLoaded: 0 });
    const entry = await runtime.deps.ledger.get(file.key, file.etag);
    expect(entry).toMatchObject({ status: 'loading', fence: 1, lease: { attemptId } });

    held.release();
    expect(await load(first)).toMatchObject({ status: 'DONE', filesLoaded: 1 });
    expect(await audits(file.key)).toEqual([{ load_id: attemptId, status: 'committed' }]);
    expect(await rowsOf('alpha', file.tag)).toBe(4);
    expect(await runtime.deps.ledger.get(file.key, file.etag)).toMatchObject({ status: 'loaded', loadedBy: attemptId, fence: 1 });
  }, 60_000);

  it('waits for the running statement of a holder that is gone, without cancelling it, and settles its commit', async () => {
    const faults = runtime.dataApi()!.faults;
    const file = await upload('alpha', 'orphan', [50, 51]);
    // Held STARTED before it runs: a cancel would abort it, as Redshift aborts a running query.
    const held = faults.holdNext(loadOf(file.key));
    expect((await load(await batch('alpha', [file]), 0)).status).toBe('RUNNING');
    await held.started;
    const attemptId = (await runtime.deps.ledger.get(file.key, file.etag))!.lease!.attemptId!;
    // Its execution is gone: nobody renews the lease.
    offset += LEASE_MS + 60_000;
    const next = await batch('alpha', [file]);
    expect((await load(next, 0)).status).toBe('RUNNING');

    held.release();
    expect(await load(next)).toMatchObject({ status: 'DONE', filesLoaded: 1 });
    expect(await audits(file.key)).toEqual([{ load_id: attemptId, status: 'committed' }]);
    expect(await rowsOf('alpha', file.tag)).toBe(2);
    expect(await runtime.deps.ledger.get(file.key, file.etag)).toMatchObject({ status: 'loaded', loadedBy: attemptId, fence: 1 });
  }, 60_000);
});
