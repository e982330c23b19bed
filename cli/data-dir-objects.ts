/** The S3 state of a data dir (`syncproof local --data-dir`, `sync --data-dir`), opened in this process through the S3 emulator. */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createS3Client } from '../lambdas/adapters/clients';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../local/emulators';

/** Where a data dir keeps its buckets (one folder each). */
export function dataDirS3(dataDir: string): string {
  return join(dataDir, 's3');
}

/** The data dir's bucket when it holds exactly one (the runtime's), else undefined. */
export async function onlyDataDirBucket(dataDir: string): Promise<string | undefined> {
  const buckets = (await readdir(dataDirS3(dataDir), { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  return buckets.length === 1 ? buckets[0] : undefined;
}

/** An opened bucket; `close` stops the emulator. */
export interface DataDirObjects {
  readonly objects: S3ObjectStore;
  close(): Promise<void>;
}

/** Opens `bucket` of the data dir through an in-process S3 emulator; undefined when the data dir has no such bucket. */
export async function openDataDirObjects(dataDir: string, bucket: string): Promise<DataDirObjects | undefined> {
  const directory = dataDirS3(dataDir);
  try {
    await access(join(directory, bucket));
  } catch {
    return undefined;
  }
  const s3 = await startLocalS3({ bucket, directory });
  const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
  return {
    objects: new S3ObjectStore(client, bucket),
    close: async () => {
      client.destroy();
      await s3.stop();
    },
  };
}
