/**
 * Every type the MySQL/PostgreSQL extraction writes, from encodeParquet to the warehouse: the
 * Parquet schema Redshift's COPY reads (checked with hyparquet), the values and refusals of the
 * writer, and a COPY into each Postgres-family warehouse (PGlite, a PostgreSQL server, the local
 * Redshift Data API) read back value by value as text.
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { decodeParquet, encodeParquet, readParquetInfo, type ParquetColumnInput } from '../../lambdas/adapters/parquet-file';
import { checkFileColumns } from '../../lambdas/core/column-check';
import type { SqlValue } from '../../lambdas/core/ports';
import { copyFromS3Parquet } from '../../lambdas/core/sql';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { useTestDatabase } from '../support/postgres';
import { warehouseBackends, type OpenedWarehouse } from '../support/warehouses';

const BUCKET = 'syncproof-types';
const IAM_ROLE = 'arn:aws:iam::000000000000:role/syncproof-local-copy';
const LONG_TEXT = 'x'.repeat(65535);

/** One target column: its Redshift type, the Parquet written for it, values in and text read back. */
interface TypeCase {
  readonly column: string;
  /** What the source column is (the extraction's mapping). */
  readonly source: string;
  readonly redshift: string;
  readonly parquet: Omit<ParquetColumnInput, 'name' | 'data'>;
  readonly values: readonly unknown[];
  /** SQL reading the column back as text. */
  readonly readBack: string;
  /** Read-back text turned into the compared value (floats become numbers, so -0 and NaN compare exactly). */
  readonly parse?: (text: string) => unknown;
  readonly expected: readonly unknown[];
}

const asNumber = (text: string): number => Number(text);
const hex = (...bytes: number[]): string => Buffer.from(bytes).toString('hex');

/** Seven rows: minimums, maximums, ordinary values, zero/empty, special values, NULL, more. */
const CASES: readonly TypeCase[] = [
  {
    column: 'k',
    source: 'BIGINT (bigint, number or decimal text)',
    redshift: 'BIGINT',
    parquet: { type: 'INT64' },
    values: [-9223372036854775808n, 9223372036854775807n, '-9007199254740993', 0, 42, null, 9007199254740993n],
    readBack: 'k::text',
    expected: ['-9223372036854775808', '9223372036854775807', '-9007199254740993', '0', '42', null, '9007199254740993'],
  },
  {
    column: 'i',
    source: 'INT',
    redshift: 'INTEGER',
    parquet: { type: 'INT32' },
    values: [-2147483648, 2147483647, 123456, 0, -1, null, 7],
    readBack: 'i::text',
    expected: ['-2147483648', '2147483647', '123456', '0', '-1', null, '7'],
  },
  {
    column: 'si',
    source: 'SMALLINT / TINYINT',
    redshift: 'SMALLINT',
    parquet: { type: 'INT32' },
    values: [-32768, 32767, 12, 0, -1, null, 255],
    readBack: 'si::text',
    expected: ['-32768', '32767', '12', '0', '-1', null, '255'],
  },
  {
    column: 'd38',
    source: 'DECIMAL(38,10)',
    redshift: 'DECIMAL(38,10)',
    parquet: { type: 'DECIMAL', precision: 38, scale: 10 },
    values: ['-9999999999999999999999999999.9999999999', '9999999999999999999999999999.9999999999', '12345.6789012345', '0', '-0.0000000001', null, '-0.00'],
    readBack: 'd38::text',
    expected: [
      '-9999999999999999999999999999.9999999999',
      '9999999999999999999999999999.9999999999',
      '12345.6789012345',
      '0.0000000000',
      '-0.0000000001',
      null,
      '0.0000000000',
    ],
  },
  {
    column: 'd12',
    source: 'DECIMAL(12,2)',
    redshift: 'DECIMAL(12,2)',
    parquet: { type: 'DECIMAL', precision: 12, scale: 2 },
    values: ['-9999999999.99', '9999999999.99', '12345678.91', '0.00', '-0.05', null, '7'],
    readBack: 'd12::text',
    expected: ['-9999999999.99', '9999999999.99', '12345678.91', '0.00', '-0.05', null, '7.00'],
  },
  {
    column: 'r',
    source: 'FLOAT / real',
    redshift: 'REAL',
    parquet: { type: 'FLOAT' },
    values: [-3.4028234663852886e38, 3.4028234663852886e38, 0.1, -0, NaN, null, Infinity],
    // float4 → float8 is exact, and float8's text is the shortest round trip.
    readBack: 'r::float8::text',
    parse: asNumber,
    expected: [-3.4028234663852886e38, 3.4028234663852886e38, Math.fround(0.1), -0, NaN, null, Infinity],
  },
  {
    column: 'dp',
    source: 'DOUBLE / double precision',
    redshift: 'DOUBLE PRECISION',
    parquet: { type: 'DOUBLE' },
    values: [-1.7976931348623157e308, 1.7976931348623157e308, 5e-324, -0, NaN, null, -Infinity],
    readBack: 'dp::text',
    parse: asNumber,
    expected: [-1.7976931348623157e308, 1.7976931348623157e308, 5e-324, -0, NaN, null, -Infinity],
  },
  {
    column: 'b',
    source: 'BOOLEAN / TINYINT(1)',
    redshift: 'BOOLEAN',
    parquet: { type: 'BOOLEAN' },
    values: [false, true, 1, 0, 'f', null, 't'],
    readBack: 'b::text',
    expected: ['false', 'true', 'true', 'false', 'false', null, 'true'],
  },
  {
    column: 'dt',
    source: 'DATE',
    redshift: 'DATE',
    parquet: { type: 'DATE' },
    values: ['0001-01-01', '9999-12-31', '2024-02-29', '1970-01-01', '1969-12-31', null, new Date(Date.UTC(2026, 0, 2))],
    readBack: 'dt::text',
    expected: ['0001-01-01', '9999-12-31', '2024-02-29', '1970-01-01', '1969-12-31', null, '2026-01-02'],
  },
  {
    column: 'ts',
    source: 'MySQL DATETIME / PostgreSQL timestamp (wall clock)',
    redshift: 'TIMESTAMP',
    parquet: { type: 'TIMESTAMP', adjustedToUtc: false },
    values: ['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2026-03-04 05:06:07.000008', '1970-01-01T00:00:00Z', '1969-12-31 23:59:59.999999+00:00', null, '2026-07-01 12:00:00.5+00'],
    readBack: 'ts::text',
    expected: ['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2026-03-04 05:06:07.000008', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999', null, '2026-07-01 12:00:00.5'],
  },
  {
    column: 'tsz',
    source: 'PostgreSQL timestamptz (an instant)',
    redshift: 'TIMESTAMPTZ',
    parquet: { type: 'TIMESTAMP', adjustedToUtc: true },
    values: [
      '0001-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999Z',
      '2026-03-04 05:06:07.123456+02',
      '2026-03-04T05:06:07.000001-05:30',
      '1969-12-31 23:59:59.999999+00',
      null,
      new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 1)),
    ],
    readBack: "(tsz AT TIME ZONE 'UTC')::text",
    expected: ['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2026-03-04 03:06:07.123456', '2026-03-04 10:36:07.000001', '1969-12-31 23:59:59.999999', null, '2026-01-01 00:00:00.001'],
  },
  {
    column: 'mts',
    source: 'MySQL TIMESTAMP (an instant, read in UTC)',
    redshift: 'TIMESTAMP',
    parquet: { type: 'TIMESTAMP', adjustedToUtc: true },
    values: ['1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', '2026-03-04 05:06:07.123456', '2000-01-01 00:00:00.000000', '2000-01-01 01:00:00+01', null, 1767225600000n * 1000n],
    readBack: 'mts::text',
    expected: ['1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', '2026-03-04 05:06:07.123456', '2000-01-01 00:00:00', '2000-01-01 00:00:00', null, '2026-01-01 00:00:00'],
  },
  {
    column: 's',
    source: 'VARCHAR / TEXT',
    redshift: 'VARCHAR(65535)',
    parquet: { type: 'STRING' },
    values: ['', 'comma, "quote"\nnew line\r\nend', 'back\\slash \\N \\. \\x00', 'emoji 😀 ünïcødé 中文', '\\.', null, LONG_TEXT],
    readBack: 's',
    expected: ['', 'comma, "quote"\nnew line\r\nend', 'back\\slash \\N \\. \\x00', 'emoji 😀 ünïcødé 中文', '\\.', null, LONG_TEXT],
  },
  {
    column: 't',
    source: 'TIME, ENUM, SET, JSON, UUID, DECIMAL(p > 38) as text',
    redshift: 'VARCHAR(256)',
    parquet: { type: 'STRING' },
    values: ['00:00:00', '23:59:59.999999', '{"a": [1, "b"]}', '123e4567-e89b-12d3-a456-426614174000', '123456789012345678901234567890123456789.5', null, 'red,green'],
    readBack: 't',
    expected: ['00:00:00', '23:59:59.999999', '{"a": [1, "b"]}', '123e4567-e89b-12d3-a456-426614174000', '123456789012345678901234567890123456789.5', null, 'red,green'],
  },
  {
    column: 'vb',
    source: 'BLOB / VARBINARY / bytea',
    redshift: 'VARBYTE(64)',
    parquet: { type: 'BYTES' },
    values: [new Uint8Array([0]), new Uint8Array(64).fill(255), Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]), new Uint8Array(0), Buffer.from('\\x41'), null, Buffer.from('a,"b"\n')],
    readBack: "encode(vb, 'hex')",
    expected: [hex(0), 'ff'.repeat(64), hex(0, 1, 2, 0x7f, 0x80, 0xfe, 0xff), '', Buffer.from('\\x41').toString('hex'), null, Buffer.from('a,"b"\n').toString('hex')],
  },
];

const ROWS = CASES[0]!.values.length;
const ORDER: ParquetColumnInput = { name: 'ord', type: 'INT32', nullable: false, data: Array.from({ length: ROWS }, (_, i) => i) };
const TYPES_DDL = `CREATE TABLE public.types (ord INTEGER NOT NULL ENCODE az64, ${CASES.map((c) => `${c.column} ${c.redshift}`).join(', ')}) DISTSTYLE AUTO SORTKEY(ord)`;

function typesFile(): Uint8Array {
  return encodeParquet([ORDER, ...CASES.map((c) => ({ ...c.parquet, name: c.column, data: c.values }))]);
}

describe('encodeParquet: the Parquet schema Redshift reads', () => {
  it.each([
    ['k', 'INT64', { type: 'INT64' }],
    ['si', 'INT32', { type: 'INT32' }],
    ['d38', 'DECIMAL(38,10) in a 16-byte FIXED_LEN_BYTE_ARRAY', { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, converted_type: 'DECIMAL', scale: 10, precision: 38, logical_type: { type: 'DECIMAL', scale: 10, precision: 38 } }],
    ['d12', 'DECIMAL(12,2) in an INT64', { type: 'INT64', converted_type: 'DECIMAL', scale: 2, precision: 12, logical_type: { type: 'DECIMAL', scale: 2, precision: 12 } }],
    ['r', 'FLOAT', { type: 'FLOAT' }],
    ['dp', 'DOUBLE', { type: 'DOUBLE' }],
    ['b', 'BOOLEAN', { type: 'BOOLEAN' }],
    ['dt', 'DATE', { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }],
    ['ts', 'TIMESTAMP(MICROS, isAdjustedToUTC=false)', { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } }],
    ['tsz', 'TIMESTAMP(MICROS, isAdjustedToUTC=true)', { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } }],
    ['s', 'STRING', { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }],
    ['vb', 'BYTE_ARRAY without annotation', { type: 'BYTE_ARRAY' }],
  ] as const)('writes column %s as %s', (column, _description, element) => {
    const node = parquetSchema(parquetMetadata(typesFile().buffer as ArrayBuffer)).children.find((n) => n.element.name === column)!;
    const { name: _name, repetition_type: _repetition, ...written } = node.element;

    expect(written).toEqual(element);
  });

  it('marks nullable columns OPTIONAL and nullable: false ones REQUIRED', () => {
    const schema = parquetSchema(parquetMetadata(typesFile().buffer as ArrayBuffer)).children.map((n) => `${n.element.name}:${n.element.repetition_type}`);

    expect(schema).toEqual(['ord:REQUIRED', ...CASES.map((c) => `${c.column}:OPTIONAL`)]);
  });

  it('records per column chunk the null count and exact min/max, NaN left out', () => {
    const stats = parquetMetadata(typesFile().buffer as ArrayBuffer).row_groups[0]!.columns.map((c) => c.meta_data!.statistics);
    const of = (column: string) => stats[CASES.findIndex((c) => c.column === column) + 1];

    expect(of('k')).toMatchObject({ null_count: 1n, min_value: -9223372036854775808n, max_value: 9223372036854775807n });
    expect(of('dp')).toMatchObject({ null_count: 1n, min_value: -Infinity, max_value: 1.7976931348623157e308 });
    expect(of('s')).toMatchObject({ null_count: 1n, min_value: '' });
    expect(of('vb')).toMatchObject({ null_count: 1n, min_value: new Uint8Array(0) });
  });
});

describe('encodeParquet: values read back from the file', () => {
  let decoded: Awaited<ReturnType<typeof decodeParquet>>;

  beforeAll(async () => {
    decoded = await decodeParquet('types.parquet', typesFile());
  });

  it.each(['ts', 'mts'])('keeps the microsecond digits of TIMESTAMP column %s', (column) => {
    const values = Array.from(decoded.data[decoded.columns.indexOf(column)]!);

    expect(values[1]).toMatch(/\.999999Z$/);
  });

  it('stores a wall-clock TIMESTAMP as its digits read as UTC', () => {
    expect(Array.from(decoded.data[decoded.columns.indexOf('ts')]!).slice(0, 3)).toEqual(['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999999Z', '2026-03-04T05:06:07.000008Z']);
  });

  it('stores an instant TIMESTAMP in UTC, its offset applied', () => {
    expect(Array.from(decoded.data[decoded.columns.indexOf('tsz')]!).slice(2, 4)).toEqual(['2026-03-04T03:06:07.123456Z', '2026-03-04T10:36:07.000001Z']);
  });

  it('writes FLOAT as 32-bit floats: NaN, -0 and Infinity kept, 0.1 rounded to the nearest float32', () => {
    expect(Array.from(decoded.data[decoded.columns.indexOf('r')]!)).toEqual([-3.4028234663852886e38, 3.4028234663852886e38, Math.fround(0.1), -0, NaN, null, Infinity]);
  });

  it('writes BYTES as the same bytes, 0x00 and the empty value included, distinct from NULL', async () => {
    const rows = (await parquetReadObjects({ file: typesFile().buffer as ArrayBuffer, columns: ['vb'], utf8: false })) as { vb: Uint8Array | null }[];

    expect(rows.map((r) => (r.vb === null ? null : Buffer.from(r.vb).toString('hex')))).toEqual(CASES.find((c) => c.column === 'vb')!.expected);
  });

  it('keeps the empty string distinct from NULL', () => {
    const s = Array.from(decoded.data[decoded.columns.indexOf('s')]!);

    expect([s[0], s[5]]).toEqual(['', null]);
  });

  it('keeps every value of a column spread over several pages and row groups, nulls in place', async () => {
    const n = 150_001;
    const ids = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : BigInt(i) * 1_000_003n));
    const text = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `row ${i} ${'é'.repeat(i % 7)}`));
    const flags = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : i % 2 === 0));
    const bytes = encodeParquet(
      [
        { name: 'id', type: 'INT64', data: ids },
        { name: 'text', type: 'STRING', data: text },
        { name: 'flag', type: 'BOOLEAN', data: flags },
      ],
      { rowGroupSize: 70_000 },
    );

    const out = await decodeParquet('big.parquet', bytes);

    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups.map((g) => Number(g.num_rows))).toEqual([70_000, 70_000, 10_001]);
    expect(Array.from(out.data[0]!)).toEqual(ids);
    expect(Array.from(out.data[1]!)).toEqual(text);
    expect(Array.from(out.data[2]!)).toEqual(flags);
  });

  it.each(['SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const)('writes the same values with codec %s when asked', async (codec) => {
    const bytes = encodeParquet([{ name: 's', type: 'STRING', data: ['a', null, 'b'] }], { codec });

    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups[0]!.columns[0]!.meta_data!.codec).toBe(codec);
    expect(Array.from((await decodeParquet('u.parquet', bytes)).data[0]!)).toEqual(['a', null, 'b']);
  });
});

describe('encodeParquet: refusals (a RangeError naming the column and row, never a rounded or shifted value)', () => {
  it.each<[string, Omit<ParquetColumnInput, 'name'>, string]>([
    ['sub-microsecond digits', { type: 'TIMESTAMP', data: ['2026-01-01 00:00:00.0000001'] }, 'more than microsecond precision'],
    ['year 0000', { type: 'TIMESTAMP', data: ['0000-12-31 23:59:59'] }, 'between years 0001 and 9999'],
    ['an offset that moves a value before year 0001', { type: 'TIMESTAMP', data: ['0001-01-01 00:00:00+01'] }, 'outside years 0001–9999'],
    ['an offset on a wall-clock TIMESTAMP', { type: 'TIMESTAMP', adjustedToUtc: false, data: ['2026-01-01 00:00:00+02'] }, 'wall-clock'],
    ['hour 24', { type: 'TIMESTAMP', data: ['2026-01-01 24:00:00'] }, 'outside 00:00:00–23:59:59'],
    ['February 29 of a common year', { type: 'DATE', data: ['2023-02-29'] }, 'is not a date'],
    ['a FLOAT beyond float32', { type: 'FLOAT', data: [1e39] }, 'beyond FLOAT (REAL) range'],
    ['an INT64 beyond 2^63', { type: 'INT64', data: [2n ** 63n] }, 'outside the INT64 range'],
    ['an unsafe INT64 number', { type: 'INT64', data: [2 ** 53] }, 'not a safe integer'],
    ['an INT32 fraction', { type: 'INT32', data: [1.5] }, 'not an integer in the INT32 range'],
    ['a DOUBLE from text that is no number', { type: 'DOUBLE', data: ['abc'] }, 'is not a number'],
    ['BYTES that are a string', { type: 'BYTES', data: ['abc'] }, 'not a BYTES value'],
    ['a BOOLEAN from unknown text', { type: 'BOOLEAN', data: ['maybe'] }, 'is not a boolean'],
    ['a DECIMAL with too many digits', { type: 'DECIMAL', precision: 5, scale: 2, data: ['1234.5'] }, 'does not fit DECIMAL(5,2)'],
    ['a null in a column that is not nullable', { type: 'STRING', nullable: false, data: [null] }, 'not nullable'],
  ])('refuses %s', (_name, column, message) => {
    expect(() => encodeParquet([{ name: 'c', ...column }])).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringContaining(message) }));
    expect(() => encodeParquet([{ name: 'c', ...column }])).toThrow("column 'c'");
  });

  it('refuses adjustedToUtc on a column that is not a TIMESTAMP', () => {
    expect(() => encodeParquet([{ name: 'c', type: 'DATE', adjustedToUtc: true, data: [] }])).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Into the warehouse

const backends = warehouseBackends(useTestDatabase(), IAM_ROLE);

describe.each(backends)('COPY of every type into $name', (backend) => {
  let objects: MemoryObjectStore;
  let opened: OpenedWarehouse;
  let rows: Record<string, SqlValue>[];

  beforeAll(async () => {
    objects = new MemoryObjectStore(BUCKET);
    opened = await backend.open(objects);
    const file = await objects.put('types/part-0.parquet', typesFile());
    await opened.warehouse.executeTransaction(
      [TYPES_DDL, copyFromS3Parquet({ table: '"public"."types"', bucket: BUCKET, key: 'types/part-0.parquet', iamRole: IAM_ROLE })],
      'types',
    );
    expect(file.size).toBeGreaterThan(0);
    rows = await opened.warehouse.query(`SELECT ord, ${CASES.map((c) => `${c.readBack} AS ${c.column}`).join(', ')} FROM public.types ORDER BY ord`);
  });

  afterAll(async () => {
    await opened?.close();
  });

  it('loads every row', () => {
    expect(rows.map((r) => r.ord)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
  });

  it.each(CASES.map((c) => [c.column, c.redshift, c.source, c] as const))('loads %s %s (%s) value by value', (_column, _type, _source, c) => {
    const got = rows.map((r) => {
      const v = r[c.column] ?? null;
      return v === null || !c.parse ? v : c.parse(String(v));
    });

    expect(got).toEqual(c.expected);
  });

  it("passes the load stage's column check against the table's information_schema types", async () => {
    const info = await readParquetInfo(objects, 'types/part-0.parquet', (await objects.head('types/part-0.parquet'))!.size);
    const target = await opened.warehouse.query(
      "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'types' ORDER BY ordinal_position",
    );

    expect(checkFileColumns(info.columns, target as { name: string; type: string }[], 'public.types')).toEqual({ kind: 'ok' });
  });
});
