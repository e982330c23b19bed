import { ConfigurationError } from '../../lambdas/core/errors';
import { datasetForKey, parseConfig } from '../../lambdas/core/config';

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
  ])('rejects %j naming the field', (raw, expected) => {
    expect(() => parseConfig(raw, 'test.json')).toThrow(ConfigurationError);
    expect(() => parseConfig(raw, 'test.json')).toThrow(expected);
  });

  it('names the source of the configuration in its error', () => {
    expect(() => parseConfig({}, 'my.config.json')).toThrow(/^my\.config\.json is invalid/);
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
