import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../../lambdas/core/errors';
import { datasetForKey, datasetSchema, parseConfig, timeZoneOf } from '../../lambdas/core/config';

const dataset = {
  name: 'orders',
  prefix: 'orders/',
  target: { schema: 'public', table: 'orders' },
  keyColumns: ['order_id'],
};

describe('parseConfig', () => {
  it('applies defaults: upsert, parquet, 100 files per batch', () => {
    const config = parseConfig({ datasets: [dataset] });
    expect(config.datasets[0]).toMatchObject({ loadMode: 'upsert', format: 'parquet' });
    expect(config.maxFilesPerBatch).toBe(100);
  });

  it.each([
    [{ datasets: [{ ...dataset, keyColumns: [] }] }, 'datasets.0.keyColumns: upsert needs at least one key column'],
    [{ datasets: [{ ...dataset, prefix: 'orders' }] }, "datasets.0.prefix: must not start with '/' and must end with '/'"],
    [{ datasets: [{ ...dataset, prefix: '_syncproof/x/' }] }, "datasets.0.prefix: must not start with '_syncproof/'"],
    [{ datasets: [dataset, { ...dataset, prefix: 'orders/eu/' }] }, "duplicate dataset name 'orders'"],
    [{ datasets: [dataset, { ...dataset, name: 'eu', prefix: 'orders/eu/' }] }, "prefix 'orders/eu/' overlaps dataset 'orders'"],
    [{ datasets: [{ ...dataset, columns: [{ name: 'id', type: 'BIGINT' }] }] }, "key column 'order_id' is not in columns"],
    [{ datasets: [{ ...dataset, columns: [{ name: 'order_id', type: 'TEXTISH' }] }] }, 'datasets.0.columns.0.type'],
    [{ datasets: [] }, 'datasets:'],
    [
      { datasets: [dataset, { name: 'Bad', source: { engine: 'mysql', url: 'mysql://h/db', table: 'db.t', cursorColumn: 'u' }, target: { schema: 'public', table: 't' } }] },
      'datasets.1.name: must be 1-40 chars',
    ],
  ])('rejects %j naming the field', (raw, expected) => {
    expect(() => parseConfig(raw, 'test.json')).toThrow(ConfigurationError);
    expect(() => parseConfig(raw, 'test.json')).toThrow(expected);
  });

  describe('a dataset with a source', () => {
    const extracted = {
      name: 'customers',
      source: { engine: 'mysql', url: 'mysql://u:p@127.0.0.1:3306/crm', table: 'crm.customers', cursorColumn: 'updated_at' },
      target: { schema: 'public', table: 'customers' },
    };

    it('gets its extract prefix under _syncproof/', () => {
      expect(parseConfig({ datasets: [extracted] }).datasets[0]?.prefix).toBe('_syncproof/extracts/customers/');
    });

    it('parses again unchanged once parsed, as the stack and the stages parse the parsed configuration', () => {
      const once = parseConfig({ datasets: [dataset, extracted] });
      expect(parseConfig(JSON.parse(JSON.stringify(once)))).toEqual(once);
    });

    it('refuses a prefix other than its extract prefix', () => {
      expect(() => parseConfig({ datasets: [{ ...extracted, prefix: 'customers/' }] })).toThrow("datasets.0.prefix: remove it: a dataset with a source writes its files under '_syncproof/extracts/customers/'");
    });
  });

  it('names the source of the configuration in its error', () => {
    expect(() => parseConfig({}, 'my.config.json')).toThrow(/^my\.config\.json is invalid/);
  });

  it('names the expected type and the path when versionColumn is a number', () => {
    expect(() => parseConfig({ datasets: [{ ...dataset, versionColumn: 5 }] })).toThrow('datasets.0.versionColumn: Invalid input: expected string, received number');
  });
});

describe('parseConfig and unknown keys', () => {
  const columns = [{ name: 'order_id', type: 'BIGINT' }];
  const redshift = { workgroupName: 'wg', database: 'dev', copyRoleArn: 'arn:aws:iam::1:role/copy' };

  it.each([
    ['the top level', { datasets: [dataset], maxFilesPerBatc: 50 }, "maxFilesPerBatc: unknown key; did you mean 'maxFilesPerBatch'?"],
    ['a dataset', { datasets: [{ ...dataset, versionColum: 'updated_at' }] }, "datasets.0.versionColum: unknown key; did you mean 'versionColumn'?"],
    ['a dataset, by case only', { datasets: [{ ...dataset, loadmode: 'append' }] }, "datasets.0.loadmode: unknown key; did you mean 'loadMode'?"],
    ['a target', { datasets: [{ ...dataset, target: { schema: 'public', tabel: 'orders' } }] }, "datasets.0.target.tabel: unknown key; did you mean 'table'?"],
    ['a column', { datasets: [{ ...dataset, columns: [...columns, { nmae: 'amount', type: 'BIGINT' }] }] }, "datasets.0.columns.1.nmae: unknown key; did you mean 'name'?"],
    ['the redshift block', { datasets: [dataset], redshift: { ...redshift, databse: 'dev' } }, "redshift.databse: unknown key; did you mean 'database'?"],
  ])('refuses a misspelt key in %s, naming its path and the nearest valid key', (_level, raw, expected) => {
    expect(() => parseConfig(raw)).toThrow(ConfigurationError);
    expect(() => parseConfig(raw)).toThrow(expected);
  });

  it('lists the valid keys of the level when an unknown key is close to none', () => {
    expect(() => parseConfig({ datasets: [{ ...dataset, owner: 'data-team' }] })).toThrow(
      `datasets.0.owner: unknown key; valid keys here: ${Object.keys(datasetSchema.in.shape).join(', ')}`,
    );
  });

  it('names every unknown key of one object at its own path', () => {
    expect(() => parseConfig({ datasets: [{ ...dataset, versionColum: 'updated_at', schemadrift: 'fail' }] })).toThrow(
      "datasets.0.versionColum: unknown key; did you mean 'versionColumn'?; datasets.0.schemadrift: unknown key; did you mean 'schemaDrift'?",
    );
  });

  it('reports an unknown key together with the other problems of the configuration', () => {
    const raw = { datasets: [{ ...dataset, keyColumns: [], versionColum: 'updated_at' }] };
    expect(() => parseConfig(raw)).toThrow('datasets.0.versionColum: unknown key');
    expect(() => parseConfig(raw)).toThrow('datasets.0.keyColumns: upsert needs at least one key column');
  });

  it('accepts the example configuration', () => {
    const example: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'syncproof.config.example.json'), 'utf8'));
    expect(parseConfig(example).datasets.map((d) => d.name)).toEqual(['orders']);
  });

  it('accepts its own output, which the stack hands the stage Lambdas as JSON', () => {
    const parsed = parseConfig({ datasets: [{ ...dataset, columns, versionColumn: 'order_id', schemaDrift: 'add-columns' }], redshift });
    expect(parseConfig(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
  });
});

describe('datasetForKey', () => {
  const config = parseConfig({ datasets: [dataset, { ...dataset, name: 'customers', prefix: 'crm/customers/' }] });

  it.each([
    ['orders/2026/a.parquet', 'orders'],
    ['crm/customers/x.parquet', 'customers'],
    ['crm/other/x.parquet', undefined],
    ['ordersx/a.parquet', undefined],
  ])('maps %s to %s', (key, name) => {
    expect(datasetForKey(config, key)?.name).toBe(name);
  });
});

describe('source.timeZone', () => {
  const withZone = (timeZone?: string) => ({
    datasets: [
      {
        name: 'orders',
        target: { schema: 'public', table: 'orders' },
        source: { engine: 'mysql', url: 'mysql://reader@127.0.0.1:3306/shop', table: 'shop.orders', cursorColumn: 'updated_at', ...(timeZone === undefined ? {} : { timeZone }) },
      },
    ],
  });

  it('accepts an IANA zone and leaves it unset by default (UTC)', () => {
    expect(parseConfig(withZone('America/New_York')).datasets[0]!.source).toMatchObject({ timeZone: 'America/New_York' });
    expect(timeZoneOf(parseConfig(withZone()).datasets[0]!.source!)).toBe('UTC');
  });

  it('refuses an unknown zone, naming it and the nearest known one', () => {
    expect(() => parseConfig(withZone('America/New_Yrok'))).toThrow(
      "datasets.0.source.timeZone: unknown time zone 'America/New_Yrok': give an IANA name such as 'America/New_York' or 'UTC'; did you mean 'America/New_York'?",
    );
  });
});
