import { Command } from 'commander';
import { maskUrl } from '../lambdas/core/connection-url';
import { suggestCursor, type CursorSuggestion } from '../lambdas/core/cursor-suggestion';
import { formatBytes } from '../lambdas/core/local-sync';
import { type SourceTableSummary } from '../lambdas/core/source';
import { writeJsonReport } from './json-file';
import { SOURCE_URL_HELP, onSource, type SourceCommandDeps } from './source-url';

/** One table of `source tables`, as printed and written to `--json`. */
export interface TableListing {
  readonly schema: string;
  readonly table: string;
  readonly estimatedRows: number | null;
  readonly bytes: number | null;
  readonly primaryKey: readonly string[];
  readonly suggestedCursor: CursorSuggestion;
}

export function tableListing(t: SourceTableSummary): TableListing {
  return {
    schema: t.schema,
    table: t.table,
    estimatedRows: t.estimatedRows,
    bytes: t.bytes,
    primaryKey: t.primaryKey,
    suggestedCursor: suggestCursor(t.columns, t.primaryKey),
  };
}

/** The table of `source tables`: name, estimated rows, bytes, primary key, suggested cursor (and why). */
export function formatTables(tables: readonly TableListing[], where: string): string {
  if (tables.length === 0) return `no tables in ${where}`;
  const rows = tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.estimatedRows === null ? '?' : String(t.estimatedRows),
    t.bytes === null ? '?' : formatBytes(t.bytes),
    t.primaryKey.length ? t.primaryKey.join(', ') : '(none)',
    t.suggestedCursor.column ? `${t.suggestedCursor.column}: ${t.suggestedCursor.reason}` : `none: ${t.suggestedCursor.reason}`,
  ]);
  const header = ['table', 'rows (estimate)', 'bytes', 'primary key', 'suggested cursor'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    `tables in ${where} (rows and bytes are the engine's estimates, not counts)`,
    line(header),
    ...rows.map(line),
    `${tables.length} ${tables.length === 1 ? 'table' : 'tables'}`,
  ].join('\n');
}

interface TablesFlags {
  source: string;
  schema?: string;
  json?: string;
}

function tablesCommand(deps: SourceCommandDeps): Command {
  return new Command('tables')
    .description("list a source database's tables: estimated rows, bytes, primary key and a suggested cursor column")
    .requiredOption('--source <url>', SOURCE_URL_HELP)
    .option('--schema <schema>', 'only this schema (MySQL: database)')
    .option('--json <file>', 'also write the tables as JSON to this file')
    .exitOverride()
    .action(async (flags: TablesFlags) => {
      const where = maskUrl(flags.source) + (flags.schema ? ` (schema ${flags.schema})` : '');
      const tables = await onSource(deps, flags.source, async (source) => (await source.listTables(flags.schema)).map(tableListing));
      if (flags.json) {
        await writeJsonReport(flags.json, { command: 'source tables', at: new Date().toISOString(), source: maskUrl(flags.source), schema: flags.schema ?? null, tables });
      }
      process.stdout.write(`${formatTables(tables, where)}\n`);
    });
}

/** `syncproof source tables`: what a source database holds, before a dataset is added for one of its tables. */
export function sourceCommand(deps: SourceCommandDeps): Command {
  return new Command('source').description('inspect a source database').exitOverride().addCommand(tablesCommand(deps));
}
