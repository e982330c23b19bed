/**
 * A MariaDB (or MySQL) server for tests: `SYNCPROOF_TEST_MYSQL_URL` when set (a server you run,
 * as a user who may create databases and users), else a throwaway server started per test file
 * (local/mariadb-server.ts, ~0.7 s) and stopped in afterAll.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { startMariadbServer } from '../../local/mariadb-server';
import { withDatabase } from './postgres';

/** Env var naming an existing server (`mysql://…`) to use instead of starting one. */
export const TEST_MYSQL_URL_ENV = 'SYNCPROOF_TEST_MYSQL_URL';

export interface TestMariadb {
  /** The server's URL as its admin (root on a throwaway server), no database selected. */
  readonly url: string;
  /** A connection as the admin, multiple statements allowed; ended by `stop()`. */
  readonly admin: Connection;
  /** Creates (or empties, by dropping first) database `name` in utf8mb4 and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Drops the databases this helper created, ends `admin`, and stops the server if it started one. */
  stop(): Promise<void>;
}

/** The server from `SYNCPROOF_TEST_MYSQL_URL`, or a newly started throwaway one, with an admin connection. */
export async function startTestMariadb(): Promise<TestMariadb> {
  const given = process.env[TEST_MYSQL_URL_ENV];
  const server = given ? undefined : await startMariadbServer();
  const url = given ?? server!.url;
  let admin: Connection;
  try {
    admin = await createConnection({ uri: url, multipleStatements: true });
  } catch (error) {
    await server?.stop();
    throw error;
  }
  const created = new Set<string>();
  const quote = (name: string) => `\`${name.replace(/`/g, '``')}\``;
  return {
    url,
    admin,
    createDatabase: async (name) => {
      await admin.query(`DROP DATABASE IF EXISTS ${quote(name)}; CREATE DATABASE ${quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      created.add(name);
      return withDatabase(url, name);
    },
    stop: async () => {
      try {
        if (given) for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${quote(name)}`);
        await admin.end();
      } finally {
        await server?.stop();
      }
    },
  };
}
