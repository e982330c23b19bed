import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { multipartEtag } from '../../lambdas/core/checksums';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3, type LocalS3 } from '../../local/emulators';
import { runCli } from '../support/cli';

const BUCKET = 'verify-etag';
const MiB = 1024 * 1024;

interface Report {
  status: string;
  exitCode: number;
  categories: { checksumMismatch: { count: number; items: { path: string }[] } };
  sample?: { counts: Record<string, number>; items: { path: string; status: string; evidence: string; detail: string; bytesDownloaded: number }[]; bytesDownloaded: number };
}

/** Requests the emulator served, per method, and the object bytes GETs returned (listings left out). */
interface Traffic {
  heads: number;
  objectGets: number;
  objectBytes: number;
}

/**
 * A pass-through HTTP proxy in front of s3rver that counts HEADs, object GETs and their bytes per
 * prefix (the first path segment after the bucket): what the CLI downloaded, read on the wire.
 * The Host header is kept, so SigV4 signatures stay valid.
 */
async function countingProxy(target: string): Promise<{ endpoint: string; traffic: (prefix: string) => Traffic; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const counts = new Map<string, Traffic>();
  const of = (prefix: string) => counts.get(prefix) ?? counts.set(prefix, { heads: 0, objectGets: 0, objectBytes: 0 }).get(prefix)!;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const segments = url.pathname.split('/').filter(Boolean);
    const isObject = segments.length > 2 && !url.searchParams.has('list-type');
    const t = of(decodeURIComponent(segments[1] ?? ''));
    if (req.method === 'HEAD') t.heads += 1;
    const isGet = req.method === 'GET' && isObject;
    if (isGet) t.objectGets += 1;
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('data', (chunk: Buffer) => {
        if (isGet) t.objectBytes += chunk.length;
      });
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traffic: (prefix) => ({ ...of(prefix) }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The ETag S3 gives `data` uploaded in `partSize`-byte parts. */
function s3MultipartEtag(data: Buffer, partSize: number): string {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize) parts.push(createHash('md5').update(data.subarray(i, i + partSize)).digest());
  return multipartEtag(parts);
}

/**
 * `syncproof verify-local --detailed` through the CLI against s3rver behind a counting proxy:
 * multipart ETags (s3rver stores an object's ETag in `<name>._S3rver_object.md5`; the tests write
 * the ETag S3 would give a multipart upload there), an ETag no candidate part size reproduces, and
 * a one-byte change, each asserting what was downloaded.
 */
describe('syncproof verify-local --detailed: ETags without downloads', () => {
  let s3: LocalS3;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let client: S3Client;
  let objects: S3ObjectStore;
  let work: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-verify-etag-'));
    s3 = await startLocalS3({ bucket: BUCKET, directory: join(work, 's3') });
    proxy = await countingProxy(s3.endpoint);
    client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    objects = new S3ObjectStore(client, BUCKET);
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_S3;
  });

  afterAll(async () => {
    process.env = savedEnv;
    client.destroy();
    await proxy.close();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Uploads `body` under `prefix/name` (its ETag replaced by `etag` when given) and writes `local` (default: body) to a fresh folder. */
  async function setUp(prefix: string, files: Record<string, { body: Buffer; local?: Buffer; etag?: string }>): Promise<string> {
    const dir = join(work, 'local', prefix);
    await mkdir(dir, { recursive: true });
    for (const [name, { body, local, etag }] of Object.entries(files)) {
      await objects.put(`${prefix}/${name}`, body);
      await writeFile(join(dir, name), local ?? body);
      if (etag !== undefined) await writeFile(join(s3.directory, BUCKET, prefix, `${name}._S3rver_object.md5`), etag);
    }
    return dir;
  }

  async function verify(dir: string, prefix: string): Promise<{ code: number | null; stdout: string; report: Report }> {
    const json = join(work, `report-${prefix}.json`);
    const result = await runCli(['verify-local', dir, `s3://${BUCKET}/${prefix}`, '--endpoint-url', proxy.endpoint, '--sample', 'all', '--json', json]);
    return { code: result.code, stdout: result.stdout, report: JSON.parse(await readFile(json, 'utf8')) as Report };
  }

  it('matches a multipart ETag (5 MiB parts) from the listing: no HEAD, no GET', async () => {
    const body = randomBytes(6 * MiB + 3);
    const dir = await setUp('known', { 'big.parquet': { body, etag: s3MultipartEtag(body, 5 * MiB) } });

    const { code, report } = await verify(dir, 'known');

    expect(report.sample?.items.map((i) => [i.path, i.status, i.evidence])).toEqual([['big.parquet', 'match', 'etag-multipart']]);
    expect(report.status).toBe('PASSED');
    expect(code).toBe(0);
    expect(proxy.traffic('known')).toEqual({ heads: 0, objectGets: 0, objectBytes: 0 });
  });

  it('reports a multipart ETag no candidate part size reproduces as unverifiable by ETag, downloading nothing', async () => {
    const body = randomBytes(6 * MiB + 3);
    // 5.5 MiB parts: 2 parts like 5 MiB, but not a size uploaders use, so not a candidate.
    const dir = await setUp('unknown', { 'odd.parquet': { body, etag: s3MultipartEtag(body, 5 * MiB + 512 * 1024) }, 'small.csv': { body: Buffer.from('id\n1\n') } });

    const { code, stdout, report } = await verify(dir, 'unknown');

    const odd = report.sample?.items.find((i) => i.path === 'odd.parquet');
    expect(odd).toMatchObject({ status: 'unverifiable', evidence: 'etag-multipart', bytesDownloaded: 0 });
    expect(odd?.detail).toContain(`s3://${BUCKET}/unknown/odd.parquet: unverifiable by ETag`);
    expect(odd?.detail).toContain('re-upload it with a full-object checksum');
    expect(report.sample?.counts).toMatchObject({ match: 1, unverifiable: 1 });
    expect(report.status).toBe('PASSED_WITH_WARNINGS');
    expect(code).toBe(1);
    expect(stdout).toContain('odd.parquet');
    expect(stdout).toContain('unverifiable by ETag');
    expect(report.sample?.bytesDownloaded).toBe(0);
    expect(proxy.traffic('unknown')).toMatchObject({ objectGets: 0, objectBytes: 0 });
  });

  it('fails on a one-byte change, downloading nothing', async () => {
    const body = Buffer.from('id,name\n1,alpha\n2,beta\n');
    const changed = Buffer.from(body);
    changed[10] ^= 1;
    const dir = await setUp('byte', { 'same.csv': { body: Buffer.from('id\n1\n') }, 'edited.csv': { body, local: changed } });

    const { code, report } = await verify(dir, 'byte');

    expect(report.categories.checksumMismatch.items.map((i) => i.path)).toEqual(['edited.csv']);
    expect(report.sample?.items.find((i) => i.path === 'edited.csv')).toMatchObject({ status: 'mismatch', evidence: 'etag-md5' });
    expect(report.status).toBe('FAILED');
    expect(code).toBe(2);
    expect(proxy.traffic('byte')).toMatchObject({ heads: 1, objectGets: 0, objectBytes: 0 });
  });
});
