/**
 * Checksum throughput (issue #3): `digestFile` against `openssl dgst -md5` on the same file in the
 * same run, plus the full-object CRCs. Size: BENCH_CHECKSUM_MB (default 1024 MiB) of pseudo-random
 * bytes in a temp dir, removed afterwards. The file is read once by openssl before timing so every
 * contender reads it from the page cache. Each figure is the best of BENCH_CHECKSUM_REPEAT runs
 * (default 2). Nothing here is asserted by a test; numbers on a shared 2-core machine are noisy.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { buf as crc32c } from 'crc-32/crc32c';
import { digestFile, type DigestOptions } from '../lambdas/core/checksums';

const MIB = 1024 * 1024;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function best(repeat: number, run: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    await run();
    fastest = Math.min(fastest, seconds(start));
  }
  return fastest;
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

function line(label: string, mib: number, secs: number, baseline?: number): string {
  const rate = mib / secs;
  const ratio = baseline === undefined ? '' : `  ${(rate / baseline).toFixed(2)}x openssl`;
  return `  ${label.padEnd(44)} ${rate.toFixed(0).padStart(6)} MiB/s  (${secs.toFixed(2)} s)${ratio}`;
}

/** Seconds for one algorithm alone over an in-memory buffer in 4 MiB updates (no MD5, no I/O). */
async function rawSeconds(algorithm: 'crc64nvme' | 'crc32c' | 'md5', buffer: Buffer): Promise<number> {
  return best(1, async () => {
    if (algorithm === 'crc32c') {
      let state = 0;
      for (let i = 0; i < buffer.length; i += 4 * MIB) state = crc32c(buffer.subarray(i, i + 4 * MIB), state);
      return state;
    }
    const hash = algorithm === 'md5' ? createHash('md5') : new Crc64Nvme();
    for (let i = 0; i < buffer.length; i += 4 * MIB) hash.update(buffer.subarray(i, i + 4 * MIB));
    return hash.digest();
  });
}

/** Prints MiB/s of openssl and digestFile variants on one file; returns printable lines. */
export async function benchChecksums(): Promise<string[]> {
  const mib = Number(process.env.BENCH_CHECKSUM_MB ?? 1024);
  const repeat = Number(process.env.BENCH_CHECKSUM_REPEAT ?? 2);
  const dir = await mkdtemp(join(tmpdir(), 'syncproof-bench-checksums-'));
  const file = join(dir, 'random.bin');
  try {
    await writeRandomFile(file, mib);
    execFileSync('openssl', ['dgst', '-md5', file]); // warm the page cache
    const file1 = (options: DigestOptions) => () => digestFile(file, options);

    const openssl = mib / (await best(repeat, () => execFileSync('openssl', ['dgst', '-md5', file])));
    const md5Only = await best(repeat, file1({}));
    const withParts = await best(repeat, file1({ partSizes: [8 * MIB, 16 * MIB] }));
    const withCrc64 = await best(1, file1({ checksums: ['crc64nvme'] }));
    const withCrc32c = await best(1, file1({ checksums: ['crc32c'] }));

    const memMib = Math.min(mib, 256);
    const buffer = Buffer.alloc(memMib * MIB);
    randomFillSync(buffer);
    const rate = (algorithm: 'crc64nvme' | 'crc32c' | 'md5'): Promise<string> => rawSeconds(algorithm, buffer).then((secs) => `${(memMib / secs).toFixed(0)} MiB/s`);
    const raw = `  in memory (${memMib} MiB, alone): CRC64NVME ${await rate('crc64nvme')}, CRC32C ${await rate('crc32c')}, MD5 ${await rate('md5')}`;

    return [
      `Checksums over ${mib} MiB (page-cached file; best of ${repeat}; 2 shared cores: noisy)`,
      line('openssl dgst -md5', mib, mib / openssl),
      line('digestFile md5', mib, md5Only, openssl),
      line('digestFile md5 + multipart ETags 8 & 16 MiB', mib, withParts, openssl),
      line('digestFile md5 + CRC64NVME', mib, withCrc64, openssl),
      line('digestFile md5 + CRC32C', mib, withCrc32c, openssl),
      raw,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
