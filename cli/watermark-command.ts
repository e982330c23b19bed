import { dataDirS3, onlyDataDirBucket, openDataDirObjects } from './data-dir-objects';
import { Command } from 'commander';
import { createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { extractionDocumentSchema, type ExtractionDocument } from '../lambdas/core/extraction';
import { nearestName } from '../lambdas/core/nearest-name';
import { parseS3Uri } from '../lambdas/core/s3-uri';
import { readSchemaDocument, schemaDocumentKey } from '../lambdas/core/source-schema';
import type { WatermarkRecord, WatermarkStore } from '../lambdas/core/watermark';
import { CliError } from './errors';
import { writeJsonReport } from './json-file';
import { onStateTable, whereText, withTargetOptions, type StateTargetDescription, type TargetFlags } from './state-target';
import { checkPosition, type PositionTypes, formatFiles, formatWatermark, formatWatermarkList, positionText, resetRecord, setRecord } from './watermark-format';

/** The message of a conditional write that lost to another writer. */
export const WATERMARK_RACE = 'the watermark changed while setting it; run again';

/** Opens the watermarks table, runs `work`, closes it. */
function onWatermarks<T>(flags: TargetFlags, work: (store: DynamoDbWatermarkStore, where: StateTargetDescription) => Promise<T>): Promise<T> {
  return onStateTable(flags, 'watermarks', (t) => work(new DynamoDbWatermarkStore(t.client, t.table), t.description));
}

async function listAll(store: WatermarkStore): Promise<WatermarkRecord[]> {
  const out: WatermarkRecord[] = [];
  for await (const r of store.list()) out.push(r);
  return out.sort((a, b) => (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0));
}

/** Exit 3 for a dataset without a watermark, naming the closest dataset that has one. */
async function unknownDataset(store: WatermarkStore, dataset: string, where: StateTargetDescription): Promise<CliError> {
  const known = (await listAll(store)).map((r) => r.dataset);
  const near = nearestName(dataset, known);
  const listed = known.length === 0 ? 'no dataset has a watermark yet' : `datasets with a watermark: ${known.join(', ')}`;
  return new CliError(`no watermark for dataset '${dataset}' in ${whereText(where)} (it has not run yet)${near ? `; did you mean '${near}'?` : ''}; ${listed}`);
}

/**
 * The run's extraction document, or why it cannot be read here: from the S3 state of `--data-dir`
 * (opened in process) or the stack's bucket; a running local runtime's S3 is not known from its
 * DynamoDB endpoint.
 */
async function readExtraction(where: StateTargetDescription, uri: string): Promise<ExtractionDocument | string> {
  const { bucket, key } = parseS3Uri(uri);
  if (where.kind === 'endpoint') {
    return `the files are listed in ${uri}; --show-files reads it with --data-dir (once \`syncproof local\` is stopped) or --stack, not --endpoint`;
  }
  return onStateObjects(where, bucket, async (objects) => {
    if (!(await objects.head(key))) return `the extraction document ${uri} does not exist (any more)`;
    const parsed = extractionDocumentSchema.safeParse(await objects.getJson(key));
    return parsed.success ? parsed.data : `${uri} is not an extraction document this version of syncproof reads`;
  }).catch((error: unknown) => `cannot read ${uri}: ${(error as Error).message}`);
}

/**
 * Runs `work` on the bucket of the local state (opened in process) or of the stack; a string when
 * the bucket is not in the local state.
 */
async function onStateObjects<T>(where: Exclude<StateTargetDescription, { kind: 'endpoint' }>, bucket: string, work: (objects: S3ObjectStore) => Promise<T | string>): Promise<T | string> {
  let objects: S3ObjectStore;
  let stop = async () => {};
  if (where.kind === 'data-dir') {
    const opened = await openDataDirObjects(where.dataDir, bucket);
    if (!opened) return `the local state in ${where.dataDir} has no bucket '${bucket}' (under ${dataDirS3(where.dataDir)})`;
    objects = opened.objects;
    stop = () => opened.close();
  } else {
    const client = createS3Client({ region: where.region });
    objects = new S3ObjectStore(client, bucket);
    stop = async () => client.destroy();
  }
  try {
    return await work(objects);
  } finally {
    await stop();
  }
}

/**
 * The column types of the dataset's cursor and key, from its schema document in S3 (what its
 * extraction uses, checked against the source by every run), or why they cannot be read here.
 * The bucket is the one the last run wrote to, else the only bucket of the local state.
 */
async function positionTypes(where: StateTargetDescription, dataset: string, record: WatermarkRecord | undefined): Promise<PositionTypes | string> {
  if (where.kind === 'endpoint') return 'the schema document is in S3, which --endpoint does not reach; use --data-dir (once `syncproof local` is stopped) or --stack';
  let bucket = record?.lastRun?.filesUri ? parseS3Uri(record.lastRun.filesUri).bucket : undefined;
  if (bucket === undefined && where.kind === 'data-dir') bucket = await onlyDataDirBucket(where.dataDir);
  if (bucket === undefined) return 'no run of it recorded which bucket holds its schema document';
  const uri = `s3://${bucket}/${schemaDocumentKey(dataset)}`;
  return onStateObjects<PositionTypes>(where, bucket, async (objects) => {
    const doc = await readSchemaDocument(objects, dataset);
    if (!doc) return `there is no schema document ${uri} (the dataset has not been extracted yet)`;
    const column = (name: string) => {
      const c = doc.columns.find((col) => col.source === name);
      return c ? { name, type: c.type } : undefined;
    };
    const cursor = column(doc.cursorColumn);
    const keys = doc.keyColumns.map(column);
    if (!cursor || keys.some((k) => k === undefined)) return `the schema document ${uri} lacks the cursor or a key column`;
    return { cursor, keys: keys as PositionTypes['keys'] };
  }).catch((error: unknown) => `cannot read ${uri}: ${(error as Error).message}`);
}

interface GetFlags extends TargetFlags {
  showFiles?: boolean;
  json?: string;
}

function getCommand(): Command {
  return withTargetOptions(
    new Command('get')
      .description("show a dataset's watermark: position (cursor, key), version, and the last run's counts")
      .argument('<dataset>', 'dataset name (as in the configuration)')
      .option('--show-files', "also list the last run's files and their rows (from its extraction document in S3)")
      .option('--json <file>', 'also write the watermark (and files) as JSON to this file'),
  ).action(async (dataset: string, flags: GetFlags) => {
    await onWatermarks(flags, async (store, where) => {
      const record = await store.get(dataset);
      if (!record) throw await unknownDataset(store, dataset, where);
      let out = formatWatermark(record, whereText(where));
      let files: ExtractionDocument['files'] | undefined;
      if (flags.showFiles) {
        const uri = record.lastRun?.filesUri;
        const doc = uri ? await readExtraction(where, uri) : 'the last run recorded no extraction document';
        if (typeof doc === 'string') out += `\nfiles: not shown: ${doc}`;
        else {
          files = doc.files;
          out += `\n${formatFiles(doc.files, uri!)}`;
        }
      }
      if (flags.json) await writeJsonReport(flags.json, { command: 'watermark get', at: new Date().toISOString(), target: where, watermark: record, ...(files ? { files } : {}) });
      process.stdout.write(`${out}\n`);
    });
  });
}

function listCommand(): Command {
  return withTargetOptions(
    new Command('list').description('list every watermark, one line a dataset').option('--json <file>', 'also write the watermarks as JSON to this file'),
  ).action(async (flags: TargetFlags & { json?: string }) => {
    await onWatermarks(flags, async (store, where) => {
      const records = await listAll(store);
      if (flags.json) await writeJsonReport(flags.json, { command: 'watermark list', at: new Date().toISOString(), target: where, watermarks: records });
      process.stdout.write(`${formatWatermarkList(records, whereText(where))}\n`);
    });
  });
}

/** What `set` and `reset` did. */
export interface WatermarkChange {
  readonly before: WatermarkRecord | undefined;
  readonly after: WatermarkRecord;
}

/**
 * Sets a dataset's position by hand: version + 1, conditional on the version read (CliError with
 * {@link WATERMARK_RACE} when another writer got there first). A dataset without a watermark gets
 * one only with `create` (a misspelt name would otherwise be a new watermark).
 */
export async function setWatermark(
  store: WatermarkStore,
  dataset: string,
  input: { cursor: string; key: readonly string[]; create?: boolean; types?: PositionTypes },
  where: StateTargetDescription,
  now = new Date(),
): Promise<WatermarkChange> {
  const before = await store.get(dataset);
  if (!before && !input.create) {
    const unknown = await unknownDataset(store, dataset, where);
    throw new CliError(`${unknown.message}; to create its watermark by hand, pass --create`);
  }
  const checked = checkPosition(input.cursor.trim(), input.key, before?.position, before?.keyEncoding, input.types);
  if (!checked.ok) throw new CliError(checked.message);
  const after = setRecord(before, dataset, checked.position, now.toISOString());
  if (!(await store.put(after, before?.version ?? 0))) throw new CliError(WATERMARK_RACE);
  return { before, after };
}

/** Resets a dataset's watermark: no position, every count of the last run zeroed, version + 1, conditionally. */
export async function resetWatermark(store: WatermarkStore, dataset: string, where: StateTargetDescription, now = new Date()): Promise<WatermarkChange> {
  const before = await store.get(dataset);
  if (!before) throw await unknownDataset(store, dataset, where);
  const after = resetRecord(before, now.toISOString());
  if (!(await store.put(after, before.version))) throw new CliError(WATERMARK_RACE);
  return { before, after };
}

interface SetFlags extends TargetFlags {
  cursor: string;
  key?: string[];
  create?: boolean;
  force?: boolean;
}

function setCommand(): Command {
  return withTargetOptions(
    new Command('set')
      .description('set where the next run of a dataset starts: strictly after (cursor, key). Moving it back re-reads rows (the upsert absorbs them); moving it forward skips rows')
      .argument('<dataset>', 'dataset name')
      .requiredOption('--cursor <value>', "the cursor value of the last row already in the warehouse: a whole number (41999) or a date/time, '2024-05-01 00:00:00[.ffffff]' (UTC) or ISO 8601 ('2024-05-01T00:00:00Z', '…+02:00')")
      .option('--key <value...>', 'the key values of that row, one per key column in key order (--key 7 or --key 2024 7); a binary key column (BINARY, VARBINARY, BLOB, BIT, bytea) as 0x and its bytes in hex (--key 0x00ff…)')
      .option('--create', 'create the watermark of a dataset that has none yet')
      .option('--force', "set it even when the cursor and key cannot be checked against the dataset's column types (no schema document in reach); their form is still checked"),
  ).action(async (dataset: string, flags: SetFlags) => {
    await onWatermarks(flags, async (store, where) => {
      const types = await positionTypes(where, dataset, await store.get(dataset));
      if (typeof types === 'string' && !flags.force) {
        throw new CliError(
          `cannot check --cursor and --key against the column types of dataset '${dataset}': ${types}; run the dataset once (its extraction records them), or pass --force to set the position checked for form only`,
        );
      }
      const input = { cursor: flags.cursor, key: flags.key ?? [], create: flags.create, ...(typeof types === 'string' ? {} : { types }) };
      const { before, after } = await setWatermark(store, dataset, input, where);
      process.stdout.write(
        `set the watermark of dataset '${dataset}': ${before?.position ? positionText(before.position) : 'none'} → ${positionText(after.position)} (version ${before?.version ?? 0} → ${after.version}); the next run starts after it\n`,
      );
    });
  });
}

function resetCommand(): Command {
  return withTargetOptions(
    new Command('reset')
      .description("remove a dataset's position and zero its last run's counts: the next run extracts the whole table again (the upsert absorbs rows already loaded)")
      .argument('<dataset>', 'dataset name'),
  ).action(async (dataset: string, flags: TargetFlags) => {
    await onWatermarks(flags, async (store, where) => {
      const { before, after } = await resetWatermark(store, dataset, where);
      process.stdout.write(
        `reset the watermark of dataset '${dataset}': ${before?.position ? positionText(before.position) : 'none'} → none (version ${before?.version} → ${after.version}); the next run extracts the table from the beginning\n`,
      );
    });
  });
}

/**
 * `syncproof watermark get|list|set|reset`: the watermarks of datasets with a source, on the local
 * state (`--data-dir`), a running local runtime (`--endpoint`) or a deployed stack (`--stack`).
 * Exit codes: 0 ok, 3 error (unknown dataset, bad position, a concurrent write won).
 */
export function watermarkCommand(): Command {
  return new Command('watermark')
    .description('inspect, set or reset the watermarks of datasets with a source')
    .exitOverride()
    .addCommand(getCommand())
    .addCommand(listCommand())
    .addCommand(setCommand())
    .addCommand(resetCommand());
}
