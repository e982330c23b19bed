/**
 * Deletes propagated through the exactly-once load path (issue #15 item 4), on the local runtime:
 * the production load stage and propagateDeletes through the local Redshift Data API over a
 * PostgreSQL server. Rows are loaded by real loads of Parquet files; every assertion reads the
 * target, the audit tables, the ledger, the run record or the report object back.
 */
import { encodeParquet, type ParquetColumnInput } from '../../lambdas/adapters/parquet-file';
import { requireDataset } from '../../lambdas/core/config';
import { committedLoadCount, deletionIdFor, deletionLedgerDataset, planDeletion, type DeletionKey, type DeletionProof } from '../../lambdas/core/deletes';
import { TerminalError } from '../../lambdas/core/errors';
import { MAX_STATEMENT_BYTES, statementBytes } from '../../lambdas/core/sql';
import type { Row } from '../../lambdas/core/ports';
import type { CrashPoint, StageDeps } from '../../lambdas/core/stage-deps';
import { propagateDeletes } from '../../lambdas/load/deletes';
import { runLoad } from '../../lambdas/load/load';
import { WarehouseLoadTarget } from '../../lambdas/load/load-target';
import { LocalRuntime } from '../../local/runtime';
import { useTestDatabase } from '../support/postgres';

const file = (name: string, keyColumns: string[], columns: { name: string; type: string }[], versionColumn?: string) => ({
  name,
  prefix: `${name}/`,
  target: { schema: 'public', table: name },
  keyColumns,
  loadMode: 'upsert' as const,
  format: 'parquet' as const,
  columns,
  ...(versionColumn ? { versionColumn } : {}),
});
const DATASETS = [
  file('people', ['id'], [{ name: 'id', type: 'BIGINT' }, { name: 'tag', type: 'VARCHAR(64)' }]),
  file('versioned', ['id'], [{ name: 'id', type: 'BIGINT' }, { name: 'v', type: 'BIGINT' }, { name: 'tag', type: 'VARCHAR(64)' }], 'v'),
  file('pairs', ['a', 'b'], [{ name: 'a', type: 'BIGINT' }, { name: 'b', type: 'VARCHAR(16)' }, { name: 'tag', type: 'VARCHAR(64)' }]),
  file('blobs', ['id'], [{ name: 'id', type: 'VARBYTE(16)' }, { name: 'tag', type: 'VARCHAR(64)' }]),
  file('many', ['id'], [{ name: 'id', type: 'BIGINT' }, { name: 'tag', type: 'VARCHAR(64)' }]),
];

class Crash extends Error {
  override readonly name = 'Crash';
}

const databaseUrl = useTestDatabase();

describe('deletes propagated through the exactly-once load path (local Data API over PostgreSQL)', () => {
  let runtime: LocalRuntime;
  let n = 0;
  const logged: string[] = [];

  beforeAll(async () => {
    runtime = await LocalRuntime.start({ config: { datasets: DATASETS, maxFilesPerBatch: 100 }, warehouse: databaseUrl(), s3Events: false });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  /** The runtime's deps, logging into `logged`, optionally crashing at `crashAt`. */
  function deps(crashAt?: CrashPoint): StageDeps {
    const log = (message: string, extra?: Record<string, unknown>) => logged.push(`${message} ${JSON.stringify(extra, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    return {
      ...runtime.deps,
      log: { info: log, warn: log },
      ...(crashAt ? { faults: { crash: (p: CrashPoint) => { if (p === crashAt) throw new Crash(p); } } } : {}),
    };
  }

  /** Loads one Parquet file of `columns` into `dataset` by the load stage; `lastModified` sets its S3 order. */
  async function load(dataset: string, columns: ParquetColumnInput[], lastModified?: string): Promise<void> {
    const summary = await runtime.deps.objects.put(`${dataset}/f${++n}.parquet`, encodeParquet(columns));
    const file = { key: summary.key, etag: summary.etag, size: summary.size, lastModified: lastModified ?? summary.lastModified };
    await runtime.deps.ledger.discover({ dataset, ...file }, runtime.deps.clock.now().toISOString());
    const runId = `run-${dataset}-${n}`;
    const key = `_syncproof/batches/${dataset}/${runId}.json`;
    await runtime.deps.objects.putJson(key, { runId, dataset, files: [file] });
    const out = await runLoad({ runId, dataset, batchUri: `s3://${runtime.bucket}/${key}`, files: 1, hasMore: false }, deps());
    expect(out).toMatchObject({ status: 'DONE', filesLoaded: 1 });
  }
  const people = (ids: number[], tag: string): ParquetColumnInput[] => [
    { name: 'id', type: 'INT64', data: ids.map(BigInt) },
    { name: 'tag', type: 'STRING', data: ids.map(() => tag) },
  ];

  const query = async (sql: string): Promise<Row[]> => (await runtime.warehouse()).query(sql);
  const ids = async (table: string) => (await query(`SELECT id, tag FROM public.${table} ORDER BY id`)).map((r) => `${String(r.id)}:${String(r.tag)}`);
  /** The deletion transactions audited for `dataset`: status and the rows each deleted. */
  const deletionAudits = async (dataset: string) =>
    (await query(`SELECT l.status, f."rows" AS deleted FROM public.syncproof_loads l LEFT JOIN public.syncproof_load_files f ON f.load_id = l.load_id WHERE l.dataset = '${dataset}' AND l.load_id LIKE 'del%' ORDER BY l.loaded_at, l.status`)).map((r) => `${String(r.status)}:${String(r.deleted)}`);
  /** A complete comparison's proof, taken now (the committed loads of `dataset` as it would count them before reading the target). */
  const complete = async (dataset: string): Promise<DeletionProof> => ({ status: 'COMPLETE', allKeysListed: true, targetLoads: await committedLoadCount(await runtime.deps.warehouse(), dataset) });
  const keys = (...values: (string | number)[][]): DeletionKey[] => values.map((k) => k.map(String));

  it('deletes exactly the keys given, audits one deletion, and says so in the run record and the report object', async () => {
    await load('people', people([1, 2, 3, 4, 5, 6], 'first'));
    const out = await propagateDeletes({ dataset: 'people', runId: 'run-del-1', keys: keys([2], [4], [6]), proof: await complete('people') }, deps());
    expect(out).toMatchObject({ status: 'DELETED', keys: 3, rowsDeleted: 3, appliedNow: true });
    expect(await ids('people')).toEqual(['1:first', '3:first', '5:first']);
    expect(await deletionAudits('people')).toEqual(['deleted:3']);
    const run = await runtime.deps.runs.get('run-del-1');
    expect(run?.stages?.[`delete_${out.deletionId}`]).toMatchObject({ keys: 3, rowsDeleted: 3, reportUri: out.reportUri });
    const report = (await runtime.deps.objects.getJson(out.reportUri.replace(`s3://${runtime.bucket}/`, ''))) as { deletedKeys: string[][]; rowsDeleted: number };
    expect(report).toMatchObject({ deletedKeys: [['2'], ['4'], ['6']], rowsDeleted: 3 });
    // The ledger holds the deletion document like a data file, loaded by the attempt the audit names.
    const doc = [...(await listLedger('people'))].find((e) => e.key.startsWith('_syncproof/deletes/'));
    expect(doc).toMatchObject({ status: 'loaded', loadedBy: out.appliedBy });
    // …under its own ledger label: the dataset's sweeps of its data files never meet it.
    for await (const e of runtime.deps.ledger.listDataset('people')) expect(e.key.startsWith('_syncproof/deletes/')).toBe(false);
  }, 60_000);

  async function listLedger(dataset: string) {
    const out = [];
    for await (const e of runtime.deps.ledger.listDataset(deletionLedgerDataset(dataset))) out.push(e);
    return out;
  }

  it('changes nothing when the same deletion runs again (keys in another order): same document, no second transaction', async () => {
    const before = await ids('people');
    const out = await propagateDeletes({ dataset: 'people', runId: 'run-del-2', keys: keys([6], [2], [4], [2]), proof: await complete('people') }, deps());
    expect(out).toMatchObject({ status: 'DELETED', keys: 3, rowsDeleted: 3, appliedNow: false });
    expect(await ids('people')).toEqual(before);
    expect(await deletionAudits('people')).toEqual(['deleted:3']);
  }, 60_000);

  it('refuses a replay of a committed deletion in the transaction itself (the guard): a key re-inserted and reloaded since is not removed', async () => {
    await load('people', people([2], 'back'));
    expect(await ids('people')).toEqual(['1:first', '2:back', '3:first', '5:first']);
    // A zombie attempt of the same document version, past the ledger: only the guard stands in its way.
    const dataset = requireDataset(runtime.deps.config, 'people');
    const doc = (await listLedger('people')).find((e) => e.key.startsWith('_syncproof/deletes/'))!;
    const lt = new WarehouseLoadTarget(await runtime.deps.warehouse(), dataset, runtime.deps.objects, runtime.deps.copyRoleArn);
    const attemptId = `${deletionIdFor('people', keys([2], [4], [6]))}_zombie01`;
    const state = await waitEnded(lt, attemptId, await lt.submitDeletion({ runId: 'run-zombie', attemptId, document: { key: doc.key, etag: doc.etag, size: doc.size, keys: 3 }, targetLoads: await committedLoadCount(await runtime.deps.warehouse(), 'people') }));
    expect(await lt.outcome(attemptId, state, [doc])).toMatchObject({ kind: 'refused', alreadyLoaded: 1 });
    expect(await ids('people')).toEqual(['1:first', '2:back', '3:first', '5:first']);
    expect(await deletionAudits('people')).toEqual(['deleted:3', 'refused:null']);
    // And by the driver: the same keys proposed again delete nothing.
    expect(await propagateDeletes({ dataset: 'people', runId: 'run-del-3', keys: keys([2], [4], [6]), proof: await complete('people') }, deps())).toMatchObject({ appliedNow: false, rowsDeleted: 3 });
    expect(await ids('people')).toEqual(['1:first', '2:back', '3:first', '5:first']);
  }, 60_000);

  async function waitEnded(lt: WarehouseLoadTarget, attemptId: string, first: Awaited<ReturnType<WarehouseLoadTarget['state']>>) {
    let state = first;
    while (state.status === 'running') {
      await new Promise((r) => setTimeout(r, 20));
      state = await lt.state(attemptId);
    }
    return state;
  }

  it('settles a deletion interrupted after its commit (before the ledger write) without deleting again', async () => {
    await load('versioned', [
      { name: 'id', type: 'INT64', data: [1n, 2n, 3n] },
      { name: 'v', type: 'INT64', data: [1n, 1n, 1n] },
      { name: 'tag', type: 'STRING', data: ['a', 'a', 'a'] },
    ]);
    const proof = await complete('versioned');
    await expect(propagateDeletes({ dataset: 'versioned', runId: 'run-crash', keys: keys([2], [3]), proof }, deps('after-end'))).rejects.toThrow(Crash);
    expect(await ids('versioned')).toEqual(['1:a']);
    expect((await listLedger('versioned')).find((e) => e.key.startsWith('_syncproof/deletes/'))?.status).toBe('loading');
    // Key 2 comes back at the source and is loaded (a newer version) before the rerun.
    await load('versioned', [
      { name: 'id', type: 'INT64', data: [2n] },
      { name: 'v', type: 'INT64', data: [2n] },
      { name: 'tag', type: 'STRING', data: ['again'] },
    ]);
    // The rerun is the same invocation again: the same request, the same proof.
    const out = await propagateDeletes({ dataset: 'versioned', runId: 'run-crash', keys: keys([2], [3]), proof }, deps());
    expect(out).toMatchObject({ rowsDeleted: 2, appliedNow: false });
    expect(await ids('versioned')).toEqual(['1:a', '2:again']);
    expect(await deletionAudits('versioned')).toEqual(['deleted:2']);
    expect((await listLedger('versioned')).find((e) => e.key.startsWith('_syncproof/deletes/'))?.status).toBe('loaded');
  }, 60_000);

  it('deletes nothing when a load committed after the comparison: a key re-inserted and reloaded in between keeps its new version', async () => {
    const proof = await complete('versioned'); // the comparison found key 1 extra here
    await load('versioned', [
      { name: 'id', type: 'INT64', data: [1n] },
      { name: 'v', type: 'INT64', data: [5n] },
      { name: 'tag', type: 'STRING', data: ['newer'] },
    ]);
    const attempt = propagateDeletes({ dataset: 'versioned', runId: 'run-late', keys: keys([1]), proof }, deps());
    await expect(attempt).rejects.toThrow(TerminalError);
    await expect(attempt).rejects.toThrow(/committed after the comparison/);
    expect(await ids('versioned')).toEqual(['1:newer', '2:again']);
    expect(await deletionAudits('versioned')).toEqual(['deleted:2', 'refused_newer:null']);
    // Refused, not lost: the document's ledger entry waits as failed (retryable), like a data file's.
    expect((await listLedger('versioned')).find((e) => e.key.includes(deletionIdFor('versioned', keys([1]))))?.status).toBe('failed');
  }, 60_000);

  it('keeps the S3 order of a deleted key (no version column): a file older than the deleted row, loaded late, does not bring it back; a newer one does', async () => {
    // Key 4 was deleted in the first test; a file from before that row's file arrives late.
    await load('people', people([4], 'stale'), '2000-01-01T00:00:00.000Z');
    expect(await ids('people')).not.toContain('4:stale');
    await load('people', people([4], 'reinserted'));
    expect(await ids('people')).toContain('4:reinserted');
  }, 60_000);

  it.each([
    ['FAILED', { status: 'FAILED', allKeysListed: true, targetLoads: 1 }, /FAILED \(it did not finish\)/],
    ['PARTIAL', { status: 'PARTIAL', allKeysListed: true, targetLoads: 1 }, /was partial/],
    ['cut list', { status: 'COMPLETE', allKeysListed: false, targetLoads: 1 }, /listed only the first/],
  ] as const)('deletes nothing on a %s comparison, and says why', async (_name, proof, why) => {
    const before = await ids('people');
    const audits = await deletionAudits('people');
    const attempt = propagateDeletes({ dataset: 'people', runId: 'run-refused', keys: keys([1], [3]), proof }, deps());
    await expect(attempt).rejects.toThrow(TerminalError);
    await expect(attempt).rejects.toThrow(why);
    expect(await ids('people')).toEqual(before);
    expect(await deletionAudits('people')).toEqual(audits);
    expect(await runtime.deps.objects.head(`_syncproof/deletes/people/${deletionIdFor('people', keys([1], [3]))}.parquet`)).toBeUndefined();
  }, 60_000);

  it('refuses keys that cannot name a row (a value short, a NULL, not an integer), naming the column, and writes nothing', async () => {
    const proof = await complete('pairs');
    await expect(propagateDeletes({ dataset: 'pairs', runId: 'run-bad', keys: keys([1]), proof }, deps())).rejects.toThrow(/key 1 has 1 values where the dataset has 2 key columns \(a, b\)/);
    await expect(propagateDeletes({ dataset: 'pairs', runId: 'run-bad', keys: [['1', null]], proof }, deps())).rejects.toThrow(/NULL in key column 'b'/);
    await expect(propagateDeletes({ dataset: 'pairs', runId: 'run-bad', keys: [['x', 'a']], proof }, deps())).rejects.toThrow(/key column 'a': 'x' is not an integer/);
    for await (const o of runtime.deps.objects.list('_syncproof/deletes/pairs/')) throw new Error(`unexpected ${o.key}`);
  }, 60_000);

  it('deletes composite keys exactly (both columns must match)', async () => {
    await load('pairs', [
      { name: 'a', type: 'INT64', data: [1n, 1n, 2n, 2n] },
      { name: 'b', type: 'STRING', data: ['a', 'b', 'a', 'b'] },
      { name: 'tag', type: 'STRING', data: ['x', 'x', 'x', 'x'] },
    ]);
    const out = await propagateDeletes({ dataset: 'pairs', runId: 'run-pairs', keys: keys([1, 'a'], [2, 'b']), proof: await complete('pairs') }, deps());
    expect(out).toMatchObject({ rowsDeleted: 2 });
    expect((await query('SELECT a, b FROM public.pairs ORDER BY a, b')).map((r) => `${String(r.a)}${String(r.b)}`)).toEqual(['1b', '2a']);
  }, 60_000);

  it('deletes binary keys (0x00 and 0xFF bytes) by their bytes, and logs no key', async () => {
    const hex = ['00'.repeat(16), 'ff'.repeat(16), `00ff${'7f'.repeat(14)}`, `ff00${'80'.repeat(14)}`];
    await load('blobs', [
      { name: 'id', type: 'BYTES', data: hex.map((h) => Buffer.from(h, 'hex')) },
      { name: 'tag', type: 'STRING', data: hex.map(() => 'bin') },
    ]);
    logged.length = 0;
    const out = await propagateDeletes({ dataset: 'blobs', runId: 'run-blobs', keys: [[hex[0]!], [`0x${hex[3]!.toUpperCase()}`]], proof: await complete('blobs') }, deps());
    expect(out).toMatchObject({ rowsDeleted: 2 });
    const left = (await query('SELECT id FROM public.blobs')).map((r) => String(r.id).replace(/^\\x/, '')).sort();
    expect(left).toEqual([hex[2]!, hex[1]!].sort());
    expect(logged.length).toBeGreaterThan(0);
    for (const h of hex) expect(logged.join('\n').toLowerCase()).not.toContain(h);
  }, 60_000);

  it('puts many keys in the Parquet file, never in SQL: 2,000 deletions in a dozen short statements', async () => {
    const all = Array.from({ length: 3000 }, (_, i) => i + 1);
    await load('many', people(all, 'm'));
    const doomed = all.filter((i) => i % 3 !== 0);
    const statements = planDeletion({
      dataset: requireDataset(runtime.deps.config, 'many'),
      runId: 'r',
      attemptId: 'del_x_1',
      bucket: runtime.bucket,
      iamRole: runtime.deps.copyRoleArn,
      document: { key: '_syncproof/deletes/many/x.parquet', etag: 'e', size: 1, keys: doomed.length },
      targetLoads: 1,
    });
    expect(statements.length).toBeLessThanOrEqual(40);
    expect(Math.max(...statements.map(statementBytes))).toBeLessThan(MAX_STATEMENT_BYTES / 20);
    const out = await propagateDeletes({ dataset: 'many', runId: 'run-many', keys: doomed.map((i) => [String(i)]), proof: await complete('many') }, deps());
    expect(out).toMatchObject({ keys: doomed.length, rowsDeleted: doomed.length });
    expect(Number((await query('SELECT COUNT(*) AS n FROM public.many'))[0]!.n)).toBe(1000);
    expect(Number((await query('SELECT COUNT(*) AS n FROM public.many WHERE MOD(id, 3) = 0'))[0]!.n)).toBe(1000);
  }, 60_000);

  it('runs two propagations of the same keys at once and deletes once: one applies it, the other settles by its audit', async () => {
    const before = await ids('people');
    expect(before).toEqual(expect.arrayContaining(['1:first', '5:first']));
    const faults = runtime.dataApi()!.faults;
    const held = faults.holdNext((sqls: readonly string[]) => sqls.some((q) => q.startsWith('COPY ')) && sqls.some((q) => q.includes('_syncproof/deletes/people/')), { at: 'copy-read' });
    const proof = await complete('people');
    const request = { dataset: 'people', runId: 'run-twice', keys: keys([1], [5]), proof };
    const first = propagateDeletes(request, deps());
    await held.started; // the first one's transaction holds the dataset's lock, in its COPY
    const second = propagateDeletes(request, deps());
    held.release();
    const outs = await Promise.all([first, second]);
    expect(outs.map((o) => o.rowsDeleted)).toEqual([2, 2]);
    expect(outs.filter((o) => o.appliedNow)).toHaveLength(1);
    expect(await ids('people')).toEqual(before.filter((r) => r !== '1:first' && r !== '5:first'));
    expect((await deletionAudits('people')).filter((a) => a.startsWith('deleted:'))).toEqual(['deleted:3', 'deleted:2']);
  }, 60_000);
});
