/**
 * Where the extraction's chunks are converted and encoded ({@link encodeChunk}): on a worker
 * thread when the machine has a core to spare, so the extraction reads the next chunk while the
 * last one is encoded (an extract Lambda of 3,008 MB has 2 vCPUs), else on the calling thread.
 * Either way: the same bytes, the same ChunkValueError for a value refused, the same RangeErrors
 * (rethrown here with their names and messages).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildParquetWorkerSource, decodeBundledWorker } from '../../core/bundled-worker';
import { ChunkValueError, encodeChunk, type ChunkColumn, type EncodedChunk } from './chunk-columns';
import type { EncodeParquetOptions } from './encode';
import type { EncodeReply, EncodeRequest } from './encode-worker';

/** Set by the stack's bundling to the worker's code, encoded (lambdas/core/bundled-worker.ts); undefined when run from source. */
declare const SYNCPROOF_PARQUET_WORKER: string | undefined;

export interface ParquetEncoder {
  /** Worker threads encoding (0: files are encoded on the calling thread). */
  readonly threads: number;
  /** {@link encodeChunk} of `columns` (`rows` long); rejects with what it throws. */
  encode(columns: readonly ChunkColumn[], rows: number, options: EncodeParquetOptions): Promise<EncodedChunk>;
  /** Ends the workers; a request still waiting is rejected. */
  close(): Promise<void>;
}

let workerSource: string | undefined;

/** The bundled code in a Lambda, else built from source (local runtime, tests, bench): once per process, ~0.2 s. */
function parquetWorkerSource(): string {
  workerSource ??= typeof SYNCPROOF_PARQUET_WORKER === 'string' ? decodeBundledWorker(SYNCPROOF_PARQUET_WORKER) : buildParquetWorkerSource();
  return workerSource;
}

interface Waiting {
  readonly resolve: (encoded: EncodedChunk) => void;
  readonly reject: (error: Error) => void;
}

/** One worker and the requests it has not answered; a worker that fails is replaced on next use. */
class EncoderThread {
  private readonly waiting = new Map<number, Waiting>();
  private worker: Worker | undefined;
  private nextId = 0;

  get load(): number {
    return this.waiting.size;
  }

  encode(columns: readonly ChunkColumn[], rows: number, options: EncodeParquetOptions): Promise<EncodedChunk> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<EncodedChunk>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Keeps the process alive only while a file is being encoded.
      worker.ref();
      const request: EncodeRequest = { id, columns, rows, options };
      try {
        worker.postMessage(request);
      } catch (error) {
        this.settle(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.fail(new Error('the Parquet encoder was closed before the file was encoded'));
    if (worker) await worker.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(parquetWorkerSource(), { eval: true });
    worker.unref();
    worker.on('message', (reply: EncodeReply) => {
      const waiting = this.settle(reply.id);
      if (!waiting) return;
      if ('encoded' in reply) waiting.resolve(reply.encoded);
      else if ('refused' in reply) waiting.reject(new ChunkValueError(reply.refused.column, reply.refused.row, reply.refused.reason));
      else waiting.reject(Object.assign(reply.error.name === 'RangeError' ? new RangeError(reply.error.message) : new Error(reply.error.message), { name: reply.error.name }));
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(error);
    };
    worker.on('error', (error) => lost(new Error(`the Parquet encoder thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => lost(new Error(`the Parquet encoder thread exited (code ${code}) before the file was encoded`)));
    this.worker = worker;
    return worker;
  }

  private settle(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
    return waiting;
  }

  private fail(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(error);
  }
}

/**
 * An encoder with `threads` worker threads. By default one fewer than the machine's cores, at most
 * 2 (one source connection's reads and conversions keep two busy): none on 1 core, 1 on an extract
 * Lambda of 3,008 MB (2 vCPUs). Each request goes to the thread with the fewest waiting.
 */
export function createParquetEncoder(options: { threads?: number } = {}): ParquetEncoder {
  const threads = options.threads ?? Math.min(2, availableParallelism() - 1);
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads must be a non-negative integer, not ${threads}`);
  if (threads === 0) {
    return {
      threads,
      encode: async (columns, rows, encodeOptions) => encodeChunk(columns, rows, encodeOptions),
      close: async () => undefined,
    };
  }
  const pool = Array.from({ length: threads }, () => new EncoderThread());
  return {
    threads,
    encode: (columns, rows, encodeOptions) => pool.reduce((a, b) => (b.load < a.load ? b : a)).encode(columns, rows, encodeOptions),
    close: async () => {
      await Promise.all(pool.map((t) => t.close()));
    },
  };
}

let shared: ParquetEncoder | undefined;

/** The process's encoder ({@link createParquetEncoder}'s default), created on first use and kept (a warm Lambda reuses its thread). */
export function sharedParquetEncoder(): ParquetEncoder {
  shared ??= createParquetEncoder();
  return shared;
}
