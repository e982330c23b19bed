/**
 * The database path refusing bad input on real engines (MariaDB, PostgreSQL): unsupported types,
 * tables without a usable key, a missing cursor column, values longer than their target column,
 * an unreachable server and wrong credentials. Each run fails with a named error that says what
 * is wrong, nothing of it is loaded, the watermark stays, and what earlier runs loaded is kept.
 */
import { freePort, startPostgresServer, type PostgresServer } from '../../local/postgres-server';
import { startDbRuntime, type DbRuntime } from '../support/db-runtime';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const WRONG_PASSWORD = 'Wr0ng-pw-7f3a9c';
const RIGHT_PASSWORD = 'R1ght-pw-2b8e4d';

/** `url` as `user:password`. */
function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

describe.each<Engine>(['mysql', 'postgres'])('bad input on %s', (engine) => {
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  let db: TestSourceDb;
  let env: DbRuntime;
  let remote: DbRuntime;
  let passwordServer: PostgresServer | undefined;

  beforeAll(async () => {
    db = await startTestSource(engine);
    const unsupported = engine === 'mysql' ? 'shape GEOMETRY' : 'shape INT[]';
    await db.exec(`CREATE TABLE odd (id INT NOT NULL PRIMARY KEY, updated_at ${time} NOT NULL, ${unsupported})`);
    await db.exec(`CREATE TABLE keyless (code VARCHAR(10) NOT NULL, other INT NOT NULL, updated_at ${time} NOT NULL, UNIQUE (code), UNIQUE (other))`);
    await db.exec(`CREATE TABLE unique_key (code VARCHAR(10) NOT NULL, updated_at ${time} NOT NULL, note VARCHAR(10), UNIQUE (code))`);
    await db.exec(`CREATE TABLE no_cursor (id INT NOT NULL PRIMARY KEY, created ${time} NOT NULL, note VARCHAR(10))`);
    const narrow = engine === 'mysql' ? 'VARCHAR(3) CHARACTER SET latin1' : 'TEXT';
    await db.exec(`CREATE TABLE too_long (id INT NOT NULL PRIMARY KEY, updated_at ${time} NOT NULL, v ${narrow})`);
    env = await startDbRuntime(engine, db, [
      { name: 'odd', table: 'odd' },
      { name: 'keyless', table: 'keyless' },
      { name: 'unique-key', table: 'unique_key', source: { keyColumns: ['code'] } },
      { name: 'no-cursor', table: 'no_cursor', source: { cursorColumn: 'changed_at' } },
      { name: 'too-long', table: 'too_long' },
    ]);

    // A closed port (nothing listens there), and a server that checks passwords.
    const closed = new URL(db.url);
    closed.hostname = '127.0.0.1';
    closed.port = String(await freePort());
    let denied: string;
    if (engine === 'mysql') {
      await db.exec(`CREATE USER 'reader'@'%' IDENTIFIED BY '${RIGHT_PASSWORD}'; CREATE USER 'reader'@'localhost' IDENTIFIED BY '${RIGHT_PASSWORD}'; GRANT SELECT ON ${db.schema}.* TO 'reader'@'%', 'reader'@'localhost'`);
      denied = withCredentials(db.url, 'reader', WRONG_PASSWORD);
    } else {
      passwordServer = await startPostgresServer({ passwordAuth: true });
      denied = withCredentials(passwordServer.url, 'postgres', WRONG_PASSWORD);
    }
    if (engine === 'postgres') await db.exec('CREATE TABLE special (id INT NOT NULL PRIMARY KEY, updated_at TIMESTAMP(6) NOT NULL, d DATE, ts TIMESTAMPTZ, n NUMERIC(38,10))');
    remote = await startDbRuntime(engine, db, [
      { name: 'refused', table: 'too_long', source: { url: closed.toString() } },
      { name: 'denied', table: 'too_long', source: { url: denied } },
      ...(engine === 'postgres' ? [{ name: 'special', table: 'special' }] : []),
    ]);
  });

  afterAll(async () => {
    await remote?.stop();
    await env?.stop();
    await passwordServer?.stop();
    await db?.stop();
  });

  it('refuses an unsupported column type naming table, column and type, and writes no file', async () => {
    await db.exec(`INSERT INTO odd (id, updated_at, shape) VALUES (1, '2024-03-01 10:00:00', ${engine === 'mysql' ? "ST_GeomFromText('POINT(1 2)')" : "'{1,2}'"})`);
    const run = await env.sync('odd');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceSchemaError' });
    expect(run.cause).toContain(engine === 'mysql' ? `${db.schema}.odd.shape has type geometry` : `${db.schema}.odd.shape has type _int4 (array)`);
    expect(run.cause).toContain('cannot load into Redshift');
    expect(await env.extractKeys('odd')).toEqual([]);
  });

  it('refuses a table without a primary key or keyColumns, naming its unique keys', async () => {
    const run = await env.sync('keyless');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceSchemaError' });
    expect(run.cause).toContain(`source table ${db.schema}.keyless has no primary key; name a unique key in source.keyColumns; its unique keys: (code), (other)`);
    expect(await env.extractKeys('keyless')).toEqual([]);
  });

  it('extracts a table keyed by the unique key that keyColumns names', async () => {
    await db.exec("INSERT INTO unique_key (code, updated_at, note) VALUES ('a', '2024-03-01 10:00:00', 'x'), ('b', '2024-03-01 10:00:01', NULL)");
    const run = await env.sync('unique-key');
    expect(run).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    const rows = await env.query(`SELECT code, note FROM ${env.target('unique-key')} ORDER BY code`);
    expect(rows.map((r) => [r.code, r.note])).toEqual([
      ['a', 'x'],
      ['b', null],
    ]);
  });

  it('refuses a cursor column the table does not have, listing its columns', async () => {
    const run = await env.sync('no-cursor');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceSchemaError' });
    expect(run.cause).toContain(`cursor column 'changed_at' is not a column of ${db.schema}.no_cursor (columns: id, created, note)`);
    expect(await env.extractKeys('no-cursor')).toEqual([]);
  });

  it('fails on a value longer than its target column, naming table, column and key, and loads nothing of the run', async () => {
    await db.exec("INSERT INTO too_long (id, updated_at, v) VALUES (1, '2024-03-01 10:00:00', 'abc')");
    expect((await env.sync('too-long')).run?.status).toBe('PASSED');
    const before = await env.runtime.watermarks().get('too-long');
    const long = engine === 'mysql' ? "'ééé'" : `'${'é'.repeat(32_768)}'`;
    await db.exec(`INSERT INTO too_long (id, updated_at, v) VALUES (2, '2024-03-01 10:00:01', 'ok'), (3, '2024-03-01 10:00:02', ${long})`);
    const run = await env.sync('too-long');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceValueError' });
    const [bytes, limit] = engine === 'mysql' ? [6, 3] : [65_536, 65_535];
    expect(run.cause).toContain(`${db.schema}.too_long.v of the row with key (3) is ${bytes} bytes long, more than the ${limit} bytes of its VARCHAR(${limit}) column`);
    expect(await env.runtime.watermarks().get('too-long')).toEqual(before);
    const rows = await env.query(`SELECT id, v FROM ${env.target('too-long')} ORDER BY id`);
    expect(rows.map((r) => [String(r.id), r.v])).toEqual([['1', 'abc']]);
  });

  it('fails with SourceUnavailableError after the Extract retries when the server refuses connections', async () => {
    const run = await remote.sync('refused');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceUnavailableError' });
    expect(run.cause).toContain('ECONNREFUSED');
    // The first attempt and the 3 retries of lib/constructs/failure-path.ts (2 s, 4 s, 8 s apart
    // in AWS; the local runner keeps the policy and shortens every retry interval to 20 ms).
    expect(remote.extractCalls.get('refused')).toBe(4);
    expect(await remote.runtime.watermarks().get('refused')).toBeUndefined();
  });

  it('fails with SourceAccessDeniedError, without retrying, on wrong credentials, and never shows the password', async () => {
    const run = await remote.sync('denied');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceAccessDeniedError' });
    expect(remote.extractCalls.get('denied')).toBe(1);
    expect(run.cause).toContain(engine === 'mysql' ? "'reader'" : "'postgres'");
    const record = await remote.runtime.deps.runs.get(run.name);
    expect(record).toMatchObject({ status: 'FAILED' });
    for (const text of [run.error, run.cause, JSON.stringify(run.output ?? null), JSON.stringify(record)]) {
      expect(text).not.toContain(WRONG_PASSWORD);
      expect(text).not.toContain(RIGHT_PASSWORD);
      expect(text).not.toContain(encodeURIComponent(WRONG_PASSWORD));
    }
  });

  // PostgreSQL values Redshift's DATE/TIMESTAMPTZ/DECIMAL (or the Parquet file, years 0001-9999) cannot hold.
  const postgresOnly = engine === 'postgres' ? it.each : it.skip.each;
  postgresOnly([
    ['d', "'infinity'", 'is outside the years 0001 to 9999 (or infinite)'],
    ['d', "'4713-01-01 BC'", 'is outside the years 0001 to 9999 (or infinite)'],
    ['ts', "'-infinity'", 'is outside the years 0001 to 9999 (or infinite)'],
    ['n', "'NaN'", 'is NaN, which its DECIMAL(38,10) column cannot hold'],
  ])('fails with SourceValueError on %s = %s, naming table, column and key', async (column, literal, says) => {
    await db.exec(`INSERT INTO special (id, updated_at, ${column}) VALUES (1, '2024-03-01 10:00:00', ${literal})`);
    try {
      const run = await remote.sync('special');
      expect(run).toMatchObject({ status: 'FAILED', error: 'SourceValueError' });
      expect(run.cause).toContain(`${db.schema}.special.${column} of the row with key (1) ${says}`);
      expect(run.cause).toContain('change the row, or exclude the column from the source');
      expect(await remote.runtime.watermarks().get('special')).toBeUndefined();
    } finally {
      await db.exec('DELETE FROM special');
    }
  });
});
