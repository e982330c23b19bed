import { decodeParquet } from '../../lambdas/adapters/parquet-file';
import { ChunkValueError, encodeChunk, type ChunkColumn } from '../../lambdas/adapters/parquet/chunk-columns';
import { createParquetEncoder, type ParquetEncoder } from '../../lambdas/adapters/parquet/encoder';
import type { SourceColumn, SourceValue } from '../../lambdas/core/source';
import { mapSourceType, type MappedType } from '../../lambdas/core/source-types';

function mapped(engine: 'mysql' | 'postgres', dataType: string, columnType: string, extra: Partial<SourceColumn> = {}): MappedType {
  const column: SourceColumn = { name: 'c', ordinal: 1, dataType, columnType, nullable: true, maxLength: null, numericPrecision: null, numericScale: null, datetimePrecision: null, charset: null, ...extra };
  const m = mapSourceType(engine, column, `db.t.${dataType}`);
  if (!m.ok) throw new Error(m.reason);
  return m.type;
}

const BIGINT = mapped('mysql', 'bigint', 'bigint');
const AMOUNT = mapped('mysql', 'decimal', 'decimal(12,2)', { numericPrecision: 12, numericScale: 2 });
const DATETIME = mapped('mysql', 'datetime', 'datetime(6)', { datetimePrecision: 6 });
const NOTE = mapped('mysql', 'varchar', 'varchar(4)', { maxLength: 4, charset: 'latin1' });

/** A chunk of `rows` rows: key, amount, datetime (a zero date in row 2), note, and a dropped column. */
function chunk(rows: number): ChunkColumn[] {
  const values = (f: (i: number) => SourceValue): SourceValue[] => Array.from({ length: rows }, (_, i) => f(i));
  return [
    { name: 'id', type: BIGINT, nullable: false, values: values((i) => BigInt(i + 1)) },
    { name: 'amount', type: AMOUNT, nullable: true, values: values((i) => (i % 5 === 0 ? null : `${i}.${String(i % 100).padStart(2, '0')}`)) },
    { name: 'at', type: DATETIME, nullable: true, values: values((i) => (i === 2 ? '0000-00-00 00:00:00' : `2024-01-01 00:00:${String(i % 60).padStart(2, '0')}.000001`)) },
    { name: 'note', type: NOTE, nullable: true, values: values((i) => `n${i % 100}`) },
    { name: 'gone', type: NOTE, nullable: true, values: null },
  ];
}

describe.each([0, 1])('the Parquet encoder with %d worker threads', (threads) => {
  let encoder: ParquetEncoder;
  beforeAll(() => {
    encoder = createParquetEncoder({ threads });
  });
  afterAll(async () => {
    await encoder.close();
  });

  it('writes the bytes encodeChunk writes on this thread, and counts zero dates', async () => {
    const columns = chunk(1000);
    const encoded = await encoder.encode(columns, 1000, { codec: 'GZIP' });

    expect(encoder.threads).toBe(threads);
    expect(Buffer.from(encoded.body).equals(Buffer.from(encodeChunk(columns, 1000, { codec: 'GZIP' }).body))).toBe(true);
    expect(encoded.zeroDates).toEqual({ at: 1 });
    const decoded = await decodeParquet('chunk.parquet', encoded.body);
    const column = (name: string) => Array.from(decoded.data[decoded.columns.indexOf(name)]!);
    expect(decoded.rowCount).toBe(1000);
    expect(column('id').slice(0, 3)).toEqual([1n, 2n, 3n]);
    expect(column('amount').slice(0, 3)).toEqual([null, '1.01', '2.02']);
    expect(column('at').slice(0, 4)).toEqual(['2024-01-01T00:00:00.000001Z', '2024-01-01T00:00:01.000001Z', null, '2024-01-01T00:00:03.000001Z']);
    expect(column('gone').every((v) => v === null)).toBe(true);
  });

  it('refuses a value its column cannot hold, naming the column and row', async () => {
    const columns = chunk(10).map((c) => (c.name === 'note' ? { ...c, values: c.values!.map((v, i) => (i === 7 ? 'too long' : v)) } : c));
    const refused = await encoder.encode(columns, 10, { codec: 'GZIP' }).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(ChunkValueError);
    expect(refused).toMatchObject({ column: 3, row: 7, reason: { kind: 'value', message: 'is 8 bytes long, more than the 4 bytes of its VARCHAR(4) column' } });
  });

  it('refuses a zero date in a NOT NULL column', async () => {
    const columns = chunk(10).map((c) => (c.name === 'at' ? { ...c, nullable: false } : c));

    await expect(encoder.encode(columns, 10, { codec: 'GZIP' })).rejects.toMatchObject({ name: 'ChunkValueError', column: 2, row: 2, reason: { kind: 'zero-date' } });
  });

  it("passes on the writer's own RangeError with its message", async () => {
    const columns = chunk(10).map((c) => (c.name === 'amount' ? { ...c, values: c.values!.map((v, i) => (i === 4 ? '1.234' : v)) } : c));
    const error = await encoder.encode(columns, 10, { codec: 'GZIP' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/^column 'amount' \(INT64\) row 4: /);
  });

  it('encodes chunks sent together, each its own file', async () => {
    const sizes = [3, 300, 30];
    const files = await Promise.all(sizes.map((n) => encoder.encode(chunk(n), n, { codec: 'SNAPPY' })));
    const decoded = await Promise.all(files.map((f, i) => decodeParquet(`chunk-${i}.parquet`, f.body)));

    expect(decoded.map((d) => d.rowCount)).toEqual(sizes);
  });
});

describe('a Parquet encoder thread', () => {
  it('rejects what is waiting when the encoder is closed, and starts a new thread on the next file', async () => {
    const encoder = createParquetEncoder({ threads: 1 });
    const waiting = encoder.encode(chunk(50_000), 50_000, { codec: 'GZIP' });
    await encoder.close();

    await expect(waiting).rejects.toThrow('the Parquet encoder was closed before the file was encoded');
    await expect(encoder.encode(chunk(5), 5, { codec: 'GZIP' })).resolves.toMatchObject({ zeroDates: { at: 1 } });
    await encoder.close();
  });
});
