import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The global identifier that esbuild replaces, when CDK bundles a stage Lambda, with the Parquet
 * encoder worker's code (lambdas/adapters/parquet/encode-worker.ts and what it imports), deflated
 * and in base64 like the configuration (./bundled-config.ts): the worker starts from that text, so
 * the Lambda needs no second file next to its bundle. Deflated it is ~25 KB, well under the 128 KiB
 * a define can carry (one command-line argument).
 */
export const PARQUET_WORKER_IDENTIFIER = 'SYNCPROOF_PARQUET_WORKER';

/** The worker's entry, bundled on its own. */
const PARQUET_WORKER_ENTRY = join(__dirname, '..', 'adapters', 'parquet', 'encode-worker.ts');

let built: string | undefined;

/**
 * The worker's code as one CommonJS text, built once per process with esbuild's command line (not
 * its JS API, which refuses to run inside Jest: its Uint8Array is another realm's). The stack calls
 * it at synth; the local runtime, tests and bench when they first encode. Either way the worker
 * runs the same text.
 */
export function buildParquetWorkerSource(): string {
  // The package's bin is its native binary once installed (a Node script with a shebang before): run it as a program.
  built ??= execFileSync(
    require.resolve('esbuild/bin/esbuild'),
    [PARQUET_WORKER_ENTRY, '--bundle', '--platform=node', '--format=cjs', '--target=node20', '--minify', '--log-level=error', '--legal-comments=none'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return built;
}

/** What a bundle carries for {@link PARQUET_WORKER_IDENTIFIER}: the code, deflated (raw), in base64. */
export function encodeBundledWorker(code: string): string {
  return deflateRawSync(Buffer.from(code, 'utf8'), { level: 9 }).toString('base64');
}

/** The code {@link encodeBundledWorker} encoded. */
export function decodeBundledWorker(text: string): string {
  return inflateRawSync(Buffer.from(text, 'base64')).toString('utf8');
}
