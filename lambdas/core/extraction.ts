/**
 * The extraction document: what one run extracted from a dataset's source, written to S3 by the
 * extract stage after every invocation (`_syncproof/extractions/<dataset>/<runId>.json`), read by
 * Discover (the run's files, O(k)) and by the watermark commit (what to prove before moving).
 */
import { z } from 'zod';
import { INTERNAL_PREFIX } from './config';

export const positionSchema = z.strictObject({ cursor: z.string(), key: z.array(z.string()).readonly() });

export const chunkStartSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('beginning') }),
  z.strictObject({ kind: z.literal('after'), position: positionSchema }),
  z.strictObject({ kind: z.literal('from-cursor'), cursor: z.string() }),
  z.strictObject({ kind: z.literal('after-key'), key: z.array(z.string()).readonly() }),
]);

export const extractedFileSchema = z.strictObject({
  key: z.string(),
  etag: z.string(),
  size: z.number().int(),
  rows: z.number().int(),
  first: positionSchema,
  last: positionSchema,
});
export type ExtractedFile = z.infer<typeof extractedFileSchema>;

/** What a `repair` run extracted (lambdas/core/repair.ts RepairOutcome): counts, never values. */
export const repairOutcomeSchema = z.strictObject({
  reportUri: z.string(),
  requested: z.number().int(),
  extracted: z.number().int(),
  pastWatermark: z.number().int(),
  notAtSource: z.number().int(),
  nullCursor: z.number().int(),
  notListed: z.number().int(),
  leftToDeletes: z.number().int(),
  alreadyRepairedBy: z.string().optional(),
  proofUri: z.string().optional(),
});

export const extractionDocumentSchema = z.strictObject({
  dataset: z.string(),
  runId: z.string(),
  mode: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** `cursor < end`; null when the table had no rows with a cursor (integer cursor, empty table). */
  end: z.string().nullable(),
  /** The watermark as the run read it: the commit is conditional on this version. */
  watermark: z.strictObject({ version: z.number().int(), position: positionSchema.optional() }),
  limit: z.number().int(),
  maxChunks: z.number().int().nullable(),
  /**
   * Where the run started reading: after this position (incremental, extract-only), or absent
   * (from the beginning; full). `load-only` runs chain the extract-only runs by it.
   */
  from: positionSchema.optional(),
  /** Where the next chunk starts (continuations). */
  next: chunkStartSchema,
  files: z.array(extractedFileSchema),
  rows: z.number().int(),
  bytes: z.number().int(),
  nullCursorRows: z.number().int(),
  zeroDates: z.record(z.string(), z.number().int()),
  warnings: z.array(z.string()),
  /**
   * The last row extracted (keyset order), where the watermark moves once the run is proven;
   * absent when the run read none. A full run sets it at its start: the last row before `end`.
   */
  last: positionSchema.optional(),
  /** True once the run stopped: caught up with `end`, or at limit × maxChunks. */
  done: z.boolean(),
  /** Done at limit × maxChunks with rows left before `end`. */
  hasMore: z.boolean(),
  /** A `repair` run: what its report asked and what it extracted. */
  repair: repairOutcomeSchema.optional(),
  /**
   * A `repair` run: the positions of the rows it extracted (keys and cursors, never values), so
   * the count chain counts a repaired late row in the window of the run it was late for.
   */
  repaired: z.array(positionSchema).optional(),
});
export type ExtractionDocument = z.infer<typeof extractionDocumentSchema>;

/** Where the extraction documents of a dataset's runs live. */
export function extractionDocumentPrefix(dataset: string): string {
  return `${INTERNAL_PREFIX}extractions/${dataset}/`;
}

/** Where a run's extraction document lives. */
export function extractionDocumentKey(dataset: string, runId: string): string {
  return `${extractionDocumentPrefix(dataset)}${runId}.json`;
}
