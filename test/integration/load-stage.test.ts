/**
 * The load stage (runLoad) against a real PostgreSQL server with a pool of 4 connections, so two
 * loads really run at once. Keys are declared but not enforced (as on Redshift), so only the
 * protocol and its in-transaction guard stand between a retry and a double load. Every assertion
 * reads back the warehouse, the ledger or S3.
 */
import { ParquetInspector } from '../../lambdas/adapters/parquet-inspector';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { PostgresServerWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { parseConfig, type SyncproofConfig } from '../../lambdas/core/config';
import type { LedgerStore, Warehouse } from '../../lambdas/core/ports';
import type { StageDeps } from '../../lambdas/core/stage-deps';
import { runLoad } from '../../lambdas/load/load';
import { WarehouseLoadTarget } from '../../lambdas/load/load-target';
import { LOADED_KEYS_MAX_ROWS, runVerify } from '../../lambdas/verify/load-proof';
import { MemoryRuns } from '../fixtures/integrity-object-store';
import { MemoryLedgerStore } from '../fixtures/memory-ledger-store';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { useTestDatabase } from '../support/postgres';

const databaseUrl = useTestDatabase();
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

const CONFIG: SyncproofConfig = parseConfig({
  datasets: [
    {
      name: 'events',
      prefix: 'events/',
      target: { schema: 'public', table: 'events' },
      loadMode: 'append',
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'note', type: 'VARCHAR(32)' },
      ],
    },
    {
      name: 'wide',
      prefix: 'wide/',
      target: { schema: 'public', table: 'wide' },
      loadMode: 'append',
      schemaDrift: 'add-columns',
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'note', type: 'VARCHAR(32)' },
      ],
    },
    {
      name: 'plain',
      prefix: 'plain/',
      target: { schema: 'public', table: 'plain' },
      keyColumns: ['id'],
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'note', type: 'VARCHAR(32)' },
      ],
    },
    {
      name: 'items',
      prefix: 'items/',
      target: { schema: 'public', table: 'items' },
      keyColumns: ['id'],
      versionColumn: 'updated_at',
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'note', type: 'VARCHAR(32)' },
        { name: 'updated_at', type: 'TIMESTAMP' },
      ],
    },
  ],
});

function eventsFile(ids: number[], note: string): Uint8Array {
  return encodeParquet([
    { name: 'id', type: 'INT64', data: ids.map(BigInt) },
    { name: 'note', type: 'STRING', data: ids.map(() => note) },
  ]);
}

function itemsFile(ids: number[], note: string, at: number): Uint8Array {
  return encodeParquet([
    { name: 'id', type: 'INT64', data: ids.map(BigInt) },
    { name: 'note', type: 'STRING', data: ids.map(() => note) },
    { name: 'updated_at', type: 'TIMESTAMP', data: ids.map(() => new Date(at)) },
  ]);
}

describe('load stage on a PostgreSQL server', () => {
  let objects: MemoryObjectStore;
  let warehouse: Warehouse;
  let ledger: MemoryLedgerStore;
  let clock: number;
  let batches = 0;

  const deps = (over: Partial<StageDeps> = {}): StageDeps => ({
    config: CONFIG,
    objects,
    ledger,
    runs: new MemoryRuns(),
    warehouse: async () => warehouse,
    files: new ParquetInspector(objects),
    clock: { now: () => new Date(clock) },
    copyRoleArn: 'arn:aws:iam::000000000000:role/copy',
    log: { info: () => undefined, warn: () => undefined },
    ...over,
  });

  async function upload(key: string, body: Uint8Array): Promise<{ key: string; etag: string; size: number; lastModified: string }> {
    const o = await objects.put(key, body);
    await ledger.discover({ dataset: key.split('/')[0]!, key, etag: o.etag, size: o.size, lastModified: o.lastModified }, new Date(clock).toISOString());
    return { key, etag: o.etag, size: o.size, lastModified: o.lastModified };
  }

  async function batch(dataset: string, runId: string, files: { key: string; etag: string; size: number; lastModified: string }[]) {
    const key = `_syncproof/batches/${dataset}/${runId}/${++batches}.json`;
    await objects.putJson(key, { runId, dataset, files });
    return { runId, dataset, batchUri: `s3://${objects.bucket}/${key}`, files: files.length, hasMore: false };
  }

  const count = async (sql: string) => Number((await warehouse.query(sql))[0]?.n);

  beforeAll(async () => {
    objects = new MemoryObjectStore('data');
    warehouse = await PostgresServerWarehouse.open(databaseUrl(), { objects }, { maxConnections: 4 });
  });
  afterAll(async () => {
    await warehouse?.close();
  });
  beforeEach(async () => {
    ledger = new MemoryLedgerStore();
    clock = T0;
    await warehouse.executeTransaction(['DROP TABLE IF EXISTS public.events', 'DROP TABLE IF EXISTS public.items', 'DROP TABLE IF EXISTS public.wide', 'DROP TABLE IF EXISTS public.plain', 'DROP TABLE IF EXISTS public.syncproof_key_order', 'DROP TABLE IF EXISTS public.syncproof_load_files', 'DROP TABLE IF EXISTS public.syncproof_loads'], 'reset');
  });

  it('loads each object version once when two executions load overlapping batches at the same time', async () => {
    const files = [];
    for (let i = 0; i < 6; i++) files.push(await upload(`events/f${i}.parquet`, eventsFile([i * 10 + 1, i * 10 + 2, i * 10 + 3], `f${i}`)));
    const a = await batch('events', 'run-a', files.slice(0, 4));
    const b = await batch('events', 'run-b', files.slice(2));

    const [outA, outB] = await Promise.all([runLoad(a, deps()), runLoad(b, deps())]);

    expect(await count('SELECT COUNT(*) AS n FROM public.events')).toBe(18);
    expect(await count('SELECT COUNT(*) AS n FROM (SELECT id FROM public.events GROUP BY id HAVING COUNT(*) > 1) d')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM (SELECT object_key, etag FROM public.syncproof_load_files GROUP BY 1, 2 HAVING COUNT(*) > 1) d')).toBe(0);
    for (const f of files) expect((await ledger.get(f.key, f.etag))?.status).toBe('loaded');
    // Files one load left to the other are reported, not claimed twice.
    expect(outA.filesLoaded + outB.filesLoaded).toBeGreaterThanOrEqual(6);
  });

  it('merges nothing when a transaction finds its object version already committed by another load (the I1 guard)', async () => {
    const f = await upload('events/guard.parquet', eventsFile([1, 2], 'guard'));
    const target = new WarehouseLoadTarget(warehouse, CONFIG.datasets[0]!, objects, 'arn:aws:iam::000000000000:role/copy');
    const columns = (await target.prepare()).map((c) => c.name);
    const file = { key: f.key, etag: f.etag, size: f.size, fileRows: 2 };

    expect(await target.submit({ runId: 'r1', loadId: 'ld_guard_1', files: [file], targetColumns: columns })).toEqual({ status: 'finished' });
    expect(await target.submit({ runId: 'r2', loadId: 'ld_guard_2', files: [file], targetColumns: columns })).toEqual({ status: 'finished' });

    expect(await count('SELECT COUNT(*) AS n FROM public.events')).toBe(2);
    expect(await target.outcome('ld_guard_2', { status: 'finished' }, [file])).toMatchObject({ kind: 'refused', alreadyLoaded: 1, contentMismatch: false });
    // One COPY with a manifest: the transaction has no per-file count (the load views answer after commit).
    expect([...(await target.committed([f])).values()]).toEqual([{ loadId: 'ld_guard_1', rows: null, fileRows: 2, loads: 1 }]);
  });

  it.each([
    ['one COPY with a manifest (append)', 'wide'],
    ['one COPY per file (upsert without a version column)', 'plain'],
  ])('loads by the proven file order through %s when the target gained a column after the check', async (_path, name) => {
    const dataset = CONFIG.datasets.find((d) => d.name === name)!;
    const f = await upload(`${name}/proven.parquet`, eventsFile([1, 2], 'proven'));
    const target = new WarehouseLoadTarget(warehouse, dataset, objects, 'arn:aws:iam::000000000000:role/copy');
    const proven = (await target.prepare()).map((c) => c.name);
    // Another load's add-columns (or an operator) widens the target between the check and the COPY.
    await warehouse.executeTransaction([`ALTER TABLE public.${name} ADD COLUMN score DOUBLE PRECISION`], `widen-${name}`);
    const file = { key: f.key, etag: f.etag, size: f.size, fileRows: 2, s3Order: '00000001' };

    const state = await target.submit({ runId: 'r-proven', loadId: `ld_proven_${name}`, files: [file], targetColumns: proven });

    expect(state).toEqual({ status: 'finished' });
    expect(await warehouse.query(`SELECT id, note, score FROM public.${name} ORDER BY id`)).toEqual([
      { id: 1, note: 'proven', score: null },
      { id: 2, note: 'proven', score: null },
    ]);
  });

  it('quarantines a file whose columns are in another order than the target, naming the file and both columns, and loads none of it', async () => {
    const swapped = await upload(
      'plain/swapped.parquet',
      encodeParquet([
        { name: 'note', type: 'STRING', data: ['swapped'] },
        { name: 'id', type: 'INT64', data: [4n] },
      ]),
    );

    await runLoad(await batch('plain', 'run-swapped', [swapped]), deps());

    expect(await ledger.get(swapped.key, swapped.etag)).toMatchObject({
      status: 'quarantined',
      reason: expect.stringContaining("s3 object 'plain/swapped.parquet': column 1 is 'note' but the target's column 1 is 'id'"),
    });
    expect(await count('SELECT COUNT(*) AS n FROM public.plain')).toBe(0);
  });

  it('settles from the audit, without merging again, an object version an earlier execution committed when the ledger forgot it', async () => {
    const f = await upload('events/once.parquet', eventsFile([1, 2], 'once'));
    await runLoad(await batch('events', 'run-1', [f]), deps());
    const first = await ledger.get(f.key, f.etag);
    // The ledger loses the fact (restored from an old backup, or an operator reset it by hand).
    ledger.set({ ...first!, status: 'discovered', loadedBy: undefined });

    const again = await runLoad(await batch('events', 'run-2', [f]), deps());

    expect(await count('SELECT COUNT(*) AS n FROM public.events')).toBe(2);
    expect(await count('SELECT COUNT(*) AS n FROM public.syncproof_load_files')).toBe(1);
    expect(await ledger.get(f.key, f.etag)).toMatchObject({ status: 'loaded', loadedBy: first?.loadedBy });
    expect(again.filesLoaded).toBe(1);
  });

  it('settles from the audit, without loading again, a load whose process died after COMMIT and before the ledger', async () => {
    const f = await upload('events/crash.parquet', eventsFile([1, 2, 3], 'crash'));
    const input = await batch('events', 'run-crash', [f]);
    const crashing: LedgerStore = Object.assign(Object.create(ledger) as LedgerStore, {
      markLoaded: async () => {
        throw new Error('process killed after COMMIT');
      },
    });
    await expect(runLoad(input, deps({ ledger: crashing }))).rejects.toThrow('process killed after COMMIT');
    expect((await ledger.get(f.key, f.etag))?.status).toBe('loading');

    // Step Functions retries the task with the same input.
    await runLoad(input, deps());

    expect(await count('SELECT COUNT(*) AS n FROM public.events')).toBe(3);
    expect(await ledger.get(f.key, f.etag)).toMatchObject({ status: 'loaded', loadedBy: expect.stringMatching(/^ld_/) });
  });

  it('quarantines a file overwritten after it was checked and before its bytes were pinned, naming the ETag, and loads none of the new bytes under the old version (I5)', async () => {
    const f = await upload('events/swap.parquet', eventsFile([1, 2], 'old'));
    const good = await upload('events/good.parquet', eventsFile([10, 11], 'good'));
    const inspector = new ParquetInspector(objects);
    const swapping = {
      inspect: async (key: string, size: number, etag?: string) => {
        const info = await inspector.inspect(key, size, etag);
        // Same size, other bytes: the manifest's content_length cannot tell them apart.
        if (key === f.key) await objects.put(key, eventsFile([1, 2], 'new'));
        return info;
      },
    };

    await runLoad(await batch('events', 'run-swap', [f, good]), deps({ files: swapping }));

    expect(await count("SELECT COUNT(*) AS n FROM public.events WHERE note = 'new'")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM public.events WHERE note = 'good'")).toBe(2);
    // The pin (a copy conditional on the discovered ETag) failed: no attempt ever held the file.
    expect(await count(`SELECT COUNT(*) AS n FROM public.syncproof_load_files WHERE object_key = '${f.key}'`)).toBe(0);
    const entry = await ledger.get(f.key, f.etag);
    expect(entry?.status).toBe('quarantined');
    expect(entry?.reason).toContain(`is no longer version ${f.etag}: it was overwritten after discovery`);
  });

  it('loads the discovered bytes under their ETag, and the new version once on its own, when the key is overwritten with a file of the same size between the check and the COPY (I5)', async () => {
    const f = await upload('events/same-size.parquet', eventsFile([1, 2], 'old'));
    const replacement = eventsFile([1, 2], 'new');
    expect(replacement.byteLength).toBe(f.size);
    let swapped: { key: string; etag: string; size: number; lastModified: string } | undefined;
    // After the checks, the pin and the write-ahead, just before the COPY is submitted.
    const faults = { crash: () => undefined, pauseBeforeSubmit: async () => void (swapped ??= await upload(f.key, replacement)) };

    await runLoad(await batch('events', 'run-same-size', [f]), deps({ faults }));
    await runLoad(await batch('events', 'run-same-size-2', [swapped!]), deps());

    expect(await warehouse.query('SELECT note, COUNT(*) AS n FROM public.events GROUP BY note ORDER BY note')).toEqual([
      { note: 'new', n: 2 },
      { note: 'old', n: 2 },
    ]);
    const audit = await warehouse.query(`SELECT etag FROM public.syncproof_load_files WHERE object_key = '${f.key}' ORDER BY etag`);
    expect(audit.map((r) => r.etag).sort()).toEqual([f.etag, swapped!.etag].sort());
    expect((await ledger.get(f.key, f.etag))?.status).toBe('loaded');
    expect((await ledger.get(f.key, swapped!.etag))?.status).toBe('loaded');
  });

  it('keeps the newest version of a key by its version column when the older file commits last (I4)', async () => {
    const newer = await upload('items/newer.parquet', itemsFile([1, 2], 'newer', T0 + 3_600_000));
    const older = await upload('items/older.parquet', itemsFile([2, 3], 'older', T0));

    await runLoad(await batch('items', 'run-new', [newer]), deps());
    await runLoad(await batch('items', 'run-old', [older]), deps());

    expect(await warehouse.query('SELECT id, note FROM public.items ORDER BY id')).toEqual([
      { id: 1, note: 'newer' },
      { id: 2, note: 'newer' },
      { id: 3, note: 'older' },
    ]);
  });

  it('keeps the newest version of a key when both versions arrive in one batch, whatever their order', async () => {
    const older = await upload('items/b-older.parquet', itemsFile([7], 'older', T0));
    const newer = await upload('items/b-newer.parquet', itemsFile([7], 'newer', T0 + 1000));

    await runLoad(await batch('items', 'run-both', [newer, older]), deps());

    expect(await warehouse.query('SELECT id, note FROM public.items')).toEqual([{ id: 7, note: 'newer' }]);
  });

  it('adds a new column at the end of the target under schemaDrift add-columns, and loads the file', async () => {
    const before = await upload('wide/before.parquet', eventsFile([1], 'before'));
    await runLoad(await batch('wide', 'run-w1', [before]), deps());
    const wider = await upload(
      'wide/wider.parquet',
      encodeParquet([
        { name: 'id', type: 'INT64', data: [2n] },
        { name: 'note', type: 'STRING', data: ['wider'] },
        { name: 'score', type: 'DOUBLE', data: [1.5] },
      ]),
    );

    await runLoad(await batch('wide', 'run-w2', [wider]), deps());

    expect(await warehouse.query('SELECT id, note, score FROM public.wide ORDER BY id')).toEqual([
      { id: 1, note: 'before', score: null },
      { id: 2, note: 'wider', score: 1.5 },
    ]);
    expect((await ledger.get(wider.key, wider.etag))?.status).toBe('loaded');
  });

  it('fails the run, quarantining nothing, when a file lacks a target column even under add-columns', async () => {
    const narrow = await upload('wide/narrow.parquet', encodeParquet([{ name: 'id', type: 'INT64', data: [3n] }]));

    await expect(runLoad(await batch('wide', 'run-w3', [narrow]), deps())).rejects.toThrow("target column 'note' missing from the file");

    expect(await ledger.get(narrow.key, narrow.etag)).toMatchObject({ status: 'failed' });
  });

  it('keeps the file newest in S3 order for an upsert without a version column, when the older file commits last (I4)', async () => {
    const newer = { ...(await upload('plain/newer.parquet', eventsFile([1, 2], 'newer'))), lastModified: '2026-02-02T00:00:00.000Z' };
    const older = { ...(await upload('plain/older.parquet', eventsFile([2, 3], 'older'))), lastModified: '2026-02-01T00:00:00.000Z' };

    await runLoad(await batch('plain', 'run-pn', [newer]), deps());
    await runLoad(await batch('plain', 'run-po', [older]), deps());

    expect(await warehouse.query('SELECT id, note FROM public.plain ORDER BY id')).toEqual([
      { id: 1, note: 'newer' },
      { id: 2, note: 'newer' },
      { id: 3, note: 'older' },
    ]);
  });

  it('keeps the later file in S3 order when both versions of a key are in one batch without a version column', async () => {
    const a = { ...(await upload('plain/a.parquet', eventsFile([5], 'first'))), lastModified: '2026-02-01T00:00:00.000Z' };
    const b = { ...(await upload('plain/b.parquet', eventsFile([5], 'second'))), lastModified: '2026-02-01T00:00:01.000Z' };

    await runLoad(await batch('plain', 'run-pab', [b, a]), deps());

    expect(await warehouse.query('SELECT id, note FROM public.plain')).toEqual([{ id: 5, note: 'second' }]);
  });

  it('reads each file\'s rows from the load view after commit when the transaction could not see them, and fails on a difference', async () => {
    const f = await upload('events/late-view.parquet', eventsFile([1, 2, 3], 'late'));
    const out = await runLoad(await batch('events', 'run-view', [f]), deps());
    // As on a Redshift where sys_load_detail answers only after commit: the audit has no rows yet.
    await warehouse.executeTransaction([`UPDATE public.syncproof_load_files SET "rows" = NULL WHERE object_key = '${f.key}'`], `null-${Date.now()}`);
    const verifyInput = { runId: 'run-view', dataset: 'events', loadId: out.loadId, loadUri: out.loadUri!, hasMore: false };

    expect(await runVerify(verifyInput, deps())).toMatchObject({ status: 'PASSED' });

    // The view names the file by the pinned copy its COPY read.
    const loadedBy = (await ledger.get(f.key, f.etag))!.loadedBy!;
    await warehouse.executeTransaction(
      [`UPDATE syncproof_system.sys_load_detail SET lines_scanned = 2 WHERE query_id = (SELECT copy_query_id FROM public.syncproof_loads WHERE load_id = '${loadedBy}')`],
      `view-${Date.now()}`,
    );
    await expect(runVerify(verifyInput, deps())).rejects.toThrow("'events/late-view.parquet': the file holds 3 rows, the warehouse loaded 2");
  });

  it('loads a file whose key is longer than the load views\' 256-byte file_name, and proves its rows and the ETag its COPY read by its pinned copy', async () => {
    const f = await upload(`events/${'long-'.repeat(60)}.parquet`, eventsFile([1, 2, 3], 'long'));
    expect(Buffer.byteLength(`s3://data/${f.key}`)).toBeGreaterThan(256);
    const out = await runLoad(await batch('events', 'run-long', [f]), deps());
    const verifyInput = { runId: 'run-long', dataset: 'events', loadId: out.loadId, loadUri: out.loadUri!, hasMore: false };

    expect(await runVerify(verifyInput, deps())).toMatchObject({ status: 'PASSED' });
    const report = (await objects.getJson(`_syncproof/reports/events/run-long/${out.loadId}.json`)) as { evidence: { files: Record<string, unknown>[] } };
    expect(report.evidence.files).toEqual([expect.objectContaining({ key: f.key, auditRows: 3, read: { viewEtag: f.etag, pinnedEtag: f.etag } })]);
    expect((await ledger.get(f.key, f.etag))?.status).toBe('loaded');
  });

  it('fails Verify when the load view says its COPY read another ETag than its pinned copy holds (I5)', async () => {
    const f = await upload('events/read-etag.parquet', eventsFile([1, 2], 'etag'));
    const out = await runLoad(await batch('events', 'run-etag', [f]), deps());
    const loadedBy = (await ledger.get(f.key, f.etag))!.loadedBy!;
    await warehouse.executeTransaction(
      [`UPDATE syncproof_system.sys_load_detail SET file_etag = 'another' WHERE query_id = (SELECT copy_query_id FROM public.syncproof_loads WHERE load_id = '${loadedBy}')`],
      `etag-${Date.now()}`,
    );

    await expect(runVerify({ runId: 'run-etag', dataset: 'events', loadId: out.loadId, loadUri: out.loadUri!, hasMore: false }, deps())).rejects.toThrow(
      `'events/read-etag.parquet' (ETag ${f.etag}): the warehouse's COPY read ETag another, not its pinned copy's ${f.etag}`,
    );
  });

  it("proves an upsert load of few rows on its own keys: each held exactly once, read back from the load's files", async () => {
    const f = await upload('items/few.parquet', itemsFile([1, 2, 3], 'few', T0));
    const out = await runLoad(await batch('items', 'run-few', [f]), deps());
    const verifyInput = { runId: 'run-few', dataset: 'items', loadId: out.loadId, loadUri: out.loadUri!, hasMore: false };
    const report = async () => (await objects.getJson(`_syncproof/reports/items/run-few/${out.loadId}.json`)) as { evidence: Record<string, unknown>; summary: string };

    expect(await runVerify(verifyInput, deps())).toMatchObject({ status: 'PASSED' });
    expect((await report()).evidence).toMatchObject({ loadedKeys: 3, targetRows: 3, targetDistinctKeys: 3 });
    // A row of another key, held twice, is not this load's to prove (a large load counts the whole table).
    await warehouse.executeTransaction(["INSERT INTO public.items VALUES (9, 'stray', '2026-01-01'), (9, 'stray', '2026-01-01')"], `stray-${Date.now()}`);
    expect(await runVerify(verifyInput, deps())).toMatchObject({ status: 'PASSED' });

    // One of its keys held twice: the merge's proof fails.
    await warehouse.executeTransaction(["INSERT INTO public.items VALUES (2, 'twice', '2030-01-01')"], `twice-${Date.now()}`);
    await expect(runVerify(verifyInput, deps())).rejects.toThrow('of the 3 keys this load wrote, the target holds 1 rows more than keys (4 rows, 3 keys)');
    // One of its keys gone: so does it.
    await warehouse.executeTransaction(['DELETE FROM public.items WHERE id = 2'], `gone-${Date.now()}`);
    await expect(runVerify(verifyInput, deps())).rejects.toThrow('1 of the 3 keys this load wrote are not in the target');
    expect((await report()).summary).toContain('target 2 rows for its 3 keys');
  });

  it('counts the whole target for an upsert load of more rows than it reads keys for', async () => {
    const ids = Array.from({ length: LOADED_KEYS_MAX_ROWS + 1 }, (_, i) => i + 1);
    const f = await upload('items/many.parquet', itemsFile(ids, 'many', T0));
    const out = await runLoad(await batch('items', 'run-many', [f]), deps());
    const verifyInput = { runId: 'run-many', dataset: 'items', loadId: out.loadId, loadUri: out.loadUri!, hasMore: false };
    await warehouse.executeTransaction(["INSERT INTO public.items VALUES (0, 'stray', '2026-01-01'), (0, 'stray', '2026-01-01')"], `stray-${Date.now()}`);

    await expect(runVerify(verifyInput, deps())).rejects.toThrow(`the target holds 1 rows more than distinct keys (${ids.length + 2} rows, ${ids.length + 1} keys)`);
  });
});
