/**
 * Opens a source database from a `--source` URL with the real adapters: `mysql://` and
 * `mariadb://` through MysqlSource (mysql2), `postgres://` / `postgresql://` through PostgresSource
 * (pg), `pglite:<dir>` through PgliteSource (the embedded demo source).
 */
import { MysqlSource } from '../lambdas/adapters/mysql-source';
import { PgliteSource, PostgresSource } from '../lambdas/adapters/postgres-source';
import type { SourceDatabase } from '../lambdas/core/source';
import { engineOfUrl } from './source-url';

/** The {@link OpenSourceUrl} the CLI uses. */
export async function openSourceUrl(url: string): Promise<SourceDatabase> {
  if (url.startsWith('pglite:')) return PgliteSource.open(url.slice('pglite:'.length));
  return engineOfUrl(url) === 'mysql' ? MysqlSource.connect(url.replace(/^mariadb:/, 'mysql:')) : PostgresSource.connect(url);
}
