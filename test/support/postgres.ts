/**
 * A PostgreSQL server for tests: `SYNCPROOF_TEST_PG_URL` when set (a server you run), else a
 * throwaway server started per test file (local/postgres-server.ts) and stopped in afterAll.
 * Each test file works in its own freshly created database, so files never collide.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startPostgresServer } from '../../local/postgres-server';

/** Env var naming an existing server (`postgres://…`) to use instead of starting one. */
export const TEST_PG_URL_ENV = 'SYNCPROOF_TEST_PG_URL';

export interface TestPostgres {
  /** URL of the server's maintenance database. */
  readonly url: string;
  /** Stops the server if this helper started it; a no-op for `SYNCPROOF_TEST_PG_URL`. */
  stop(): Promise<void>;
}

/** The server from `SYNCPROOF_TEST_PG_URL`, or a newly started throwaway one. */
export async function getTestPostgres(): Promise<TestPostgres> {
  const given = process.env[TEST_PG_URL_ENV];
  if (given) return { url: given, stop: async () => undefined };
  const server = await startPostgresServer();
  return { url: server.url, stop: () => server.stop() };
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (terminating leftover connections). */
  drop(): Promise<void>;
}

/** Creates a database with a random name (`syncproof_test_<hex>`) on the server at `serverUrl`. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `syncproof_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () => withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Registers beforeAll/afterAll hooks giving the calling test file its own database on the test
 * server; the returned function gives its URL (call it inside tests or later hooks).
 */
export function useTestDatabase(): () => string {
  let server: TestPostgres | undefined;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    server = await getTestPostgres();
    database = await createTestDatabase(server.url);
  });
  afterAll(async () => {
    await database?.drop().catch(() => undefined);
    await server?.stop();
  });
  return () => {
    if (!database) throw new Error('the test database is not ready (use it inside tests or hooks)');
    return database.url;
  };
}
