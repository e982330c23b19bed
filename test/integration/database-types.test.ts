/**
 * Every supported source type of the README's "Type mapping" table, end to end on real engines
 * (MariaDB, PostgreSQL): one table per engine with one column per type, rows of boundary values
 * and a row of NULLs, loaded by the state machine into the local warehouse and compared value by
 * value, read back as text. Normalised only where the mapping documents a change (booleans,
 * TIME as text, MySQL TIMESTAMP as UTC, VARBYTE as hex) or where the two engines only print the
 * same value differently (timestamp fractions, float exponents).
 *
 * Special values: REAL/DOUBLE -0, NaN, Infinity and -Infinity round trip (Redshift's floats store
 * them; the local warehouse too); NUMERIC NaN goes only to the unconstrained NUMERIC (text).
 * TIME covers MySQL's whole range (-838:59:59 … 838:59:59) and PostgreSQL's 24:00:00.
 *
 * JSON with `source.jsonType: 'super'`: nested objects, arrays, unicode (raw and escaped), number
 * digits (1.10), JSON null, a JSON string and SQL NULL, compared row by row with the source text as
 * the warehouse's JSON_PARSE reads it, read back with JSON_SERIALIZE / JSON_TYPEOF.
 */
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { quoteLiteral } from '../../lambdas/core/sql';
import { startDbRuntime, type DbRuntime } from '../support/db-runtime';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

/** The warehouse column as its information_schema says (PostgreSQL names: VARBYTE is bytea there). */
interface WarehouseType {
  readonly type: string;
  readonly length?: number;
  readonly precision?: number;
  readonly scale?: number;
}

/** How a value of a column is read as text on each side before comparing. */
type Reading = 'text' | 'bool' | 'number' | 'timestamp' | 'hex';

interface Column {
  readonly name: string;
  readonly ddl: string;
  readonly warehouse: WarehouseType;
  /** SQL literals of rows 1, 2, 3, … (row `NULL_ROW` is all NULL). */
  readonly values: readonly string[];
  readonly reading?: Reading;
}

const NULL_ROW = 9;

const varchar = (length: number): WarehouseType => ({ type: 'character varying', length });
const decimal = (precision: number, scale: number): WarehouseType => ({ type: 'numeric', precision, scale });
const SMALLINT: WarehouseType = { type: 'smallint' };
const INTEGER: WarehouseType = { type: 'integer' };
const BIGINT: WarehouseType = { type: 'bigint' };
const BOOLEAN: WarehouseType = { type: 'boolean' };
const BYTEA: WarehouseType = { type: 'bytea' };

const EMOJI = '😀';
const DIGITS38 = '9'.repeat(28) + '.' + '9'.repeat(10);
const DIGITS65 = '9'.repeat(35) + '.' + '9'.repeat(30);

const MYSQL_COLUMNS: readonly Column[] = [
  { name: 'c_bool', ddl: 'TINYINT(1)', warehouse: BOOLEAN, values: ['0', '1', '1'], reading: 'bool' },
  { name: 'c_tiny1', ddl: 'TINYINT(1)', warehouse: SMALLINT, values: ['-128', '127', '2'] },
  { name: 'c_tinyint', ddl: 'TINYINT', warehouse: SMALLINT, values: ['-128', '127', '0'] },
  { name: 'c_tinyint_u', ddl: 'TINYINT UNSIGNED', warehouse: SMALLINT, values: ['0', '255', '1'] },
  { name: 'c_smallint', ddl: 'SMALLINT', warehouse: SMALLINT, values: ['-32768', '32767', '0'] },
  { name: 'c_smallint_u', ddl: 'SMALLINT UNSIGNED', warehouse: INTEGER, values: ['0', '65535', '1'] },
  { name: 'c_mediumint', ddl: 'MEDIUMINT', warehouse: INTEGER, values: ['-8388608', '8388607', '0'] },
  { name: 'c_mediumint_u', ddl: 'MEDIUMINT UNSIGNED', warehouse: INTEGER, values: ['0', '16777215', '1'] },
  { name: 'c_int', ddl: 'INT', warehouse: INTEGER, values: ['-2147483648', '2147483647', '0'] },
  { name: 'c_int_u', ddl: 'INT UNSIGNED', warehouse: BIGINT, values: ['0', '4294967295', '1'] },
  { name: 'c_bigint', ddl: 'BIGINT', warehouse: BIGINT, values: ['-9223372036854775808', '9223372036854775807', '0'] },
  { name: 'c_bigint_u', ddl: 'BIGINT UNSIGNED', warehouse: decimal(20, 0), values: ['0', '18446744073709551615', '1'] },
  { name: 'c_bit1', ddl: 'BIT(1)', warehouse: BOOLEAN, values: ["b'0'", "b'1'", "b'1'"], reading: 'bool' },
  { name: 'c_bit12', ddl: 'BIT(12)', warehouse: BIGINT, values: ["b'0'", "b'111111111111'", "b'100000000001'"] },
  { name: 'c_bit63', ddl: 'BIT(63)', warehouse: BIGINT, values: ["b'0'", `b'${'1'.repeat(63)}'`, "b'1'"] },
  { name: 'c_dec', ddl: 'DECIMAL(38,10)', warehouse: decimal(38, 10), values: [`-${DIGITS38}`, DIGITS38, '0.0000000001'] },
  { name: 'c_dec_small', ddl: 'DECIMAL(5,2)', warehouse: decimal(5, 2), values: ['-999.99', '999.99', '-0.01'] },
  { name: 'c_dec65', ddl: 'DECIMAL(65,30)', warehouse: varchar(67), values: [`-${DIGITS65}`, DIGITS65, '0.000000000000000000000000000001'] },
  // FLOAT values whose float32 MySQL prints exactly (its text protocol prints 6 significant digits).
  { name: 'c_float', ddl: 'FLOAT', warehouse: { type: 'real' }, values: ['-1.5', '3.25e38', '0.125'], reading: 'number' },
  { name: 'c_double', ddl: 'DOUBLE', warehouse: { type: 'double precision' }, values: ['-1.7976931348623157e308', '1.7976931348623157e308', '2.2250738585072014e-308'], reading: 'number' },
  { name: 'c_date', ddl: 'DATE', warehouse: { type: 'date' }, values: ["'1000-01-01'", "'9999-12-31'", "'2024-02-29'"] },
  { name: 'c_datetime', ddl: 'DATETIME(6)', warehouse: { type: 'timestamp without time zone' }, values: ["'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'", "'2024-02-29 12:34:56.000001'"], reading: 'timestamp' },
  { name: 'c_timestamp', ddl: 'TIMESTAMP(6) NULL', warehouse: { type: 'timestamp without time zone' }, values: ["'1970-01-01 00:00:01.000000'", "'2038-01-19 03:14:07.999999'", "'2024-03-31 01:30:00.5'"], reading: 'timestamp' },
  { name: 'c_time', ddl: 'TIME', warehouse: varchar(24), values: ["'-838:59:59'", "'838:59:59'", "'-00:00:01'"] },
  { name: 'c_time6', ddl: 'TIME(6)', warehouse: varchar(24), values: ["'-838:59:59.000000'", "'838:59:59.000000'", "'-12:34:56.789012'"] },
  { name: 'c_year', ddl: 'YEAR', warehouse: SMALLINT, values: ['1901', '2155', '0'], reading: 'number' },
  { name: 'c_char', ddl: 'CHAR(10) CHARACTER SET utf8mb4', warehouse: varchar(40), values: ["''", `'${EMOJI.repeat(10)}'`, "'a b'"] },
  { name: 'c_varchar', ddl: 'VARCHAR(20) CHARACTER SET utf8mb4', warehouse: varchar(80), values: ["''", `'${EMOJI.repeat(20)}'`, "'tab\\tquote''s'"] },
  { name: 'c_latin1', ddl: 'VARCHAR(10) CHARACTER SET latin1', warehouse: varchar(10), values: ["'é'", "'café crme'", "'abc'"] },
  { name: 'c_text', ddl: 'TEXT', warehouse: varchar(65535), values: ["''", `'${'x'.repeat(1000)}${EMOJI}'`, "'line1\\nline2'"] },
  { name: 'c_mediumtext', ddl: 'MEDIUMTEXT', warehouse: varchar(65535), values: ["'m'", `'${EMOJI}'`, "'é'"] },
  { name: 'c_enum', ddl: "ENUM('a','bb','é😀')", warehouse: varchar(8), values: ["'a'", "'é😀'", "'bb'"] },
  { name: 'c_set', ddl: "SET('x','yy','z')", warehouse: varchar(24), values: ["''", "'x,yy,z'", "'z'"] },
  { name: 'c_json', ddl: 'JSON', warehouse: varchar(65535), values: ["'{}'", `'{"a": [1, 2.5, null], "é": "${EMOJI}"}'`, "'[true,false]'"] },
  { name: 'c_binary', ddl: 'BINARY(4)', warehouse: BYTEA, values: ['0x00000000', '0xffffffff', '0x00ff00'], reading: 'hex' },
  { name: 'c_varbinary', ddl: 'VARBINARY(8)', warehouse: BYTEA, values: ["''", '0x00ff00ff00ff00ff', '0x00'], reading: 'hex' },
  { name: 'c_blob', ddl: 'BLOB', warehouse: BYTEA, values: ['0x00', '0x000102fdfeff', "''"], reading: 'hex' },
  { name: 'c_longblob', ddl: 'LONGBLOB', warehouse: BYTEA, values: ['0x00', '0xff', '0x0000'], reading: 'hex' },
];

const POSTGRES_COLUMNS: readonly Column[] = [
  { name: 'c_smallint', ddl: 'smallint', warehouse: SMALLINT, values: ['-32768', '32767', '0'] },
  { name: 'c_integer', ddl: 'integer', warehouse: INTEGER, values: ['-2147483648', '2147483647', '0'] },
  { name: 'c_bigint', ddl: 'bigint', warehouse: BIGINT, values: ['-9223372036854775808', '9223372036854775807', '0'] },
  { name: 'c_numeric', ddl: 'numeric(38,10)', warehouse: decimal(38, 10), values: [`-${DIGITS38}`, DIGITS38, '0.0000000001'] },
  { name: 'c_numeric_free', ddl: 'numeric', warehouse: varchar(65535), values: [`-${DIGITS65}`, `${'1'.repeat(100)}.${'2'.repeat(100)}`, "'NaN'"] },
  { name: 'c_numeric_wide', ddl: 'numeric(50,5)', warehouse: varchar(52), values: [`-${'9'.repeat(45)}.99999`, `${'9'.repeat(45)}.99999`, '0.00001'] },
  { name: 'c_real', ddl: 'real', warehouse: { type: 'real' }, values: ["'-Infinity'", "'3.4028235e38'", "'NaN'", "'-0'", "'1.1754944e-38'"], reading: 'number' },
  { name: 'c_double', ddl: 'double precision', warehouse: { type: 'double precision' }, values: ["'-Infinity'", "'Infinity'", "'NaN'", "'-0'", "'4.9e-324'"], reading: 'number' },
  { name: 'c_boolean', ddl: 'boolean', warehouse: BOOLEAN, values: ['false', 'true', 'true'], reading: 'bool' },
  { name: 'c_date', ddl: 'date', warehouse: { type: 'date' }, values: ["'0001-01-01'", "'9999-12-31'", "'2024-02-29'"] },
  { name: 'c_timestamp', ddl: 'timestamp(6)', warehouse: { type: 'timestamp without time zone' }, values: ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2024-02-29 12:34:56.000001'"], reading: 'timestamp' },
  { name: 'c_timestamptz', ddl: 'timestamptz(6)', warehouse: { type: 'timestamp with time zone' }, values: ["'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'", "'2024-03-01 10:00:00.5+05:30'"], reading: 'timestamp' },
  { name: 'c_time', ddl: 'time(6)', warehouse: varchar(24), values: ["'00:00:00'", "'24:00:00'", "'23:59:59.999999'"] },
  { name: 'c_timetz', ddl: 'timetz(6)', warehouse: varchar(24), values: ["'00:00:00-15:59'", "'24:00:00+15:59'", "'23:59:59.999999+05:30'"] },
  {
    name: 'c_interval',
    ddl: 'interval',
    warehouse: varchar(67),
    values: ["'-178000000 years'", "'178000000 years 11 mons 2147483647 days'", "'-1 day +02:03:04.000005'", "'-178956970 years -7 mons -2147483647 days -2562047787:00:54.775807'"],
  },
  { name: 'c_char', ddl: 'char(10)', warehouse: varchar(40), values: ["''", `'${EMOJI.repeat(10)}'`, "'a b'"] },
  { name: 'c_varchar', ddl: 'varchar(20)', warehouse: varchar(80), values: ["''", `'${EMOJI.repeat(20)}'`, "E'tab\\tquote''s'"] },
  { name: 'c_text', ddl: 'text', warehouse: varchar(65535), values: ["''", `'${'x'.repeat(1000)}${EMOJI}'`, "E'line1\\nline2 é'"] },
  { name: 'c_uuid', ddl: 'uuid', warehouse: varchar(36), values: ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'123e4567-e89b-12d3-a456-426614174000'"] },
  { name: 'c_json', ddl: 'json', warehouse: varchar(65535), values: ["'{}'", `'{"b": [1, 2.5, null],  "é": "${EMOJI}", "b": 2}'`, "'[true,false]'"] },
  { name: 'c_jsonb', ddl: 'jsonb', warehouse: varchar(65535), values: ["'{}'", `'{"b": [1, 2.5, null],  "é": "${EMOJI}", "b": 2}'`, "'[true,false]'"] },
  { name: 'c_enum', ddl: 'mood', warehouse: varchar(63), values: ["'sad'", `'é${EMOJI}'`, "'happy'"] },
  { name: 'c_bytea', ddl: 'bytea', warehouse: BYTEA, values: ["'\\x'", "'\\x00ff00ff'", "'\\x000102fdfeff'"], reading: 'hex' },
];

/** Text of a value as both sides print it, for the column's reading. */
function normalise(reading: Reading, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = Buffer.isBuffer(value) || value instanceof Uint8Array ? `\\x${Buffer.from(value).toString('hex')}` : String(value);
  switch (reading) {
    case 'text':
      return text;
    case 'bool':
      return ['1', 't', 'true'].includes(text) ? 'true' : ['0', 'f', 'false'].includes(text) ? 'false' : `not a boolean: ${text}`;
    case 'number':
      // Only the spelling differs (1e+308 / 1e308, -0 / -0.0): the value is compared exactly.
      return Object.is(Number(text), -0) ? '-0' : String(Number(text));
    case 'timestamp':
      return formatMicros(timeMicros(text));
    case 'hex':
      return text.replace(/^\\x/, '').toLowerCase();
  }
}

/** Source-side SQL that reads a column as text (MySQL BIT as its number, binary as hex). */
function sourceExpr(engine: Engine, c: Column): string {
  if (engine === 'postgres') return c.reading === 'hex' ? `encode(${c.name}, 'hex')` : c.name;
  if (c.ddl.startsWith('BIT')) return `${c.name} + 0`;
  if (c.reading === 'hex') return `HEX(${c.name})`;
  // The test connection parses JSON; the extract reads its text.
  if (c.ddl === 'JSON') return `CAST(${c.name} AS CHAR)`;
  return c.name;
}

/** Warehouse-side SQL (Redshift) that reads a column as text. */
function warehouseExpr(c: Column): string {
  return c.reading === 'hex' ? c.name : `CAST(${c.name} AS VARCHAR(65535))`;
}

const COLUMNS: Record<Engine, readonly Column[]> = { mysql: MYSQL_COLUMNS, postgres: POSTGRES_COLUMNS };

/**
 * JSON documents loaded as SUPER (`source.jsonType: 'super'`), by row id; `null` is SQL NULL.
 * Each is JSON text as the source holds it (backslashes are JSON escapes).
 */
const JSON_DOCS: readonly (string | null)[] = [
  '{"a": {"b": [1, {"c": "d"}], "e": true}, "f": false}',
  '[1, "two", null, [3, []], {}]',
  '{"s": "é😀 ü", "escaped": "\\u00e9\\ud83d\\ude00", "quote": "a\\"b"}',
  '{"n": 1.10, "big": 12345678901234567890.123, "small": 0.000001}',
  'null',
  '"a JSON string"',
  null,
];
/** The JSON columns of the SUPER table, per engine. */
const JSON_COLUMNS: Record<Engine, readonly { name: string; ddl: string }[]> = {
  mysql: [{ name: 'doc', ddl: 'JSON' }],
  postgres: [
    { name: 'doc', ddl: 'json' },
    { name: 'docb', ddl: 'jsonb' },
  ],
};

/** A string literal of the source's SQL (MySQL's default sql_mode treats backslashes as escapes). */
function sourceLiteral(engine: Engine, text: string | null): string {
  if (text === null) return 'NULL';
  const quoted = text.replace(/'/g, "''");
  return engine === 'mysql' ? `'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

function tableDdl(engine: Engine, table: string, columns: readonly Column[]): string {
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  return `CREATE TABLE ${table} (id INT NOT NULL PRIMARY KEY, updated_at ${time} NOT NULL, ${columns.map((c) => `${c.name} ${c.ddl}`).join(', ')})`;
}

/** Rows of boundary values (the row of NULLs not counted). */
function rowCount(columns: readonly Column[]): number {
  return Math.max(...columns.map((c) => c.values.length));
}

function insertRows(table: string, columns: readonly Column[]): string {
  const rows = rowCount(columns);
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    tuples.push(`(${r + 1}, '2024-03-01 10:00:0${r}', ${columns.map((c) => c.values[r] ?? 'NULL').join(', ')})`);
  }
  tuples.push(`(${NULL_ROW}, '2024-03-01 10:01:00', ${columns.map(() => 'NULL').join(', ')})`);
  return `INSERT INTO ${table} (id, updated_at, ${columns.map((c) => c.name).join(', ')}) VALUES ${tuples.join(', ')}`;
}

describe.each<Engine>(['mysql', 'postgres'])('every supported type of %s', (engine) => {
  let db: TestSourceDb;
  let env: DbRuntime;
  let columns: readonly Column[] = COLUMNS[engine];

  beforeAll(async () => {
    db = await startTestSource(engine);
    if (engine === 'postgres') {
      await db.exec(`CREATE TYPE mood AS ENUM ('happy', 'sad', 'é${EMOJI}')`);
      const citext = await db.exec('CREATE EXTENSION IF NOT EXISTS citext').then(
        () => true,
        () => false,
      );
      if (citext) columns = [...columns, { name: 'c_citext', ddl: 'citext', warehouse: varchar(65535), values: ["'MiXeD'", `'${EMOJI}'`, "''"] }];
    }
    await db.exec(tableDdl(engine, 'types', columns));
    await db.exec(insertRows('types', columns));
    const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
    const jsonColumns = JSON_COLUMNS[engine];
    await db.exec(`CREATE TABLE json_docs (id INT NOT NULL PRIMARY KEY, updated_at ${time} NOT NULL, ${jsonColumns.map((c) => `${c.name} ${c.ddl}`).join(', ')})`);
    await db.exec(
      `INSERT INTO json_docs (id, updated_at, ${jsonColumns.map((c) => c.name).join(', ')}) VALUES ` +
        JSON_DOCS.map((doc, i) => `(${i + 1}, '2024-03-01 10:00:0${i}', ${jsonColumns.map(() => sourceLiteral(engine, doc)).join(', ')})`).join(', '),
    );
    if (engine === 'mysql') {
      // Zero dates need a session that allows them (the test connection runs with sql_mode '').
      await db.exec('CREATE TABLE zero_dates (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, d DATE NULL, dt DATETIME NULL)');
      await db.exec('CREATE TABLE zero_not_null (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, dt DATETIME NOT NULL)');
    }
    env = await startDbRuntime(engine, db, [
      { name: 'types', table: 'types', source: engine === 'mysql' ? { booleanColumns: ['c_bool'] } : {} },
      ...(engine === 'mysql' ? [{ name: 'zero-dates', table: 'zero_dates' }, { name: 'zero-not-null', table: 'zero_not_null' }] : []),
      { name: 'json-super', table: 'json_docs', source: { jsonType: 'super' } },
    ]);
  });

  afterAll(async () => {
    await env?.stop();
    await db?.stop();
  });

  describe('a table with one column of each type', () => {
    let status: string | undefined;
    let content: { status: string; columns: number; notCompared: number; rowsSource: number; rowsWarehouse: number } | undefined;
    beforeAll(async () => {
      const run = await env.sync('types');
      expect(run).toMatchObject({ status: 'SUCCEEDED' });
      status = run.run?.status;
      content = (run.run?.stages?.commit as { content?: { status: string; columns: number; notCompared: number; rowsSource: number; rowsWarehouse: number } } | undefined)?.content;
    });

    it('proves the window by content before the watermark moves: every compared column equal on both sides', () => {
      // NOT_CHECKED (the comparison could not run) would hide every normalization gap of these types.
      expect(content).toMatchObject({ status: 'PASSED' });
      expect(content!.columns).toBeGreaterThan(columns.length / 2);
      expect(content!.rowsSource).toBe(content!.rowsWarehouse);
    });

    it('passes, with a warning only for the DECIMAL/NUMERIC loaded as VARCHAR', () => {
      // Precision > 38 (and PostgreSQL's unconstrained NUMERIC) is a documented warning.
      expect(status).toBe('PASSED_WITH_WARNINGS');
    });

    it('creates each warehouse column with the mapped type', async () => {
      const [schema, table] = env.target('types').split('.');
      const rows = await env.query(
        `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}'`,
      );
      const actual = new Map(rows.map((r) => [String(r.column_name), r]));
      const describe = (t: WarehouseType) => [t.type, t.length ?? null, t.precision ?? null, t.scale ?? null];
      const seen = columns.map((c) => {
        const r = actual.get(c.name);
        if (!r) return [c.name, 'missing'];
        const isNumeric = r.data_type === 'numeric';
        return [c.name, String(r.data_type), r.character_maximum_length === null ? null : Number(r.character_maximum_length), isNumeric ? Number(r.numeric_precision) : null, isNumeric ? Number(r.numeric_scale) : null];
      });
      expect(seen).toEqual(columns.map((c) => [c.name, ...describe(c.warehouse)]));
    });

    it.each(COLUMNS[engine].map((c) => [c.name, c] as const))('round-trips every value of %s', async (_name, column) => {
      const reading = column.reading ?? 'text';
      const source = await db.rows(`SELECT id, ${sourceExpr(engine, column)} AS v FROM types ORDER BY id`);
      const warehouse = await env.query(`SELECT id, ${warehouseExpr(column)} AS v FROM ${env.target('types')} ORDER BY id`);
      const side = (rows: Record<string, unknown>[]) => rows.map((r) => `${String(r.id)}: ${normalise(reading, r.v)}`);
      expect(source).toHaveLength(rowCount(columns) + 1);
      expect(side(warehouse)).toEqual(side(source));
    });

    it('round-trips citext when the server has it', async () => {
      const citext = columns.find((c) => c.name === 'c_citext');
      if (!citext) return;
      const source = await db.rows(`SELECT id, c_citext AS v FROM types ORDER BY id`);
      const warehouse = await env.query(`SELECT id, c_citext AS v FROM ${env.target('types')} ORDER BY id`);
      expect(warehouse.map((r) => [String(r.id), r.v])).toEqual(source.map((r) => [String(r.id), r.v]));
    });
  });

  describe('JSON columns with jsonType super', () => {
    const target = () => env.target('json-super');
    /** What the warehouse holds for `column`, row by row: its serialization, JSON type and SQL NULL-ness. */
    const loaded = async (column: string) =>
      (
        await env.query(
          `SELECT id, JSON_SERIALIZE(${column}) AS text, JSON_TYPEOF(${column}) AS type, CASE WHEN ${column} IS NULL THEN 'sql null' ELSE 'value' END AS present FROM ${target()} ORDER BY id`,
        )
      ).map((r) => `${String(r.id)}: ${String(r.present)} ${String(r.type)} ${String(r.text)}`);
    /** The source's JSON text of `column` as the warehouse parses it (JSON_PARSE), row by row. */
    const expected = async (column: string) => {
      const cast = engine === 'mysql' ? `CAST(${column} AS CHAR)` : `${column}::text`;
      const rows = await db.rows(`SELECT id, ${cast} AS v FROM json_docs ORDER BY id`);
      const out: string[] = [];
      for (const r of rows) {
        if (r.v === null) {
          out.push(`${String(r.id)}: sql null null null`);
          continue;
        }
        const doc = `JSON_PARSE(${quoteLiteral(String(r.v))})`;
        const [p] = await env.query(`SELECT JSON_SERIALIZE(${doc}) AS text, JSON_TYPEOF(${doc}) AS type`);
        out.push(`${String(r.id)}: value ${String(p!.type)} ${String(p!.text)}`);
      }
      return out;
    };

    beforeAll(async () => {
      expect(await env.sync('json-super')).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    });

    it('creates each JSON column as SUPER (JSONB in the local warehouse)', async () => {
      const [schema, table] = target().split('.');
      const rows = await env.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' ORDER BY ordinal_position`);
      expect(rows.map((r) => [r.column_name, r.data_type])).toEqual([
        ['id', 'integer'],
        ['updated_at', 'timestamp without time zone'],
        ...JSON_COLUMNS[engine].map((c) => [c.name, 'jsonb']),
      ]);
    });

    it.each(JSON_COLUMNS[engine].map((c) => [c.name, c.ddl] as const))('loads every document of %s (%s) parsed, value by value, JSON null apart from SQL NULL', async (column) => {
      const actual = await loaded(column);
      expect(actual).toHaveLength(JSON_DOCS.length);
      expect(actual).toEqual(await expected(column));
      // Parsed, not the text as a SUPER string; null is JSON null, and only the missing value is SQL NULL.
      expect(actual.map((line) => line.split(' ').slice(1, 3).join(' '))).toEqual([
        'value object',
        'value array',
        'value object',
        'value object',
        'value null',
        'value string',
        'sql null',
      ]);
    });

    it.each(JSON_COLUMNS[engine].map((c) => [c.name] as const))('keeps the digits of the numbers of %s (1.10, 20 integer digits), and unicode, exactly', async (column) => {
      const [precision] = await env.query(`SELECT JSON_SERIALIZE(${column}) AS text FROM ${target()} WHERE id = 4`);
      expect(String(precision!.text)).toMatch(/"n": ?1\.10\b/);
      expect(String(precision!.text)).toContain('12345678901234567890.123');
      const [unicode] = await env.query(`SELECT JSON_SERIALIZE(${column}) AS text FROM ${target()} WHERE id = 3`);
      expect(String(unicode!.text)).toContain('"é😀 ü"');
    });

    it('adds a JSON column the source gained later as SUPER, and loads it parsed', async () => {
      await db.exec(`ALTER TABLE json_docs ADD COLUMN extra ${engine === 'mysql' ? 'JSON' : 'jsonb'}`);
      await db.exec(`INSERT INTO json_docs (id, updated_at, extra) VALUES (8, '2024-03-01 11:00:00', '{"x": [1.10]}')`);
      expect(await env.sync('json-super')).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
      const [schema, table] = target().split('.');
      const [column] = await env.query(`SELECT data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' AND column_name = 'extra'`);
      expect(column).toEqual({ data_type: 'jsonb' });
      expect(await loaded('extra')).toEqual([...JSON_DOCS.map((_, i) => `${i + 1}: sql null null null`), '8: value object {"x": [1.10]}']);
    });

    it('fails the run on a document longer than the 65,535 bytes of the staging VARCHAR, naming table, column and key, and loads nothing of it', async () => {
      const before = await env.runtime.watermarks().get('json-super');
      const long = JSON.stringify({ s: 'x'.repeat(65_530) });
      const columns = JSON_COLUMNS[engine].map((c) => c.name);
      await db.exec(`INSERT INTO json_docs (id, updated_at, ${columns.join(', ')}) VALUES (42, '2024-03-02 00:00:00', ${columns.map(() => sourceLiteral(engine, long)).join(', ')})`);
      const run = await env.sync('json-super');
      expect(run).toMatchObject({ status: 'FAILED', error: 'SourceValueError' });
      expect(run.cause).toContain(`${db.schema}.json_docs.doc of the row with key (42) is 65538 bytes of JSON text, more than the 65535 bytes a SUPER column can take`);
      expect(await env.runtime.watermarks().get('json-super')).toEqual(before);
      const rows = await env.query(`SELECT id FROM ${target()} ORDER BY id`);
      expect(rows.map((r) => Number(r.id))).toEqual([...JSON_DOCS.map((_, i) => i + 1), 8]);
    });
  });

  const mysqlOnly = engine === 'mysql' ? it : it.skip;

  mysqlOnly('loads zero and partial dates of a nullable column as NULL and counts them per column', async () => {
    await db.exec(
      "INSERT INTO zero_dates (id, updated_at, d, dt) VALUES (1, '2024-03-01 10:00:00', '0000-00-00', '2024-01-02 03:04:05'), (2, '2024-03-01 10:00:01', '2024-00-10', '0000-00-00 00:00:00'), (3, '2024-03-01 10:00:02', '2024-05-06', '2024-05-06 07:08:09')",
    );
    const run = await env.sync('zero-dates');
    expect(run).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED_WITH_WARNINGS' } });
    const rows = await env.query(`SELECT id, CAST(d AS VARCHAR(20)) AS d, CAST(dt AS VARCHAR(30)) AS dt FROM ${env.target('zero-dates')} ORDER BY id`);
    expect(rows.map((r) => [String(r.id), r.d, r.dt])).toEqual([
      ['1', null, '2024-01-02 03:04:05'],
      ['2', null, null],
      ['3', '2024-05-06', '2024-05-06 07:08:09'],
    ]);
    expect((await env.runtime.watermarks().get('zero-dates'))?.lastRun).toMatchObject({ runId: run.name, extraction: { zeroDates: { d: 2, dt: 1 } } });
  });

  mysqlOnly('fails the run on a zero date in a NOT NULL column, naming table, column and key, and keeps the watermark', async () => {
    await db.exec("INSERT INTO zero_not_null (id, updated_at, dt) VALUES (1, '2024-03-01 10:00:00', '2024-01-02 03:04:05')");
    expect((await env.sync('zero-not-null')).run?.status).toBe('PASSED');
    const before = await env.runtime.watermarks().get('zero-not-null');
    await db.exec("INSERT INTO zero_not_null (id, updated_at, dt) VALUES (7, '2024-03-01 10:00:01', '0000-00-00 00:00:00')");
    const run = await env.sync('zero-not-null');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceValueError' });
    expect(run.cause).toContain(`${db.schema}.zero_not_null.dt of the row with key (7) is the zero date`);
    expect(await env.runtime.watermarks().get('zero-not-null')).toEqual(before);
    const rows = await env.query(`SELECT id FROM ${env.target('zero-not-null')} ORDER BY id`);
    expect(rows.map((r) => String(r.id))).toEqual(['1']);
  });
});
