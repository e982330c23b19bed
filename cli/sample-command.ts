/**
 * `syncproof sample DATASET`: rows of the dataset's target table, read through the warehouse the
 * runtime uses (a data dir's embedded PGlite, `--warehouse postgres://…`, or a stack's Redshift
 * through the Data API). Filters are `key=value` pairs on declared key columns only, bound as
 * parameters: no SQL is taken from the command line. Exit codes: 0 ok, 3 error.
 */
import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createRedshiftDataClient, createS3Client } from '../lambdas/adapters/clients';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { openPostgresWarehouse } from '../lambdas/adapters/postgres-warehouse';
import { RedshiftDataWarehouse } from '../lambdas/adapters/redshift-data-warehouse';
import { warehouseName } from '../lambdas/core/column-names';
import type { DatasetConfig, SyncproofConfig } from '../lambdas/core/config';
import { maskUrl } from '../lambdas/core/connection-url';
import type { ObjectStore, Row, SqlValue, Warehouse } from '../lambdas/core/ports';
import { readSchemaDocument, type SchemaDocument } from '../lambdas/core/source-schema';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { DataDirInUseError, lockDataDir } from '../local/data-dir-lock';
import { loadCliConfig } from './config-file';
import { onlyDataDirBucket, openDataDirObjects } from './data-dir-objects';
import { CliError } from './errors';
import { positiveInt } from './program';
import { formatRows, isBinaryType, readableValue, SAMPLE_FORMATS, type SampleFormat } from './sample-format';
import { describeAwsError, readStackOutputs, stackRegion } from './state-target';
import { requireWarehouseUrl } from './source-url';

/** The rows `sample` shows when neither --first nor --random is given. */
export const DEFAULT_SAMPLE_ROWS = 10;

/** The target's declared key columns (warehouse names): the dataset's `keyColumns`, or its source's. */
export function keyColumnsOf(dataset: DatasetConfig): string[] {
  if (dataset.keyColumns.length > 0) return [...dataset.keyColumns];
  return (dataset.source?.keyColumns ?? []).map(warehouseName);
}

/**
 * The key columns (warehouse names) of a dataset: declared, else — a source dataset keyed by its
 * table's primary key — those its schema document records (what every extraction uses).
 */
export async function resolveKeyColumns(dataset: DatasetConfig, readSchema: (() => Promise<SchemaDocument | undefined>) | undefined): Promise<string[]> {
  const declared = keyColumnsOf(dataset);
  if (declared.length > 0 || !dataset.source) return declared;
  const doc = readSchema ? await readSchema() : undefined;
  if (!doc) {
    throw new CliError(
      `dataset '${dataset.name}' declares no key columns (its source's primary key is in its schema document, ${readSchema ? 'which does not exist yet: run the dataset once' : 'which --warehouse does not reach: use --data-dir or --stack'}), or set source.keyColumns in the configuration`,
    );
  }
  return doc.keyColumns.map((k) => doc.columns.find((c) => c.source === k)?.name ?? warehouseName(k));
}

/** One `--where key=value` filter. */
export interface KeyFilter {
  readonly column: string;
  readonly value: string;
}

/** Parses `--where` pairs, refusing a column that is not a key (naming the keys). */
export function parseFilters(pairs: readonly string[], keys: readonly string[], dataset: string): KeyFilter[] {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--where '${pair}' is not key=value; filter on the key columns of dataset '${dataset}': ${keys.join(', ') || '(none declared)'}`);
    const column = pair.slice(0, at).trim();
    if (!keys.includes(column)) {
      throw new CliError(`--where: column '${column}' is not a key column of dataset '${dataset}'; filter on its key columns: ${keys.join(', ') || '(none declared: set keyColumns, or source.keyColumns)'}`);
    }
    return { column, value: pair.slice(at + 1) };
  });
}

/** Why `value` cannot be a value of a column of `type`, or undefined when it can. */
export function valueProblem(value: string, type: string): string | undefined {
  const t = type.toLowerCase();
  if (/^(smallint|integer|bigint|int[248]?)$/.test(t)) return /^[+-]?\d+$/.test(value) ? undefined : 'a whole number';
  if (/^(numeric|decimal|real|double precision|float[48]?)$/.test(t)) return value.trim() !== '' && Number.isFinite(Number(value)) ? undefined : 'a number';
  if (t === 'boolean') return /^(true|false)$/i.test(value) ? undefined : "'true' or 'false'";
  if (t === 'date') return /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : "a date ('2024-05-01')";
  if (t.startsWith('timestamp')) return /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/.test(value) ? undefined : "a date/time ('2024-05-01 12:00:00')";
  if (isBinaryType(t)) return /^0x([0-9a-f]{2})*$/i.test(value) ? undefined : "0x and the bytes in hex ('0x00ff')";
  return undefined;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** What to read. */
export interface SampleRequest {
  readonly dataset: DatasetConfig;
  /** The target's key columns (see {@link resolveKeyColumns}). */
  readonly keys: readonly string[];
  readonly filters: readonly KeyFilter[];
  readonly mode: { readonly kind: 'first'; readonly n: number } | { readonly kind: 'random'; readonly n: number; readonly seed: string };
}

/** The columns of the dataset's target table (name → type), in table order; CliError when it does not exist. */
async function targetColumns(warehouse: Warehouse, dataset: DatasetConfig): Promise<Map<string, string>> {
  const rows = await warehouse.query(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position',
    { schema: dataset.target.schema, table: dataset.target.table },
  );
  if (rows.length === 0) {
    throw new CliError(`the target table ${dataset.target.schema}.${dataset.target.table} of dataset '${dataset.name}' does not exist in the warehouse (yet); run the dataset once (\`syncproof sync ${dataset.name}\`)`);
  }
  return new Map(rows.map((r) => [String(r.column_name), String(r.data_type)]));
}

/**
 * Reads the sample: `first` in key order, `random` in the order of MD5(seed | key values) (the
 * same rows for the same seed, on PostgreSQL and Redshift alike). Values bound as parameters.
 */
export async function readSample(warehouse: Warehouse, request: SampleRequest): Promise<{ columns: string[]; rows: Row[] }> {
  const { dataset, filters, mode } = request;
  const columns = await targetColumns(warehouse, dataset);
  const keys = request.keys.filter((k) => columns.has(k));
  const params: Record<string, SqlValue> = {};
  const where = filters.map((f, i) => {
    const type = columns.get(f.column) ?? 'text';
    const problem = valueProblem(f.value, type);
    if (problem) throw new CliError(`--where ${f.column}=${f.value}: column '${f.column}' is ${type}, so give ${problem}; key columns of dataset '${dataset.name}': ${request.keys.join(', ')}`);
    params[`w${i}`] = isBinaryType(type) ? `\\x${f.value.slice(2)}` : f.value;
    return `${quoteIdent(f.column)} = :w${i}`;
  });
  const byKey = (keys.length > 0 ? keys : [...columns.keys()].slice(0, 1)).map(quoteIdent);
  let order = byKey.join(', ');
  if (mode.kind === 'random') {
    params.seed = mode.seed;
    order = `MD5(:seed${byKey.map((k) => ` || '|' || COALESCE(CAST(${k} AS VARCHAR), '')`).join('')}), ${order}`;
  }
  const sql = `SELECT * FROM ${quoteIdent(dataset.target.schema)}.${quoteIdent(dataset.target.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${mode.n}`;
  const rows = await warehouse.query(sql, params);
  const names = [...columns.keys()];
  return { columns: names, rows: rows.map((r) => Object.fromEntries(names.map((c) => [c, readableValue(r[c] ?? null, isBinaryType(columns.get(c)))]))) };
}

/** COPY never runs here: the warehouse is only read. */
const NO_OBJECTS = new Proxy({}, { get: () => () => Promise.reject(new Error('sample reads the warehouse only')) }) as ObjectStore;

interface SampleFlags {
  readonly config: string;
  readonly dataDir?: string;
  readonly warehouse?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly first?: number;
  readonly random?: number;
  readonly seed?: string;
  readonly where?: string[];
  readonly format: SampleFormat;
}

/** Opens the warehouse the flags name, runs `work`, closes it (and a data dir's lock). */
async function onWarehouse<T>(flags: SampleFlags, config: SyncproofConfig, dataset: string, work: (warehouse: Warehouse, readSchema?: () => Promise<SchemaDocument | undefined>) => Promise<T>): Promise<T> {
  const given = [flags.dataDir, flags.warehouse, flags.stack].filter((v) => v !== undefined).length;
  if (given !== 1) throw new CliError('name the warehouse: give exactly one of --data-dir DIR (the state of `syncproof local` or `sync`), --warehouse postgres://… or --stack NAME');
  if (flags.region !== undefined && flags.stack === undefined) throw new CliError('--region applies to --stack only');
  if (flags.stack !== undefined) {
    const r = config.redshift;
    if (!r) throw new CliError(`--stack reads the warehouse through the Redshift Data API: the configuration has no "redshift" block naming it; add it (as the stack was deployed with)`);
    const client = createRedshiftDataClient({ region: stackRegion(flags.region) });
    const warehouse = new RedshiftDataWarehouse({ client, database: r.database, workgroupName: r.workgroupName, clusterIdentifier: r.clusterIdentifier, secretArn: r.secretArn, dbUser: r.dbUser });
    const region = stackRegion(flags.region);
    const readSchema = async () => {
      const bucket = (await readStackOutputs(flags.stack as string, region, [STACK_OUTPUTS.bucket]))[STACK_OUTPUTS.bucket];
      const s3 = createS3Client({ region });
      try {
        return await readSchemaDocument(new S3ObjectStore(s3, bucket), dataset);
      } finally {
        s3.destroy();
      }
    };
    try {
      return await work(warehouse, readSchema);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`reading the warehouse of stack '${flags.stack}' failed: ${describeAwsError(error)}`);
    } finally {
      client.destroy();
    }
  }
  if (flags.warehouse !== undefined) {
    requireWarehouseUrl(flags.warehouse);
    return withPostgres(flags.warehouse, maskUrl(flags.warehouse), (w) => work(w));
  }
  const root = resolve(flags.dataDir as string);
  const path = join(root, 'warehouse');
  try {
    await access(path);
  } catch {
    throw new CliError(`no embedded warehouse in '${flags.dataDir}' (no ${join(flags.dataDir as string, 'warehouse')}); give the --data-dir \`syncproof local\` or \`sync\` used, or --warehouse postgres://… when it loaded into a PostgreSQL server`);
  }
  let lock;
  try {
    lock = await lockDataDir(root, 'syncproof sample');
  } catch (error) {
    if (error instanceof DataDirInUseError) throw new CliError(`${error.message}; sample reads its embedded warehouse once it is stopped`);
    throw error;
  }
  try {
    return await withPostgres(`pglite:${path}`, `the embedded warehouse in ${flags.dataDir}`, (w) => work(w, () => localSchemaDocument(root, dataset)));
  } finally {
    await lock.release();
  }
}

/** The dataset's schema document in a data dir's S3 state (its only bucket), read through the S3 emulator. */
async function localSchemaDocument(root: string, dataset: string): Promise<SchemaDocument | undefined> {
  const bucket = await onlyDataDirBucket(root);
  const opened = bucket === undefined ? undefined : await openDataDirObjects(root, bucket);
  if (!opened) return undefined;
  try {
    return await readSchemaDocument(opened.objects, dataset);
  } finally {
    await opened.close();
  }
}

async function withPostgres<T>(url: string, what: string, work: (warehouse: Warehouse) => Promise<T>): Promise<T> {
  let warehouse: Warehouse;
  try {
    warehouse = await openPostgresWarehouse(url, { objects: NO_OBJECTS });
  } catch (error) {
    throw new CliError(`cannot open ${what}: ${(error as Error).message}`);
  }
  try {
    return await work(warehouse);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`reading ${what} failed: ${(error as Error).message}`);
  } finally {
    await warehouse.close();
  }
}

function format(value: string): SampleFormat {
  if (!(SAMPLE_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--format must be one of ${SAMPLE_FORMATS.join(', ')}, got '${value}'`);
  return value as SampleFormat;
}

/** `syncproof sample DATASET --config FILE (--data-dir DIR | --warehouse URL | --stack NAME) [--first N | --random N [--seed S]] [--where KEY=VALUE…] [--format …]`. */
export function sampleCommand(): Command {
  return new Command('sample')
    .description("show rows of a dataset's target table: the first by key, or a seeded random sample; filters only on key columns (values bound, no SQL)")
    .argument('<dataset>', 'a dataset of the configuration')
    .requiredOption('--config <file>', 'dataset configuration (the target table and its key columns)')
    .addOption(new Option('--data-dir <dir>', 'the local state whose embedded warehouse to read (while no runtime uses it)').conflicts(['warehouse', 'stack']))
    .addOption(new Option('--warehouse <url>', 'postgres://… when the local state loaded into a PostgreSQL server').conflicts(['dataDir', 'stack']))
    .addOption(new Option('--stack <name>', 'a deployed stack: its Redshift through the Data API (the configuration\'s "redshift" block)').conflicts(['dataDir', 'warehouse']))
    .option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)')
    .addOption(new Option('--first <n>', `the first N rows in key order (default ${DEFAULT_SAMPLE_ROWS})`).argParser(positiveInt('--first')).conflicts('random'))
    .addOption(new Option('--random <n>', 'N rows drawn at random, repeatably for one --seed').argParser(positiveInt('--random')).conflicts('first'))
    .option('--seed <text>', '--random: the seed (default: a new one, printed)')
    .option('--where <key=value...>', 'only rows whose key column equals the value (several: all must match); key columns only')
    .addOption(new Option('--format <format>', SAMPLE_FORMATS.join(' | ')).argParser(format).default('table'))
    .exitOverride()
    .action(async (name: string, flags: SampleFlags) => {
      const config = loadCliConfig(flags.config, [name]);
      const dataset = config.datasets.find((d) => d.name === name) as DatasetConfig;
      if (flags.seed !== undefined && flags.random === undefined) throw new CliError('--seed applies to --random only');
      const mode = flags.random !== undefined ? { kind: 'random' as const, n: flags.random, seed: flags.seed ?? randomUUID().slice(0, 8) } : { kind: 'first' as const, n: flags.first ?? DEFAULT_SAMPLE_ROWS };
      const { columns, rows, keys } = await onWarehouse(flags, config, name, async (warehouse, readSchema) => {
        const keys = await resolveKeyColumns(dataset, readSchema);
        const filters = parseFilters(flags.where ?? [], keys, name);
        return { ...(await readSample(warehouse, { dataset, keys, filters, mode })), keys };
      });
      const how = mode.kind === 'random' ? `random, seed ${mode.seed} (--seed ${mode.seed} draws them again)` : `first by key (${keys.join(', ') || columns[0]})`;
      const summary = `${rows.length} row${rows.length === 1 ? '' : 's'} of ${dataset.target.schema}.${dataset.target.table} (dataset ${name}), ${how}`;
      if (flags.format === 'table') process.stdout.write(`${formatRows(columns, rows, 'table')}\n${summary}\n`);
      else {
        process.stdout.write(`${formatRows(columns, rows, flags.format)}\n`);
        process.stderr.write(`${summary}\n`);
      }
    });
}
