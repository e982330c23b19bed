/**
 * Source URLs on the command line: which engine a URL names, and how a command opens one
 * (a seam: `cli/source-connect.ts` opens the real adapters, tests pass an in-memory source).
 */
import { type SourceDatabase, type SourceEngine } from '../lambdas/core/source';
import { maskUrl, requireCleanUrl, scrubSecrets, urlSecrets } from '../lambdas/core/connection-url';
import { CliError } from './errors';

/** The help of a `--source <url>` option. */
export const SOURCE_URL_HELP = 'the database: mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db or pglite:DIR';

/** Opens the source database a URL names; the caller closes it. */
export type OpenSourceUrl = (url: string) => Promise<SourceDatabase>;

/** What the source commands need from outside. */
export interface SourceCommandDeps {
  readonly openSource: OpenSourceUrl;
}

/**
 * Refuses (CliError, exit 3) a URL that does not parse cleanly (lambdas/core/connection-url.ts):
 * the message shows nothing of it after the user name.
 */
export function requireCleanUrlOption(url: string, option: string): void {
  try {
    requireCleanUrl(url, option);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** A `--warehouse` URL: a postgres:// URL that parses cleanly, else CliError (exit 3). */
export function requireWarehouseUrl(url: string): void {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new CliError(`--warehouse must be a postgres:// URL, got '${maskUrl(url)}'`);
  requireCleanUrlOption(url, '--warehouse');
}

/** `mysql:` / `mariadb:` → mysql; `postgres:` / `postgresql:` / `pglite:` → postgres; else CliError (exit 3). */
export function engineOfUrl(url: string): SourceEngine {
  requireCleanUrlOption(url, '--source');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql';
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'pglite') return 'postgres';
  throw new CliError(`--source must be a mysql://, mariadb://, postgres:// or pglite: URL, got '${maskUrl(url)}'`);
}

/** A source failure as one CliError line, with the URL redacted and its password never shown. */
export function sourceFailure(error: unknown, url: string): CliError {
  if (error instanceof CliError) return error;
  let message = error instanceof Error ? error.message : String(error);
  message = scrubSecrets(message.split(url).join(maskUrl(url)), urlSecrets(url));
  // One sentence: the source named once (the adapters' messages name it already), no class name.
  return new CliError(message.includes(maskUrl(url)) ? message : `source ${maskUrl(url)}: ${message}`);
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
