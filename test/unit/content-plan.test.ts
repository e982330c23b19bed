import { buildPlan, ContentPlanError, cursorFilter, datasetPlan } from '../../lambdas/core/content/plan';
import type { SchemaDocument } from '../../lambdas/core/source-schema';

describe('buildPlan', () => {
  it('reconciles catalog types: coarser timestamp precision, decimal scale, float digits, instants', () => {
    const { plan, onlyA, onlyB } = buildPlan(
      [
        { name: 'id', type: 'bigint' },
        { name: 'at', type: 'datetime', datetimePrecision: 6 },
        { name: 'tz', type: 'timestamp', datetimePrecision: 3 },
        { name: 'price', type: 'decimal', scale: 2 },
        { name: 'r', type: 'float' },
        { name: 'flag', type: 'tinyint(1)' },
        { name: 'only_a', type: 'text' },
      ],
      [
        { name: 'id', type: 'integer' },
        { name: 'at', type: 'timestamp without time zone', datetimePrecision: 3 },
        { name: 'tz', type: 'timestamp with time zone', datetimePrecision: 6 },
        { name: 'price', type: 'numeric', scale: 3 },
        { name: 'r', type: 'double precision' },
        { name: 'flag', type: 'boolean' },
        { name: 'only_b', type: 'text' },
      ],
      { key: ['id'], mysqlSide: 'a', floatTolerance: 1e-9 },
    );
    expect(plan.segmentation).toBe('range');
    expect(plan.columns.map((c) => [c.a, c.type])).toEqual([
      ['at', { kind: 'timestamp', precision: 3, tz: false }],
      ['tz', { kind: 'timestamp', precision: 3, tz: true }],
      ['price', { kind: 'decimal', scale: 3 }],
      ['r', { kind: 'float', digits: 6 }],
      ['flag', { kind: 'boolean' }],
    ]);
    expect([onlyA, onlyB]).toEqual([['only_a'], ['only_b']]);
  });

  it('compares a decimal of undeclared scale at UNDECLARED_SCALE digits, whatever the other side declares; an integer stays at scale 0', () => {
    const { plan } = buildPlan(
      [{ name: 'id', type: 'integer' }, { name: 'bare', type: 'numeric' }, { name: 'mixed', type: 'numeric' }, { name: 'whole', type: 'integer' }],
      [{ name: 'id', type: 'integer' }, { name: 'bare', type: 'numeric' }, { name: 'mixed', type: 'numeric', scale: 2 }, { name: 'whole', type: 'numeric', scale: 2 }],
      { key: ['id'] },
    );
    expect(plan.columns.map((c) => [c.a, c.type])).toEqual([
      ['bare', { kind: 'decimal', scale: 30 }],
      ['mixed', { kind: 'decimal', scale: 30 }],
      ['whole', { kind: 'decimal', scale: 2 }],
    ]);
  });

  it('uses hash buckets for text and composite keys, and names an unknown column with the nearest', () => {
    const cat = [{ name: 'code', type: 'varchar' }, { name: 'n', type: 'int' }];
    expect(buildPlan(cat, cat, { key: ['code'] }).plan.segmentation).toBe('hash');
    expect(buildPlan(cat, cat, { key: ['n', 'code'] }).plan.segmentation).toBe('hash');
    expect(() => buildPlan(cat, cat, { key: ['cod'] })).toThrow(new ContentPlanError('key column cod is not in the first table (did you mean code?); its columns are code, n'));
    expect(() => buildPlan(cat, [{ name: 'code', type: 'bytea' }, { name: 'n', type: 'int' }], { key: ['n'] })).toThrow(/column code is varchar on one side and bytea on the other/);
  });
});

describe('datasetPlan', () => {
  const schema: SchemaDocument = {
    dataset: 'orders',
    engine: 'mysql',
    table: 'shop.orders',
    keyColumns: ['Order ID'],
    cursorColumn: 'updated',
    cursorKind: 'time',
    columns: [
      { source: 'Order ID', name: 'order_id', dataType: 'bigint', columnType: 'bigint', nullable: false, type: { parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' } },
      { source: 'updated', name: 'updated', dataType: 'timestamp', columnType: 'timestamp(3)', nullable: false, type: { parquet: { type: 'TIMESTAMP', adjustedToUtc: true }, redshift: 'TIMESTAMPTZ', rule: 'timestamp' } },
      { source: 'total', name: 'total', dataType: 'decimal', columnType: 'decimal(12,2)', nullable: true, type: { parquet: { type: 'DECIMAL', precision: 12, scale: 2 }, redshift: 'DECIMAL(12,2)', rule: 'decimal' } },
      { source: 'gone', name: 'gone', dataType: 'int', columnType: 'int', nullable: true, dropped: true, type: { parquet: { type: 'INT32' }, redshift: 'INTEGER', rule: 'int' } },
    ],
  };

  it('pairs source and warehouse names, types from the mapping, dropped columns left out', () => {
    const plan = datasetPlan(schema);
    expect(plan.key).toEqual([{ a: 'Order ID', b: 'order_id', type: { kind: 'integer' } }]);
    expect(plan.columns).toEqual([
      { a: 'updated', b: 'updated', type: { kind: 'timestamp', precision: 3, tz: true } },
      { a: 'total', b: 'total', type: { kind: 'decimal', scale: 2 } },
    ]);
    expect(cursorFilter(plan, schema, '2024-01-01 00:00:00')).toEqual({ a: 'updated', b: 'updated', type: plan.columns[0]!.type, from: '2024-01-01 00:00:00' });
  });
});
