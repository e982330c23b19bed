import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { loadPglite, loadPgliteContrib } from '../../lambdas/adapters/pglite-loader';
import { PgliteSource, PostgresSource } from '../../lambdas/adapters/postgres-source';
import { ConfigurationError, SourceAccessDeniedError, SourceQueryError, SourceTableMissingError, SourceUnavailableError } from '../../lambdas/core/errors';
import type { SourceDatabase, SourceValue } from '../../lambdas/core/source';
import { findPostgresBinDir, freePort, startPostgresServer, type PostgresServer } from '../../local/postgres-server';

type EngineName = 'server' | 'pglite';

interface Engine {
  readonly source: SourceDatabase;
  /** Runs SQL on the engine's own session (not the source's), in time zone Asia/Kolkata. */
  exec(sql: string): Promise<void>;
}

/** Is citext installable? Decided when the file loads, so its tests can be skipped by name. */
function citextAvailable(engine: EngineName): boolean {
  try {
    if (engine === 'pglite') return existsSync(join(dirname(require.resolve('@electric-sql/pglite')), 'citext.tar.gz'));
    const bin = findPostgresBinDir();
    const share = bin && execFileSync(join(bin, 'pg_config'), ['--sharedir'], { encoding: 'utf8' }).trim();
    return Boolean(share && existsSync(join(share, 'extension', 'citext.control')));
  } catch {
    return false;
  }
}
const CITEXT: Record<EngineName, boolean> = { server: citextAvailable('server'), pglite: citextAvailable('pglite') };

/** Every type the mapping must see, written from an Asia/Kolkata session. */
function fixtureSql(citext: boolean): string {
  return `
SET TimeZone = 'Asia/Kolkata';
${citext ? 'CREATE EXTENSION IF NOT EXISTS citext;' : ''}
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE every_type (
  id integer PRIMARY KEY,
  c_smallint smallint, c_integer integer, c_bigint bigint,
  c_numeric_38_10 numeric(38,10), c_numeric numeric, c_numeric_50_5 numeric(50,5),
  c_real real, c_double double precision, c_boolean boolean,
  c_date date, c_timestamp6 timestamp(6), c_timestamp0 timestamp(0), c_timestamptz timestamptz,
  c_time time, c_timetz timetz, c_interval interval,
  c_char char(5), c_varchar varchar(100), c_text text, c_bytea bytea, c_uuid uuid,
  c_json json, c_jsonb jsonb, c_enum mood, c_int_array int[]${citext ? ', c_citext citext' : ''}
);
INSERT INTO every_type VALUES (1,
  -32768, 2147483647, 9223372036854775807,
  '1234567890123456789012345678.0123456789', '-123456789012345678901234567890.123456789012345678901234567890',
  '123456789012345678901234567890123456789012345.12345',
  3.14, 1.7976931348623157e308, true,
  '2024-02-29', '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.6', '2024-03-01 05:30:00.5',
  '23:59:59.999999', '10:00:00+05:30', '1 year 2 mons 3 days 04:05:06.789',
  'ab', 'héllo 🎉', E'tab\\there "quoted" \\\\ back', '\\x00ff80c328', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b": 1,  "a": [1, 2.50]}', '{"b": 1,  "a": [1, 2.50]}', 'sad', '{1,NULL,3}'${citext ? ", 'MiXeD'" : ''});
INSERT INTO every_type (id) VALUES (2);
CREATE TABLE composite_key (b integer, a integer, c text, PRIMARY KEY (c, a));
CREATE TABLE unique_only (x integer NOT NULL, y integer NOT NULL, z integer, w integer, UNIQUE (y, x));
CREATE UNIQUE INDEX unique_only_z_idx ON unique_only (z) INCLUDE (w);
CREATE UNIQUE INDEX unique_only_partial_idx ON unique_only (w) WHERE w > 0;
CREATE UNIQUE INDEX unique_only_expr_idx ON unique_only ((x + y));
CREATE SCHEMA listing;
CREATE TABLE listing.analyzed (id bigint PRIMARY KEY, v text);
INSERT INTO listing.analyzed SELECT g, repeat('x', 50) FROM generate_series(1, 1000) g;
ANALYZE listing.analyzed;
CREATE TABLE listing.never_analyzed (id integer);
INSERT INTO listing.never_analyzed VALUES (1), (2), (3);
CREATE VIEW listing.a_view AS SELECT id FROM listing.analyzed;
CREATE TABLE listing.events (id integer, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE listing.events_2024 PARTITION OF listing.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO listing.events VALUES (1, '2024-05-01'), (2, '2024-06-01');
ANALYZE listing.events;
`;
}

const TYPE_COLUMNS: readonly (readonly [name: string, dataType: string, columnType: string])[] = [
  ['id', 'integer', 'int4'],
  ['c_smallint', 'smallint', 'int2'],
  ['c_integer', 'integer', 'int4'],
  ['c_bigint', 'bigint', 'int8'],
  ['c_numeric_38_10', 'numeric', 'numeric'],
  ['c_numeric', 'numeric', 'numeric'],
  ['c_numeric_50_5', 'numeric', 'numeric'],
  ['c_real', 'real', 'float4'],
  ['c_double', 'double precision', 'float8'],
  ['c_boolean', 'boolean', 'bool'],
  ['c_date', 'date', 'date'],
  ['c_timestamp6', 'timestamp without time zone', 'timestamp'],
  ['c_timestamp0', 'timestamp without time zone', 'timestamp'],
  ['c_timestamptz', 'timestamp with time zone', 'timestamptz'],
  ['c_time', 'time without time zone', 'time'],
  ['c_timetz', 'time with time zone', 'timetz'],
  ['c_interval', 'interval', 'interval'],
  ['c_char', 'character', 'bpchar'],
  ['c_varchar', 'character varying', 'varchar'],
  ['c_text', 'text', 'text'],
  ['c_bytea', 'bytea', 'bytea'],
  ['c_uuid', 'uuid', 'uuid'],
  ['c_json', 'json', 'json'],
  ['c_jsonb', 'jsonb', 'jsonb'],
  ['c_enum', 'user-defined', 'mood'],
  ['c_int_array', 'array', '_int4'],
];

/** Row 1 of every_type, read through the source (without id and citext). */
const CANONICAL_ROW: readonly SourceValue[] = [
  -32768,
  2147483647,
  9223372036854775807n,
  '1234567890123456789012345678.0123456789',
  '-123456789012345678901234567890.123456789012345678901234567890',
  '123456789012345678901234567890123456789012345.12345',
  3.14,
  1.7976931348623157e308,
  true,
  '2024-02-29',
  '2024-02-29 23:59:59.123456',
  '2024-03-01 00:00:00',
  '2024-03-01 00:00:00.5+00',
  '23:59:59.999999',
  '10:00:00+05:30',
  '1 year 2 mons 3 days 04:05:06.789',
  'ab   ',
  'héllo 🎉',
  'tab\there "quoted" \\ back',
  Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28]),
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b": 1,  "a": [1, 2.50]}',
  '{"a": [1, 2.50], "b": 1}',
  'sad',
  '{1,NULL,3}',
];
const TYPED_COLUMNS = TYPE_COLUMNS.slice(1).map(([name]) => name).join(', ');

/** Every message in an error's cause chain, with stacks. */
function chainText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e));
  }
  return parts.join('\n');
}

/** What `promise` rejects with; undefined when it resolves. */
const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error);

let server: PostgresServer | undefined;
let admin: Client | undefined;
let db: PGlite | undefined;
const engines: Partial<Record<EngineName, Engine>> = {};
const engine = (name: EngineName): Engine => {
  const e = engines[name];
  if (!e) throw new Error(`engine ${name} is not ready`);
  return e;
};

beforeAll(async () => {
  const { PGlite: PGliteClass } = loadPglite();
  const [started, pglite] = await Promise.all([
    startPostgresServer({ passwordAuth: true }),
    PGliteClass.create(CITEXT.pglite ? { extensions: { citext: loadPgliteContrib('citext') } } : {}),
  ]);
  server = started;
  db = pglite;
  admin = new Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(fixtureSql(CITEXT.server));
  await db.exec(fixtureSql(CITEXT.pglite));
  const adminClient = admin;
  engines.server = { source: await PostgresSource.connect(server.url), exec: async (sql) => void (await adminClient.query(sql)) };
  engines.pglite = { source: new PgliteSource(pglite), exec: async (sql) => void (await pglite.exec(sql)) };
}, 180_000);

afterAll(async () => {
  await engines.server?.source.close();
  await engines.pglite?.source.close();
  await admin?.end();
  await db?.close();
  await server?.stop();
});

describe.each<[string, EngineName]>([
  ['PostgreSQL server', 'server'],
  ['PGlite', 'pglite'],
])('%s source', (_, name) => {
  const source = () => engine(name).source;

  describe('describeTable', () => {
    it('gives every column in table order with its data_type (lower case) and udt_name', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'every_type' });
      const expected = CITEXT[name] ? [...TYPE_COLUMNS, ['c_citext', 'user-defined', 'citext']] : TYPE_COLUMNS;
      expect(table?.columns.map((c) => [c.name, c.dataType, c.columnType])).toEqual(expected);
      expect(table?.columns.map((c) => c.ordinal)).toEqual(expected.map((_c, i) => i + 1));
    });

    it('gives lengths, precision, scale and datetime precision as information_schema declares them', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'every_type' });
      const byName = new Map(table?.columns.map((c) => [c.name, c]));
      const pick = (n: string) => {
        const c = byName.get(n);
        return [c?.maxLength, c?.numericPrecision, c?.numericScale, c?.datetimePrecision];
      };
      expect(pick('c_numeric_38_10')).toEqual([null, 38, 10, null]);
      expect(pick('c_numeric')).toEqual([null, null, null, null]);
      expect(pick('c_numeric_50_5')).toEqual([null, 50, 5, null]);
      expect(pick('c_bigint')).toEqual([null, 64, 0, null]);
      expect(pick('c_double')).toEqual([null, 53, null, null]);
      expect(pick('c_varchar')).toEqual([100, null, null, null]);
      expect(pick('c_char')).toEqual([5, null, null, null]);
      expect(pick('c_text')).toEqual([null, null, null, null]);
      expect(pick('c_timestamp6')).toEqual([null, null, null, 6]);
      expect(pick('c_timestamp0')).toEqual([null, null, null, 0]);
      expect(pick('c_timestamptz')).toEqual([null, null, null, 6]);
    });

    it('gives the database encoding as the charset of character columns only', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'every_type' });
      const charsets = Object.fromEntries(table?.columns.map((c) => [c.name, c.charset]) ?? []);
      expect(charsets).toMatchObject({ c_char: 'UTF8', c_varchar: 'UTF8', c_text: 'UTF8', c_integer: null, c_enum: null, c_json: null, c_bytea: null });
    });

    (CITEXT[name] ? it : it.skip)('gives the database encoding as the charset of a citext column', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'every_type' });
      expect(table?.columns.find((c) => c.name === 'c_citext')?.charset).toBe('UTF8');
    });

    it('marks the primary key column not nullable and the others nullable', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'every_type' });
      expect(table?.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(['id']);
      expect(table?.primaryKey).toEqual(['id']);
    });

    it('gives a composite primary key in key order, not table order', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'composite_key' });
      expect(table?.primaryKey).toEqual(['c', 'a']);
      expect(table?.uniqueKeys).toEqual([]);
    });

    it('gives the unique keys of a table without a primary key, leaving out partial and expression indexes and INCLUDE columns', async () => {
      const table = await source().describeTable({ schema: 'public', table: 'unique_only' });
      expect(table?.primaryKey).toEqual([]);
      expect(table?.uniqueKeys).toEqual([['y', 'x'], ['z']]);
    });

    it('answers undefined for a table that does not exist', async () => {
      await expect(source().describeTable({ schema: 'public', table: 'no_such_table' })).resolves.toBeUndefined();
    });

    it('answers undefined for a schema that does not exist', async () => {
      await expect(source().describeTable({ schema: 'no_such_schema', table: 'every_type' })).resolves.toBeUndefined();
    });
  });

  describe('values', () => {
    it('reads every type in its canonical form', async () => {
      const rows = await source().snapshot((s) => s.query(`SELECT ${TYPED_COLUMNS} FROM every_type WHERE id = $1`, [1]));
      expect(rows).toEqual([CANONICAL_ROW]);
    });

    it('reads a timestamptz written from an Asia/Kolkata session as UTC text ending +00', async () => {
      const rows = await source().snapshot((s) => s.query('SELECT c_timestamptz FROM every_type WHERE id = 1'));
      expect(rows).toEqual([['2024-03-01 00:00:00.5+00']]);
    });

    it('reads bytea holding 0x00 and invalid UTF-8 as the exact bytes', async () => {
      const [[value]] = (await source().snapshot((s) => s.query('SELECT c_bytea FROM every_type WHERE id = 1'))) as [[SourceValue]];
      expect(value).toBeInstanceOf(Uint8Array);
      expect([...(value as Uint8Array)]).toEqual([0x00, 0xff, 0x80, 0xc3, 0x28]);
    });

    it('reads bigint beyond 2^53 exactly, as a bigint', async () => {
      const rows = await source().snapshot((s) => s.query('SELECT c_bigint, c_bigint - 1 FROM every_type WHERE id = 1'));
      expect(rows).toEqual([[9223372036854775807n, 9223372036854775806n]]);
    });

    it('reads json as the text written and jsonb as the server prints it, never parsed', async () => {
      const rows = await source().snapshot((s) => s.query('SELECT c_json, c_jsonb FROM every_type WHERE id = 1'));
      expect(rows).toEqual([['{"b": 1,  "a": [1, 2.50]}', '{"a": [1, 2.50], "b": 1}']]);
    });

    (CITEXT[name] ? it : it.skip)('reads citext as the text written', async () => {
      const rows = await source().snapshot((s) => s.query('SELECT c_citext FROM every_type WHERE id = 1'));
      expect(rows).toEqual([['MiXeD']]);
    });

    it('reads NULL of every type as null', async () => {
      const rows = await source().snapshot((s) => s.query(`SELECT ${TYPED_COLUMNS}${CITEXT[name] ? ', c_citext' : ''} FROM every_type WHERE id = 2`));
      expect(rows).toEqual([Array(TYPE_COLUMNS.length - 1 + (CITEXT[name] ? 1 : 0)).fill(null)]);
    });

    it('binds $1… parameters given as text, number and bigint', async () => {
      const rows = await source().snapshot((s) => s.query('SELECT $1::text, $2::int4, $3::int8, $4::text', ['a', 7, 9007199254740993n, null]));
      expect(rows).toEqual([['a', 7, 9007199254740993n, null]]);
    });
  });

  describe('snapshot', () => {
    it('runs in a REPEATABLE READ READ ONLY transaction in a UTC session', async () => {
      const rows = await source().snapshot((s) =>
        s.query("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'), current_setting('TimeZone')"),
      );
      expect(rows).toEqual([['repeatable read', 'on', 'UTC']]);
    });

    it('refuses a write as SourceQueryError naming the SQLSTATE', async () => {
      const error = await rejection(source().snapshot((s) => s.query('INSERT INTO composite_key VALUES (1, 1, $1)', ['x'])));
      expect(error).toBeInstanceOf(SourceQueryError);
      expect((error as Error).message).toContain('SQLSTATE 25006');
    });

    it('rolls back when the function throws, and the next snapshot runs', async () => {
      await expect(source().snapshot(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      await expect(source().snapshot((s) => s.query('SELECT 1'))).resolves.toEqual([[1]]);
    });

    it('throws SourceTableMissingError for a query on a dropped table', async () => {
      await engine(name).exec('CREATE TABLE dropped (id integer); DROP TABLE dropped');
      const error = await rejection(source().snapshot((s) => s.query('SELECT id FROM dropped')));
      expect(error).toBeInstanceOf(SourceTableMissingError);
      expect((error as Error).message).toMatch(/dropped.*does not exist.*SQLSTATE 42P01/);
    });

    it('throws SourceTableMissingError for a column that does not exist', async () => {
      const error = await rejection(source().snapshot((s) => s.query('SELECT no_such_column FROM every_type')));
      expect(error).toBeInstanceOf(SourceTableMissingError);
    });
  });

  describe('listTables', () => {
    it('estimates rows of an analyzed table from reltuples and says null for one never analyzed', async () => {
      const tables = await source().listTables('listing');
      const estimates = Object.fromEntries(tables.map((t) => [t.table, t.estimatedRows]));
      expect(estimates).toEqual({ analyzed: 1000, events: 2, never_analyzed: null });
    });

    it('lists base tables and partitioned parents, not views or partitions', async () => {
      const tables = await source().listTables('listing');
      expect(tables.map((t) => t.table)).toEqual(['analyzed', 'events', 'never_analyzed']);
    });

    it('gives bytes with indexes, a partitioned parent its partitions', async () => {
      const tables = await source().listTables('listing');
      for (const t of tables) expect(t.bytes).toBeGreaterThan(0);
    });

    it('gives each table its primary key and columns', async () => {
      const [analyzed] = await source().listTables('listing');
      expect(analyzed).toMatchObject({
        schema: 'listing',
        table: 'analyzed',
        primaryKey: ['id'],
        columns: [
          { name: 'id', dataType: 'bigint', columnType: 'int8', nullable: false },
          { name: 'v', dataType: 'text', columnType: 'text', nullable: true },
        ],
      });
    });

    it('lists every user schema, never pg_catalog or information_schema, when no schema is given', async () => {
      const tables = await source().listTables();
      const names = tables.map((t) => `${t.schema}.${t.table}`);
      expect(names).toEqual(expect.arrayContaining(['listing.analyzed', 'public.every_type', 'public.composite_key']));
      expect(tables.filter((t) => t.schema === 'pg_catalog' || t.schema === 'information_schema')).toEqual([]);
    });
  });
});

describe('PostgreSQL server source', () => {
  const url = () => {
    if (!server) throw new Error('server not started');
    return server.url;
  };

  it('does not see a row committed by another connection after its first read, and the next snapshot does', async () => {
    const source = engine('server').source;
    await engine('server').exec('CREATE TABLE consistency (id integer)');
    const inside = await source.snapshot(async (s) => {
      const before = await s.query('SELECT count(*)::int FROM consistency');
      await engine('server').exec('INSERT INTO consistency VALUES (1)');
      const after = await s.query('SELECT count(*)::int FROM consistency');
      return [before, after];
    });
    expect(inside).toEqual([[[0]], [[0]]]);
    await expect(source.snapshot((s) => s.query('SELECT count(*)::int FROM consistency'))).resolves.toEqual([[1]]);
  });

  it('runs concurrent snapshots on separate connections', async () => {
    const source = engine('server').source;
    const pids = await Promise.all([1, 2].map(() => source.snapshot(async (s) => {
      const [[pid]] = (await s.query('SELECT pg_backend_pid()')) as [[number]];
      await s.query('SELECT pg_sleep(0.2)');
      return pid;
    })));
    expect(new Set(pids).size).toBe(2);
  });

  it('throws SourceUnavailableError when the connection is refused', async () => {
    const port = await freePort();
    const error = await rejection(PostgresSource.connect(`postgres://postgres:pw@127.0.0.1:${port}/postgres`, { connectTimeoutMs: 5000 }));
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect((error as Error).message).toContain(`postgres://postgres:***@127.0.0.1:${port}/postgres`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('throws SourceAccessDeniedError naming the user, never the password, for a wrong password', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const bad = new URL(url());
    bad.password = password;
    const error = await rejection(PostgresSource.connect(bad.toString()));
    expect(error).toBeInstanceOf(SourceAccessDeniedError);
    expect((error as Error).message).toContain("user 'postgres'");
    expect(chainText(error)).not.toContain(password);
  });

  it('throws ConfigurationError, showing nothing after the user name, for a URL that does not parse cleanly', async () => {
    const error = await rejection(PostgresSource.connect('postgres://postgres:hunter2-secret@127.0.0.1:99999/postgres'));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("PostgreSQL source URL 'postgres://postgres:…' does not parse cleanly");
    expect(chainText(error)).not.toContain('hunter2-secret');
  });

  it('throws SourceTableMissingError for a database that does not exist', async () => {
    const missing = new URL(url());
    missing.pathname = '/no_such_database';
    await expect(PostgresSource.connect(missing.toString())).rejects.toThrow(SourceTableMissingError);
  });

  it('leaves the pg module’s own type parsers alone for other clients in the process', async () => {
    const rows = await admin!.query("SELECT 1::int8 AS n, '{\"a\": 1}'::jsonb AS j");
    expect(rows.rows).toEqual([{ n: '1', j: { a: 1 } }]);
  });
});

describe('PGlite source', () => {
  it('keeps the statement’s parameter values out of the error’s cause', async () => {
    const error = await rejection(engine('pglite').source.snapshot((s) => s.query('SELECT id FROM no_such_table WHERE id = $1', ['row-value-42'])));
    expect(error).toBeInstanceOf(SourceTableMissingError);
    expect(JSON.stringify((error as Error).cause)).not.toContain('row-value-42');
  });

  it('leaves the instance’s own session time zone as it was', async () => {
    await engine('pglite').source.snapshot((s) => s.query('SELECT 1'));
    const result = await db!.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
    expect(result.rows).toEqual([{ tz: 'Asia/Kolkata' }]);
  });
});
