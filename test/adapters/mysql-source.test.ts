/**
 * MysqlSource against a real MariaDB (a throwaway server per file, test/support/mariadb.ts):
 * descriptions as information_schema reports them, values in the canonical forms of SourceValue,
 * snapshot isolation, and the error taxonomy.
 */
import { createConnection } from 'mysql2/promise';
import { freePort } from '../../local/postgres-server';
import { MysqlSource } from '../../lambdas/adapters/mysql-source';
import { translateMysqlError } from '../../lambdas/adapters/mysql-source-errors';
import { SourceAccessDeniedError, SourceQueryError, SourceTableMissingError, SourceUnavailableError } from '../../lambdas/core/errors';
import type { SourceColumn, SourceValue } from '../../lambdas/core/source';
import { startTestMariadb, type TestMariadb } from '../support/mariadb';

const DB = 'syncproof_mysql_source';
const PASSWORD = 'Pw-4f1c9e27b3';
const WRONG_PASSWORD = 'Wrong-8d2a6b15c0';

/** Every type the source maps, one column each, nullable; row 1 holds values, row 2 NULLs. */
const VALUE_TABLE = `CREATE TABLE value_forms (
  id INT PRIMARY KEY,
  c_tinyint TINYINT, c_bool TINYINT(1), c_smallint SMALLINT, c_mediumint MEDIUMINT, c_int INT,
  c_int_unsigned INT UNSIGNED, c_bigint BIGINT, c_bigint_unsigned BIGINT UNSIGNED,
  c_decimal65 DECIMAL(65,30), c_decimal10 DECIMAL(10,2), c_float FLOAT, c_double DOUBLE,
  c_bit1 BIT(1), c_bit8 BIT(8),
  c_date DATE, c_datetime DATETIME, c_datetime6 DATETIME(6), c_timestamp6 TIMESTAMP(6) NULL, c_time TIME, c_year YEAR,
  c_char CHAR(4), c_varchar VARCHAR(20), c_latin1 VARCHAR(10) CHARACTER SET latin1,
  c_text TEXT, c_mediumtext MEDIUMTEXT, c_longtext LONGTEXT,
  c_binary BINARY(4), c_varbinary VARBINARY(8), c_blob BLOB,
  c_enum ENUM('small','large'), c_set SET('red','green','blue'), c_json JSON, c_geometry GEOMETRY
)`;

const VALUES_ROW = `INSERT INTO value_forms VALUES (1,
  -128, 1, -32768, -8388608, -2147483648,
  4294967295, -9223372036854775808, 18446744073709551615,
  '-12345678901234567890123456789012345.123456789012345678901234567890', -12.34, 3.5, 2.718281828459045,
  b'1', b'10100101',
  '2024-02-29', '2024-02-29 23:59:59', '2024-02-29 23:59:59.123456', '2024-01-01 05:30:00.250000', '-12:30:00', 2024,
  'ab', 'h\u00e9llo \u{1F600}', 'caf\u00e9',
  'text', 'medium text', 'long text',
  x'00ff', x'00C328', x'80FF0041',
  'large', 'red,blue', '{"b": [1, 2],   "a": "x"}', ST_GeomFromText('POINT(1 2)'))`;

/** Rows of MySQL's invalid dates, inserted with sql_mode '' (the strict default refuses them). */
const ODD_DATES = `INSERT INTO value_forms (id, c_date, c_datetime, c_time) VALUES
  (3, '0000-00-00', '0000-00-00 00:00:00', '838:59:59'),
  (4, '0000-11-30', '2024-00-00 10:00:00', '-00:00:01')`;

let server: TestMariadb;
let url: string;
let source: MysqlSource;
let rows: Map<number, SourceValue[]>;
let columns: string[];

function withUser(base: string, user: string, password: string): string {
  const u = new URL(base);
  u.username = user;
  u.password = password;
  return u.toString();
}

/** The value of `column` in row `id` of value_forms, as the snapshot read it in beforeAll. */
function value(id: number, column: string): SourceValue {
  const row = rows.get(id);
  const index = columns.indexOf(column);
  if (!row || index < 0) throw new Error(`no value_forms row ${id} or column ${column}`);
  return row[index]!;
}

beforeAll(async () => {
  server = await startTestMariadb();
  url = await server.createDatabase(DB);
  await server.admin.query(`SET GLOBAL time_zone = '+05:30'`);
  const writer = await createConnection({ uri: url, multipleStatements: true });
  try {
    await writer.query(`SET SESSION time_zone = '+05:30', SESSION sql_mode = ''`);
    await writer.query(`${VALUE_TABLE}; ${VALUES_ROW}; INSERT INTO value_forms (id) VALUES (2); ${ODD_DATES}`);
    await writer.query(`
      CREATE TABLE composite_key (tenant INT NOT NULL, created DATE NOT NULL, seq INT NOT NULL, note TEXT, PRIMARY KEY (tenant, seq, created));
      CREATE TABLE unique_only (code VARCHAR(8) NOT NULL, region CHAR(2) NOT NULL, label TEXT, UNIQUE KEY by_code (region, code));
      CREATE TABLE events (id INT PRIMARY KEY, body VARCHAR(20));
      INSERT INTO events VALUES (1, 'first');
      CREATE VIEW events_view AS SELECT id FROM events;
      CREATE USER 'reader'@'%' IDENTIFIED BY '${PASSWORD}';
      GRANT SELECT ON ${DB}.* TO 'reader'@'%'`);
  } finally {
    await writer.end();
  }
  source = await MysqlSource.connect(url);
  columns = ((await source.describeTable({ schema: DB, table: 'value_forms' }))?.columns ?? []).map((c) => c.name);
  rows = new Map(
    (await source.snapshot((s) => s.query('SELECT * FROM value_forms ORDER BY id'))).map((row) => [Number(row[0]), row]),
  );
});

afterAll(async () => {
  await source?.close();
  await server?.stop();
});

describe('describeTable', () => {
  it('reports every column as information_schema.COLUMNS does, with MariaDB JSON as json', async () => {
    const table = await source.describeTable({ schema: DB, table: 'value_forms' });
    const shape = (c: SourceColumn) => [c.name, c.ordinal, c.dataType, c.columnType, c.nullable, c.maxLength, c.numericPrecision, c.numericScale, c.datetimePrecision, c.charset];
    expect(table?.columns.map(shape)).toEqual([
      ['id', 1, 'int', 'int(11)', false, null, 10, 0, null, null],
      ['c_tinyint', 2, 'tinyint', 'tinyint(4)', true, null, 3, 0, null, null],
      ['c_bool', 3, 'tinyint', 'tinyint(1)', true, null, 3, 0, null, null],
      ['c_smallint', 4, 'smallint', 'smallint(6)', true, null, 5, 0, null, null],
      ['c_mediumint', 5, 'mediumint', 'mediumint(9)', true, null, 7, 0, null, null],
      ['c_int', 6, 'int', 'int(11)', true, null, 10, 0, null, null],
      ['c_int_unsigned', 7, 'int', 'int(10) unsigned', true, null, 10, 0, null, null],
      ['c_bigint', 8, 'bigint', 'bigint(20)', true, null, 19, 0, null, null],
      ['c_bigint_unsigned', 9, 'bigint', 'bigint(20) unsigned', true, null, 20, 0, null, null],
      ['c_decimal65', 10, 'decimal', 'decimal(65,30)', true, null, 65, 30, null, null],
      ['c_decimal10', 11, 'decimal', 'decimal(10,2)', true, null, 10, 2, null, null],
      ['c_float', 12, 'float', 'float', true, null, 12, null, null, null],
      ['c_double', 13, 'double', 'double', true, null, 22, null, null, null],
      ['c_bit1', 14, 'bit', 'bit(1)', true, null, 1, null, null, null],
      ['c_bit8', 15, 'bit', 'bit(8)', true, null, 8, null, null, null],
      ['c_date', 16, 'date', 'date', true, null, null, null, null, null],
      ['c_datetime', 17, 'datetime', 'datetime', true, null, null, null, 0, null],
      ['c_datetime6', 18, 'datetime', 'datetime(6)', true, null, null, null, 6, null],
      ['c_timestamp6', 19, 'timestamp', 'timestamp(6)', true, null, null, null, 6, null],
      ['c_time', 20, 'time', 'time', true, null, null, null, 0, null],
      ['c_year', 21, 'year', 'year(4)', true, null, null, null, null, null],
      ['c_char', 22, 'char', 'char(4)', true, 4, null, null, null, 'utf8mb4'],
      ['c_varchar', 23, 'varchar', 'varchar(20)', true, 20, null, null, null, 'utf8mb4'],
      ['c_latin1', 24, 'varchar', 'varchar(10)', true, 10, null, null, null, 'latin1'],
      ['c_text', 25, 'text', 'text', true, 65535, null, null, null, 'utf8mb4'],
      ['c_mediumtext', 26, 'mediumtext', 'mediumtext', true, 16777215, null, null, null, 'utf8mb4'],
      ['c_longtext', 27, 'longtext', 'longtext', true, 4294967295, null, null, null, 'utf8mb4'],
      ['c_binary', 28, 'binary', 'binary(4)', true, 4, null, null, null, null],
      ['c_varbinary', 29, 'varbinary', 'varbinary(8)', true, 8, null, null, null, null],
      ['c_blob', 30, 'blob', 'blob', true, 65535, null, null, null, null],
      ['c_enum', 31, 'enum', "enum('small','large')", true, 5, null, null, null, 'utf8mb4'],
      ['c_set', 32, 'set', "set('red','green','blue')", true, 14, null, null, null, 'utf8mb4'],
      ['c_json', 33, 'json', 'longtext', true, 4294967295, null, null, null, 'utf8mb4'],
      ['c_geometry', 34, 'geometry', 'geometry', true, null, null, null, null, null],
    ]);
  });

  it('gives the primary key columns in key order, not table order', async () => {
    const table = await source.describeTable({ schema: DB, table: 'composite_key' });
    expect(table?.primaryKey).toEqual(['tenant', 'seq', 'created']);
  });

  it('gives the unique key of a table without a primary key, columns in key order', async () => {
    const table = await source.describeTable({ schema: DB, table: 'unique_only' });
    expect([table?.primaryKey, table?.uniqueKeys]).toEqual([[], [['region', 'code']]]);
  });

  it('returns undefined for a table that does not exist', async () => {
    await expect(source.describeTable({ schema: DB, table: 'no_such_table' })).resolves.toBeUndefined();
  });
});

describe('listTables', () => {
  it('lists the base tables of a schema with estimates, primary keys and columns, and no views', async () => {
    const tables = await source.listTables(DB);
    expect(tables.map((t) => t.table)).toEqual(['composite_key', 'events', 'unique_only', 'value_forms']);
    expect(tables.find((t) => t.table === 'events')).toEqual({
      schema: DB,
      table: 'events',
      estimatedRows: expect.any(Number),
      bytes: expect.any(Number),
      primaryKey: ['id'],
      columns: [
        { name: 'id', dataType: 'int', columnType: 'int(11)', nullable: false },
        { name: 'body', dataType: 'varchar', columnType: 'varchar(20)', nullable: true },
      ],
    });
  });

  it('skips the system schemas when no schema is given', async () => {
    const schemas = new Set((await source.listTables()).map((t) => t.schema));
    expect([...schemas]).toEqual([DB]);
  });
});

describe('values', () => {
  it.each([
    ['c_tinyint', -128],
    ['c_bool', 1],
    ['c_smallint', -32768],
    ['c_mediumint', -8388608],
    ['c_int', -2147483648],
    ['c_int_unsigned', 4294967295],
    ['c_year', 2024],
  ])('returns %s as a number', (column, expected) => {
    expect(value(1, column)).toBe(expected);
  });

  it('returns the smallest BIGINT as its exact decimal string', () => {
    expect(value(1, 'c_bigint')).toBe('-9223372036854775808');
  });

  it('returns the largest BIGINT UNSIGNED as its exact decimal string', () => {
    expect(value(1, 'c_bigint_unsigned')).toBe('18446744073709551615');
  });

  it('returns DECIMAL(65,30) as exact text with every scale digit', () => {
    expect(value(1, 'c_decimal65')).toBe('-12345678901234567890123456789012345.123456789012345678901234567890');
  });

  it('returns a negative DECIMAL(10,2) as exact text', () => {
    expect(value(1, 'c_decimal10')).toBe('-12.34');
  });

  it('returns FLOAT and DOUBLE as numbers', () => {
    expect([value(1, 'c_float'), value(1, 'c_double')]).toEqual([3.5, 2.718281828459045]);
  });

  it('returns BIT(1) and BIT(8) as their bytes', () => {
    expect([value(1, 'c_bit1'), value(1, 'c_bit8')]).toEqual([Buffer.from([0x01]), Buffer.from([0xa5])]);
  });

  it('returns DATE and DATETIME as the server prints them', () => {
    expect([value(1, 'c_date'), value(1, 'c_datetime')]).toEqual(['2024-02-29', '2024-02-29 23:59:59']);
  });

  it('returns DATETIME(6) with its six fraction digits', () => {
    expect(value(1, 'c_datetime6')).toBe('2024-02-29 23:59:59.123456');
  });

  it('returns a TIMESTAMP written in a +05:30 session, on a +05:30 server, in UTC', () => {
    expect(value(1, 'c_timestamp6')).toBe('2024-01-01 00:00:00.250000');
  });

  it('returns zero dates as 0000-00-00 and 0000-00-00 00:00:00', () => {
    expect([value(3, 'c_date'), value(3, 'c_datetime')]).toEqual(['0000-00-00', '0000-00-00 00:00:00']);
  });

  it('returns partial dates with their zero parts', () => {
    expect([value(4, 'c_date'), value(4, 'c_datetime')]).toEqual(['0000-11-30', '2024-00-00 10:00:00']);
  });

  it('returns TIME as text, negative and beyond 24 hours', () => {
    expect([value(1, 'c_time'), value(3, 'c_time'), value(4, 'c_time')]).toEqual(['-12:30:00', '838:59:59', '-00:00:01']);
  });

  it('returns utf8mb4 CHAR and VARCHAR as strings, emoji included', () => {
    expect([value(1, 'c_char'), value(1, 'c_varchar')]).toEqual(['ab', 'h\u00e9llo \u{1F600}']);
  });

  it('returns a latin1 column as a string decoded from latin1', () => {
    expect(value(1, 'c_latin1')).toBe('caf\u00e9');
  });

  it('returns TEXT, MEDIUMTEXT and LONGTEXT as strings', () => {
    expect([value(1, 'c_text'), value(1, 'c_mediumtext'), value(1, 'c_longtext')]).toEqual(['text', 'medium text', 'long text']);
  });

  it('returns BINARY (zero-padded), VARBINARY and BLOB as their exact bytes, 0x00 and invalid UTF-8 included', () => {
    expect([value(1, 'c_binary'), value(1, 'c_varbinary'), value(1, 'c_blob')]).toEqual([
      Buffer.from([0x00, 0xff, 0x00, 0x00]),
      Buffer.from([0x00, 0xc3, 0x28]),
      Buffer.from([0x80, 0xff, 0x00, 0x41]),
    ]);
  });

  it('returns ENUM and SET as their text', () => {
    expect([value(1, 'c_enum'), value(1, 'c_set')]).toEqual(['large', 'red,blue']);
  });

  it('returns JSON as the text MariaDB stored, not parsed or normalized', () => {
    expect(value(1, 'c_json')).toBe('{"b": [1, 2],   "a": "x"}');
  });

  it('returns GEOMETRY as the bytes the server sends (SRID, then WKB)', () => {
    expect(value(1, 'c_geometry')).toEqual(Buffer.from('00000000' + '0101000000' + '000000000000f03f' + '0000000000000040', 'hex'));
  });

  it('returns NULL as null in every column', () => {
    expect(rows.get(2)?.slice(1)).toEqual(columns.slice(1).map(() => null));
  });

  it('binds ? parameters, bigint ones as exact integers', async () => {
    const found = await source.snapshot((s) => s.query('SELECT id FROM value_forms WHERE c_bigint_unsigned = ? AND c_varchar = ?', [18446744073709551615n, 'h\u00e9llo \u{1F600}']));
    expect(found).toEqual([[1]]);
  });
});

describe('snapshot', () => {
  it('does not see a row another connection commits after its first read, and the next snapshot does', async () => {
    const other = await createConnection(url);
    try {
      const inside = await source.snapshot(async (s) => {
        const before = await s.query('SELECT COUNT(*) FROM events');
        await other.query(`INSERT INTO events VALUES (2, 'second')`);
        const after = await s.query('SELECT COUNT(*) FROM events');
        return [before, after];
      });
      const next = await source.snapshot((s) => s.query('SELECT COUNT(*) FROM events'));
      expect([inside, next]).toEqual([[[['1']], [['1']]], [['2']]]);
    } finally {
      await other.query('DELETE FROM events WHERE id = 2');
      await other.end();
    }
  });

  it('runs concurrent snapshots one after the other', async () => {
    const events: string[] = [];
    const run = (name: string) =>
      source.snapshot(async (s) => {
        events.push(`${name} start`);
        await s.query('SELECT SLEEP(0.05)');
        events.push(`${name} end`);
      });
    await Promise.all([run('a'), run('b')]);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('ends its transaction when fn throws, and rethrows what fn threw', async () => {
    await server.admin.query(`CREATE TABLE ${DB}.rollback_probe (id INT PRIMARY KEY)`);
    const thrown = new Error('boom');
    await expect(
      source.snapshot(async (s) => {
        await s.query('SELECT COUNT(*) FROM rollback_probe');
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    // An open transaction that read the table would hold its metadata lock and block the DROP.
    const other = await createConnection({ uri: url, multipleStatements: true });
    try {
      await expect(other.query('SET SESSION lock_wait_timeout = 2; DROP TABLE rollback_probe')).resolves.toBeDefined();
    } finally {
      await other.end();
    }
  });
});

describe('errors', () => {
  it('throws SourceUnavailableError when nothing listens on the port', async () => {
    const closed = await freePort();
    await expect(MysqlSource.connect(`mysql://reader:${PASSWORD}@127.0.0.1:${closed}/${DB}`, { connectTimeoutMs: 2000 })).rejects.toBeInstanceOf(SourceUnavailableError);
  });

  it('names the source by its URL with the password hidden when it is unavailable', async () => {
    const closed = await freePort();
    const error = await MysqlSource.connect(`mysql://reader:${PASSWORD}@localhost:${closed}/${DB}`, { connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect([error instanceof SourceUnavailableError, (error as Error).message]).toEqual([
      true,
      expect.stringContaining(`MySQL source mysql://reader:***@localhost:${closed}/${DB} is unavailable: ECONNREFUSED`),
    ]);
  });

  it('removes the password from an engine message that echoes it, in the message and the cause', () => {
    const echoed = Object.assign(new Error(`bad option near '${PASSWORD}'`), { code: 'ER_PARSE_ERROR', errno: 1064, sqlMessage: `bad option near '${PASSWORD}'` });
    const error = translateMysqlError(echoed, { label: 'mysql://reader:***@db:3306/app', user: 'reader', password: PASSWORD });
    expect([error.message, (error.cause as Error).message].join('\n')).not.toContain(PASSWORD);
  });

  it('throws SourceAccessDeniedError naming the user, and never the password, on a wrong password', async () => {
    const error = await MysqlSource.connect(withUser(url, 'reader', WRONG_PASSWORD)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceAccessDeniedError);
    const texts: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) texts.push(e.message, e.stack ?? '', JSON.stringify(e));
    expect(texts.join('\n')).toContain("'reader'");
    expect(texts.join('\n')).not.toContain(WRONG_PASSWORD);
  });

  it('connects with the right password and reads what the user was granted', async () => {
    const reader = await MysqlSource.connect(withUser(url, 'reader', PASSWORD));
    try {
      await expect(reader.snapshot((s) => s.query('SELECT id FROM events ORDER BY id'))).resolves.toEqual([[1]]);
    } finally {
      await reader.close();
    }
  });

  it('throws SourceUnavailableError when its connection is killed during a query', async () => {
    const id = (await source.snapshot((s) => s.query('SELECT CONNECTION_ID()')))[0]![0];
    const sleeping = source.snapshot((s) => s.query('SELECT SLEEP(10)')).catch((e: unknown) => e);
    for (let seen = false; !seen; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const [found] = await server.admin.query("SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'", [id]);
      seen = (found as unknown[]).length > 0;
    }
    await server.admin.query('KILL ?', [id]);
    expect(await sleeping).toBeInstanceOf(SourceUnavailableError);
  });

  it('reopens its connection when the server killed it between operations', async () => {
    const before = (await source.snapshot((s) => s.query('SELECT CONNECTION_ID()')))[0]![0];
    await server.admin.query('KILL ?', [before]);
    const after = (await source.snapshot((s) => s.query('SELECT CONNECTION_ID()')))[0]![0];
    expect(after).not.toBe(before);
  });

  it('throws SourceTableMissingError for a query on a dropped table', async () => {
    await server.admin.query(`CREATE TABLE ${DB}.dropped (id INT PRIMARY KEY); DROP TABLE ${DB}.dropped`);
    await expect(source.snapshot((s) => s.query('SELECT id FROM dropped'))).rejects.toBeInstanceOf(SourceTableMissingError);
  });

  it('throws SourceQueryError with the engine code and text for a bad query', async () => {
    const error = await source.snapshot((s) => s.query('SELEC 1')).catch((e: unknown) => e);
    expect([error instanceof SourceQueryError, (error as Error).message]).toEqual([true, expect.stringContaining('ER_PARSE_ERROR (1064)')]);
  });
});
