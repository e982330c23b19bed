/**
 * `syncproof diff URL_A TABLE_A URL_B TABLE_B --key COL[,COL…]`: compares the content of two tables
 * on any two of PostgreSQL, MySQL/MariaDB and SQLite (lambdas/core/content): row hashes summed per
 * segment in SQL on each side, mismatching segments split until small, then rows fetched and
 * diffed. Exit 0 PASSED, 2 FAILED (differing keys on stdout, values only in the --json report),
 * 3 error (one sentence, the password never shown).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { SqlContentSide } from '../lambdas/adapters/content/sql-side';
import { compareContent, contentPassed, DEFAULT_FACTOR, DEFAULT_FETCH_ROWS, DEFAULT_FLOAT_TOLERANCE } from '../lambdas/core/content/bisect';
import type { ContentResult } from '../lambdas/core/content/model';
import { buildPlan } from '../lambdas/core/content/plan';
import { maskUrl, requireCleanUrl, scrubSecrets, urlSecrets } from '../lambdas/core/connection-url';
import { TerminalError } from '../lambdas/core/errors';
import { CliError } from './errors';
import { writeJsonReport } from './json-file';
import { positiveInt, type CommandOutcome } from './program';

type Engine = 'postgres' | 'mysql' | 'sqlite';

/** The engine a URL names, or CliError (exit 3). */
export function engineOfDiffUrl(url: string, which: string): Engine {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    if (!/^sqlite:\/\/\/./i.test(url)) throw new CliError(`${which} must name a file as sqlite:///absolute/path.db, got '${maskUrl(url)}'`);
    return 'sqlite';
  }
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'mysql' || scheme === 'mariadb') {
    try {
      requireCleanUrl(url, which);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    return scheme.startsWith('postgres') ? 'postgres' : 'mysql';
  }
  throw new CliError(`${which} must be a postgres://, mysql://, mariadb:// or sqlite:/// URL, got '${maskUrl(url)}'`);
}

/** A failure on one side as one sentence: the URL masked, its password never shown. */
function sideFailure(error: unknown, url: string, table: string): CliError {
  if (error instanceof CliError) return error;
  const masked = maskUrl(url);
  let message = error instanceof Error ? error.message : String(error);
  const e = error as { code?: string };
  if (e.code === 'ECONNREFUSED' || /ECONNREFUSED|connect ETIMEDOUT|getaddrinfo/.test(message)) {
    message = `cannot connect to ${masked} (${message.replace(/\.$/, '')}): check that the server runs and the URL's host and port`;
  } else if (!(error instanceof TerminalError) && !message.includes(masked)) message = `${masked} table ${table}: ${message.replace(/\.$/, '')}`;
  return new CliError(scrubSecrets(message.split(url).join(masked), urlSecrets(url)));
}

async function openSide(url: string, table: string, engine: Engine): Promise<SqlContentSide> {
  // Each engine's driver loads when a side of that engine opens, not at every CLI start.
  /* eslint-disable @typescript-eslint/no-require-imports */
  try {
    if (engine === 'postgres') return await (require('../lambdas/adapters/content/postgres-side') as typeof import('../lambdas/adapters/content/postgres-side')).openPostgresSide(url, table);
    if (engine === 'mysql') return await (require('../lambdas/adapters/content/mysql-side') as typeof import('../lambdas/adapters/content/mysql-side')).openMysqlSide(url, table);
    return await (require('../lambdas/adapters/content/sqlite-side') as typeof import('../lambdas/adapters/content/sqlite-side')).openSqliteSide(decodeURIComponent(url.replace(/^sqlite:\/\//i, '')), table);
  } catch (error) {
    throw sideFailure(error, url, table);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
}

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${value}'`);
    return n;
  };
}

function keyText(names: readonly string[], key: readonly (string | null)[]): string {
  const parts = key.map((v, i) => `${names[i]}=${v === null ? 'NULL' : JSON.stringify(v)}`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** The report on stdout: the verdict, counts, differing keys (no values), what was compared. */
export function formatDiff(result: ContentResult, keyNames: readonly string[], notCompared: { onlyA: readonly string[]; onlyB: readonly string[] }): string {
  const lines: string[] = [];
  const passed = contentPassed(result);
  const c = result.compared;
  if (passed) lines.push(`PASSED: ${c.rowsA} rows on each side, equal in every compared column`);
  else {
    const dups = result.duplicates.length;
    lines.push(`FAILED: ${result.missingCount} missing, ${result.extraCount} extra, ${result.changedCount} changed, ${dups} duplicate key${dups === 1 ? '' : 's'}`);
    const more = (shown: number, count: number) => (count > shown ? [`  … and ${count - shown} more (see --json)`] : []);
    for (const k of result.missing) lines.push(`  missing in B: ${keyText(keyNames, k)}`);
    lines.push(...more(result.missing.length, result.missingCount));
    for (const k of result.extra) lines.push(`  extra in B: ${keyText(keyNames, k)}`);
    lines.push(...more(result.extra.length, result.extraCount));
    for (const r of result.changed) lines.push(`  changed: ${keyText(keyNames, r.key)} (${r.columns.map((x) => x.column).join(', ')})`);
    lines.push(...more(result.changed.length, result.changedCount));
    for (const d of result.duplicates) lines.push(`  duplicate key in ${d.side.toUpperCase()}: ${keyText(keyNames, d.key)} (${d.times} times)`);
  }
  lines.push(`compared: columns ${c.columns.join(', ')}; rows A ${c.rowsA}, rows B ${c.rowsB}; ${c.segments} segments, ${c.segmentQueries} queries, ${c.fetchedRows} rows fetched`);
  if (notCompared.onlyA.length) lines.push(`not compared (only in A): ${notCompared.onlyA.join(', ')}`);
  if (notCompared.onlyB.length) lines.push(`not compared (only in B): ${notCompared.onlyB.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

interface DiffOptions {
  key: string[];
  columns?: string[];
  json?: string;
  factor: number;
  fetchRows: number;
  floatTolerance: number;
}

export function diffCommand(outcome: CommandOutcome): Command {
  return new Command('diff')
    .description('Compare the rows of two tables (PostgreSQL, MySQL/MariaDB, SQLite) by checksums of segments; exit 0 equal, 2 different, 3 error')
    .argument('<URL_A>', 'the first database: postgres://user:pass@host:5432/db, mysql://…, mariadb://… or sqlite:///abs/path.db')
    .argument('<TABLE_A>', 'its table, TABLE or SCHEMA.TABLE')
    .argument('<URL_B>', 'the second database')
    .argument('<TABLE_B>', 'its table')
    .requiredOption('--key <COL[,COL…]>', 'the key columns (names in table A)', list)
    .option('--columns <COL,…>', 'compare only these columns besides the key (default: every column both tables have)', list)
    .option('--json <FILE>', 'write the full report, with the differing values, to FILE')
    .option('--factor <N>', 'children per split of a mismatching segment', positiveInt('--factor'), DEFAULT_FACTOR)
    .option('--fetch-rows <N>', 'fetch and diff a segment once its larger side holds at most N rows', positiveInt('--fetch-rows'), DEFAULT_FETCH_ROWS)
    .option('--float-tolerance <X>', 'relative tolerance of float columns', positiveNumber('--float-tolerance'), DEFAULT_FLOAT_TOLERANCE)
    .action(async (urlA: string, tableA: string, urlB: string, tableB: string, opts: DiffOptions) => {
      if (opts.factor < 2) throw new CliError('--factor must be at least 2');
      const engineA = engineOfDiffUrl(urlA, 'URL_A');
      const engineB = engineOfDiffUrl(urlB, 'URL_B');
      const a = await openSide(urlA, tableA, engineA);
      try {
        const b = await openSide(urlB, tableB, engineB);
        try {
          let built;
          try {
            built = buildPlan(a.catalog, b.catalog, {
              key: opts.key,
              ...(opts.columns ? { columns: opts.columns } : {}),
              factor: opts.factor,
              fetchRows: opts.fetchRows,
              floatTolerance: opts.floatTolerance,
              ...(engineA === 'mysql' ? { mysqlSide: 'a' as const } : engineB === 'mysql' ? { mysqlSide: 'b' as const } : {}),
              ...(engineA === 'sqlite' ? { looseSide: 'a' as const } : engineB === 'sqlite' ? { looseSide: 'b' as const } : {}),
            });
          } catch (error) {
            throw new CliError((error as Error).message);
          }
          const tty = process.stderr.isTTY === true;
          let result: ContentResult;
          try {
            result = await compareContent(a, b, built.plan, {
              ...(tty
                ? { onProgress: (p) => process.stderr.write(`\r${p.segments} segments, ${p.segmentQueries} queries, ${p.fetchedRows} rows fetched, ${p.differences} differences`) }
                : {}),
            });
          } catch (error) {
            throw sideFailure(error, `${maskUrl(urlA)} / ${maskUrl(urlB)}`, `${tableA} / ${tableB}`);
          } finally {
            if (tty) process.stderr.write('\r\x1b[K');
          }
          process.stdout.write(formatDiff(result, built.plan.key.map((k) => k.a), built));
          if (opts.json) {
            await writeJsonReport(opts.json, {
              verdict: contentPassed(result) ? 'PASSED' : 'FAILED',
              a: { url: maskUrl(urlA), table: tableA },
              b: { url: maskUrl(urlB), table: tableB },
              plan: built.plan,
              notCompared: { onlyA: built.onlyA, onlyB: built.onlyB },
              ...result,
            });
          }
          outcome.exitCode = contentPassed(result) ? 0 : 2;
        } finally {
          await b.close().catch(() => undefined);
        }
      } finally {
        await a.close().catch(() => undefined);
      }
    });
}
