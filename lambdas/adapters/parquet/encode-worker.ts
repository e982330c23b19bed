/**
 * The entry of the Parquet encoder's worker thread (./encoder.ts): converts and encodes the chunk
 * each message carries with {@link encodeChunk} and posts back the file's bytes (transferred, not
 * copied) and zero-date counts, the value refused, or the error's name and message. It is bundled
 * on its own (lambdas/core/bundled-worker.ts) and started from that text, so a Lambda needs no
 * file next to its bundle.
 */
import { parentPort } from 'node:worker_threads';
import { ChunkValueError, encodeChunk, type ChunkColumn, type EncodedChunk, type RefusedValue } from './chunk-columns';
import type { EncodeParquetOptions } from './encode';

/** What the encoder posts to the worker. */
export interface EncodeRequest {
  readonly id: number;
  readonly columns: readonly ChunkColumn[];
  readonly rows: number;
  readonly options: EncodeParquetOptions;
}

/** What the worker posts back for one request. */
export type EncodeReply =
  | { readonly id: number; readonly encoded: EncodedChunk }
  | { readonly id: number; readonly refused: { readonly column: number; readonly row: number; readonly reason: RefusedValue } }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

parentPort?.on('message', (request: EncodeRequest) => {
  let reply: EncodeReply;
  try {
    reply = { id: request.id, encoded: encodeChunk(request.columns, request.rows, request.options) };
  } catch (error) {
    if (error instanceof ChunkValueError) reply = { id: request.id, refused: { column: error.column, row: error.row, reason: error.reason } };
    else {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { id: request.id, error: { name: e.name, message: e.message } };
    }
  }
  parentPort!.postMessage(reply, 'encoded' in reply ? [reply.encoded.body.buffer as ArrayBuffer] : []);
});
