/**
 * Figure — verify-local list + diff: 10,000 small files in a local folder and the same objects on
 * s3rver; `verifyLocal` (walk + ListObjectsV2 + diff, no content check) against `rclone check`
 * (default: sizes and MD5 hashes, so it reads every local file), `rclone check --size-only` (the
 * same work as verify-local) and `rclone lsf -R` of the folder plus the bucket (listing only, no
 * diff). The S3 emulator runs in its own process so that neither side pays for serving the listing.
 * Medians of BENCH_ROUNDS (default 3) runs; each figure is objects per second.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERIFY_LOCAL_DEFAULTS, verifyLocal } from '../cli/verify-local-command';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seedLocalS3Store, startLocalS3Process, type LocalS3 } from '../local/emulators';

const OBJECTS = Number(process.env.BENCH_LIST_OBJECTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BUCKET = 'bench-list';
const PREFIX = 'files';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function rcloneEnv(endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_LOCALS3_TYPE: 's3',
    RCLONE_CONFIG_LOCALS3_PROVIDER: 'Other',
    RCLONE_CONFIG_LOCALS3_ENDPOINT: endpoint,
    RCLONE_CONFIG_LOCALS3_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_LOCALS3_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_LOCALS3_REGION: LOCAL_REGION,
    RCLONE_CONFIG_LOCALS3_FORCE_PATH_STYLE: 'true',
    // s3rver ignores EncodingType=url: ask for plain keys.
    RCLONE_CONFIG_LOCALS3_LIST_URL_ENCODE: 'false',
  };
  delete env.AWS_CA_BUNDLE;
  return env;
}

/** Wall time of one rclone run in seconds; throws with rclone's stderr when it fails. */
function timeRclone(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('rclone', [...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error) throw new Error(`rclone ${args[0]} could not start (${r.error.message}); install it with apt-get install -y rclone`);
  if (r.status !== 0) throw new Error(`rclone ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return seconds;
}

/**
 * Runs the figure and returns its report lines. Targets: verify-local ≥ 1.5× `rclone check`,
 * ≥ 0.95× `rclone lsf` (folder + bucket).
 */
export async function benchListDiff(): Promise<string[]> {
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-list-'));
  const local = join(work, 'local');
  const storeDir = join(work, 's3');
  let server: LocalS3 | undefined;
  try {
    // Seeded through s3rver's own store (the files a PUT writes), without HTTP: 10,000 PUTs would
    // take ~20 s on 2 cores and are not what is measured.
    const name = (i: number) => `d${String(i % 50).padStart(2, '0')}/file ${String(i).padStart(5, '0')}.csv`;
    const body = (i: number) => Buffer.from(`id,value\n${i},${'x'.repeat(i % 200)}\n`);
    for (let d = 0; d < 50; d++) await mkdir(join(local, `d${String(d).padStart(2, '0')}`), { recursive: true });
    for (let i = 0; i < OBJECTS; i++) await writeFile(join(local, name(i)), body(i));
    await seedLocalS3Store(storeDir, BUCKET, (function* () {
      for (let i = 0; i < OBJECTS; i++) yield { key: `${PREFIX}/${name(i)}`, body: body(i), contentType: 'text/csv' };
    })());
    server = await startLocalS3Process({ directory: storeDir, bucket: BUCKET });
    const env = rcloneEnv(server.endpoint);
    const remote = `LOCALS3:${BUCKET}/${PREFIX}`;
    const where = { dir: local, s3Uri: `s3://${BUCKET}/${PREFIX}`, endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

    const ours: number[] = [];
    const check: number[] = [];
    const checkSize: number[] = [];
    const lsf: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = process.hrtime.bigint();
      const report = await verifyLocal({ ...VERIFY_LOCAL_DEFAULTS, ...where });
      ours.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (report.status !== 'PASSED_PARTIAL' || report.totals.s3.files !== OBJECTS) {
        throw new Error(`verify-local found differences in the bench data: ${report.status}, ${report.totals.s3.files} objects`);
      }
      check.push(timeRclone(['check', local, remote, '--one-way=false', '-q'], env));
      checkSize.push(timeRclone(['check', local, remote, '--size-only', '-q'], env));
      lsf.push(timeRclone(['lsf', '-R', '--files-only', local], env) + timeRclone(['lsf', '-R', '--files-only', remote], env));
    }
    // Figure (3): bytes a `--detailed --sample all` run downloads when S3 already holds checksum
    // evidence for every object (s3rver: single-part MD5 ETags). Target: 0.
    const detailedStart = process.hrtime.bigint();
    const detailed = await verifyLocal({ ...VERIFY_LOCAL_DEFAULTS, ...where, detailed: true, sample: { kind: 'all' } });
    const detailedSeconds = Number(process.hrtime.bigint() - detailedStart) / 1e9;
    if (detailed.status !== 'PASSED' || detailed.sample?.size !== OBJECTS) {
      throw new Error(`verify-local --detailed found differences in the bench data: ${detailed.status}, ${detailed.sample?.size ?? 0} sampled`);
    }
    const evidence = new Map<string, number>();
    for (const item of detailed.sample.items) evidence.set(item.evidence, (evidence.get(item.evidence) ?? 0) + 1);
    const rate = (s: number) => OBJECTS / s;
    const [o, c, cs, l] = [median(ours), median(check), median(checkSize), median(lsf)];
    const target = (ratio: number, goal: number) => `${ratio.toFixed(2)}× (target ≥ ${goal}×: ${ratio >= goal ? 'met' : 'NOT met'})`;
    return [
      `verify-local list+diff, ${OBJECTS} objects (medians of ${ROUNDS}; 2 shared cores, expect ±15% noise):`,
      `  verify-local (walk + list + diff):     ${o.toFixed(2)} s  ${rate(o).toFixed(0)} objects/s`,
      `  rclone check (sizes + MD5):            ${c.toFixed(2)} s  ${rate(c).toFixed(0)} objects/s  → verify-local ${target(c / o, 1.5)}`,
      `  rclone check --size-only:              ${cs.toFixed(2)} s  ${rate(cs).toFixed(0)} objects/s  → verify-local ${(cs / o).toFixed(2)}×`,
      `  rclone lsf -R folder + bucket:         ${l.toFixed(2)} s  ${rate(l).toFixed(0)} objects/s  → verify-local ${target(l / o, 0.95)}`,
      `verify-local --detailed --sample all, ${OBJECTS} objects (${detailed.totals.s3.bytes} bytes on S3), one run:`,
      `  ${detailedSeconds.toFixed(2)} s; bytes downloaded ${detailed.sample.bytesDownloaded} (target 0: ${detailed.sample.bytesDownloaded === 0 ? 'met' : 'NOT met'}); evidence ${[...evidence].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    ];
  } finally {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchListDiff().then(
    (lines) => process.stdout.write(`${lines.join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
