/**
 * Opens a dataset's source database: from its `url` (local runs), or from its Secrets Manager
 * secret (AWS; read through Powertools Parameters, cached for 5 minutes, never logged).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { DatasetConfig } from '../core/config';
import { ConfigurationError, SourceAccessDeniedError } from '../core/errors';
import type { SourceDatabase } from '../core/source';
import { MysqlSource } from './mysql-source';
import { createPglite } from './pglite-loader';
import { PgliteSource, PostgresSource } from './postgres-source';

/** The fields of an RDS-format secret that name a database (`username`, `password`, `host`, `port`, `dbname`). */
interface DatabaseSecret {
  readonly username?: unknown;
  readonly password?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
  readonly dbname?: unknown;
}

/** Builds a connection URL from an RDS-format secret; the error names the secret's missing fields, never its values. */
export function urlFromSecret(engine: 'mysql' | 'postgres', secret: DatabaseSecret, secretArn: string): string {
  const missing = (['username', 'password', 'host'] as const).filter((k) => typeof secret[k] !== 'string' || secret[k] === '');
  if (missing.length) {
    throw new ConfigurationError(`secret ${secretArn} lacks ${missing.join(', ')}; store it in the RDS format {"username", "password", "host", "port", "dbname"}`);
  }
  const port = secret.port === undefined ? (engine === 'mysql' ? 3306 : 5432) : Number(secret.port);
  const db = typeof secret.dbname === 'string' ? `/${encodeURIComponent(secret.dbname)}` : '';
  const scheme = engine === 'mysql' ? 'mysql' : 'postgres';
  return `${scheme}://${encodeURIComponent(String(secret.username))}:${encodeURIComponent(String(secret.password))}@${String(secret.host)}:${port}${db}`;
}

async function secretUrl(dataset: DatasetConfig, secretArn: string): Promise<string> {
  let secret: unknown;
  try {
    secret = await getSecret(secretArn, { transform: 'json', maxAge: 300 });
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    throw new SourceAccessDeniedError(`dataset '${dataset.name}': cannot read secret ${secretArn} (${name}); check that it exists and that the extract Lambda may read it`);
  }
  if (typeof secret !== 'object' || secret === null) throw new ConfigurationError(`secret ${secretArn} is not a JSON object; store it in the RDS format`);
  return urlFromSecret(dataset.source!.engine, secret as DatabaseSecret, secretArn);
}

/** An embedded PGlite database in `dir` (the demo's source) as a source; closing the source closes it. */
async function openPgliteSource(dir: string): Promise<SourceDatabase> {
  const db = await createPglite(dir);
  const source = new PgliteSource(db);
  return {
    engine: source.engine,
    describeTable: (ref) => source.describeTable(ref),
    listTables: (schema) => source.listTables(schema),
    snapshot: (fn) => source.snapshot(fn),
    close: async () => {
      await source.close();
      await db.close();
    },
  };
}

/** Opens a source by URL: `mysql://`/`mariadb://` (mysql2), `postgres://`/`postgresql://` (pg), `pglite:<dir>` (embedded). */
export async function openSourceUrl(url: string): Promise<SourceDatabase> {
  if (url.startsWith('pglite:')) return openPgliteSource(url.slice('pglite:'.length));
  return /^(mysql|mariadb):/.test(url) ? MysqlSource.connect(url.replace(/^mariadb:/, 'mysql:')) : PostgresSource.connect(url);
}

/** Opens the source of `dataset` (which must have one); the caller closes it. */
export async function openSource(dataset: DatasetConfig): Promise<SourceDatabase> {
  const source = dataset.source;
  if (!source) throw new ConfigurationError(`dataset '${dataset.name}' has no source`);
  const url = source.url ?? (await secretUrl(dataset, source.secretArn!));
  const mysqlUrl = /^(mysql|mariadb):/.test(url);
  if (mysqlUrl !== (source.engine === 'mysql')) {
    throw new ConfigurationError(`dataset '${dataset.name}': source.engine is '${source.engine}' but its URL is ${mysqlUrl ? 'a MySQL' : 'a PostgreSQL'} URL; make them agree`);
  }
  return openSourceUrl(url);
}
