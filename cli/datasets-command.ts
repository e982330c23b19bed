import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { maskUrl } from '../lambdas/core/connection-url';
import { warehouseName } from '../lambdas/core/column-names';
import { parseConfig, type DatasetConfig } from '../lambdas/core/config';
import { suggestCursor } from '../lambdas/core/cursor-suggestion';
import { TerminalError } from '../lambdas/core/errors';
import { nearestName } from '../lambdas/core/nearest-name';
import { type SourceDatabase, type SourceEngine, type TableRef } from '../lambdas/core/source';
import { resolveSourceSchema, type ResolvedSchema } from '../lambdas/core/source-schema';
import { CliError } from './errors';
import { writeFileAtomically } from './json-file';
import { SOURCE_URL_HELP, engineOfUrl, onSource, type SourceCommandDeps } from './source-url';

/** The configuration file as read: its JSON as written (written back unchanged but for the new dataset). */
interface ConfigFile {
  readonly raw: { datasets: unknown[]; [key: string]: unknown };
  readonly existed: boolean;
}

/** Reads the file (a missing one is an empty configuration); refuses one that is not valid. */
async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { raw: { datasets: [] }, existed: false };
    throw new CliError(`cannot read --config '${file}' (${(error as { code?: string }).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--config '${file}' is not valid JSON (${(error as Error).message}); fix it first, nothing was written`);
  }
  try {
    parseConfig(raw, `--config '${file}'`);
  } catch (error) {
    throw new CliError(`${(error as Error).message}; fix it first, nothing was written`);
  }
  return { raw: raw as ConfigFile['raw'], existed: true };
}

/** `db.table` / `schema.table` from `--table`; a bare name is in the URL's database (MySQL) or `public` (PostgreSQL). */
export function tableRefOf(table: string, url: string, engine: SourceEngine): TableRef {
  const dot = table.indexOf('.');
  if (dot > 0) return { schema: table.slice(0, dot), table: table.slice(dot + 1) };
  if (engine === 'postgres') return { schema: 'public', table };
  let database = '';
  try {
    database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  } catch {
    // not a URL the WHATWG parser takes; the message below says what to do
  }
  if (!database) throw new CliError(`--table '${table}' names no database and the URL names none; give it as DATABASE.TABLE`);
  return { schema: database, table };
}

interface AddFlags {
  source: string;
  table: string;
  cursor?: string;
  key?: string[];
  targetSchema?: string;
  targetTable?: string;
  config: string;
}

/** What `datasets add` decided, for its summary. */
interface Added {
  readonly dataset: DatasetConfig;
  readonly cursorNote: string;
  readonly resolved: ResolvedSchema;
}

/** Tables of the schema whose names are close to the one asked for (a missing table's hint). */
async function nearTables(source: SourceDatabase, ref: TableRef): Promise<string> {
  try {
    const names = (await source.listTables(ref.schema)).map((t) => t.table);
    const near = nearestName(ref.table, names);
    if (near) return `; did you mean '${ref.schema}.${near}'?`;
    return names.length ? `; tables in ${ref.schema}: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}` : `; ${ref.schema} has no tables`;
  } catch {
    return '';
  }
}

/** Refuses with the message a run would fail with (exit 3). */
function refusal(error: unknown, hint = ''): CliError {
  if (error instanceof TerminalError) return new CliError(`refused: ${error.message}${hint}; the configuration was not changed`);
  throw error;
}

async function addDataset(name: string, flags: AddFlags, deps: SourceCommandDeps): Promise<void> {
  const engine = engineOfUrl(flags.source);
  const file = await readConfigFile(flags.config);
  const names = file.raw.datasets.map((d) => (d as { name?: unknown }).name);
  if (names.includes(name)) throw new CliError(`--config '${flags.config}' already has a dataset '${name}'; choose another name (or edit the file)`);
  const ref = tableRefOf(flags.table, flags.source, engine);
  const qualified = `${ref.schema}.${ref.table}`;

  const added = await onSource(deps, flags.source, async (source): Promise<Added> => {
    const table = await source.describeTable(ref);
    const suggestion = table ? suggestCursor(table.columns, table.primaryKey) : undefined;
    const cursor = flags.cursor ?? suggestion?.column;
    if (table && cursor === undefined) throw new CliError(`no --cursor given, and ${qualified} has none to suggest: ${suggestion?.reason}; the configuration was not changed`);
    const raw = {
      name,
      source: {
        engine,
        url: flags.source,
        table: qualified,
        cursorColumn: cursor ?? '(none)',
        ...(flags.key ? { keyColumns: flags.key } : {}),
      },
      target: { schema: flags.targetSchema ?? 'public', table: flags.targetTable ?? warehouseName(ref.table) },
    };
    const candidate = { ...file.raw, datasets: [...file.raw.datasets, raw] };
    let dataset: DatasetConfig;
    try {
      dataset = parseConfig(candidate, `--config '${flags.config}' with dataset '${name}'`).datasets.at(-1)!;
    } catch (error) {
      throw refusal(error);
    }
    let resolved: ResolvedSchema;
    try {
      resolved = resolveSourceSchema(dataset, table);
    } catch (error) {
      throw refusal(error, table ? '' : await nearTables(source, ref));
    }
    await writeFileAtomically(flags.config, `${JSON.stringify(candidate, null, 2)}\n`);
    const cursorNote = flags.cursor !== undefined ? 'as given' : `suggested: ${suggestion!.reason}; pass --cursor to choose another`;
    return { dataset, cursorNote, resolved };
  });

  const { dataset, cursorNote, resolved } = added;
  const s = resolved.schema;
  const lines = [
    `added dataset '${name}' to ${flags.config}${file.existed ? '' : ' (created)'}: ${qualified} in ${maskUrl(flags.source)} → ${dataset.target.schema}.${dataset.target.table}`,
    `  cursor:  ${s.cursorColumn} (${s.cursorKind}; ${cursorNote})`,
    `  key:     ${s.keyColumns.join(', ')} (${flags.key ? 'as given' : 'the primary key'})`,
    `  columns: ${s.columns.map((c) => `${c.source} ${c.type.redshift}`).join(', ')}`,
    ...resolved.warnings.map((w) => `  warning: ${w}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function addCommand(deps: SourceCommandDeps): Command {
  return new Command('add')
    .description('add a dataset for a source table to a configuration file, after the checks a run makes (the table exists, has a key, the cursor and every column type are usable)')
    .argument('<name>', 'dataset name (1-40 chars of a-z, 0-9 and -)')
    .requiredOption('--source <url>', `${SOURCE_URL_HELP} (stored as source.url)`)
    .requiredOption('--table <table>', "the table: 'db.table' (MySQL), 'schema.table' (PostgreSQL); a bare name is in the URL's database, or public")
    .option('--cursor <column>', 'the column that grows on every insert and update (default: a suggestion, printed)')
    .option('--key <column...>', 'key columns (default: the primary key); a unique key for a table without one')
    .option('--target-schema <schema>', 'warehouse schema (default: public)')
    .option('--target-table <table>', "warehouse table (default: the source table's name, lower-cased)")
    .requiredOption('--config <file>', 'the JSON configuration file to add it to (created if missing)')
    .exitOverride()
    .action((name: string, flags: AddFlags) => addDataset(name, flags, deps));
}

/** `syncproof datasets add`: configure a dataset for a source table, checked against the table first. */
export function datasetsCommand(deps: SourceCommandDeps): Command {
  return new Command('datasets').description('add datasets to a configuration file').exitOverride().addCommand(addCommand(deps));
}
