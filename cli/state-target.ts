import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClassicLevel } from 'classic-level';
import { Command, Option } from 'commander';
import { createDocumentClient } from '../lambdas/adapters/clients';
import { requireDataset } from '../lambdas/core/config';
import { loadConfigFile } from '../lib/config';
import { STACK_OUTPUTS, type StackOutputKey } from '../lambdas/core/stack-outputs';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamoDb, type LocalDynamoDb } from '../local/emulators';
import { DataDirInUseError, lockDataDir, type DataDirLock } from '../local/data-dir-lock';
import { LOCAL_TABLES } from '../local/runtime-options';
import { CliError } from './errors';
import { maskUrl } from '../lambdas/core/connection-url';

/**
 * Where a state command (`syncproof ledger …`, `syncproof watermark …`) finds the DynamoDB state:
 * exactly one of the three.
 */
export interface StateTargetOptions {
  /** The `--data-dir` of `syncproof local` (opened in this process; that runtime must not be running). */
  readonly dataDir?: string;
  /** The DynamoDB endpoint a running `syncproof local` printed. */
  readonly endpoint?: string;
  /** A deployed stack: its tables come from the stack's outputs ({@link STACK_OUTPUTS}). */
  readonly stack?: string;
  /** AWS region for `stack`. @default $AWS_REGION, else $AWS_DEFAULT_REGION */
  readonly region?: string;
}

/** Where the table was found, as reports show it (no credentials). */
export type StateTargetDescription =
  | { readonly kind: 'data-dir'; readonly dataDir: string; readonly table: string }
  | { readonly kind: 'endpoint'; readonly endpoint: string; readonly table: string }
  | { readonly kind: 'stack'; readonly stack: string; readonly region: string; readonly table: string };

/** The tables a state command opens, with their local name, stack output and the words messages use. */
export const STATE_TABLES = {
  ledger: {
    local: LOCAL_TABLES.ledger,
    output: STACK_OUTPUTS.ledgerTable,
    noun: 'ledger',
    permissions: 'dynamodb:GetItem, Query, Scan and UpdateItem on the ledger table and its indexes',
  },
  watermarks: {
    local: LOCAL_TABLES.watermarks,
    output: STACK_OUTPUTS.watermarksTable,
    noun: 'watermark table',
    permissions: 'dynamodb:GetItem, Scan and PutItem on the watermarks table',
  },
  runs: {
    local: LOCAL_TABLES.runs,
    output: STACK_OUTPUTS.runsTable,
    noun: 'runs table',
    permissions: 'dynamodb:GetItem and Query on the runs table and its byDatasetStarted index',
  },
} as const satisfies Record<string, { local: string; output: StackOutputKey; noun: string; permissions: string }>;

export type StateTable = keyof typeof STATE_TABLES;

/** An opened table; `close` releases the client and, for a data dir, the embedded emulator. */
export interface StateTarget {
  readonly client: DynamoDBDocumentClient;
  readonly table: string;
  readonly description: StateTargetDescription;
  close(): Promise<void>;
}

/** Several tables of one target opened at once (one client, one emulator, one data-dir lock). */
export interface StateTables<T extends StateTable> {
  readonly client: DynamoDBDocumentClient;
  /** Each table's name on the target. */
  readonly tables: Readonly<Record<T, string>>;
  /** The target; its `table` is the first table's. */
  readonly description: StateTargetDescription;
  close(): Promise<void>;
}

/** The flags, for messages. */
export const TARGET_FLAGS = '--data-dir DIR (the state of `syncproof local`), --endpoint URL (a running `syncproof local`) or --stack NAME (a deployed stack)';

/** The target flags a state command takes. */
export type TargetFlags = Pick<StateTargetOptions, 'dataDir' | 'endpoint' | 'stack' | 'region'> & { readonly config?: string };

/**
 * With `--config FILE` (the file `sync` and `local` take), a command's `<dataset>` argument must name
 * one of its datasets: an unknown one is refused (exit 3) naming the nearest, before any state is opened.
 */
function checkDatasetAgainstConfig(command: Command): void {
  const file = (command.opts() as TargetFlags).config;
  if (file === undefined) return;
  let config;
  try {
    config = loadConfigFile(resolve(file));
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const at = command.registeredArguments.findIndex((a) => a.name() === 'dataset');
  const dataset = at < 0 ? undefined : (command.processedArgs[at] as string | undefined);
  if (dataset === undefined) return;
  try {
    requireDataset(config, dataset);
  } catch (error) {
    throw new CliError(`${(error as Error).message} (in ${file}); check the name, or add the dataset to the configuration`);
  }
}

/** Adds the target flags every state command takes: exactly one of --data-dir, --endpoint, --stack; and --config. */
export function withTargetOptions(command: Command): Command {
  return command
    .option('--config <file>', 'dataset configuration (as for `sync`): the dataset name is checked against it')
    .hook('preAction', (_self, action) => checkDatasetAgainstConfig(action))
    .addOption(new Option('--data-dir <dir>', 'the --data-dir of `syncproof local` (while it is not running)').conflicts(['endpoint', 'stack']))
    .addOption(new Option('--endpoint <url>', 'the DynamoDB endpoint a running `syncproof local` printed').conflicts(['dataDir', 'stack']))
    .addOption(new Option('--stack <name>', "a deployed stack (e.g. 'Syncproof'); AWS credentials from the default chain").conflicts(['dataDir', 'endpoint']))
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)'))
    .exitOverride();
}

/** `the local state in DIR`, `stack 'S' (table T in R)`…, for messages. */
export function whereText(d: StateTargetDescription): string {
  if (d.kind === 'data-dir') return `the local state in ${d.dataDir}`;
  if (d.kind === 'endpoint') return `the local runtime at ${d.endpoint}`;
  return `stack '${d.stack}' (table ${d.table} in ${d.region})`;
}

/**
 * Opens `table` on the target the flags name, runs `work`, closes it; DynamoDB failures become
 * one-line CliErrors.
 */
export async function onStateTable<T>(flags: TargetFlags, table: StateTable, work: (target: StateTarget) => Promise<T>): Promise<T> {
  const target = await openStateTarget({ dataDir: flags.dataDir, endpoint: flags.endpoint, stack: flags.stack, region: flags.region }, table);
  try {
    return await work(target);
  } catch (error) {
    throw stateFailure(error, target.description, table);
  } finally {
    await target.close();
  }
}

/** Opens `table` on the target the options name. Throws CliError (exit 3) naming what to fix. */
export async function openStateTarget(options: StateTargetOptions, table: StateTable): Promise<StateTarget> {
  const opened = await openStateTables(options, [table], `syncproof ${table === 'ledger' ? 'ledger' : 'watermark'}`);
  return { client: opened.client, table: opened.tables[table], description: opened.description, close: () => opened.close() };
}

/**
 * Opens `tables` (at least one) on the target the options name, sharing one client; `owner` is who
 * holds a data dir's lock meanwhile, as a second process is told. Throws CliError (exit 3) naming
 * what to fix.
 */
export async function openStateTables<T extends StateTable>(options: StateTargetOptions, tables: readonly [T, ...T[]], owner: string): Promise<StateTables<T>> {
  const noun = STATE_TABLES[tables[0]].noun;
  const given = [options.dataDir, options.endpoint, options.stack].filter((v) => v !== undefined).length;
  if (given !== 1) throw new CliError(`${given === 0 ? `no ${noun} named` : `name only one ${noun}`}: give exactly one of ${TARGET_FLAGS}`);
  if (options.region !== undefined && options.stack === undefined) throw new CliError('--region applies to --stack only');
  if (options.dataDir !== undefined) return openDataDir(options.dataDir, tables, owner);
  if (options.endpoint !== undefined) return openEndpoint(options.endpoint, tables);
  return openStack(options.stack as string, options.region, tables);
}

function localNames<T extends StateTable>(tables: readonly T[]): Record<T, string> {
  return Object.fromEntries(tables.map((t) => [t, STATE_TABLES[t].local])) as Record<T, string>;
}

/** A document client on the local emulator's region and credentials (dynalite accepts any). */
function localClient(endpoint: string): DynamoDBDocumentClient {
  return createDocumentClient({ dynamodb: endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
}

/** Fails with `missing` when the table does not exist; other errors pass through. */
async function requireTable(client: DynamoDBDocumentClient, table: string, missing: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') throw new CliError(missing);
    throw error;
  }
}

/**
 * Opens `<dataDir>/dynamodb` in this process. dynalite reports a locked LevelDB only as a crash on
 * its first request, so the lock is probed first by opening (and closing) the database directly.
 */
async function openDataDir<T extends StateTable>(dataDir: string, tables: readonly [T, ...T[]], owner: string): Promise<StateTables<T>> {
  const root = resolve(dataDir);
  try {
    await access(root);
  } catch {
    throw new CliError(`--data-dir '${dataDir}' does not exist; give the directory that \`syncproof local --data-dir\` keeps its state in`);
  }
  // The data dir's lock names a runtime (or another state command) that has it open; the LevelDB
  // probe below also catches a holder that takes no lock.
  let lock: DataDirLock;
  try {
    lock = await lockDataDir(root, owner);
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      throw new CliError(`${error.message}; or, while it runs, pass --endpoint with the DynamoDB endpoint \`syncproof local\` printed instead of --data-dir`);
    }
    throw error;
  }
  try {
    return await openLockedDataDir(dataDir, root, tables, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function openLockedDataDir<T extends StateTable>(dataDir: string, root: string, tables: readonly [T, ...T[]], lock: DataDirLock): Promise<StateTables<T>> {
  const path = join(root, 'dynamodb');
  try {
    // Checked first: LevelDB creates the directory (and a LOG) even with createIfMissing false.
    await access(path);
  } catch {
    throw new CliError(`no DynamoDB state in '${dataDir}' (no ${join(dataDir, 'dynamodb')}); give the --data-dir that \`syncproof local\` used`);
  }
  const probe = new ClassicLevel(path, { createIfMissing: false });
  try {
    await probe.open();
  } catch (error) {
    const e = error as { cause?: { code?: string; message?: string }; message?: string };
    if (e.cause?.code === 'LEVEL_LOCKED') {
      throw new CliError(
        `the local state in '${dataDir}' is in use: its DynamoDB data is locked, most likely by a running \`syncproof local --data-dir ${dataDir}\`. ` +
          'Stop it (Ctrl-C) and run this again, or leave it running and pass --endpoint with the DynamoDB endpoint it printed instead of --data-dir',
      );
    }
    if (/does not exist/.test(e.cause?.message ?? '')) {
      throw new CliError(`no DynamoDB state in '${dataDir}' (no ${join(dataDir, 'dynamodb')}); give the --data-dir that \`syncproof local\` used`);
    }
    throw new CliError(`cannot open the DynamoDB state in '${dataDir}': ${e.cause?.message ?? e.message ?? String(error)}`);
  }
  await probe.close();

  let dynamo: LocalDynamoDb | undefined;
  let client: DynamoDBDocumentClient | undefined;
  const stop = async () => {
    client?.destroy();
    await dynamo?.stop();
  };
  try {
    dynamo = await startLocalDynamoDb({ path });
    client = localClient(dynamo.endpoint);
    for (const table of tables) {
      const { local, noun } = STATE_TABLES[table];
      await requireTable(client, local, `'${dataDir}' holds no ${noun} yet; run \`syncproof local --data-dir ${dataDir}\` once to create it`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const close = async () => {
    await stop();
    await lock.release();
  };
  return { client, tables: localNames(tables), description: { kind: 'data-dir', dataDir: root, table: STATE_TABLES[tables[0]].local }, close };
}

async function openEndpoint<T extends StateTable>(endpoint: string, tables: readonly [T, ...T[]]): Promise<StateTables<T>> {
  if (!/^https?:\/\/[^\s/]+/.test(endpoint)) throw new CliError(`--endpoint must be an http(s):// URL, got '${maskUrl(endpoint)}'`);
  const client = localClient(endpoint);
  try {
    for (const table of tables) {
      const { local } = STATE_TABLES[table];
      await requireTable(client, local, `the DynamoDB at ${maskUrl(endpoint)} has no table '${local}'; is it the endpoint \`syncproof local\` printed?`);
    }
  } catch (error) {
    client.destroy();
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot reach DynamoDB at ${maskUrl(endpoint)} (${describeAwsError(error)}); is \`syncproof local\` running? It prints its DynamoDB endpoint when ready`);
  }
  const local = STATE_TABLES[tables[0]].local;
  return { client, tables: localNames(tables), description: { kind: 'endpoint', endpoint: maskUrl(endpoint), table: local }, close: async () => client.destroy() };
}

/** `name: first line of message`, or the network code; never request details. */
export function describeAwsError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (code && /^E[A-Z]+$/.test(code)) return code;
  return `${e.name ?? 'Error'}${e.message ? `: ${e.message.split('\n')[0]}` : ''}`;
}

/** One line for a failed AWS call: credentials, permissions and region problems say what to set. */
export function awsFailure(error: unknown, what: string, permission: string, region: string): string {
  const e = error as { name?: string; message?: string };
  if (e.name === 'CredentialsProviderError' || (/credential/i.test(e.message ?? '') && !/denied/i.test(e.message ?? ''))) {
    return `${what}: no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  }
  if (['UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'SignatureDoesNotMatch'].includes(e.name ?? '')) {
    return `${what}: AWS rejected the credentials (${e.name}); refresh them (AWS_PROFILE, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN)`;
  }
  if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException') return `${what}: access denied; the credentials need ${permission}`;
  return `${what} in ${region} failed: ${describeAwsError(error)}`;
}

/** The region for `--stack`: `--region`, else $AWS_REGION / $AWS_DEFAULT_REGION. */
export function stackRegion(regionOption: string | undefined): string {
  const region = regionOption ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined);
  if (!region) throw new CliError('no AWS region for --stack; pass --region or set AWS_REGION');
  return region;
}

/**
 * The values of a deployed stack's outputs `keys` (STACK_OUTPUTS), read with DescribeStacks.
 * CliError when the stack does not exist, cannot be read, or lacks one of them (an older deploy).
 */
export async function readStackOutputs<K extends StackOutputKey>(stack: string, region: string, keys: readonly K[]): Promise<Record<K, string>> {
  const cloudFormation = new CloudFormationClient({ region });
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (e.name === 'ValidationError' && /does not exist/.test(e.message ?? '')) {
      throw new CliError(`stack '${stack}' does not exist in ${region}; check --stack (the CDK app deploys 'Syncproof') and --region`);
    }
    throw new CliError(awsFailure(error, `reading stack '${stack}'`, 'cloudformation:DescribeStacks', region));
  } finally {
    cloudFormation.destroy();
  }
  const values = {} as Record<K, string>;
  for (const key of keys) {
    const value = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (!value) throw new CliError(`stack '${stack}' has no ${key} output; it was deployed by an older syncproof: deploy this version (npx cdk deploy) and run again`);
    values[key] = value;
  }
  return values;
}

async function openStack<T extends StateTable>(stack: string, regionOption: string | undefined, tables: readonly [T, ...T[]]): Promise<StateTables<T>> {
  const region = stackRegion(regionOption);
  const outputs = await readStackOutputs(stack, region, tables.map((t) => STATE_TABLES[t].output));
  const names = Object.fromEntries(tables.map((t) => [t, outputs[STATE_TABLES[t].output]])) as Record<T, string>;
  const client = createDocumentClient({ region });
  return { client, tables: names, description: { kind: 'stack', stack, region, table: names[tables[0]] }, close: async () => client.destroy() };
}

/** Turns a DynamoDB failure while using a target into a CliError naming what to fix. */
export function stateFailure(error: unknown, target: StateTargetDescription, table: StateTable): CliError {
  if (error instanceof CliError) return error;
  const cause = (error as { cause?: unknown }).cause ?? error;
  const { noun, permissions } = STATE_TABLES[table];
  const where = target.kind === 'stack' ? `table ${target.table} of stack '${target.stack}'` : `the local ${noun}`;
  const region = target.kind === 'stack' ? target.region : LOCAL_REGION;
  return new CliError(awsFailure(cause, `reading ${where}`, permissions, region));
}
