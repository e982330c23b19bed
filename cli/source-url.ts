/**
 * Source URLs on the command line: which engine a URL names, and how a command opens one
 * (a seam: `cli/source-connect.ts` opens the real adapters, tests pass an in-memory source).
 */
import { redactUrl, type SourceDatabase, type SourceEngine } from '../lambdas/core/source';
import { CliError } from './errors';

/** The help of a `--source <url>` option. */
export const SOURCE_URL_HELP = 'the database: mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db or pglite:DIR';

/** Opens the source database a URL names; the caller closes it. */
export type OpenSourceUrl = (url: string) => Promise<SourceDatabase>;

/** What the source commands need from outside. */
export interface SourceCommandDeps {
  readonly openSource: OpenSourceUrl;
}

/** `mysql:` / `mariadb:` → mysql; `postgres:` / `postgresql:` / `pglite:` → postgres; else CliError (exit 3). */
export function engineOfUrl(url: string): SourceEngine {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql';
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'pglite') return 'postgres';
  throw new CliError(`--source must be a mysql://, mariadb://, postgres:// or pglite: URL, got '${redactUrl(url)}'`);
}

/** The URL's password, if it has one (to keep it out of any message). */
function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@/]*)@/i.exec(url)?.[1];
  }
}

/** A source failure as one CliError line, with the URL redacted and its password never shown. */
export function sourceFailure(error: unknown, url: string): CliError {
  if (error instanceof CliError) return error;
  let message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  message = message.split(url).join(redactUrl(url));
  const password = passwordOf(url);
  if (password) message = message.split(password).join('***');
  return new CliError(`source ${redactUrl(url)}: ${message}`);
}

/** Opens the source, runs `work`, closes it; failures become one-line CliErrors without the password. */
export async function onSource<T>(deps: SourceCommandDeps, url: string, work: (source: SourceDatabase) => Promise<T>): Promise<T> {
  engineOfUrl(url);
  let source: SourceDatabase;
  try {
    source = await deps.openSource(url);
  } catch (error) {
    throw sourceFailure(error, url);
  }
  try {
    return await work(source);
  } catch (error) {
    throw sourceFailure(error, url);
  } finally {
    await source.close().catch(() => undefined);
  }
}
