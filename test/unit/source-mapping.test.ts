import { assignWarehouseNames, warehouseName } from '../../lambdas/core/column-names';
import { jsonTypeOf, parseConfig } from '../../lambdas/core/config';
import type { SourceColumn, SourceTable } from '../../lambdas/core/source';
import { SourceSchemaError, resolveSourceSchema, datasetWithSchema } from '../../lambdas/core/source-schema';
import { ValueError, ZERO_DATE, convertValue, isZeroDate, mapSourceType, valueConverter, varcharBytes } from '../../lambdas/core/source-types';

function col(name: string, dataType: string, columnType = dataType, extra: Partial<SourceColumn> = {}): SourceColumn {
  return { name, ordinal: 1, dataType, columnType, nullable: true, maxLength: null, numericPrecision: null, numericScale: null, datetimePrecision: null, charset: null, ...extra };
}

function mysql(c: SourceColumn, booleanColumns: string[] = []): string {
  const m = mapSourceType('mysql', c, `db.t.${c.name}`, { booleanColumns: new Set(booleanColumns) });
  return m.ok ? m.type.redshift : `refused: ${m.reason}`;
}

function postgres(c: SourceColumn): string {
  const m = mapSourceType('postgres', c, `public.t.${c.name}`);
  return m.ok ? m.type.redshift : `refused: ${m.reason}`;
}

describe('warehouse column names', () => {
  it.each([
    ['190_time', 'col_190_time'],
    ['user', 'col_user'],
    ['OrderId', 'orderid'],
    ['order date', 'order_date'],
    ['prix€', 'prix_'],
    ['', 'col_'],
    ['timestamp', 'col_timestamp'],
  ])('names %p %p', (source, expected) => {
    expect(warehouseName(source)).toBe(expected);
  });

  it('cuts a name over 127 bytes and keeps two long names with one prefix apart', () => {
    const a = warehouseName('x'.repeat(200) + 'a');
    const b = warehouseName('x'.repeat(200) + 'b');
    expect(a.length).toBeLessThanOrEqual(127);
    expect(a).not.toBe(b);
  });

  it('gives a second column that folds to the same name a suffix, in table order', () => {
    expect([...assignWarehouseNames(['Total', 'total', 'TOTAL']).values()]).toEqual(['total', 'total_2', 'total_3']);
  });

  it('keeps every persisted name and names only the new columns', () => {
    const persisted = new Map([['total', 'total_2']]);
    expect(Object.fromEntries(assignWarehouseNames(['Total', 'total'], persisted))).toEqual({ total: 'total_2', Total: 'total' });
  });
});

describe('MySQL type mapping', () => {
  it.each(([
    [col('a', 'tinyint', 'tinyint(1)'), 'SMALLINT'],
    [col('a', 'int', 'int(10) unsigned'), 'BIGINT'],
    [col('a', 'int', 'int(11)'), 'INTEGER'],
    [col('a', 'bigint', 'bigint(20) unsigned'), 'DECIMAL(20,0)'],
    [col('a', 'bigint', 'bigint(20)'), 'BIGINT'],
    [col('a', 'decimal', 'decimal(12,2)', { numericPrecision: 12, numericScale: 2 }), 'DECIMAL(12,2)'],
    [col('a', 'decimal', 'decimal(65,30)', { numericPrecision: 65, numericScale: 30 }), 'VARCHAR(67)'],
    [col('a', 'datetime', 'datetime(6)'), 'TIMESTAMP'],
    [col('a', 'timestamp'), 'TIMESTAMP'],
    [col('a', 'time'), 'VARCHAR(24)'],
    [col('a', 'varchar', 'varchar(100)', { maxLength: 100, charset: 'utf8mb4' }), 'VARCHAR(400)'],
    [col('a', 'varchar', 'varchar(100)', { maxLength: 100, charset: 'latin1' }), 'VARCHAR(100)'],
    [col('a', 'varchar', 'varchar(20000)', { maxLength: 20000, charset: 'utf8mb4' }), 'VARCHAR(65535)'],
    [col('a', 'enum', "enum('a','bb')", { maxLength: 2, charset: 'utf8mb4' }), 'VARCHAR(8)'],
    [col('a', 'json'), 'VARCHAR(65535)'],
    [col('a', 'blob', 'blob', { maxLength: 65535 }), 'VARBYTE(65535)'],
    [col('a', 'longblob', 'longblob', { maxLength: 4294967295 }), 'VARBYTE(1024000)'],
    [col('a', 'year'), 'SMALLINT'],
  ] as [SourceColumn, string][]).map(([c, expected]) => ({ type: c.columnType, c, expected })))('maps $type to $expected', ({ c, expected }) => {
    expect(mysql(c)).toBe(expected);
  });

  it('maps TINYINT(1) to BOOLEAN only for a column named in booleanColumns', () => {
    expect(mysql(col('flag', 'tinyint', 'tinyint(1)'), ['flag'])).toBe('BOOLEAN');
    expect(mysql(col('level', 'tinyint', 'tinyint(1)'), ['flag'])).toBe('SMALLINT');
  });

  it('refuses an unsupported type, naming table, column and type', () => {
    expect(mysql(col('shape', 'geometry'))).toMatch(/^refused: db\.t\.shape has type geometry/);
  });

  it('warns when a DECIMAL is wider than Redshift holds', () => {
    const m = mapSourceType('mysql', col('a', 'decimal', 'decimal(65,30)', { numericPrecision: 65, numericScale: 30 }), 'db.t.a');
    expect(m.ok && m.type.warning).toMatch(/at most 38 digits/);
  });
});

describe('PostgreSQL type mapping', () => {
  it.each(([
    [col('a', 'numeric', 'numeric', { numericPrecision: 38, numericScale: 10 }), 'DECIMAL(38,10)'],
    [col('a', 'numeric', 'numeric'), 'VARCHAR(65535)'],
    [col('a', 'timestamp with time zone', 'timestamptz'), 'TIMESTAMPTZ'],
    [col('a', 'timestamp without time zone', 'timestamp'), 'TIMESTAMP'],
    [col('a', 'bytea'), 'VARBYTE(1024000)'],
    [col('a', 'character varying', 'varchar', { maxLength: 10 }), 'VARCHAR(40)'],
    [col('a', 'uuid'), 'VARCHAR(36)'],
    [col('a', 'real', 'float4'), 'REAL'],
    [col('a', 'interval'), 'VARCHAR(67)'],
  ] as [SourceColumn, string][]).map(([c, expected]) => ({ type: `${c.dataType} (${c.columnType})`, c, expected })))('maps $type to $expected', ({ c, expected }) => {
    expect(postgres(c)).toBe(expected);
  });

  it('refuses an array column', () => {
    expect(postgres(col('tags', 'array', '_text'))).toMatch(/^refused: public\.t\.tags has type _text/);
  });
});

describe('JSON type mapping (source.jsonType)', () => {
  const map = (engine: 'mysql' | 'postgres', c: SourceColumn, json?: 'varchar' | 'super') => {
    const m = mapSourceType(engine, c, `s.t.${c.name}`, json ? { json } : {});
    return m.ok ? m.type : m.reason;
  };

  it.each([
    ['mysql', 'json'],
    ['postgres', 'json'],
    ['postgres', 'jsonb'],
  ] as const)('maps %s %s to VARCHAR(65535) by default and with varchar', (engine, dataType) => {
    expect(map(engine, col('doc', dataType))).toEqual({ parquet: { type: 'STRING' }, redshift: 'VARCHAR(65535)', rule: 'text', maxBytes: 65_535 });
    expect(map(engine, col('doc', dataType), 'varchar')).toEqual(map(engine, col('doc', dataType)));
  });

  it.each([
    ['mysql', 'json'],
    ['postgres', 'json'],
    ['postgres', 'jsonb'],
  ] as const)('maps %s %s to SUPER with super, written to Parquet as its JSON text of at most 65,535 bytes', (engine, dataType) => {
    expect(map(engine, col('doc', dataType), 'super')).toEqual({ parquet: { type: 'STRING' }, redshift: 'SUPER', rule: 'text', maxBytes: 65_535 });
  });

  it('leaves every other type alone with super', () => {
    expect(map('mysql', col('t', 'text'), 'super')).toMatchObject({ redshift: 'VARCHAR(65535)' });
    expect(map('postgres', col('t', 'text'), 'super')).toMatchObject({ redshift: 'VARCHAR(65535)' });
  });

  it('refuses JSON text longer than the 65,535-byte staging VARCHAR, whole, saying why and what to do', () => {
    const type = map('mysql', col('doc', 'json'), 'super');
    if (typeof type === 'string') throw new Error(type);
    const doc = JSON.stringify({ s: 'é'.repeat(32_763) }); // 65,534 bytes
    expect(convertValue(type, doc)).toBe(doc);
    const long = JSON.stringify({ s: 'é'.repeat(32_764) }); // 65,536 bytes
    expect(() => convertValue(type, long)).toThrow('is 65536 bytes of JSON text, more than the 65535 bytes a SUPER column can take through the VARCHAR(65535) the load parses it from');
    expect(() => convertValue(type, long)).toThrow(expect.objectContaining({ advice: expect.stringContaining('shorten the document') }));
  });
});

describe('value conversion', () => {
  const text = (n: number) => ({ parquet: { type: 'STRING' as const }, redshift: `VARCHAR(${n})`, rule: 'text' as const, maxBytes: n });

  it('turns MySQL zero and partial dates into ZERO_DATE', () => {
    const date = { parquet: { type: 'DATE' as const }, redshift: 'DATE', rule: 'date' as const };
    expect(convertValue(date, '0000-00-00')).toBe(ZERO_DATE);
    expect(convertValue(date, '0000-11-30')).toBe(ZERO_DATE);
    expect(convertValue(date, '2024-00-10')).toBe(ZERO_DATE);
    expect(convertValue(date, '2024-02-29')).toBe('2024-02-29');
  });

  it.each([
    ['0000-00-00', true],
    ['0000-11-30 10:00:00', true],
    ['2024-00-10', true],
    ['2024-10-00 00:00:00.000000', true],
    ['2024-02-29', false],
    ['0001-01-01', false],
    ['2024-0a-00', false],
    ['202a-00-10', false],
    ['2024-00', false],
    ['', false],
  ])('tells a zero or partial date by its first characters, as ^(0000-|\\d{4}-00-|\\d{4}-\\d{2}-00) does (%p)', (text, zero) => {
    expect(isZeroDate(text)).toBe(zero);
    expect(/^(0000-|\d{4}-00-|\d{4}-\d{2}-00)/.test(text)).toBe(zero);
  });

  it('makes one converter per mapped type, which a column of values shares', () => {
    const bigint = { parquet: { type: 'INT64' as const }, redshift: 'BIGINT', rule: 'bigint' as const };
    const convert = valueConverter(bigint);
    expect(valueConverter(bigint)).toBe(convert);
    expect(['9223372036854775807', 12n, -12].map(convert)).toEqual([9223372036854775807n, 12n, -12n]);
  });

  it('counts VARCHAR length in UTF-8 bytes, as Redshift does', () => {
    expect(convertValue(text(4), '😀')).toBe('😀');
    expect(() => convertValue(text(4), 'a😀')).toThrow(ValueError);
    expect(() => convertValue(text(4), 'a😀')).toThrow('is 5 bytes long, more than the 4 bytes of its VARCHAR(4) column');
  });

  it.each([
    ['DATE', 'date', 'infinity'],
    ['DATE', 'date', '-infinity'],
    ['DATE', 'date', '4713-01-01 BC'],
    ['DATE', 'date', '10000-01-01'],
    ['TIMESTAMP', 'timestamp without time zone', '2024-01-01 00:00:00 BC'],
    ['TIMESTAMPTZ', 'timestamp with time zone', 'infinity'],
  ])('refuses a PostgreSQL %s the Parquet file cannot hold (%s %p)', (_t, dataType, text) => {
    const m = mapSourceType('postgres', col('a', dataType), 'public.t.a');
    expect(m.ok && (() => convertValue(m.type, text))).toThrow(ValueError);
  });

  it('refuses NUMERIC NaN for a DECIMAL column', () => {
    const m = mapSourceType('postgres', col('a', 'numeric', 'numeric', { numericPrecision: 38, numericScale: 10 }), 'public.t.a');
    expect(m.ok && (() => convertValue(m.type, 'NaN'))).toThrow('is NaN, which its DECIMAL(38,10) column cannot hold');
  });

  it('keeps BIGINT exact beyond 2^53', () => {
    expect(convertValue({ parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' }, '-9223372036854775808')).toBe(-9223372036854775808n);
  });

  it('sizes VARCHAR in bytes per character of the charset', () => {
    expect(varcharBytes(10, 'utf8mb4')).toBe(40);
    expect(varcharBytes(10, 'utf8mb3')).toBe(30);
    expect(varcharBytes(10, null)).toBe(40);
  });
});

describe('source schema', () => {
  const table = (over: Partial<SourceTable> = {}): SourceTable => ({
    schema: 'shop',
    table: 'orders',
    columns: [
      col('id', 'bigint', 'bigint(20)', { nullable: false }),
      col('updated_at', 'datetime', 'datetime(6)'),
      col('190_time', 'int', 'int(11)'),
    ],
    primaryKey: ['id'],
    uniqueKeys: [],
    ...over,
  });
  const dataset = (source: Record<string, unknown> = {}) =>
    parseConfig({
      datasets: [{ name: 'orders', target: { schema: 'public', table: 'orders' }, source: { engine: 'mysql', url: 'mysql://u:p@127.0.0.1/shop', table: 'shop.orders', cursorColumn: 'updated_at', ...source } }],
    }).datasets[0]!;

  it('takes the primary key and names columns by the rule', () => {
    const { schema } = resolveSourceSchema(dataset(), table());
    expect(schema.keyColumns).toEqual(['id']);
    expect(schema.columns.map((c) => c.name)).toEqual(['id', 'updated_at', 'col_190_time']);
    expect(schema.cursorKind).toBe('time');
  });

  it('refuses a table without a primary key unless a unique key is named', () => {
    const noPk = table({ primaryKey: [], uniqueKeys: [['id']] });
    expect(() => resolveSourceSchema(dataset(), noPk)).toThrow('source table shop.orders has no primary key; name a unique key in source.keyColumns; its unique keys: (id)');
    expect(resolveSourceSchema(dataset({ keyColumns: ['id'] }), noPk).schema.keyColumns).toEqual(['id']);
  });

  it('refuses key columns that are no unique key', () => {
    expect(() => resolveSourceSchema(dataset({ keyColumns: ['190_time'] }), table())).toThrow(/neither its primary key nor a unique key/);
  });

  it('refuses a missing cursor column, listing the columns', () => {
    expect(() => resolveSourceSchema(dataset({ cursorColumn: 'modified' }), table())).toThrow("cursor column 'modified' is not a column of shop.orders (columns: id, updated_at, 190_time)");
  });

  it('refuses every unsupported column at once, before anything is extracted', () => {
    const t = table({ columns: [...table().columns, col('shape', 'geometry'), col('area', 'polygon')] });
    expect(() => resolveSourceSchema(dataset(), t)).toThrow(/shop\.orders\.shape has type geometry.*shop\.orders\.area has type polygon.*nothing was extracted/);
  });

  it('keeps names across runs when a column is added before the others, and marks dropped columns', () => {
    const first = resolveSourceSchema(dataset(), table()).schema;
    const changed = table({ columns: [col('190_Time', 'int'), ...table().columns.filter((c) => c.name !== '190_time')] });
    const second = resolveSourceSchema(dataset(), changed, first);
    expect(second.schema.columns.map((c) => [c.source, c.name, c.dropped ?? false])).toEqual([
      ['id', 'id', false],
      ['updated_at', 'updated_at', false],
      ['190_time', 'col_190_time', true],
      ['190_Time', 'col_190_time_2', false],
    ]);
    expect(second.changed).toBe(true);
  });

  it('refuses a column whose mapped type changed, naming both types', () => {
    const first = resolveSourceSchema(dataset(), table()).schema;
    const changed = table({ columns: table().columns.map((c) => (c.name === '190_time' ? col('190_time', 'varchar', 'varchar(10)', { maxLength: 10, charset: 'utf8mb4' }) : c)) });
    expect(() => resolveSourceSchema(dataset(), changed, first)).toThrow(SourceSchemaError);
    expect(() => resolveSourceSchema(dataset(), changed, first)).toThrow('shop.orders.190_time was int(11) (INTEGER) and is now varchar(10) (VARCHAR(40))');
  });

  it('keeps a persisted VARCHAR whose source type is unchanged when the mapping resizes it', () => {
    const withNote = table({ columns: [...table().columns, col('note', 'varchar', 'varchar(10)', { maxLength: 10, charset: 'utf8mb4' })] });
    const first = resolveSourceSchema(dataset(), withNote).schema;
    // As an earlier mapping persisted it (PostgreSQL INTERVAL was VARCHAR(64) before it was 67).
    const earlier = { ...first, columns: first.columns.map((c) => (c.source === 'note' ? { ...c, type: { ...c.type, redshift: 'VARCHAR(30)', maxBytes: 30 } } : c)) };
    const again = resolveSourceSchema(dataset(), withNote, earlier);
    expect(again.schema.columns.find((c) => c.source === 'note')?.type).toMatchObject({ redshift: 'VARCHAR(30)', maxBytes: 30 });
    expect(again.changed).toBe(false);
  });

  describe('with a JSON column', () => {
    const withDoc = (over: Partial<SourceTable> = {}) => table({ columns: [...table().columns, col('doc', 'json', 'json')], ...over });

    it('persists SUPER for a JSON column with jsonType super, and the load stage sees it', () => {
      const { schema } = resolveSourceSchema(dataset({ jsonType: 'super' }), withDoc());
      expect(schema.columns.find((c) => c.source === 'doc')?.type.redshift).toBe('SUPER');
      expect(datasetWithSchema(dataset({ jsonType: 'super' }), schema).columns).toContainEqual({ name: 'doc', type: 'SUPER' });
    });

    it('keeps a schema document written before jsonType existed unchanged', () => {
      const before = resolveSourceSchema(dataset(), withDoc()).schema;
      const again = resolveSourceSchema(dataset({ jsonType: 'varchar' }), withDoc(), before);
      expect(again.changed).toBe(false);
      expect(again.schema.columns.find((c) => c.source === 'doc')?.type.redshift).toBe('VARCHAR(65535)');
    });

    it.each([
      ['varchar', 'super', 'loads as VARCHAR(65535) and source.jsonType now asks for SUPER; set source.jsonType back to \'varchar\''],
      ['super', 'varchar', 'loads as SUPER and source.jsonType now asks for VARCHAR(65535); set source.jsonType back to \'super\''],
    ] as const)('refuses a change of jsonType from %s to %s for a dataset that already loaded, naming both types', (from, to, says) => {
      const first = resolveSourceSchema(dataset({ jsonType: from }), withDoc()).schema;
      expect(() => resolveSourceSchema(dataset({ jsonType: to }), withDoc(), first)).toThrow(SourceSchemaError);
      expect(() => resolveSourceSchema(dataset({ jsonType: to }), withDoc(), first)).toThrow(`shop.orders.doc (json) ${says}`);
      expect(() => resolveSourceSchema(dataset({ jsonType: to }), withDoc(), first)).toThrow(/change the target table \(or start a new dataset\)/);
    });

    it('refuses a JSON key column loaded as SUPER', () => {
      const keyed = withDoc({ columns: [...table().columns, col('doc', 'json', 'json', { nullable: false })], uniqueKeys: [['doc']] });
      expect(() => resolveSourceSchema(dataset({ jsonType: 'super', keyColumns: ['doc'] }), keyed)).toThrow(
        "key column shop.orders.doc would load as SUPER (source.jsonType 'super'), which cannot be a key of the merge",
      );
      expect(resolveSourceSchema(dataset({ keyColumns: ['doc'] }), keyed).schema.keyColumns).toEqual(['doc']);
    });
  });

  it('says the table was dropped when an earlier run saw it', () => {
    const first = resolveSourceSchema(dataset(), table()).schema;
    expect(() => resolveSourceSchema(dataset(), undefined, first)).toThrow(/does not exist \(it did on earlier runs: was it dropped or renamed\?\)/);
  });

  it('gives the load stage the target columns, key and the cursor as version column', () => {
    const d = datasetWithSchema(dataset(), resolveSourceSchema(dataset(), table()).schema);
    expect(d).toMatchObject({ prefix: '_syncproof/extracts/orders/', keyColumns: ['id'], versionColumn: 'updated_at', loadMode: 'upsert' });
    expect(d.columns).toEqual([{ name: 'id', type: 'BIGINT' }, { name: 'updated_at', type: 'TIMESTAMP' }, { name: 'col_190_time', type: 'INTEGER' }]);
  });
});

describe('source configuration', () => {
  const base = { name: 'orders', target: { schema: 'public', table: 'orders' } };
  it('refuses a misspelt source key with the nearest name', () => {
    expect(() => parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColum: 'x' } }] })).toThrow(
      "datasets.0.source.cursorColum: unknown key; did you mean 'cursorColumn'?",
    );
  });
  it('refuses a prefix on a dataset with a source', () => {
    expect(() => parseConfig({ datasets: [{ ...base, prefix: 'orders/', source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x' } }] })).toThrow(/datasets\.0\.prefix: remove it/);
  });
  it.each([
    ['super', 'super'],
    ['varchar', 'varchar'],
  ])('accepts jsonType %s', (value, expected) => {
    const config = parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x', jsonType: value } }] });
    expect(config.datasets[0]!.source?.jsonType).toBe(expected);
  });
  it('defaults jsonType to varchar', () => {
    const config = parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x' } }] });
    expect(jsonTypeOf(config.datasets[0]!.source!)).toBe('varchar');
  });
  it('refuses a misspelt jsonType value with the nearest valid value', () => {
    expect(() => parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x', jsonType: 'SUPPER' } }] })).toThrow(
      'datasets.0.source.jsonType: Invalid option: expected one of "varchar"|"super"; did you mean \'super\'?',
    );
  });
  it('lists the valid jsonType values when the given one is close to none', () => {
    expect(() => parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x', jsonType: 'document' } }] })).toThrow(
      /datasets\.0\.source\.jsonType: Invalid option: expected one of "varchar"\|"super"($|;)/,
    );
  });
  it('refuses a misspelt jsonType key with the nearest name', () => {
    expect(() => parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', url: 'mysql://a@b/c', table: 'c.t', cursorColumn: 'x', jsonTpye: 'super' } }] })).toThrow(
      "datasets.0.source.jsonTpye: unknown key; did you mean 'jsonType'?",
    );
  });
  it('needs exactly one of url and secretArn', () => {
    expect(() => parseConfig({ datasets: [{ ...base, source: { engine: 'mysql', table: 'c.t', cursorColumn: 'x' } }] })).toThrow(/set exactly one of url/);
  });
});
