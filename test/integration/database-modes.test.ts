/**
 * The run modes of a dataset with a source, on a real MariaDB and a real PostgreSQL through the
 * local runtime: `full` (the whole table, NULL cursors and rows inside `lag` included, replacing
 * the target in one transaction), `extract-only` (to S3, proven there, the warehouse untouched)
 * and `load-only` (what extract-only runs left on S3, then the watermark). Every assertion reads
 * back the warehouse, the watermark in DynamoDB or the objects in S3.
 */
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { startDbRuntime, type DbRuntime } from '../support/db-runtime';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const T0 = '2024-03-01 10:00:00';
function ts(seconds: number): string {
  return formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);
}

describe.each<Engine>(['mysql', 'postgres'])('run modes on %s', (engine) => {
  let db: TestSourceDb;
  let rt: DbRuntime;
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  const now = engine === 'mysql' ? 'UTC_TIMESTAMP(6)' : "(now() AT TIME ZONE 'UTC')";

  beforeAll(async () => {
    db = await startTestSource(engine);
    // The cursor may be NULL here: a full run must still read those rows.
    for (const t of ['snap', 'staged']) await db.exec(`CREATE TABLE ${t} (id BIGINT NOT NULL PRIMARY KEY, note VARCHAR(20) NOT NULL, updated_at ${time} NULL)`);
    rt = await startDbRuntime(engine, db, [
      { name: 'snap', table: 'snap', source: { limit: 2, lag: '1h' } },
      { name: 'staged', table: 'staged', source: { limit: 2 } },
    ]);
  });

  afterAll(async () => {
    await rt?.stop();
    await db?.stop();
  });

  const insert = (table: string, rows: readonly (readonly [number, string, string | null])[]) =>
    db.exec(`INSERT INTO ${table} (id, note, updated_at) VALUES ${rows.map(([id, n, t]) => `(${id}, '${n}', ${t === null ? 'NULL' : t === 'now' ? now : `'${t}'`})`).join(', ')}`);

  async function warehouse(dataset: string): Promise<string[]> {
    const rows = await rt.query(`SELECT CAST(id AS VARCHAR(20)) AS id, note, COALESCE(CAST(updated_at AS VARCHAR(40)), 'null') AS t FROM ${rt.target(dataset)} ORDER BY id`);
    return rows.map((r) => `${String(r.id)}|${String(r.note)}`);
  }

  async function source(table: string): Promise<string[]> {
    const rows = await db.rows(`SELECT id, note FROM ${table} ORDER BY id`);
    return rows.map((r) => `${String(r.id)}|${String(r.note)}`);
  }

  async function targetExists(dataset: string): Promise<boolean> {
    const [schema, table] = rt.target(dataset).split('.');
    const rows = await rt.query(`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = '${schema}' AND table_name = '${table}'`);
    return Number(rows[0]?.n) > 0;
  }

  it('full: replaces the target with the whole table (NULL cursors, rows inside lag, deletes), in key order, and leaves the watermark before the bound', async () => {
    // Cursor order is the reverse of key order, so a snapshot paged by cursor would differ.
    await insert('snap', [[1, 'a', ts(50)], [2, 'b', ts(40)], [3, 'c', ts(30)], [4, 'd', ts(20)], [5, 'e', null]]);
    const first = await rt.sync('snap');
    expect(first.status).toBe('SUCCEEDED');
    // Incremental: the NULL-cursor row cannot be placed in the keyset.
    expect(await warehouse('snap')).toEqual(['1|a', '2|b', '3|c', '4|d']);

    // A row inside lag, a delete (which no incremental run sees) and an update to NULL.
    await insert('snap', [[6, 'f', 'now']]);
    await db.exec('DELETE FROM snap WHERE id = 2');
    await db.exec("UPDATE snap SET note = 'c2', updated_at = NULL WHERE id = 3");
    const full = await rt.sync('snap', { mode: 'full' });
    expect(full.status).toBe('SUCCEEDED');
    expect(full.run?.status).toBe('PASSED');
    expect(await warehouse('snap')).toEqual(await source('snap'));
    expect(await warehouse('snap')).toEqual(['1|a', '3|c2', '4|d', '5|e', '6|f']);
    // Five rows in chunks of two, read in key order: 1,3 | 4,5 | 6.
    const doc = await rt.extraction(full, 'snap');
    expect(doc.files.map((f) => f.rows)).toEqual([2, 2, 1]);
    expect(doc.files.map((f) => f.first.key[0])).toEqual(['1', '4', '6']);
    // The watermark: the last row before the bound in keyset order (id 1 at T0+50), not the row inside lag.
    const wm = await rt.runtime.watermarks().get('snap');
    expect(wm?.position?.key).toEqual(['1']);
    expect(formatMicros(timeMicros(wm!.position!.cursor))).toBe(ts(50));
    expect(wm?.lastRun).toMatchObject({ mode: 'full', extraction: { rows: 5, files: 3 }, loadedRows: 5 });
  });

  it('full: refuses a snapshot cut by limit × maxChunks and leaves the target as it was', async () => {
    const before = await warehouse('snap');
    const wm = await rt.runtime.watermarks().get('snap');
    const e = await rt.sync('snap', { mode: 'full', maxChunks: 1 });
    expect(e.status).toBe('FAILED');
    expect(e.cause).toMatch(/snapshot would be partial/);
    expect(await warehouse('snap')).toEqual(before);
    expect((await rt.runtime.watermarks().get('snap'))?.version).toBe(wm?.version);
  });

  it('extract-only writes and proves files on S3 without loading; load-only loads them and moves the watermark', async () => {
    await insert('staged', [[1, 'a', ts(1)], [2, 'b', ts(2)], [3, 'c', ts(3)]]);
    const e1 = await rt.sync('staged', { mode: 'extract-only' });
    expect(e1.status).toBe('SUCCEEDED');
    expect(e1.run?.status).toBe('PASSED');
    expect(await targetExists('staged')).toBe(false);
    let wm = await rt.runtime.watermarks().get('staged');
    expect(wm?.position).toBeUndefined();
    expect(wm?.extracted).toMatchObject({ runId: e1.name, rows: 3, files: 2, position: { key: ['3'] } });
    const doc1 = await rt.extraction(e1, 'staged');
    const keys = await rt.extractKeys('staged');
    for (const f of doc1.files) expect(keys).toContain(f.key);

    // A second extract-only run goes on from where the first stopped.
    await insert('staged', [[4, 'd', ts(4)], [5, 'e', ts(5)]]);
    const e2 = await rt.sync('staged', { mode: 'extract-only' });
    expect(e2.status).toBe('SUCCEEDED');
    expect((await rt.extraction(e2, 'staged')).rows).toBe(2);
    expect(await targetExists('staged')).toBe(false);

    const l1 = await rt.sync('staged', { mode: 'load-only' });
    expect(l1.status).toBe('SUCCEEDED');
    expect(await warehouse('staged')).toEqual(['1|a', '2|b', '3|c', '4|d', '5|e']);
    wm = await rt.runtime.watermarks().get('staged');
    expect(wm?.position?.key).toEqual(['5']);
    expect(wm?.extracted).toBeUndefined();
    expect(wm?.lastRun).toMatchObject({ mode: 'load-only', extraction: { rows: 5, files: 3 }, loadedRows: 5 });
    // Each file loaded once: count per key and per file in the audit.
    const audit = await rt.query(
      "SELECT f.object_key, COUNT(*) AS n FROM public.syncproof_load_files f JOIN public.syncproof_loads l ON l.load_id = f.load_id WHERE l.dataset = 'staged' AND l.status = 'committed' GROUP BY f.object_key",
    );
    expect(audit).toHaveLength(3);
    expect(audit.every((r) => Number(r.n) === 1)).toBe(true);

    // Nothing new: a load-only run loads nothing and leaves the watermark.
    const l2 = await rt.sync('staged', { mode: 'load-only' });
    expect(l2.status).toBe('SUCCEEDED');
    expect((await rt.runtime.watermarks().get('staged'))?.position?.key).toEqual(['5']);
  });

  it('load-only after a given position loads only the extract-only runs from there on', async () => {
    await insert('staged', [[6, 'f', ts(6)]]);
    const e3 = await rt.sync('staged', { mode: 'extract-only' });
    expect(e3.status).toBe('SUCCEEDED');
    await insert('staged', [[7, 'g', ts(7)]]);
    const e4 = await rt.sync('staged', { mode: 'extract-only' });
    expect((await rt.extraction(e4, 'staged')).rows).toBe(1);
    const six = (await rt.extraction(e3, 'staged')).last!;
    const l = await rt.sync('staged', { mode: 'load-only', after: six });
    expect(l.status).toBe('SUCCEEDED');
    // Run e3 (row 6) ends at `after`, so only e4's row 7 was loaded by this run.
    expect((await rt.extraction(l, 'staged')).rows).toBe(1);
    expect(await warehouse('staged')).toEqual(['1|a', '2|b', '3|c', '4|d', '5|e', '7|g']);
    expect((await rt.runtime.watermarks().get('staged'))?.position?.key).toEqual(['7']);
  });

  it('refuses after with another mode, naming the field', async () => {
    const e = await rt.sync('staged', { mode: 'incremental', after: { cursor: ts(1), key: ['1'] } });
    expect(e.status).toBe('FAILED');
    expect(`${e.error} ${e.cause}`).toMatch(/after is for mode load-only only/);
  });
});
