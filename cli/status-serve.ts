/**
 * `syncproof status --serve PORT`: the status page (local/status-page/) over the state a status
 * command reads — a data dir, a running runtime's DynamoDB endpoint or a deployed stack — until
 * Ctrl-C. The page shows the same `collectStatus` report `status --json` prints.
 */
import { createS3Client } from '../lambdas/adapters/clients';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { parseS3Uri } from '../lambdas/core/s3-uri';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { startStatusPage } from '../local/status-page/server';
import { onlyDataDirBucket, openDataDirObjects } from './data-dir-objects';
import { CliError } from './errors';
import type { StatusDeps } from './status-collect';
import { collectStatus } from './status-collect';
import { readStackOutputs, stackRegion, type StateTargetDescription } from './state-target';

/** Reads a report JSON by its s3:// URI from where the state lives; `close` releases what it opened. */
interface ReportReader {
  read(uri: string): Promise<unknown>;
  close(): Promise<void>;
}

async function reportReader(where: StateTargetDescription, region: string | undefined): Promise<ReportReader> {
  const none: ReportReader = { read: async () => undefined, close: async () => undefined };
  if (where.kind === 'data-dir') {
    // The data dir's S3 state holds one bucket: serve its reports through the S3 emulator.
    const bucket = await onlyDataDirBucket(where.dataDir);
    const opened = bucket === undefined ? undefined : await openDataDirObjects(where.dataDir, bucket);
    return opened ? { read: (uri) => readFrom(opened.objects, bucket!, uri), close: () => opened.close() } : none;
  }
  if (where.kind === 'stack') {
    const r = stackRegion(region);
    const bucket = (await readStackOutputs(where.stack, r, [STACK_OUTPUTS.bucket]))[STACK_OUTPUTS.bucket];
    const client = createS3Client({ region: r });
    const objects = new S3ObjectStore(client, bucket);
    return { read: (uri) => readFrom(objects, bucket, uri), close: async () => client.destroy() };
  }
  return none; // a running runtime's reports: its own page (`syncproof local`) links them
}

/** The report at `uri` when it is in `bucket` and readable, else undefined. */
async function readFrom(objects: S3ObjectStore, bucket: string, uri: string): Promise<unknown> {
  const at = parseS3Uri(uri);
  if (at.bucket !== bucket) return undefined;
  return objects.getJson(at.key).catch(() => undefined);
}

/** Serves the page on 127.0.0.1:`port` (0: a free one) until SIGINT/SIGTERM; prints its URL. */
export async function serveStatus(deps: StatusDeps, where: StateTargetDescription, options: { readonly port: number; readonly datasets: readonly string[]; readonly region?: string }): Promise<void> {
  const reports = await reportReader(where, options.region);
  const source = where.kind === 'stack' ? `stack ${where.stack} (${where.region})` : where.kind === 'data-dir' ? `data dir ${where.dataDir}` : `DynamoDB ${where.endpoint}`;
  try {
    const page = await startStatusPage({
      status: () => collectStatus(deps, { datasets: options.datasets }),
      readReport: (uri) => reports.read(uri),
      port: options.port,
      pollMs: where.kind === 'stack' ? 15_000 : 2_000,
      source,
    }).catch((error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new CliError(`cannot serve the status page on 127.0.0.1:${options.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'not allowed'}; choose another --serve port (0 picks a free one)`);
      }
      throw error;
    });
    process.stdout.write(`status page: ${page.url} (${source}); Ctrl-C to stop\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await page.stop();
    process.stdout.write('stopped\n');
  } finally {
    await reports.close();
  }
}
