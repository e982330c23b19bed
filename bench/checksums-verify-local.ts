/**
 * Figure — `verifyLocal --detailed --sample all` of BENCH_CHECKSUM_OBJECTS (default 10,000) small
 * files against the same objects on s3rver (in its own process, so neither side pays for serving),
 * in objects per second (target ≥ 2,000) and as a ratio to the same command without `--detailed`
 * (walk + list + diff: the floor a content check adds to), sides alternated, medians of
 * BENCH_CHECKSUM_REPEAT (default 3) rounds. The detailed run must download nothing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERIFY_LOCAL_DEFAULTS, verifyLocal, type VerifyLocalOptions, type VerifyLocalReport } from '../cli/verify-local-command';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seedLocalS3Store, startLocalS3Process, type LocalS3 } from '../local/emulators';

/** The verify-local under test (injectable so that an older build can be timed the same way). */
export interface VerifyLocalSubject {
  readonly verifyLocal?: (options: VerifyLocalOptions) => Promise<Pick<VerifyLocalReport, 'status' | 'sample'>>;
}

const BUCKET = 'bench-checksums';
const PREFIX = 'files';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs the figure and returns its report lines. */
export async function benchVerifyLocalDetailed(subject: VerifyLocalSubject = {}): Promise<string[]> {
  const run = subject.verifyLocal ?? verifyLocal;
  const objects = Number(process.env.BENCH_CHECKSUM_OBJECTS ?? 10_000);
  const rounds = Number(process.env.BENCH_CHECKSUM_REPEAT ?? 3);
  const work = await mkdtemp(join(tmpdir(), 'syncproof-bench-verify-'));
  const local = join(work, 'local');
  let server: LocalS3 | undefined;
  try {
    const name = (i: number) => `d${String(i % 50).padStart(2, '0')}/file ${String(i).padStart(5, '0')}.csv`;
    const body = (i: number) => Buffer.from(`id,value\n${i},${'x'.repeat(i % 200)}\n`);
    for (let d = 0; d < 50; d++) await mkdir(join(local, `d${String(d).padStart(2, '0')}`), { recursive: true });
    for (let i = 0; i < objects; i++) await writeFile(join(local, name(i)), body(i));
    await seedLocalS3Store(join(work, 's3'), BUCKET, (function* () {
      for (let i = 0; i < objects; i++) yield { key: `${PREFIX}/${name(i)}`, body: body(i), contentType: 'text/csv' };
    })());
    server = await startLocalS3Process({ directory: join(work, 's3'), bucket: BUCKET });
    const where = { ...VERIFY_LOCAL_DEFAULTS, dir: local, s3Uri: `s3://${BUCKET}/${PREFIX}`, endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const listOnly: number[] = [];
    const detailed: number[] = [];
    let downloaded = 0;
    const timeDetailed = async () => {
      const start = process.hrtime.bigint();
      const report = await run({ ...where, detailed: true, sample: { kind: 'all' } });
      detailed.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (report.status !== 'PASSED' || report.sample?.size !== objects) throw new Error(`verify-local --detailed found differences in the bench data: ${report.status}`);
      downloaded += report.sample.bytesDownloaded;
    };
    const timeListOnly = async () => {
      const start = process.hrtime.bigint();
      const report = await run(where);
      listOnly.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (report.status !== 'PASSED_PARTIAL') throw new Error(`verify-local found differences in the bench data: ${report.status}`);
    };
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await timeListOnly();
        await timeDetailed();
      } else {
        await timeDetailed();
        await timeListOnly();
      }
    }
    const [d, l] = [median(detailed), median(listOnly)];
    const rate = objects / d;
    return [
      `verify-local --detailed --sample all, ${objects} objects on s3rver (medians of ${rounds} alternated rounds):`,
      `  detailed:        ${d.toFixed(2)} s  ${rate.toFixed(0)} objects/s (target ≥ 2000: ${rate >= 2000 ? 'met' : 'NOT met'}); ${(l / d).toFixed(2)}× the list-only run; bytes downloaded ${downloaded}`,
      `  list+diff only:  ${l.toFixed(2)} s  ${(objects / l).toFixed(0)} objects/s`,
    ];
  } finally {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
