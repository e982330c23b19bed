import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { column, MemorySource } from '../fixtures/memory-source';
import { runCliInProcess } from '../support/cli-in-process';

const URL = 'mysql://app:s3cr3t-pw@db.internal:3306/shop';

const SHOP = new MemorySource('mysql', [
  {
    schema: 'shop',
    table: 'orders',
    columns: [column('id', 'bigint'), column('amount', 'decimal'), column('updated_at', 'datetime')],
    primaryKey: ['id'],
    estimatedRows: 120_000,
    bytes: 15_400_000,
  },
  { schema: 'shop', table: 'audit', columns: [column('code', 'varchar'), column('note', 'text')], primaryKey: [], estimatedRows: null, bytes: null },
  { schema: 'crm', table: 'customers', columns: [column('id', 'int'), column('name', 'varchar')], primaryKey: ['id'], estimatedRows: 50, bytes: 16_384 },
]);

describe('syncproof source tables', () => {
  let work: string;
  const opened: string[] = [];
  const deps = {
    openSource: async (url: string) => {
      opened.push(url);
      return SHOP;
    },
  };

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-source-test-'));
    opened.length = 0;
    SHOP.closed = false;
  });

  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('lists each table with estimated rows, bytes, primary key and a suggested cursor, and closes the source', async () => {
    const r = await runCliInProcess(['source', 'tables', '--source', URL], deps);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe("tables in mysql://app:***@db.internal:3306/shop (rows and bytes are the engine's estimates, not counts)");
    expect(lines[1]).toMatch(/^table +rows \(estimate\) +bytes +primary key +suggested cursor$/);
    expect(lines[2]).toMatch(/^shop\.orders +120000 +15\.4 MB +id +updated_at: a datetime column named like an update time$/);
    expect(lines[3]).toMatch(/^shop\.audit +\? +\? +\(none\) +none: no date\/time column and no one-column integer primary key/);
    expect(lines[4]).toMatch(/^crm\.customers +50 +16\.4 kB +id +id: an integer primary key \(looks auto-increment\)/);
    expect(lines[5]).toBe('3 tables');
    expect(opened).toEqual([URL]);
    expect(SHOP.closed).toBe(true);
  });

  it('lists one schema with --schema and writes the tables to --json', async () => {
    const json = join(work, 'tables.json');
    const r = await runCliInProcess(['source', 'tables', '--source', URL, '--schema', 'crm', '--json', json], deps);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tables in mysql://app:***@db.internal:3306/shop (schema crm)');
    const report = JSON.parse(await readFile(json, 'utf8')) as { source: string; schema: string; tables: unknown[] };
    expect(report).toMatchObject({
      source: 'mysql://app:***@db.internal:3306/shop',
      schema: 'crm',
      tables: [{ schema: 'crm', table: 'customers', estimatedRows: 50, bytes: 16_384, primaryKey: ['id'], suggestedCursor: { column: 'id' } }],
    });
  });

  it('never prints the password, not even in a source error that carries it', async () => {
    const failing = { openSource: async () => Promise.reject(new Error(`Access denied for user 'app' (using password: s3cr3t-pw) at ${URL}`)) };
    const r = await runCliInProcess(['source', 'tables', '--source', URL], failing);
    expect(r.code).toBe(3);
    // One sentence: the source named once (the message names it), no class name.
    expect(r.stderr).toBe("syncproof: Access denied for user 'app' (using password: ***) at mysql://app:***@db.internal:3306/shop\n");
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-pw');
  });

  it('names the source once, before a message that does not name it', async () => {
    const failing = { openSource: async () => Promise.reject(new Error('connecting failed: connect ECONNREFUSED')) };
    const r = await runCliInProcess(['source', 'tables', '--source', URL], failing);
    expect([r.code, r.stderr]).toEqual([3, 'syncproof: source mysql://app:***@db.internal:3306/shop: connecting failed: connect ECONNREFUSED\n']);
  });

  it('refuses a URL that is not a source URL, without opening anything', async () => {
    const r = await runCliInProcess(['source', 'tables', '--source', 'http://u:pw@host/db'], deps);
    expect([r.code, r.stderr]).toEqual([3, "syncproof: --source must be a mysql://, mariadb://, postgres:// or pglite: URL, got 'http://u:***@host/db'\n"]);
    expect(opened).toEqual([]);
  });
});
