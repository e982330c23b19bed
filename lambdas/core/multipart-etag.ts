/**
 * Checking a multipart ETag against a local file (issue #15 item 7), computing only what the
 * ETag's form needs: its `-N` suffix fixes the part count, so only part sizes that split the file
 * into exactly N parts are candidates (candidatePartSizes), no whole-file MD5 is computed, and the
 * candidates are tried most likely first, stopping at the first that reproduces the ETag. A large
 * file's parts are hashed in worker threads (one per core, each over a contiguous run of parts);
 * a small one on the calling thread, where starting a worker would cost more than it saves.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MIB, candidatePartSizes, multipartEtag, partCount, type ParsedEtag } from './checksums';
import { FILE_READ_CHUNK_BYTES, forEachFileChunk } from './file-chunks';

/** Files at least this large are hashed in worker threads. */
export const WORKER_THRESHOLD_BYTES = 64 * MIB;

/** A multipart ETag as parseEtag returns it. */
export type MultipartEtag = Extract<ParsedEtag, { kind: 'multipart' }>;

/** What checking a multipart ETag found. */
export interface MultipartEtagCheck {
  /** The candidate part sizes tried, in order (bytes). */
  readonly candidates: readonly number[];
  /** The part size whose ETag equals the object's, if any. */
  readonly partSize?: number;
  /** That ETag, `<hex>-<N>`. */
  readonly etag?: string;
}

/**
 * The worker: MD5 of each part in [firstPart, lastPart) of `path`, in FILE_READ_CHUNK_BYTES
 * reads with the next read in flight while this chunk is hashed (as forEachFileChunk does).
 * Plain JavaScript evaluated from a string, so the Lambda bundle and `tsx` need no worker file.
 */
const PART_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { open } = require('node:fs/promises');
const { path, size, partSize, firstPart, lastPart, chunkBytes } = workerData;
async function run() {
  const file = await open(path, 'r');
  const buffers = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  const end = Math.min(size, lastPart * partSize);
  const readAt = (at, i) => file.read(buffers[i], 0, Math.min(chunkBytes, end - at, partSize - (at % partSize)), at);
  const digests = [];
  try {
    let at = firstPart * partSize;
    let index = 0;
    let hash = createHash('md5');
    let pending = at < end ? readAt(at, 0) : undefined;
    while (pending) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) throw new Error(path + ' ended at byte ' + at + ' while ' + size + ' were expected; the file changed during the check');
      at += bytesRead;
      index ^= 1;
      pending = at < end ? readAt(at, index) : undefined;
      hash.update(buffer.subarray(0, bytesRead));
      if (at % partSize === 0 || at === end) {
        digests.push(hash.digest());
        hash = createHash('md5');
      }
    }
  } finally {
    await file.close();
  }
  return digests;
}
run().then((digests) => parentPort.postMessage(digests), (error) => { throw error; });
`;

function partsInWorker(path: string, size: number, partSize: number, firstPart: number, lastPart: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(PART_WORKER_SOURCE, { eval: true, workerData: { path, size, partSize, firstPart, lastPart, chunkBytes: FILE_READ_CHUNK_BYTES } });
    worker.once('message', (digests: Uint8Array[]) => resolve(digests));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`hashing ${path} stopped (worker exit ${code})`))));
  });
}

async function partsOnThisThread(path: string, size: number, partSize: number): Promise<Uint8Array[]> {
  const digests: Uint8Array[] = [];
  let hash = createHash('md5');
  let inPart = 0;
  await forEachFileChunk(path, (chunk) => {
    for (let pos = 0; pos < chunk.length; ) {
      const take = Math.min(chunk.length - pos, partSize - inPart);
      hash.update(chunk.subarray(pos, pos + take));
      pos += take;
      inPart += take;
      if (inPart === partSize) {
        digests.push(hash.digest());
        hash = createHash('md5');
        inPart = 0;
      }
    }
  }, { end: size });
  if (inPart > 0 || digests.length === 0) digests.push(hash.digest());
  return digests;
}

/**
 * The multipart ETag (`<hex>-<N>`) of the first `size` bytes of `path` uploaded in `partSize`-byte
 * parts. `workers`: threads to hash in (default: one per core for files of WORKER_THRESHOLD_BYTES
 * or more, else 0 = this thread).
 */
export async function fileMultipartEtag(path: string, size: number, partSize: number, options: { workers?: number } = {}): Promise<string> {
  const parts = partCount(size, partSize);
  const workers = Math.min(parts, options.workers ?? (size >= WORKER_THRESHOLD_BYTES ? availableParallelism() : 0));
  if (workers === 0) return multipartEtag(await partsOnThisThread(path, size, partSize));
  const per = Math.ceil(parts / workers);
  const runs: Promise<Uint8Array[]>[] = [];
  for (let first = 0; first < parts; first += per) runs.push(partsInWorker(path, size, partSize, first, Math.min(parts, first + per)));
  return multipartEtag((await Promise.all(runs)).flat());
}

/**
 * Which candidate part size, if any, reproduces `etag` from the first `size` bytes of `path`?
 * Candidates are candidatePartSizes(size, etag.parts) (or `options.candidates`), tried in order;
 * the first match ends the search.
 */
export async function checkFileMultipartEtag(
  path: string,
  size: number,
  etag: MultipartEtag,
  options: { candidates?: readonly number[]; workers?: number } = {},
): Promise<MultipartEtagCheck> {
  const candidates = options.candidates ?? candidatePartSizes(size, etag.parts);
  const wanted = `${etag.digest}-${etag.parts}`;
  for (const partSize of candidates) {
    if (partCount(size, partSize) !== etag.parts) continue;
    const computed = await fileMultipartEtag(path, size, partSize, { workers: options.workers });
    if (computed === wanted) return { candidates, partSize, etag: computed };
  }
  return { candidates };
}
