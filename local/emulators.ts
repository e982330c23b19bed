import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, readdirSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rename, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, ResourceNotFoundException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../lambdas/adapters/clients';
import { LEDGER_DATASET_INDEX, RUNS_DATASET_INDEX } from '../lambdas/adapters/dynamodb-stores';

// Neither emulator ships type declarations. Both are loaded when an emulator starts, not with this
// module: the CLI's commands that only read state (ledger, watermark) would otherwise load s3rver
// and its web framework at every start.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const s3rverClass = () => require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = (options: Record<string, unknown>) => (require('dynalite') as (options: Record<string, unknown>) => Server)(options);

/**
 * s3rver's filesystem store answers a PUT before the object's bytes reach the disk (it resolves on
 * the hashing stream's 'finish', or at once for a Buffer, not on the file's 'close'), so a listing
 * or GET right after the PUT, or its event, can see 0 or a part of the bytes. Real S3 objects are
 * atomic. This replacement writes to a temporary file, awaits it, renames it into place, and only
 * then records the metadata, as the original does.
 */
function makeS3rverPutsAtomic(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const store = require('s3rver/lib/stores/filesystem') as {
    prototype: {
      getResourcePath(bucket: string, key: string, resource: string): string;
      putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
      putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: unknown }): Promise<{ size: number; md5: string }>;
      atomicPuts?: boolean;
    };
  };
  if (store.prototype.atomicPuts) return;
  store.prototype.atomicPuts = true;
  store.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const temporary = `${objectPath}.${randomUUID()}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temporary),
      );
      await rename(temporary, objectPath);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** The parts of s3rver's filesystem store the listing replacement uses. */
interface S3rverFilesystemStore {
  prototype: Record<string, unknown> & {
    getBucketPath(bucket: string): string;
    getResourcePath(bucket: string, key: string, resource: string): string;
    getMetadata(bucket: string, key: string): Promise<unknown>;
    listObjects(bucket: string, options: S3rverListOptions): Promise<{ objects: unknown[]; commonPrefixes: string[]; isTruncated: boolean }>;
    fastListing?: boolean;
  };
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
}

interface S3rverListOptions {
  readonly delimiter?: string;
  readonly startAfter?: string;
  readonly prefix?: string;
  readonly maxKeys?: number;
}

/** A directory's entries as the listing walks them: subdirectories and object files, in readdir order. */
interface CachedDirectory {
  readonly mtimeNs: bigint;
  readonly entries: readonly { readonly name: string; readonly directory: boolean }[];
}

/**
 * s3rver lists a page by walking the bucket's directories from the start, with a `statSync` per
 * entry, up to the page's `startAfter`: listing N objects in pages of 1,000 costs O(N²) stats
 * (~6 minutes for 100,000 objects in one folder on 2 cores). This replacement keeps the original's
 * walk order, filters and result (same keys, common prefixes, truncation and metadata) but reads
 * each directory once: entry types come from `readdir`, and the entries are cached until a write
 * through any store in this process touches the directory (the writes below invalidate it and its
 * parents before and after they run) or the directory's mtime changes (a write from elsewhere).
 */
function makeS3rverListingFast(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Store = require('s3rver/lib/stores/filesystem') as S3rverFilesystemStore;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3Object = require('s3rver/lib/models/object') as new (bucket: string, key: string, content: null, metadata: unknown) => unknown;
  const proto = Store.prototype;
  if (proto.fastListing) return;
  proto.fastListing = true;
  const objectSuffix = '._S3rver_object';
  const cache = new Map<string, CachedDirectory>();

  const forgetPath = (resourcePath: string): void => {
    for (let dir = dirname(resourcePath); ; dir = dirname(dir)) {
      cache.delete(dir);
      if (dir === dirname(dir)) break;
    }
  };
  const wrap = (method: string, forget: (store: typeof proto, args: unknown[]) => void): void => {
    const original = proto[method] as (...args: unknown[]) => Promise<unknown>;
    proto[method] = async function wrapped(this: typeof proto, ...args: unknown[]) {
      forget(this, args);
      try {
        return await original.apply(this, args);
      } finally {
        forget(this, args);
      }
    };
  };
  wrap('putObject', (store, [object]) => {
    const { bucket, key } = object as { bucket: string; key: string };
    forgetPath(store.getResourcePath(bucket, key, 'object'));
  });
  wrap('copyObject', (store, [, , bucket, key]) => forgetPath(store.getResourcePath(bucket as string, key as string, 'object')));
  wrap('deleteObject', (store, [bucket, key]) => forgetPath(store.getResourcePath(bucket as string, key as string, 'object')));
  for (const method of ['reset', 'putBucket', 'deleteBucket', 'initiateUpload', 'putPart', 'putObjectMultipart', 'putSubresource', 'deleteSubresource']) {
    wrap(method, () => cache.clear());
  }

  const entriesOf = (dir: string): CachedDirectory['entries'] => {
    const mtimeNs = statSync(dir, { bigint: true }).mtimeNs;
    const cached = cache.get(dir);
    if (cached?.mtimeNs === mtimeNs) return cached.entries;
    const entries = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || entry.name.endsWith(objectSuffix))
      .map((entry) => ({ name: entry.name, directory: entry.isDirectory() }));
    cache.set(dir, { mtimeNs, entries });
    return entries;
  };

  proto.listObjects = async function listObjects(bucket, options) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const bucketPath = this.getBucketPath(bucket);
    const delimiterEnc = Store.encodeKeyPath(delimiter);
    const startAfterPath = [bucketPath, Store.encodeKeyPath(startAfter)].join('/');
    const prefixPath = [bucketPath, Store.encodeKeyPath(prefix)].join('/');
    // The original's directory filter, unchanged.
    const recurse = (dirPath: string): boolean => {
      if (dirPath < startAfterPath && !startAfterPath.includes(dirPath)) return false;
      if (dirPath.startsWith(prefixPath)) return !(delimiterEnc && dirPath.slice(prefixPath.length).includes(delimiterEnc));
      return prefixPath.startsWith(dirPath);
    };
    function* walk(dir: string): Generator<string> {
      for (const entry of entriesOf(dir)) {
        // = posix.join(dir, name): dir is normalized and a name holds no separator.
        const entryPath = `${dir}/${entry.name}`;
        if (!entry.directory) yield entryPath;
        else if (recurse(entryPath)) yield* walk(entryPath);
      }
    }
    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const keyPath of walk(bucketPath)) {
      const key = Store.decodeKeyPath(keyPath.slice(bucketPath.length + 1, -objectSuffix.length));
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const index = key.slice(prefix.length).indexOf(delimiter);
        if (index !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + index + 1));
          continue;
        }
      }
      if (keys.length < maxKeys) {
        keys.push(key);
      } else {
        isTruncated = true;
        break;
      }
    }
    const metadata = await Promise.all(
      keys.map((key) =>
        this.getMetadata(bucket, key).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        }),
      ),
    );
    return {
      objects: keys.flatMap((key, i) => (metadata[i] === undefined ? [] : [new S3Object(bucket, key, null, metadata[i])])),
      commonPrefixes: [...commonPrefixes].sort(),
      isTruncated,
    };
  };
}

/**
 * s3rver ignores `x-amz-copy-source-if-match` (S3 answers 412 PreconditionFailed and copies
 * nothing when the source is another version) and decodes the copy source with `decodeURI`, which
 * leaves `%3F`, `%2B`, … encoded. This wrapper decodes the source as S3 does and, after the copy,
 * compares the copy's ETag (s3rver's ETags are the content's MD5, so equal ETags are equal bytes)
 * with the condition: on a difference the copy is removed and the request answers 412.
 */
function makeS3rverCopyConditional(): void {
  interface CopyContext {
    headers: Record<string, string | undefined>;
    params: { bucket: string; key: string };
    body?: { CopyObjectResult?: { ETag?: string } };
    store: { deleteObject(bucket: string, key: string): Promise<void> };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ctrl = require('s3rver/lib/controllers/object') as { putObjectCopy(ctx: CopyContext): Promise<void>; conditionalCopy?: boolean };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: Record<string, string>) => Error;
  if (ctrl.conditionalCopy) return;
  ctrl.conditionalCopy = true;
  const original = ctrl.putObjectCopy;
  const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');
  ctrl.putObjectCopy = async function putObjectCopy(this: unknown, ctx) {
    const source = ctx.headers['x-amz-copy-source'];
    if (source !== undefined) ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(source));
    const expected = ctx.headers['x-amz-copy-source-if-match'];
    await original.call(this, ctx);
    if (expected === undefined || unquote(ctx.body?.CopyObjectResult?.ETag) === unquote(expected)) return;
    await ctx.store.deleteObject(ctx.params.bucket, ctx.params.key);
    ctx.body = undefined;
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'x-amz-copy-source-If-Match' });
  };
}

/**
 * s3rver ignores `If-Match` on DeleteObject (S3 answers 412 PreconditionFailed and deletes
 * nothing when the key holds another version, and 404 NoSuchKey when it holds none). This wrapper
 * compares the stored ETag (s3rver's is the content's MD5) with the condition before deleting.
 * Not atomic with the delete: the runtime's writers to one key do not race a retention delete.
 */
function makeS3rverDeleteConditional(): void {
  interface DeleteContext {
    headers: Record<string, string | undefined>;
    params: { bucket: string; key: string };
    store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ctrl = require('s3rver/lib/controllers/object') as { deleteObject(ctx: DeleteContext): Promise<void>; conditionalDelete?: boolean };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: Record<string, string>) => Error;
  if (ctrl.conditionalDelete) return;
  ctrl.conditionalDelete = true;
  const original = ctrl.deleteObject;
  const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');
  ctrl.deleteObject = async function deleteObject(this: unknown, ctx) {
    const expected = ctx.headers['if-match'];
    if (expected !== undefined) {
      const stored = await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key).catch(() => undefined);
      if (!stored) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: ctx.params.key });
      if (unquote(stored.etag) !== unquote(expected)) {
        throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
      }
    }
    await original.call(this, ctx);
  };
}

/**
 * s3rver's `run()` passes its resolve to `server.listen` as the 'listening' callback and never
 * listens for 'error': a port in use is an unhandled 'error' event that crashes the process
 * instead of rejecting. This replacement of its `listen` (the HTTP case; the runtime never gives
 * s3rver a TLS key) rejects with the listen error (`code` EADDRINUSE, `port`), and undoes what the
 * server set up as s3rver's own constructor does on failure.
 */
function makeS3rverListenReject(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rverClass = require('s3rver') as { prototype: Record<string, unknown> & { listenRejects?: boolean } };
  const proto = S3rverClass.prototype;
  if (proto.listenRejects) return;
  proto.listenRejects = true;
  proto.listen = function listen(
    this: { callback(): (...args: unknown[]) => void; logger: { exceptions: { unhandle(): void }; close(): void }; resetOnClose?: boolean; reset(): void },
    port: number,
    address: string,
    options: Record<string, unknown>,
  ): Promise<Server> {
    const server = createServer();
    server.on('request', this.callback()).on('close', () => {
      this.logger.exceptions.unhandle();
      this.logger.close();
      if (this.resetOnClose) this.reset();
    });
    return new Promise((resolve, reject) => {
      server.once('error', (error) => {
        this.logger.exceptions.unhandle();
        this.logger.close();
        reject(error);
      });
      server.listen({ ...options, port, host: address }, () => resolve(server));
    });
  };
}

/** Applies the s3rver fixes, in order (the listing cache wraps the atomic PUT). */
function patchS3rver(): void {
  makeS3rverPutsAtomic();
  makeS3rverListingFast();
  makeS3rverCopyConditional();
  makeS3rverDeleteConditional();
  makeS3rverListenReject();
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: S3NotificationEvent) => void): void;
}

/** The S3-notification shape s3rver emits for every write. */
export interface S3NotificationEvent {
  readonly Records: readonly {
    readonly eventName: string;
    readonly eventTime: string;
    readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string; readonly sequencer?: string } };
  }[];
}

/** Credentials s3rver checks signatures against; there are no others. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly directory: string;
  onEvent(listener: (event: S3NotificationEvent) => void): void;
  stop(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1 (port 0 = chosen at run time) with the bucket created. Listing
 * continuation tokens need Node's legacy OpenSSL provider (DESIGN.md §7): the CLI and the test
 * scripts start Node with `--openssl-legacy-provider`.
 */
export async function startLocalS3(options: { bucket: string; directory?: string; port?: number }): Promise<LocalS3> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'syncproof-s3-')));
  await mkdir(directory, { recursive: true });
  patchS3rver();
  const server = new (s3rverClass())({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: options.bucket,
    directory,
    onEvent: (listener) => server.on('event', listener),
    stop: () => server.close(),
  };
}

/** One object for {@link seedLocalS3Store}. */
export interface SeedObject {
  readonly key: string;
  readonly body: Buffer;
  readonly contentType?: string;
}

/**
 * Writes objects straight into an s3rver store directory (through s3rver's own store: the same
 * object, MD5 and metadata files a PUT writes), skipping HTTP and signing. For seeding prefixes of
 * 10,000–100,000 objects in tests and the bench, where 100,000 PUTs would take minutes; what is
 * measured is then read back over HTTP as usual. Emits no S3 events.
 */
export async function seedLocalS3Store(directory: string, bucket: string, objects: Iterable<SeedObject>, concurrency = 32): Promise<number> {
  patchS3rver();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (root: string) => { putObject(object: unknown): Promise<unknown> };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3Object = require('s3rver/lib/models/object') as new (bucket: string, key: string, content: Buffer, metadata: Record<string, string>) => unknown;
  const store = new FilesystemStore(directory);
  const source = objects[Symbol.iterator]();
  let written = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = source.next(); !next.done; next = source.next()) {
        const { key, body, contentType } = next.value;
        await store.putObject(new S3Object(bucket, key, body, { 'content-type': contentType ?? 'application/octet-stream' }));
        written += 1;
      }
    }),
  );
  return written;
}

/**
 * Starts {@link startLocalS3} (with its fixes) in a child Node process, so that measuring the
 * client side (RSS, time) does not also measure the emulator serving it, and the emulator gets a
 * core of its own. The child runs with the legacy OpenSSL provider (listing tokens) and ends with
 * `stop()` or with this process. Its S3 events stay in the child: `onEvent` throws.
 */
export async function startLocalS3Process(options: { bucket: string; directory: string; port?: number }): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  const script = `require(${JSON.stringify(__filename)}).startLocalS3({ bucket: process.argv[1], directory: process.argv[2], port: Number(process.argv[3]) })
    .then((s3) => process.stdout.write('endpoint ' + s3.endpoint + '\\n'))
    .catch((error) => { process.stderr.write(String(error && error.message) + '\\n'); process.exit(1); });
    process.stdin.on('end', () => process.exit(0)).resume();`;
  const args = ['--openssl-legacy-provider', '--require', 'tsx/cjs', '-e', script, options.bucket, options.directory, String(options.port ?? 0)];
  const child = spawn(process.execPath, args, { cwd: join(__dirname, '..'), env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /endpoint (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the S3 emulator process exited with ${String(code)} before it listened`)));
  });
  return {
    endpoint,
    bucket: options.bucket,
    directory: options.directory,
    onEvent: () => {
      throw new Error('the S3 emulator runs in a child process: its events are not available here');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface LocalDynamoDb {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1; on disk when `path` is given, else in memory. */
export async function startLocalDynamoDb(options: { path?: string } = {}): Promise<LocalDynamoDb> {
  if (options.path) await mkdir(options.path, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.path });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface LocalTableNames {
  readonly ledger: string;
  readonly runs: string;
  readonly watermarks: string;
}

/** The tables' key schemas, as lib/constructs/storage.ts declares them. */
export function tableDefinitions(names: LocalTableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.ledger,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'objectKey', AttributeType: 'S' },
        { AttributeName: 'etag', AttributeType: 'S' },
        { AttributeName: 'dataset', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'objectKey', KeyType: 'HASH' },
        { AttributeName: 'etag', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_DATASET_INDEX,
          KeySchema: [
            { AttributeName: 'dataset', KeyType: 'HASH' },
            { AttributeName: 'objectKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    {
      TableName: names.runs,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'runId', AttributeType: 'S' },
        { AttributeName: 'dataset', AttributeType: 'S' },
        { AttributeName: 'startedAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: RUNS_DATASET_INDEX,
          KeySchema: [
            { AttributeName: 'dataset', KeyType: 'HASH' },
            { AttributeName: 'startedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    {
      TableName: names.watermarks,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'dataset', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'dataset', KeyType: 'HASH' }],
    },
  ];
}

/** Creates the tables that do not exist yet (a restart with --data-dir keeps them). */
export async function ensureTables(endpoint: string, names: LocalTableNames): Promise<void> {
  const client = createDocumentClient({ dynamodb: endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const describe = async (table: string) => (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  const status = async (table: string): Promise<string | undefined> => {
    try {
      return (await describe(table))?.TableStatus;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) && (error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
      return undefined;
    }
  };
  const untilActive = async (table: string): Promise<string | undefined> => {
    let s = await status(table);
    for (let i = 0; i < 40 && s === 'CREATING'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      s = await status(table);
    }
    return s;
  };
  for (const def of tableDefinitions(names)) {
    let s = await untilActive(def.TableName!);
    // dynalite turns a table ACTIVE on a timer after CreateTable: a process killed in between left
    // it CREATING for good. Such a table never took a write, so it is created again.
    if (s === 'CREATING') {
      await client.send(new DeleteTableCommand({ TableName: def.TableName }));
      s = await untilActive(def.TableName!);
      if (s !== undefined) throw new Error(`local DynamoDB table ${def.TableName} is stuck in state ${s}; remove the dynamodb folder of the --data-dir`);
    }
    if ((await status(`${def.TableName}.rebuild`)) !== undefined) {
      await rebuild(def); // a rebuild was cut short: its copy holds the items
      continue;
    }
    if (s === undefined) {
      await client.send(new CreateTableCommand(def));
      await untilActive(def.TableName!);
      continue;
    }
    // A data dir made before an index existed (the runs table's byDatasetStarted): dynalite
    // cannot add an index (UpdateTable), so the table is rebuilt with it, through a copy.
    const existing = new Set(((await describe(def.TableName!))?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    if ((def.GlobalSecondaryIndexes ?? []).some((i) => !existing.has(i.IndexName))) await rebuild(def);
  }
  client.destroy();

  /**
   * Copies the table's items into `<table>.rebuild`, re-creates the table from `def`, copies them
   * back and drops the copy. A process killed in between leaves the copy, which the next start
   * copies back (see above): no item is lost.
   */
  async function rebuild(def: CreateTableCommandInput): Promise<void> {
    const name = def.TableName!;
    const copy = `${name}.rebuild`;
    if ((await untilActive(copy)) === undefined) {
      await client.send(new CreateTableCommand({ ...def, TableName: copy, GlobalSecondaryIndexes: undefined, AttributeDefinitions: def.AttributeDefinitions!.filter((a) => def.KeySchema!.some((k) => k.AttributeName === a.AttributeName)) }));
      await untilActive(copy);
      await copyItems(name, copy);
      await client.send(new DeleteTableCommand({ TableName: name }));
    } else if ((await untilActive(name)) !== undefined) {
      await client.send(new DeleteTableCommand({ TableName: name }));
    }
    await untilGone(name);
    await client.send(new CreateTableCommand(def));
    await untilActive(name);
    await copyItems(copy, name);
    await client.send(new DeleteTableCommand({ TableName: copy }));
    await untilGone(copy);
  }

  async function copyItems(from: string, to: string): Promise<void> {
    for await (const page of paginateScan({ client }, { TableName: from, ConsistentRead: true })) {
      for (const item of page.Items ?? []) await client.send(new PutCommand({ TableName: to, Item: item }));
    }
  }

  async function untilGone(table: string): Promise<void> {
    for (let i = 0; i < 200 && (await status(table)) !== undefined; i++) await new Promise((r) => setTimeout(r, 25));
  }

}
