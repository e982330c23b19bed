import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lambdas/adapters/clients';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { VERIFY_LOCAL_DEFAULTS, verifyLocal } from '../../cli/verify-local-command';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seedLocalS3Store, startLocalS3, startLocalS3Process, type LocalS3 } from '../../local/emulators';
import { runCli, type CliResult } from '../support/cli';
import { describeMemory, measureMemory } from '../support/memory';

const BUCKET = 'verify-local';

interface Report {
  status: string;
  exitCode: number;
  reasons: string[];
  settings: { seed: string; prefix: string };
  totals: { local: { files: number; bytes: number }; s3: { files: number; bytes: number }; folderMarkersIgnored: number; excluded: { local: number; s3: number } };
  byType: { type: string; verdict: string; variancePercent: number | null }[];
  categories: Record<'missing' | 'extra' | 'sizeMismatch' | 'warnings' | 'checksumMismatch', { count: number; items: { path: string; key?: string; code?: string; kind?: string; status?: string; detail?: string }[] }>;
  sample?: { size: number; population: number; counts: Record<string, number>; items: { path: string; status: string; evidence: string; bytesDownloaded: number }[]; bytesDownloaded: number };
}

/**
 * `syncproof verify-local` run as a separate process against s3rver on a random port, with the
 * credentials in the environment as a user would. Assertions read the --json report and the exit
 * code. The scenarios (each under its own prefix and folder) and the error cases run concurrently:
 * each is a CLI process of its own, so they overlap their start-up; the memory test runs alone.
 */
describe('syncproof verify-local', () => {
  let s3: LocalS3;
  let client: S3Client;
  let objects: S3ObjectStore;
  let work: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-verify-local-'));
    s3 = await startLocalS3({ bucket: BUCKET, directory: join(work, 's3') });
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
    delete process.env.AWS_PROFILE;
  });

  afterAll(async () => {
    process.env = savedEnv;
    client.destroy();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Writes `files` under a fresh local folder and (unless listed in `localOnly`) uploads them under `name/`. */
  async function scenario(name: string, files: Record<string, string | Uint8Array>, localOnly: readonly string[] = []): Promise<string> {
    const dir = join(work, 'local', name);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), body);
      if (!localOnly.includes(path)) await objects.put(`${name}/${path}`, typeof body === 'string' ? Buffer.from(body) : body);
    }
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async function verify(dir: string, uri: string, ...extra: string[]): Promise<CliResult & { report: Report }> {
    const json = join(work, `report-${randomBytes(4).toString('hex')}.json`);
    const result = await runCli(['verify-local', dir, uri, '--endpoint-url', s3.endpoint, '--json', json, ...extra]);
    let report: Report;
    try {
      report = JSON.parse(await readFile(json, 'utf8')) as Report;
    } catch {
      throw new Error(`no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    return { ...result, report };
  }

  const paths = (list: { items: { path: string }[] }) => list.items.map((i) => i.path).sort();

  it.concurrent('maps keys with spaces, +, unicode and % one to one, counts zero-byte files and ignores a folder marker', async () => {
    const files = {
      'with space.csv': 'a,b\n1,2\n',
      'plus+sign.txt': 'plus',
      'ünïcödé/naïve 文件.json': '{"k":1}',
      'percent%20not-decoded.txt': 'percent',
      '100%.bin': new Uint8Array([1, 2, 3]),
      'empty.csv': '',
      'nested/deeper/empty.parquet': new Uint8Array(0),
      '.hidden/dot.txt': 'dotfiles count',
    };
    const dir = await scenario('keys', files);
    await objects.put('keys/a-folder/', new Uint8Array(0));

    const { code, stdout, report } = await verify(dir, `s3://${BUCKET}/keys`);

    expect(report.categories.missing.count).toBe(0);
    expect(report.categories.extra.count).toBe(0);
    expect(report.totals.local.files).toBe(8);
    expect(report.totals.s3.files).toBe(8);
    expect(report.totals.folderMarkersIgnored).toBe(1);
    expect(report.status).toBe('PASSED_PARTIAL');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^syncproof local ↔ S3: SYNCED — 8 files \(\d+ B\) local, 8 files \(\d+ B\) S3, variance 0\.00%/);
    expect(stdout).toContain('content not checked; use --detailed');
  });

  it.concurrent('passes with --sample all when every sampled file has the same content, naming the seed', async () => {
    const dir = await scenario('same', { 'a.csv': 'x\n', 'b c+.txt': 'yy', 'ü%.json': '[]', 'zero.bin': '' });

    const { code, stdout, report } = await verify(dir, `s3://${BUCKET}/same/`, '--sample', 'all', '--seed', 'fixed-seed');

    expect(report.status).toBe('PASSED');
    expect(code).toBe(0);
    expect(report.sample?.size).toBe(4);
    expect(report.sample?.counts.match).toBe(4);
    expect(report.settings.seed).toBe('fixed-seed');
    expect(stdout).toContain("seed 'fixed-seed'");
  });

  it.concurrent('reports a file changed locally after upload (same size) only with --detailed, naming it', async () => {
    const dir = await scenario('changed', { 'stable.csv': 'id\n1\n', 'edited.csv': 'id\n2\n' });
    await writeFile(join(dir, 'edited.csv'), 'id\n3\n');

    const quick = await verify(dir, `s3://${BUCKET}/changed`);
    const detailed = await verify(dir, `s3://${BUCKET}/changed`, '--detailed', '--sample', 'all');

    expect(quick.report.status).toBe('PASSED_PARTIAL');
    expect(quick.code).toBe(0);
    expect(detailed.report.status).toBe('FAILED');
    expect(detailed.code).toBe(2);
    expect(paths(detailed.report.categories.checksumMismatch)).toEqual(['edited.csv']);
    expect(detailed.stdout).toMatch(/NOT SYNCED/);
    expect(detailed.stdout).toContain('edited.csv');
  });

  it.concurrent('passes a multipart-uploaded object (5 MiB parts, 11 MiB)', async () => {
    const body = randomBytes(11 * 1024 * 1024);
    const dir = join(work, 'local', 'multipart');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'big.parquet'), body);
    await new Upload({ client, params: { Bucket: BUCKET, Key: 'multipart/big.parquet', Body: body }, partSize: 5 * 1024 * 1024 }).done();

    const { code, report } = await verify(dir, `s3://${BUCKET}/multipart`, '--detailed');

    expect(report.sample?.items.map((i) => [i.path, i.status])).toEqual([['big.parquet', 'match']]);
    expect(report.status).toBe('PASSED');
    expect(code).toBe(0);
  });

  it.concurrent('fails on a file missing from S3 and an extra S3 object, naming both', async () => {
    const dir = await scenario('missing', { 'kept.csv': 'k', 'only-local.csv': 'l' }, ['only-local.csv']);
    await objects.put('missing/only-s3.csv', 'x');

    const { code, stdout, report } = await verify(dir, `s3://${BUCKET}/missing`);

    expect(paths(report.categories.missing)).toEqual(['only-local.csv']);
    expect(paths(report.categories.extra)).toEqual(['only-s3.csv']);
    expect(report.status).toBe('FAILED');
    expect(code).toBe(2);
    expect(stdout).toContain('only-local.csv');
    expect(stdout).toContain('only-s3.csv');
  });

  it.concurrent('fails on a small file replaced by a big one although its type varies under 1%, naming path, key and both sizes', async () => {
    // 6 B local against 13,172 B in S3, beside 1.48 MB of equal .parquet files: 0.89% for the type.
    const dir = await scenario('replaced', { 'big.parquet': randomBytes(1_480_000), 'tiny.parquet': 'abcdef' }, ['tiny.parquet']);
    await objects.put('replaced/tiny.parquet', randomBytes(13_172));

    const { code, stdout, report } = await verify(dir, `s3://${BUCKET}/replaced`, '--sample', 'all');

    expect(report.status).toBe('FAILED');
    expect(code).toBe(2);
    expect(report.categories.sizeMismatch.items).toEqual([expect.objectContaining({ path: 'tiny.parquet', key: 'replaced/tiny.parquet', localSize: 6, s3Size: 13_172 })]);
    expect(report.reasons).toContain('1 file(s) whose size differs from their S3 object');
    // The type's variance stays, as a summary.
    expect(report.byType).toEqual([expect.objectContaining({ type: 'compressed', verdict: 'ok' })]);
    expect(report.byType[0]!.variancePercent).toBeCloseTo(0.89, 2);
    expect(stdout).toMatch(/NOT SYNCED/);
    expect(stdout).toContain(`tiny.parquet ≠ s3://${BUCKET}/replaced/tiny.parquet: local 6 B, S3 13172 B`);
  });

  it.concurrent('keeps the per-type variance and its thresholds as a summary, never as the verdict', async () => {
    const dir = await scenario('variance', { 'a.parquet': new Uint8Array(1000) }, ['a.parquet']);
    await objects.put('variance/a.parquet', new Uint8Array(1015));

    const defaults = await verify(dir, `s3://${BUCKET}/variance`);
    const loose = await verify(dir, `s3://${BUCKET}/variance`, '--threshold-compressed', '5,10');

    expect(defaults.report.byType).toEqual([expect.objectContaining({ type: 'compressed', verdict: 'warn', variancePercent: 1.5 })]);
    expect(loose.report.byType).toEqual([expect.objectContaining({ type: 'compressed', verdict: 'ok', variancePercent: 1.5 })]);
    for (const { code, report, stdout } of [defaults, loose]) {
      expect(paths(report.categories.sizeMismatch)).toEqual(['a.parquet']);
      expect(report.status).toBe('FAILED');
      expect(code).toBe(2);
      expect(stdout).toMatch(/^summary: compressed files vary 1\.50% in size/m);
    }
  });

  it.concurrent('follows symlinks to files and reports a symlink loop as a warning without hanging', async () => {
    const dir = await scenario('loop', { 'a.csv': 'a', 'sub/x.txt': 'x' });
    await symlink('..', join(dir, 'sub', 'back'));
    await symlink('a.csv', join(dir, 'link.csv'));
    await objects.put('loop/link.csv', 'a');

    const { code, report } = await verify(dir, `s3://${BUCKET}/loop`);

    expect(report.categories.warnings.items).toEqual([expect.objectContaining({ path: 'sub/back', kind: 'symlink-loop', code: 'ELOOP' })]);
    expect(report.totals.local.files).toBe(3);
    expect(report.categories.missing.count + report.categories.extra.count).toBe(0);
    expect(report.status).toBe('PASSED_WITH_WARNINGS');
    expect(code).toBe(1);
  });

  it.concurrent('reports an unreadable local file and a FIFO per path with the errno, and goes on', async () => {
    const dir = await scenario('unreadable', { 'ok.csv': 'ok', 'secret.csv': 'secret' });
    // chmod 000 does not stop root (CAP_DAC_OVERRIDE). Probe it: when the file stays readable, use a
    // dangling symlink instead, which no user can open (ENOENT), root included.
    await chmod(join(dir, 'secret.csv'), 0o000);
    let privileged = true;
    try {
      readFileSync(join(dir, 'secret.csv'));
    } catch {
      privileged = false;
    }
    if (privileged) {
      await chmod(join(dir, 'secret.csv'), 0o644);
      await symlink('no-such-target', join(dir, 'dangling.csv'));
    }
    execFileSync('mkfifo', [join(dir, 'pipe')]);

    const { code, report } = await verify(dir, `s3://${BUCKET}/unreadable`);

    const warnings = report.categories.warnings.items.map((w) => [w.path, w.code]).sort();
    expect(warnings).toEqual([privileged ? ['dangling.csv', 'ENOENT'] : ['secret.csv', 'EACCES'], ['pipe', 'FIFO']].sort());
    expect(report.categories.missing.count + report.categories.extra.count).toBe(0);
    expect(report.status).toBe('PASSED_WITH_WARNINGS');
    expect(code).toBe(1);
    await chmod(join(dir, 'secret.csv'), 0o644);
  });

  it.concurrent('compares only what --include / --exclude select, dotfiles included', async () => {
    const dir = await scenario('filters', { 'keep/a.csv': 'a', 'keep/.dot.csv': 'd', 'skip/b.tmp': 'b' }, ['skip/b.tmp']);
    await objects.put('filters/skip/other.tmp', 'o');

    const { code, report } = await verify(dir, `s3://${BUCKET}/filters`, '--include', '**/*.csv', '--exclude', 'skip/**');

    expect(report.totals.local.files).toBe(2);
    expect(report.totals.excluded).toEqual({ local: 1, s3: 1 });
    expect(report.status).toBe('PASSED_PARTIAL');
    expect(code).toBe(0);
  });

  describe('errors: exit 3 with one line on stderr, no stack trace, no secret', () => {
    const cases: [string, () => string[]][] = [
      ['a missing argument', () => ['verify-local', work]],
      ['a bad --sample', () => ['verify-local', work, `s3://${BUCKET}/x`, '--sample', 'lots', '--endpoint-url', s3.endpoint]],
      ['a bad --threshold-text', () => ['verify-local', work, `s3://${BUCKET}/x`, '--threshold-text', '2,1', '--endpoint-url', s3.endpoint]],
      ['a missing DIR', () => ['verify-local', join(work, 'nope'), `s3://${BUCKET}/x`, '--endpoint-url', s3.endpoint]],
      ['a URI that is not s3://', () => ['verify-local', work, `https://${BUCKET}/x`, '--endpoint-url', s3.endpoint]],
      ['an unreachable endpoint', () => ['verify-local', work, `s3://${BUCKET}/x`, '--endpoint-url', 'http://127.0.0.1:1']],
      ['a bucket that does not exist', () => ['verify-local', work, 's3://no-such-bucket/x', '--endpoint-url', s3.endpoint]],
    ];

    it.concurrent.each(cases)('%s', async (_name, args) => {
      const { code, stderr, stdout } = await runCli(args());

      expect(code).toBe(3);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).not.toContain(LOCAL_CREDENTIALS.secretAccessKey);
      expect(stdout).toBe('');
    });

    it('missing credentials', async () => {
      const saved = { ...process.env };
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'none');
      process.env.AWS_CONFIG_FILE = join(work, 'none');
      try {
        const { code, stderr } = await runCli(['verify-local', work, `s3://${BUCKET}/x`, '--endpoint-url', s3.endpoint]);
        expect(code).toBe(3);
        expect(stderr.trim()).toMatch(/^syncproof: no AWS credentials found; set AWS_ACCESS_KEY_ID/);
      } finally {
        process.env = saved;
      }
    });
  });

  // Memory per object, as first asserted on 100,000 objects (RSS growth under 128 MB, live heap
  // under 64 MB): the same bounds per object, at 20,000 objects. What may grow with the count is
  // the local side's map (path → size, see SyncDiff); a held listing or held per-file results cost
  // some hundreds of bytes per object, which the per-object bound catches at any count (fixed
  // costs count against it too, so a smaller count only tightens it). At 100,000 the test spent
  // ~110 s writing and listing the files.
  const RSS_MB_PER_OBJECT = 128 / 100_000;
  const LIVE_HEAP_MB_PER_OBJECT = 64 / 100_000;

  it(`diffs 20,000 objects with RSS growth under ${RSS_MB_PER_OBJECT * 2 ** 20 | 0} B and live heap under ${LIVE_HEAP_MB_PER_OBJECT * 2 ** 20 | 0} B per object`, async () => {
    const count = 20_000;
    const name = (i: number) => `d${String(i % 100).padStart(3, '0')}/f${String(i).padStart(6, '0')}.bin`;
    const dir = join(work, 'local', 'big');
    const storeDir = join(work, 's3-big');
    for (let d = 0; d < 100; d++) await mkdir(join(dir, `d${String(d).padStart(3, '0')}`), { recursive: true });
    // 100,000 HTTP PUTs took ~3 min on 2 cores (s3rver ~550/s): the objects are written through
    // s3rver's own store (the same files a PUT writes); the listing under test is served over HTTP.
    const local = (function* () {
      for (let i = 0; i < count; i++) yield { path: join(dir, name(i)), body: Buffer.alloc(i % 3) };
    })();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let next = local.next(); !next.done; next = local.next()) await writeFile(next.value.path, next.value.body);
      }),
    );
    await seedLocalS3Store(storeDir, 'big', (function* () {
      for (let i = 0; i < count; i++) yield { key: `big/${name(i)}`, body: Buffer.alloc(i % 3) };
    })());
    // This emulator runs in a child process: in this process, s3rver answering pages of 1,000
    // objects alone adds ~1.1 MB of RSS per page (110 MB for 100 pages, measured), which would
    // hide what is measured (verify-local's walk, listing client and diff).
    const server = await startLocalS3Process({ directory: storeDir, bucket: 'big' });
    try {
      // The seeding above leaves garbage: measureMemory collects it first (npm test runs Node with
      // --expose-gc), so the baseline is what this process holds.
      const { result: report, memory } = await measureMemory(() =>
        verifyLocal({ ...VERIFY_LOCAL_DEFAULTS, dir, s3Uri: 's3://big/big', endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
      );
      process.stderr.write(`verify-local ${count} objects: ${describeMemory(memory)}\n`);

      expect(report.totals.local.files).toBe(count);
      expect(report.totals.s3.files).toBe(count);
      expect(report.categories.missing).toEqual(expect.objectContaining({ count: 0 }));
      expect(report.status).toBe('PASSED_PARTIAL');
      expect(memory.rssGrowthMb).toBeLessThan(RSS_MB_PER_OBJECT * count);
      // RSS can stay flat while the heap refills pages V8 already holds: bound what stays reachable.
      // (Measured: 12.8 MB at 100,000 objects.)
      if (memory.liveHeapGrowthMb !== undefined) expect(memory.liveHeapGrowthMb).toBeLessThan(LIVE_HEAP_MB_PER_OBJECT * count);
    } finally {
      await server.stop();
    }
  }, 240_000);
});
