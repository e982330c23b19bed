/**
 * A real source database for the database-path tests: a throwaway MariaDB (test/support/mariadb.ts)
 * or PostgreSQL server (test/support/postgres.ts), with one database for the test file and an
 * admin connection to set tables up and change rows.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { Client } from 'pg';
import { startTestMariadb, type TestMariadb } from './mariadb';
import { createTestDatabase, getTestPostgres, type TestDatabase, type TestPostgres } from './postgres';

export type Engine = 'mysql' | 'postgres';

export interface TestSourceDb {
  readonly engine: Engine;
  /** URL of the test database, as a dataset's `source.url`. */
  readonly url: string;
  /** The schema tables live in: the MySQL database, or `public`. */
  readonly schema: string;
  /** Runs statements (several, separated by `;`, without parameters). */
  exec(sql: string): Promise<void>;
  /** Rows of one query, every value as the driver returns text (MySQL dateStrings; PostgreSQL text for dates). */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startTestSource(engine: Engine): Promise<TestSourceDb> {
  return engine === 'mysql' ? startMysql() : startPostgres();
}

async function startMysql(): Promise<TestSourceDb> {
  const server: TestMariadb = await startTestMariadb();
  const url = await server.createDatabase('src');
  const conn: Connection = await createConnection({ uri: url, multipleStatements: true, dateStrings: true, timezone: '+00:00', supportBigNumbers: true, bigNumberStrings: true });
  await conn.query("SET time_zone = '+00:00', sql_mode = ''");
  return {
    engine: 'mysql',
    url,
    schema: 'src',
    exec: async (sql) => {
      await conn.query(sql);
    },
    rows: async (sql) => (await conn.query(sql))[0] as Record<string, unknown>[],
    stop: async () => {
      await conn.end();
      await server.stop();
    },
  };
}

async function startPostgres(): Promise<TestSourceDb> {
  const server: TestPostgres = await getTestPostgres();
  const db: TestDatabase = await createTestDatabase(server.url);
  const client = new Client({ connectionString: db.url, types: { getTypeParser: () => (v: string) => v } });
  await client.connect();
  await client.query("SET TimeZone = 'UTC'");
  return {
    engine: 'postgres',
    url: db.url,
    schema: 'public',
    exec: async (sql) => {
      await client.query(sql);
    },
    rows: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
    stop: async () => {
      await client.end();
      await db.drop();
      await server.stop();
    },
  };
}
