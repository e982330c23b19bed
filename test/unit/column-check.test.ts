import { checkFileColumns, redshiftTypeFor } from '../../lambdas/core/column-check';

const target = [
  { name: 'id', type: 'bigint' },
  { name: 'name', type: 'character varying' },
  { name: 'day', type: 'date' },
];

describe('checkFileColumns', () => {
  it('accepts the target columns in order with loadable types', () => {
    expect(checkFileColumns([{ name: 'id', type: 'INT64' }, { name: 'name', type: 'BYTE_ARRAY/STRING' }, { name: 'day', type: 'DATE' }], target, 'public.t')).toEqual({ kind: 'ok' });
  });

  it('names the position and both columns when the order differs (Parquet COPY maps by position)', () => {
    const v = checkFileColumns([{ name: 'name', type: 'BYTE_ARRAY/STRING' }, { name: 'id', type: 'INT64' }, { name: 'day', type: 'DATE' }], target, 'public.t');
    expect(v).toMatchObject({ kind: 'order' });
    expect(v.kind === 'order' && v.reason).toContain("column 1 is 'name' but the target's column 1 is 'id'");
  });

  it.each([
    ['INT64 into INTEGER', [{ name: 'id', type: 'INT64' }], [{ name: 'id', type: 'integer' }], "column 'id' is INT64 in the file but integer"],
    ['a STRING into DATE', [{ name: 'day', type: 'BYTE_ARRAY/STRING' }], [{ name: 'day', type: 'date' }], "column 'day' is BYTE_ARRAY/STRING in the file but date"],
    ['TIME at all', [{ name: 't', type: 'TIME_MICROS' }], [{ name: 't', type: 'character varying' }], 'Redshift cannot load TIME_MICROS'],
  ])('refuses %s, which Redshift cannot load even where PostgreSQL would', (_name, file, tgt, message) => {
    const v = checkFileColumns(file, tgt, 'public.t');
    expect(v.kind).toBe('order');
    expect(v.kind === 'order' && v.reason).toContain(message);
  });

  it.each([
    ['an un-annotated BYTE_ARRAY into VARBYTE (Redshift)', 'BYTE_ARRAY', 'binary varying'],
    ['an un-annotated BYTE_ARRAY into bytea (PostgreSQL)', 'BYTE_ARRAY', 'bytea'],
    ['an un-annotated BYTE_ARRAY into VARCHAR', 'BYTE_ARRAY', 'character varying'],
    ['FLOAT into REAL', 'FLOAT', 'real'],
    ['an INT32 into SMALLINT', 'INT32', 'smallint'],
    ['a TIMESTAMP into TIMESTAMPTZ', 'TIMESTAMP_MICROS', 'timestamp with time zone'],
    ['DECIMAL(38,10) into DECIMAL', 'DECIMAL(38,10)', 'numeric'],
    ['a STRING (JSON text) into SUPER (Redshift)', 'BYTE_ARRAY/STRING', 'super'],
    ['a STRING (JSON text) into jsonb (PostgreSQL)', 'BYTE_ARRAY/STRING', 'jsonb'],
  ])('accepts %s', (_name, fileType, targetType) => {
    expect(checkFileColumns([{ name: 'c', type: fileType }], [{ name: 'c', type: targetType }], 'public.t')).toEqual({ kind: 'ok' });
  });

  it('refuses an un-annotated BYTE_ARRAY into a number column', () => {
    expect(checkFileColumns([{ name: 'c', type: 'BYTE_ARRAY' }], [{ name: 'c', type: 'integer' }], 'public.t').kind).toBe('order');
  });

  it('reports schema drift naming the added column with its type and the missing one', () => {
    const v = checkFileColumns([{ name: 'id', type: 'INT64' }, { name: 'surprise', type: 'BYTE_ARRAY/STRING' }], target, 'public.t');
    expect(v).toMatchObject({ kind: 'drift', added: [{ name: 'surprise', type: 'BYTE_ARRAY/STRING' }], missing: ['name', 'day'] });
    expect(v.kind === 'drift' && v.reason).toBe("column 'surprise' (BYTE_ARRAY/STRING) not in target table public.t; target columns 'name', 'day' missing from the file");
  });
});

describe('redshiftTypeFor', () => {
  it.each([
    ['BYTE_ARRAY', 'VARBYTE(1024000)'],
    ['FLOAT', 'REAL'],
    ['DECIMAL(38,10)', 'DECIMAL(38,10)'],
    ['DECIMAL(39,2)', undefined],
  ])('gives a new %s column the type %s', (parquetType, redshift) => {
    expect(redshiftTypeFor(parquetType)).toBe(redshift);
  });
});
