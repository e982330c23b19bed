/**
 * Checksum throughput (issues #3, #15 item 7), each figure a ratio against a baseline doing the
 * same work in the same run, the two sides alternated round by round (median of
 * BENCH_CHECKSUM_REPEAT rounds, default 3), over BENCH_CHECKSUM_MB (default 1024) MiB of random
 * bytes in a page-cached temp file:
 * - MD5 of a file: `digestFile` against `openssl dgst -md5` (target ≥ 0.9×);
 * - a multipart ETag (8 MiB parts, `-128` for 1 GiB): `checkFileMultipartEtag` against openssl
 *   (target ≥ 0.9×); for reference, the old way (whole MD5 + two candidate ETags in one pass);
 * - CRC64NVME of a file: `checksumFile` against the fastest CRC64NVME here, the SDK's `Crc64Nvme`
 *   (`@aws-sdk/checksums`; the CRT build is not installed) over the same bytes already in memory
 *   (target ≥ 0.9×);
 * - `verifyLocal --detailed --sample all` of BENCH_CHECKSUM_OBJECTS (10,000) small objects on
 *   s3rver (bench/checksums-verify-local.ts).
 * The contenders are injectable so that the same bench can time an older build (`subject`).
 * Nothing here is asserted by a test; numbers on a shared 2-core machine are noisy.
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { checksumFile, digestFile, parseEtag, type DigestOptions, type DigestResult } from '../lambdas/core/checksums';
import { checkFileMultipartEtag, type MultipartEtag } from '../lambdas/core/multipart-etag';
import { benchVerifyLocalDetailed, type VerifyLocalSubject } from './checksums-verify-local';

const MIB = 1024 * 1024;

/** What the bench times; the default is this build. */
export interface ChecksumSubject extends VerifyLocalSubject {
  readonly digestFile: (path: string, options?: DigestOptions) => Promise<DigestResult>;
  /** Does the file reproduce this multipart ETag? (the part size found, or undefined) */
  readonly multipartEtag: (path: string, size: number, etag: string) => Promise<number | undefined>;
  readonly crc64File: (path: string) => Promise<string>;
}

/** This build. */
export const CURRENT_SUBJECT: ChecksumSubject = {
  digestFile: (path, options) => digestFile(path, options),
  multipartEtag: async (path, size, etag) => (await checkFileMultipartEtag(path, size, parseEtag(etag) as MultipartEtag)).partSize,
  crc64File: (path) => checksumFile(path, 'crc64nvme'),
};

async function secondsOf(run: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Medians of `rounds` alternated runs (baseline first in even rounds, ours first in odd ones). */
async function alternated(rounds: number, baseline: () => unknown, ours: () => unknown): Promise<{ baseline: number; ours: number }> {
  const b: number[] = [];
  const o: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      b.push(await secondsOf(baseline));
      o.push(await secondsOf(ours));
    } else {
      o.push(await secondsOf(ours));
      b.push(await secondsOf(baseline));
    }
  }
  return { baseline: median(b), ours: median(o) };
}

async function writeRandomFile(path: string, mib: number): Promise<void> {
  const out = createWriteStream(path);
  const block = Buffer.alloc(16 * MIB);
  for (let written = 0; written < mib; written += 16) {
    const size = Math.min(16, mib - written) * MIB;
    randomFillSync(block, 0, size);
    if (!out.write(Buffer.from(block.subarray(0, size)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function figure(label: string, baselineLabel: string, mib: number, t: { baseline: number; ours: number }, goal?: number): string[] {
  const ratio = t.baseline / t.ours;
  const verdict = goal === undefined ? '' : ` (target ≥ ${goal}×: ${ratio >= goal ? 'met' : 'NOT met'})`;
  return [
    `  ${label.padEnd(52)} ${(mib / t.ours).toFixed(0).padStart(6)} MiB/s  ${ratio.toFixed(2)}× ${baselineLabel}${verdict}`,
    `  ${`  ${baselineLabel}`.padEnd(52)} ${(mib / t.baseline).toFixed(0).padStart(6)} MiB/s`,
  ];
}

/** Runs the checksum figures and returns printable lines. */
export async function benchChecksums(subject: ChecksumSubject = CURRENT_SUBJECT): Promise<string[]> {
  const mib = Number(process.env.BENCH_CHECKSUM_MB ?? 1024);
  const rounds = Number(process.env.BENCH_CHECKSUM_REPEAT ?? 3);
  const dir = await mkdtemp(join(tmpdir(), 'syncproof-bench-checksums-'));
  const file = join(dir, 'random.bin');
  const crcFile = join(dir, 'crc.bin');
  try {
    await writeRandomFile(file, mib);
    const size = statSync(file).size;
    const openssl = () => execFileSync('openssl', ['dgst', '-md5', file]);
    openssl(); // warm the page cache
    const lines = [`Checksums over ${mib} MiB (page-cached file; medians of ${rounds} alternated rounds; 2 shared cores: noisy)`];

    lines.push(...figure('digestFile MD5', 'openssl dgst -md5', mib, await alternated(rounds, openssl, () => subject.digestFile(file)), 0.9));

    const partSize = 8 * MIB;
    const etag = (await digestFile(file, { partSizes: [partSize] })).multipartEtags.get(partSize)!;
    const found = await subject.multipartEtag(file, size, etag);
    if (found !== partSize) throw new Error(`the multipart ETag check did not find the ${partSize}-byte part size of ${etag}`);
    lines.push(...figure(`multipart ETag ${etag.slice(-4)} (8 MiB parts) checked`, 'openssl dgst -md5', mib, await alternated(rounds, openssl, () => subject.multipartEtag(file, size, etag)), 0.9));
    const oldWay = await alternated(1, openssl, () => subject.digestFile(file, { partSizes: [8 * MIB, 16 * MIB] }));
    lines.push(`  (reference: one pass of MD5 + ETags for 8 & 16 MiB parts: ${(oldWay.baseline / oldWay.ours).toFixed(2)}× openssl)`);

    const crcMib = Math.min(mib, 256);
    await writeRandomFile(crcFile, crcMib);
    const bytes = await readFile(crcFile);
    const inMemory = async () => {
      const crc = new Crc64Nvme();
      for (let i = 0; i < bytes.length; i += 4 * MIB) crc.update(bytes.subarray(i, i + 4 * MIB));
      return crc.digest();
    };
    const expected = Buffer.from(await inMemory()).toString('base64');
    if ((await subject.crc64File(crcFile)) !== expected) throw new Error('CRC64NVME of the file differs from the in-memory value');
    lines.push(...figure(`CRC64NVME of a ${crcMib} MiB file`, 'Crc64Nvme in memory', crcMib, await alternated(rounds, inMemory, () => subject.crc64File(crcFile)), 0.9));

    lines.push(...(await benchVerifyLocalDetailed(subject)));
    return lines;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchChecksums().then(
    (lines) => process.stdout.write(`${lines.join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
