import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, mkdir, rename, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../lambdas/adapters/clients';
import { LEDGER_DATASET_INDEX } from '../lambdas/adapters/dynamodb-stores';

// Neither emulator ships type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

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
  makeS3rverPutsAtomic();
  const server = new S3rver({
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
      AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
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
  for (const def of tableDefinitions(names)) {
    try {
      await client.send(new DescribeTableCommand({ TableName: def.TableName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) && (error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
      await client.send(new CreateTableCommand(def));
    }
  }
  client.destroy();
}
