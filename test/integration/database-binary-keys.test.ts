/**
 * Binary keys end to end on real engines (issue #13): a MariaDB table keyed by `BINARY(16)` and a
 * PostgreSQL table keyed by `bytea`, with random key bytes that are not UTF-8 (0x00 and 0xFF
 * included) and many rows sharing each cursor value, extracted 7 rows a chunk. Every chunk
 * boundary falls between rows of one cursor value, so the next chunk's start is the last row's key:
 * it must be bound as the key's bytes, or rows are skipped or read twice. Assertions read the
 * warehouse, the watermark in DynamoDB and the extraction documents back.
 */
import { setWatermark } from '../../cli/watermark-command';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { startDbRuntime, type DbRuntime } from '../support/db-runtime';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';
import { seededRandom as random } from '../../local/event-delivery';

jest.setTimeout(600_000);

const T0 = '2024-03-01 10:00:00';
function ts(seconds: number): string {
  return formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);
}

/** Rows per cursor value, and the cursor values (seconds after T0). */
const ROWS_PER_CURSOR = 300;
const CURSORS = [1, 2] as const;
const BOUNDARY = ts(CURSORS[CURSORS.length - 1]);
const LIMIT = 7;


/**
 * `count` distinct 16-byte keys as hex. The first byte is below 0xFF unless `high` (then it is
 * 0xFF), so keys made `high` later sort after every key made before; 0x00 and 0xFF bytes are frequent.
 */
function keys(next: () => number, count: number, taken: Set<string>, high: boolean): string[] {
  const out: string[] = [];
  while (out.length < count) {
    const bytes = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) {
      const r = next();
      bytes[i] = r < 0.2 ? 0x00 : r < 0.4 ? 0xff : Math.floor(next() * 256);
    }
    if (high) bytes[0] = 0xff;
    else if (bytes[0] === 0xff) bytes[0] = 0xfe;
    const hex = bytes.toString('hex');
    if (taken.has(hex)) continue;
    taken.add(hex);
    out.push(hex);
  }
  return out;
}

describe.each<Engine>(['mysql', 'postgres'])('binary keys on %s', (engine) => {
  let db: TestSourceDb;
  let rt: DbRuntime;
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  const keyType = engine === 'mysql' ? 'BINARY(16)' : 'bytea';
  const literal = (hex: string) => (engine === 'mysql' ? `X'${hex}'` : `'\\x${hex}'::bytea`);
  const next = random(engine === 'mysql' ? 13 : 31);
  const taken = new Set<string>();

  beforeAll(async () => {
    db = await startTestSource(engine);
    await db.exec(`CREATE TABLE bin (id ${keyType} NOT NULL PRIMARY KEY, note VARCHAR(20) NOT NULL, updated_at ${time} NOT NULL)`);
    await db.exec(`CREATE INDEX bin_cursor ON bin (updated_at, id)`);
    // The extremes: all 0x00 and (almost) all 0xFF, at every cursor value.
    const rows: string[] = [];
    for (const c of CURSORS) {
      const special = [`${c.toString(16).padStart(2, '0')}${'00'.repeat(15)}`, `fe${'ff'.repeat(14)}${c.toString(16).padStart(2, '0')}`];
      for (const s of special) taken.add(s);
      const ks = [...special, ...keys(next, ROWS_PER_CURSOR - special.length, taken, false)];
      for (const k of ks) rows.push(`(${literal(k)}, 'c${c}', '${ts(c)}')`);
    }
    await db.exec(`INSERT INTO bin (id, note, updated_at) VALUES ${rows.join(', ')}`);
    rt = await startDbRuntime(engine, db, [
      // maxChunks bounds a run that would re-read the same rows forever.
      { name: 'bin', table: 'bin', source: { limit: LIMIT, maxChunks: 400 } },
      // A full run is one load, of at most 8 files here: 100 rows a chunk, each boundary a binary key.
      { name: 'bin-full', table: 'bin', source: { limit: 100, maxChunks: 400 } },
    ]);
  });

  afterAll(async () => {
    await rt?.stop();
    await db?.stop();
  });

  const hexOf = (value: unknown): string =>
    Buffer.isBuffer(value) || value instanceof Uint8Array ? Buffer.from(value).toString('hex') : String(value).replace(/^\\x/, '').toLowerCase();

  /** Keys in the warehouse target, as hex, sorted: one entry per row. */
  async function warehouseKeys(dataset: string): Promise<string[]> {
    const rows = await rt.query(`SELECT id FROM ${rt.target(dataset)}`);
    return rows.map((r) => hexOf(r.id)).sort();
  }

  async function sourceKeys(): Promise<string[]> {
    const rows = await db.rows(engine === 'mysql' ? 'SELECT HEX(id) AS id FROM bin' : "SELECT encode(id, 'hex') AS id FROM bin");
    return rows.map((r) => String(r.id).toLowerCase()).sort();
  }

  it('extracts every row exactly once in chunks of 7 when hundreds of rows share each cursor value', async () => {
    const run = await rt.sync('bin');
    expect(run.status).toBe('SUCCEEDED');
    const doc = await rt.extraction(run, 'bin');
    expect({ rows: doc.rows, hasMore: doc.hasMore }).toEqual({ rows: CURSORS.length * ROWS_PER_CURSOR, hasMore: false });
    const expected = await sourceKeys();
    expect(expected).toHaveLength(CURSORS.length * ROWS_PER_CURSOR);
    expect(await warehouseKeys('bin')).toEqual(expected);
    // The watermark holds the last row's key (the greatest at the last cursor value) as its bytes, in hex.
    const wm = await rt.runtime.watermarks().get('bin');
    expect(wm?.position?.key).toEqual([`0x${(await sourceKeysAt(BOUNDARY)).at(-1)}`]);
    expect(wm?.keyEncoding).toEqual(['hex']);
    expect(formatMicros(timeMicros(wm!.position!.cursor))).toBe(BOUNDARY);
  });

  /** Keys at one cursor value, sorted byte-wise. */
  async function sourceKeysAt(cursor: string): Promise<string[]> {
    const rows = await db.rows(engine === 'mysql' ? `SELECT HEX(id) AS id FROM bin WHERE updated_at = '${cursor}'` : `SELECT encode(id, 'hex') AS id FROM bin WHERE updated_at = '${cursor}'`);
    return rows.map((r) => String(r.id).toLowerCase()).sort();
  }

  it('picks up exactly the rows inserted later at the boundary cursor value, resuming from the binary key in the watermark', async () => {
    const added = [`ff${'00'.repeat(15)}`, `ff${'ff'.repeat(15)}`, ...keys(next, 8, taken, true)];
    for (const k of added.slice(0, 2)) taken.add(k);
    await db.exec(`INSERT INTO bin (id, note, updated_at) VALUES ${added.map((k) => `(${literal(k)}, 'late', '${BOUNDARY}')`).join(', ')}`);
    const run = await rt.sync('bin');
    expect(run.status).toBe('SUCCEEDED');
    expect((await rt.extraction(run, 'bin')).rows).toBe(added.length);
    expect(await warehouseKeys('bin')).toEqual(await sourceKeys());
    const wm = await rt.runtime.watermarks().get('bin');
    expect(wm?.position?.key).toEqual([`0x${'ff'.repeat(16)}`]);
  });

  it('resumes after a binary key set by hand (syncproof watermark set, upper-case hex), reading exactly the rows after it', async () => {
    const atBoundary = await sourceKeysAt(BOUNDARY);
    const from = atBoundary[150]!;
    const where = { kind: 'data-dir' as const, dataDir: '(test)', table: 'watermarks' };
    await setWatermark(rt.runtime.watermarks(), 'bin', { cursor: BOUNDARY, key: [`0x${from.toUpperCase()}`] }, where);
    expect((await rt.runtime.watermarks().get('bin'))?.position?.key).toEqual([`0x${from}`]);
    const run = await rt.sync('bin');
    expect(run.status).toBe('SUCCEEDED');
    expect((await rt.extraction(run, 'bin')).rows).toBe(atBoundary.length - 151);
    expect(await warehouseKeys('bin')).toEqual(await sourceKeys());
    expect((await rt.runtime.watermarks().get('bin'))?.position?.key).toEqual([`0x${atBoundary.at(-1)}`]);
  });

  it('reads a full snapshot in key order after binary keys, each row once', async () => {
    const run = await rt.sync('bin-full', { mode: 'full' });
    expect(run.status).toBe('SUCCEEDED');
    const expected = await sourceKeys();
    expect((await rt.extraction(run, 'bin-full')).rows).toBe(expected.length);
    expect(await warehouseKeys('bin-full')).toEqual(expected);
  });
});
