import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lambdas/core/config';
import { column, MemorySource, type MemoryTable } from '../fixtures/memory-source';
import { runCliInProcess } from '../support/cli-in-process';

const URL = 'mysql://app:s3cr3t-pw@db.internal:3306/shop';

const ORDERS: MemoryTable = {
  schema: 'shop',
  table: 'orders',
  columns: [column('id', 'bigint'), column('amount', 'decimal', { numericPrecision: 12, numericScale: 2 }), column('note', 'varchar', { maxLength: 100, charset: 'utf8mb4' }), column('updated_at', 'datetime')],
  primaryKey: ['id'],
};
const TABLES: MemoryTable[] = [
  ORDERS,
  { schema: 'shop', table: 'order_lines', columns: [column('order_id', 'bigint'), column('line', 'int'), column('sku', 'varchar')], primaryKey: ['order_id', 'line'], uniqueKeys: [['sku']] },
  { schema: 'shop', table: 'events', columns: [column('ref', 'varchar'), column('at', 'datetime')], primaryKey: [], uniqueKeys: [['ref']] },
  { schema: 'shop', table: 'places', columns: [column('id', 'int'), column('shape', 'geometry'), column('updated_at', 'timestamp')], primaryKey: ['id'] },
];

/** A configuration that is already there: a file dataset and a Redshift block, kept as written. */
const EXISTING = {
  datasets: [{ name: 'clicks', prefix: 'clicks/', target: { schema: 'raw', table: 'clicks' }, loadMode: 'append' }],
  redshift: { workgroupName: 'syncproof', database: 'dev', copyRoleArn: 'arn:aws:iam::123456789012:role/copy' },
};

describe('syncproof datasets add', () => {
  let work: string;
  let config: string;
  let source: MemorySource;
  let opened: number;
  const deps = {
    openSource: async () => {
      opened++;
      return source;
    },
  };
  const add = (...args: string[]) => runCliInProcess(['datasets', 'add', ...args, '--config', config], deps);
  const written = async () => JSON.parse(await readFile(config, 'utf8')) as { datasets: Record<string, unknown>[] };

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-datasets-test-'));
    config = join(work, 'syncproof.config.json');
    source = new MemorySource('mysql', TABLES);
    opened = 0;
  });

  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** Runs a refused add on the existing configuration: exit 3, the file byte for byte as it was, no temp file. */
  async function refused(...args: string[]): Promise<string> {
    const before = `${JSON.stringify(EXISTING, null, 2)}\n`;
    await writeFile(config, before);
    const r = await add(...args);
    expect([r.code, r.stdout]).toEqual([3, '']);
    expect(await readFile(config, 'utf8')).toBe(before);
    expect(await readdir(work)).toEqual(['syncproof.config.json']);
    return r.stderr;
  }

  it('creates the file with the dataset, suggesting the cursor and saying which, and prints no password', async () => {
    const r = await add('orders', '--source', URL, '--table', 'shop.orders');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(await written()).toEqual({
      datasets: [{ name: 'orders', source: { engine: 'mysql', url: URL, table: 'shop.orders', cursorColumn: 'updated_at' }, target: { schema: 'public', table: 'orders' } }],
    });
    expect(parseConfig(await written()).datasets[0]?.prefix).toBe('_syncproof/extracts/orders/');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`added dataset 'orders' to ${config} (created): shop.orders in mysql://app:***@db.internal:3306/shop → public.orders`);
    expect(lines[1]).toBe('  cursor:  updated_at (time; suggested: a datetime column named like an update time; pass --cursor to choose another)');
    expect(lines[2]).toBe('  key:     id (the primary key)');
    expect(lines[3]).toBe('  columns: id BIGINT, amount DECIMAL(12,2), note VARCHAR(400), updated_at TIMESTAMP');
    expect(r.stdout).not.toContain('s3cr3t-pw');
    expect(await readdir(work)).toEqual(['syncproof.config.json']);
    expect(source.closed).toBe(true);
  });

  it('keeps the other datasets and settings as written, and takes the cursor, key and target given', async () => {
    await writeFile(config, JSON.stringify(EXISTING));
    const r = await add('order-lines', '--source', URL, '--table', 'order_lines', '--cursor', 'order_id', '--key', 'order_id', 'line', '--target-schema', 'sales', '--target-table', 'lines');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(await written()).toEqual({
      ...EXISTING,
      datasets: [
        ...EXISTING.datasets,
        {
          name: 'order-lines',
          source: { engine: 'mysql', url: URL, table: 'shop.order_lines', cursorColumn: 'order_id', keyColumns: ['order_id', 'line'] },
          target: { schema: 'sales', table: 'lines' },
        },
      ],
    });
    expect(r.stdout).toContain('  cursor:  order_id (integer; as given)');
    expect(r.stdout).toContain('  key:     order_id, line (as given)');
  });

  it('refuses a table that does not exist, with the message a run gives and the nearest table', async () => {
    const stderr = await refused('orders', '--source', URL, '--table', 'shop.order');
    expect(stderr).toBe(
      "syncproof: refused: source table shop.order of dataset 'orders' does not exist; create it, or point source.table at the right table; nothing was extracted; did you mean 'shop.orders'?; the configuration was not changed\n",
    );
  });

  it('creates no file when the add is refused and there was none', async () => {
    const r = await add('orders', '--source', URL, '--table', 'shop.nope');
    expect(r.code).toBe(3);
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses a table without a primary key, naming its unique keys', async () => {
    const stderr = await refused('events', '--source', URL, '--table', 'shop.events');
    expect(stderr).toContain('refused: source table shop.events has no primary key; name a unique key in source.keyColumns; its unique keys: (ref)');
  });

  it('refuses a cursor column of a type a cursor cannot be', async () => {
    const stderr = await refused('orders', '--source', URL, '--table', 'shop.orders', '--cursor', 'note');
    expect(stderr).toContain('refused: cursor column shop.orders.note is varchar; a cursor must be a date/time or integer column');
  });

  it('refuses a table with a column type syncproof cannot load, naming the column', async () => {
    const stderr = await refused('places', '--source', URL, '--table', 'shop.places');
    expect(stderr).toContain('refused: shop.places.shape has type geometry (geometry), which syncproof cannot load into Redshift');
  });

  it('refuses a name the file already has, before opening the source', async () => {
    const stderr = await refused('clicks', '--source', URL, '--table', 'shop.orders');
    expect(stderr).toBe(`syncproof: --config '${config}' already has a dataset 'clicks'; choose another name (or edit the file)\n`);
    expect(opened).toBe(0);
  });

  it('refuses a dataset the configuration schema refuses (a bad name), leaving the file untouched', async () => {
    const stderr = await refused('Orders', '--source', URL, '--table', 'shop.orders');
    expect(stderr).toMatch(/refused: --config '.*' with dataset 'Orders' is invalid: datasets\.1\.name: must be 1-40 chars of a-z, 0-9 and -/);
  });

  it('refuses to add to a file that is not a valid configuration, naming the problem, before opening the source', async () => {
    const broken = JSON.stringify({ ...EXISTING, maxFilesPerBach: 10 });
    await writeFile(config, broken);
    const r = await add('orders', '--source', URL, '--table', 'shop.orders');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("maxFilesPerBach: unknown key; did you mean 'maxFilesPerBatch'?; fix it first, nothing was written");
    await writeFile(config, '{"datasets": [');
    const json = await add('orders', '--source', URL, '--table', 'shop.orders');
    expect(json.code).toBe(3);
    expect(json.stderr).toMatch(/is not valid JSON .*; fix it first, nothing was written/);
    expect(await readFile(config, 'utf8')).toBe('{"datasets": [');
    expect(opened).toBe(0);
  });
});
