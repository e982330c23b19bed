import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { BadFileError } from '../../lambdas/core/errors';
import { decodeParquet, encodeParquet, formatUnscaled, parquetToCsv, readParquetInfo } from '../../lambdas/adapters/parquet-file';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { CODEC_FIXTURES, CODEC_FIXTURE_COLUMNS } from '../fixtures/parquet/codec-rows';
import { withCodecEnum } from '../fixtures/parquet/patch-codec';

const TWO_53_PLUS_1 = 2n ** 53n + 1n;

/** One row per case, every writable type, nulls in every column. */
function everyTypeFile(): Uint8Array {
  return encodeParquet([
    { name: 'id', type: 'INT64', data: [TWO_53_PLUS_1, -9223372036854775808n, 9223372036854775807n, null] },
    { name: 'qty', type: 'INT32', data: [1, -2147483648, 2147483647, null] },
    { name: 'score', type: 'DOUBLE', data: [0.1, -1e-300, 1.7976931348623157e308, null] },
    { name: 'name', type: 'STRING', data: ['comma, "quote" and\nnewline', '', 'ünïcødé 😀 \\ backslash', null] },
    { name: 'flag', type: 'BOOLEAN', data: [true, false, true, null] },
    {
      name: 'ts',
      type: 'TIMESTAMP',
      data: [new Date(Date.UTC(2026, 0, 1, 12, 34, 56, 789)), '2026-06-30T23:59:59.999999Z', '1969-12-31T23:59:59.5Z', null],
    },
    { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ['12345678.91', '-0.05', '9999999999.99', null] },
    { name: 'small', type: 'DECIMAL', precision: 5, scale: 3, data: ['12.345', -0.5, 0, null] },
    {
      name: 'big',
      type: 'DECIMAL',
      precision: 38,
      scale: 10,
      data: ['1234567890123456789012345678.0123456789', '-0.0000000001', 7n, null],
    },
  ]);
}

describe('encodeParquet / decodeParquet', () => {
  it('round-trips every type exactly, including nulls, INT64 beyond 2^53 and DECIMAL(12,2)', async () => {
    const decoded = await decodeParquet('every.parquet', everyTypeFile());

    expect(decoded.rowCount).toBe(4);
    expect(decoded.columns).toEqual(['id', 'qty', 'score', 'name', 'flag', 'ts', 'amount', 'small', 'big']);
    const column = (name: string) => Array.from(decoded.data[decoded.columns.indexOf(name)]!);
    expect(column('id')).toEqual([TWO_53_PLUS_1, -9223372036854775808n, 9223372036854775807n, null]);
    expect(column('qty')).toEqual([1, -2147483648, 2147483647, null]);
    expect(column('score')).toEqual([0.1, -1e-300, 1.7976931348623157e308, null]);
    expect(column('name')).toEqual(['comma, "quote" and\nnewline', '', 'ünïcødé 😀 \\ backslash', null]);
    expect(column('flag')).toEqual([true, false, true, null]);
    expect(column('ts')).toEqual(['2026-01-01T12:34:56.789Z', '2026-06-30T23:59:59.999999Z', '1969-12-31T23:59:59.500Z', null]);
    expect(column('amount')).toEqual(['12345678.91', '-0.05', '9999999999.99', null]);
    expect(column('small')).toEqual(['12.345', '-0.500', '0.000', null]);
    expect(column('big')).toEqual(['1234567890123456789012345678.0123456789', '-0.0000000001', '7.0000000000', null]);
  });

  it('describes column types readably', async () => {
    const decoded = await decodeParquet('every.parquet', everyTypeFile());

    expect(decoded.types.map((t) => `${t.name}:${t.type}`)).toEqual([
      'id:INT64',
      'qty:INT32',
      'score:DOUBLE',
      'name:BYTE_ARRAY/STRING',
      'flag:BOOLEAN',
      'ts:TIMESTAMP_MICROS',
      'amount:DECIMAL(12,2)',
      'small:DECIMAL(5,3)',
      'big:DECIMAL(38,10)',
    ]);
  });

  it('decodes DECIMALs stored as BYTE_ARRAY, millisecond timestamps and dates', async () => {
    const bytes = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'd', data: [123456789012345678901n, -1n, null] },
          { name: 'ms', data: [new Date(Date.UTC(2026, 1, 3, 4, 5, 6, 7)), null, new Date(0)] },
          { name: 'day', data: [new Date(Date.UTC(2026, 1, 3)), new Date(Date.UTC(1960, 0, 1)), null] },
        ],
        schema: [
          { name: 'root', num_children: 3 },
          { name: 'd', type: 'BYTE_ARRAY', converted_type: 'DECIMAL', precision: 22, scale: 2, repetition_type: 'OPTIONAL' },
          { name: 'ms', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' },
          { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
        ],
      }),
    );

    const decoded = await decodeParquet('mixed.parquet', bytes);

    expect(decoded.data.map((c) => Array.from(c))).toEqual([
      ['1234567890123456789.01', '-0.01', null],
      ['2026-02-03T04:05:06.007Z', null, '1970-01-01T00:00:00.000Z'],
      ['2026-02-03', '1960-01-01', null],
    ]);
    expect(decoded.types.map((t) => t.type)).toEqual(['DECIMAL(22,2)', 'TIMESTAMP_MILLIS', 'DATE']);
  });

  it('keeps row order across row groups and returns the requested columns in the requested order', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => BigInt(i));
    const bytes = encodeParquet(
      [
        { name: 'id', type: 'INT64', data: ids },
        { name: 'label', type: 'STRING', data: ids.map((i) => `row ${i}`) },
      ],
      { rowGroupSize: 1000 },
    );

    const decoded = await decodeParquet('groups.parquet', bytes, ['label', 'id']);

    expect(decoded.columns).toEqual(['label', 'id']);
    expect(Array.from(decoded.data[1]!)).toEqual(ids);
    expect(decoded.data[0]![2499]).toBe('row 2499');
  });

  it('rejects a column the file does not have, naming the key and the column', async () => {
    await expect(decodeParquet('orders/a.parquet', everyTypeFile(), ['id', 'nope'])).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', key: 'orders/a.parquet', message: expect.stringContaining("'nope'") }),
    );
  });

  it('refuses to round a DECIMAL value with more fractional digits than the scale', () => {
    expect(() => encodeParquet([{ name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ['1.005'] }])).toThrow(RangeError);
  });

  it('refuses a DECIMAL value with more digits than the precision', () => {
    expect(() => encodeParquet([{ name: 'amount', type: 'DECIMAL', precision: 4, scale: 2, data: ['100.00'] }])).toThrow(RangeError);
  });

  it('raises BadFileError naming the key for a truncated file', async () => {
    const bytes = everyTypeFile();

    await expect(decodeParquet('orders/cut.parquet', bytes.slice(0, bytes.length - 10))).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', key: 'orders/cut.parquet' }),
    );
  });

  it('raises BadFileError for a corrupt data page', async () => {
    const bytes = everyTypeFile();
    bytes.fill(0xff, 4, 60); // the first column chunk's page header

    await expect(decodeParquet('orders/corrupt.parquet', bytes)).rejects.toBeInstanceOf(BadFileError);
  });
});

describe('formatUnscaled', () => {
  it.each([
    [1234567891n, 2, '12345678.91'],
    [-5, 2, '-0.05'],
    [0, 3, '0.000'],
    [42, 0, '42'],
    [-123456789012345678901234567890n, 5, '-1234567890123456789012345.67890'],
  ])('formats %p at scale %p as %p', (unscaled, scale, expected) => {
    expect(formatUnscaled(unscaled, scale)).toBe(expected);
  });
});

describe('parquetToCsv', () => {
  async function csvText(bytes: Uint8Array, columns: string[]): Promise<string> {
    const csv = await parquetToCsv('k', bytes, columns);
    const parts: Uint8Array[] = [];
    for await (const chunk of csv.chunks) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  }

  it('writes PostgreSQL CSV: NULL unquoted empty, strings quoted with doubled quotes, exact numbers and UTC timestamps', async () => {
    const text = await csvText(everyTypeFile(), ['id', 'qty', 'score', 'name', 'flag', 'ts', 'amount', 'small', 'big']);

    expect(text.split('\n')).toEqual([
      '9007199254740993,1,0.1,"comma, ""quote"" and',
      'newline",t,2026-01-01T12:34:56.789Z,12345678.91,12.345,1234567890123456789012345678.0123456789',
      '-9223372036854775808,-2147483648,-1e-300,"",f,2026-06-30T23:59:59.999999Z,-0.05,-0.500,-0.0000000001',
      '9223372036854775807,2147483647,1.7976931348623157e+308,"ünïcødé 😀 \\ backslash",t,1969-12-31T23:59:59.500Z,9999999999.99,0.000,7.0000000000',
      ',,,,,,,,',
      '',
    ]);
  });

  it('writes binary as bytea hex', async () => {
    const bytes = new Uint8Array(
      parquetWriteBuffer({
        columnData: [{ name: 'b', data: [new Uint8Array([0, 1, 171, 255]), null] }],
        schema: [
          { name: 'root', num_children: 1 },
          { name: 'b', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4, repetition_type: 'OPTIONAL' },
        ],
      }),
    );

    expect(await csvText(bytes, ['b'])).toBe('\\x0001abff\n\n');
  });

  it('writes an un-annotated BYTE_ARRAY as bytea hex when its column loads into bytea', async () => {
    const bytes = encodeParquet([{ name: 'b', type: 'BYTES', data: [new Uint8Array([0, 0x2c, 0x22, 0xff]), new Uint8Array(0), null] }]);

    const csv = await parquetToCsv('k', bytes, ['b'], { binaryColumns: ['b'] });
    const parts: Uint8Array[] = [];
    for await (const chunk of csv.chunks) parts.push(chunk);

    expect(Buffer.concat(parts).toString('utf8')).toBe('\\x002c22ff\n\\x\n\n');
  });

  it('writes an un-annotated BYTE_ARRAY as quoted UTF-8 text otherwise (older writers store strings so)', async () => {
    const bytes = encodeParquet([{ name: 'b', type: 'BYTES', data: [Buffer.from('a,"b"'), null] }]);

    expect(await csvText(bytes, ['b'])).toBe('"a,""b"""\n\n');
  });

  it('writes a negative zero DOUBLE or FLOAT as -0', async () => {
    const bytes = encodeParquet([
      { name: 'd', type: 'DOUBLE', data: [-0, 0] },
      { name: 'f', type: 'FLOAT', data: [-0, 0] },
    ]);

    expect(await csvText(bytes, ['d', 'f'])).toBe('-0,-0\n0,0\n');
  });

  it('emits every row of a multi-row-group file once, in order, across chunks', async () => {
    const ids = Array.from({ length: 150_000 }, (_, i) => BigInt(i));
    const bytes = encodeParquet([{ name: 'id', type: 'INT64', data: ids }], { rowGroupSize: 40_000 });

    const csv = await parquetToCsv('k', bytes, ['id'], { chunkBytes: 64 * 1024 });
    const parts: Uint8Array[] = [];
    for await (const chunk of csv.chunks) parts.push(chunk);

    expect(parts.length).toBeGreaterThan(1);
    const lines = Buffer.concat(parts).toString('utf8').trimEnd().split('\n');
    expect(lines).toEqual(ids.map(String));
  });

  it('rejects a file with a column the COPY list does not name when exactColumns is set', async () => {
    await expect(parquetToCsv('orders/extra.parquet', everyTypeFile(), ['id'], { exactColumns: true })).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', message: expect.stringContaining("'qty'") }),
    );
  });
});

describe('readParquetInfo', () => {
  let store: MemoryObjectStore;
  beforeEach(() => {
    store = new MemoryObjectStore();
  });

  function bigFile(rows: number): Uint8Array {
    const ids = Array.from({ length: rows }, (_, i) => BigInt(i));
    return encodeParquet(
      [
        { name: 'order_id', type: 'INT64', data: ids },
        { name: 'note', type: 'STRING', data: ids.map((i) => `note ${(i * 7919n) % 1_000_003n} ${i}`) },
        { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ids.map((i) => `${i}.25`) },
      ],
      { rowGroupSize: 50_000 },
    );
  }

  it('reads rows, columns and row groups from the footer through ranged reads only', async () => {
    const bytes = bigFile(200_000);
    await store.put('orders/big.parquet', bytes);
    expect(bytes.length).toBeGreaterThan(2 * 1024 * 1024);

    const info = await readParquetInfo(store, 'orders/big.parquet', bytes.length);

    expect(info).toEqual({
      rows: 200_000,
      rowGroups: 4,
      columns: [
        { name: 'order_id', type: 'INT64', nullable: true },
        { name: 'note', type: 'BYTE_ARRAY/STRING', nullable: true },
        { name: 'amount', type: 'DECIMAL(12,2)', nullable: true },
      ],
    });
    expect(store.reads.every((r) => r.range !== undefined)).toBe(true);
    expect(store.bytesRead).toBeLessThan(bytes.length / 10);
  });

  it('reads a footer larger than the first ranged read', async () => {
    const columns = Array.from({ length: 1500 }, (_, i) => ({ name: `column_with_a_long_name_${i}`, type: 'INT32' as const, data: [i] }));
    const bytes = encodeParquet(columns);
    await store.put('wide.parquet', bytes);

    const info = await readParquetInfo(store, 'wide.parquet', bytes.length);

    expect(info.columns).toHaveLength(1500);
    expect(info.columns[1499]?.name).toBe('column_with_a_long_name_1499');
    expect(store.reads.filter((r) => r.range && r.range.end - r.range.start > 4)).toHaveLength(2);
  });

  it('raises BadFileError naming the key for a truncated file', async () => {
    const bytes = bigFile(1000);
    const cut = bytes.slice(0, Math.floor(bytes.length / 2));
    await store.put('orders/truncated.parquet', cut);

    const read = readParquetInfo(store, 'orders/truncated.parquet', cut.length);

    await expect(read).rejects.toBeInstanceOf(BadFileError);
    await expect(read).rejects.toThrow(expect.objectContaining({ key: 'orders/truncated.parquet', message: expect.stringContaining('PAR1') }));
  });

  it('raises BadFileError for garbage bytes', async () => {
    const garbage = new TextEncoder().encode('id,amount\n1,12.50\n2,13.75\n'.repeat(20));
    await store.put('orders/not-parquet.parquet', garbage);

    await expect(readParquetInfo(store, 'orders/not-parquet.parquet', garbage.length)).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', key: 'orders/not-parquet.parquet' }),
    );
  });

  it('raises BadFileError for a file too short to be Parquet', async () => {
    await store.put('orders/empty.parquet', new Uint8Array(0));

    await expect(readParquetInfo(store, 'orders/empty.parquet', 0)).rejects.toThrow(expect.objectContaining({ name: 'BadFileError' }));
  });

  it('raises BadFileError when data was cut out but the footer survived', async () => {
    const bytes = bigFile(5000);
    const footerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 8, true) + 8;
    const spliced = new Uint8Array(bytes.length - 1000);
    spliced.set(bytes.subarray(0, bytes.length - footerLength - 1000));
    spliced.set(bytes.subarray(bytes.length - footerLength), spliced.length - footerLength);
    await store.put('orders/spliced.parquet', spliced);

    await expect(readParquetInfo(store, 'orders/spliced.parquet', spliced.length)).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', message: expect.stringContaining('outside the data area') }),
    );
  });
});

describe('Parquet files written by other tools, one per compression codec', () => {
  /** Files written by DuckDB and parquet-rs (test/fixtures/parquet/generate.ts), not by encodeParquet. */
  function fixture(file: string): Uint8Array {
    return new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', 'parquet', file)));
  }

  it.each(CODEC_FIXTURES.map((f) => [f.file, f] as const))('fixture %s was written by another tool with that codec on every column chunk', (_, f) => {
    const bytes = fixture(f.file);
    const metadata = parquetMetadata(bytes.buffer as ArrayBuffer);

    expect(bytes.length).toBeLessThan(10 * 1024);
    expect(metadata.created_by).toMatch(new RegExp(`^${f.createdBy}`));
    const chunks = metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data!));
    expect(new Set(chunks.map((c) => c.codec))).toEqual(new Set([f.codec]));
    if (f.pages === 'v2') expect(chunks.every((c) => c.encoding_stats?.some((s) => s.page_type === 'DATA_PAGE_V2'))).toBe(true);
  });

  it.each(CODEC_FIXTURES.map((f) => [f.file, f] as const))('decodes %s to exactly the values its writer was given', async (_, f) => {
    const decoded = await decodeParquet(f.file, fixture(f.file));

    expect(decoded.columns).toEqual(CODEC_FIXTURE_COLUMNS.map((c) => c.name));
    expect(decoded.data.map((c) => Array.from(c))).toEqual(CODEC_FIXTURE_COLUMNS.map((c) => c.values));
  });

  it('turns a ZSTD file into exact PostgreSQL CSV', async () => {
    const csv = await parquetToCsv('orders/duckdb.parquet', fixture('duckdb-zstd.parquet'), CODEC_FIXTURE_COLUMNS.map((c) => c.name), { exactColumns: true });
    const parts: Uint8Array[] = [];
    for await (const chunk of csv.chunks) parts.push(chunk);

    expect(Buffer.concat(parts).toString('utf8').split('\n')).toEqual([
      '9007199254740993,1,0.1,"comma, ""quote"" and',
      'newline",t,2026-02-03,2026-01-01T12:34:56.789012Z,2026-01-01T12:34:56.789012345Z,12345678.91,12.345,1234567890123456789012345678.0123456789',
      '-9223372036854775808,-2147483648,-1e-300,"",f,1960-01-01,2026-06-30T23:59:59.999999Z,1969-12-31T23:59:59.999999999Z,-0.05,-0.500,-0.0000000001',
      '9223372036854775807,2147483647,1.7976931348623157e+308,"ünïcødé 😀 \\ backslash",t,1970-01-01,1969-12-31T23:59:59.500Z,2000-01-01T00:00:00.000001Z,9999999999.99,0.000,7.0000000000',
      '0,0,3.5,"plain",f,9999-12-31,1970-01-01T00:00:00.000Z,1970-01-01T00:00:00.000Z,0.00,99.999,-9999999999999999999999999999.9999999999',
      ',,,,,,,,,,',
      '',
    ]);
  });

  // No tool at hand writes LZO (DuckDB refuses it, parquet-rs panics), so these files are the ZSTD
  // fixture with its footer patched to claim another codec (patch-codec.ts): the pages are intact
  // ZSTD, so only a check of the footer, made before any page is decoded, can name the codec.
  it.each([
    ['LZO', 3, 'LZO compression'],
    ['an unknown codec', 42, 'an unknown compression codec'],
  ])('refuses a file whose footer says %s, naming the codec and the columns and what to do, not "corrupt"', async (_, value, text) => {
    const bytes = withCodecEnum(fixture('duckdb-zstd.parquet'), value);

    const error = await parquetToCsv('orders/lzo.parquet', bytes, CODEC_FIXTURE_COLUMNS.map((c) => c.name)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BadFileError);
    const reason = (error as BadFileError).reason;
    expect(reason).toContain(text);
    expect(reason).toContain("'id', 'qty'");
    expect(reason).toContain('rewrite the file with');
    expect(reason).not.toContain('corrupt');
  });

  it('refuses only the column whose chunk uses LZO, and still decodes the other columns', async () => {
    const bytes = withCodecEnum(fixture('duckdb-zstd.parquet'), 3, CODEC_FIXTURE_COLUMNS.findIndex((c) => c.name === 'name'));

    await expect(decodeParquet('orders/lzo.parquet', bytes)).rejects.toThrow(
      expect.objectContaining({ name: 'BadFileError', reason: expect.stringMatching(/^column 'name' uses LZO compression/) }),
    );
    const decoded = await decodeParquet('orders/lzo.parquet', bytes, ['id', 'amount']);
    const written = (name: string) => CODEC_FIXTURE_COLUMNS.find((c) => c.name === name)!.values;
    expect(decoded.data.map((c) => Array.from(c))).toEqual([written('id'), written('amount')]);
  });
});
