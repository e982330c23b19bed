/**
 * The SyncStateMachine's execution input, shared by the trigger (which writes it), the Discover
 * stage (which acts on it) and the verification stages (which validate it the same way).
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, checksumSampleSchema } from './config';
import { positionSchema } from './extraction';

/** Where the trigger stores the event objects of an execution that are too many to pass inline. */
export const EVENTS_PREFIX = `${INTERNAL_PREFIX}events/`;

/**
 * Most event objects an execution input carries inline; the trigger writes more to an events
 * document and passes its URI. Ten objects, whose keys S3 caps at 1,024 bytes, keep the input (and
 * every state that carries it) far below Step Functions' 256 KiB payload limit.
 */
export const INLINE_EVENT_OBJECTS = 10;

/** Key of the events document of one execution: `_syncproof/events/<dataset>/<executionName>.json`. */
export function eventsDocumentKey(dataset: string, executionName: string): string {
  return `${EVENTS_PREFIX}${dataset}/${executionName}.json`;
}

const instant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 instant');

/** One object version an S3 "Object Created" event named. */
export const eventObjectSchema = z.strictObject({
  key: z.string().min(1),
  /** Unquoted; empty when the event carried none. */
  etag: z.string(),
  /** Bytes, as the event reported them. */
  size: z.number().int().nonnegative(),
  /** The event's `sequencer`: hexadecimal, orders events on one key (see lambdas/core/s3-order.ts). */
  sequencer: z.string().regex(/^[0-9A-Fa-f]+$/, 'must be a hexadecimal S3 event sequencer').optional(),
  /** The event's `time` (when S3 finished the request). */
  eventTime: instant.optional(),
});
export type EventObject = z.infer<typeof eventObjectSchema>;

/** The document at `eventsUri`: the event objects of one execution, as the trigger wrote them. */
export const eventsDocumentSchema = z.strictObject({
  dataset: z.string().min(1),
  executionName: z.string().min(1),
  objects: z.array(eventObjectSchema).min(1),
});
export type EventsDocument = z.infer<typeof eventsDocumentSchema>;

/**
 * What the trigger says about an execution it started: how many object versions its events named,
 * and those versions, inline (`events`, at most {@link INLINE_EVENT_OBJECTS}) or by reference
 * (`eventsUri`, an events document). Without either (executions started before events were passed)
 * the run reconciles the whole prefix.
 */
export const s3TriggerSchema = z
  .strictObject({
    source: z.literal('s3'),
    objects: z.number().int().positive(),
    events: z.array(eventObjectSchema).min(1).max(INLINE_EVENT_OBJECTS).optional(),
    eventsUri: z
      .string()
      .regex(/^s3:\/\/[^/]+\/.+$/, 'must be an s3://bucket/key URI')
      .optional(),
  })
  .refine((t) => t.events === undefined || t.eventsUri === undefined, { message: 'give events or eventsUri, not both', path: ['eventsUri'] })
  .refine((t) => t.events === undefined || t.events.length === t.objects, { message: 'must equal the number of events', path: ['objects'] });
export type S3Trigger = z.infer<typeof s3TriggerSchema>;

/**
 * How a run of a dataset goes. `incremental` (the default for a dataset with a source) extracts
 * what changed since the watermark and upserts it; `full` extracts the whole table (every row,
 * NULL cursors included, in key order) and replaces the target with it in one transaction;
 * `extract-only` extracts to S3 and proves the files there, leaving the warehouse and the
 * watermark as they are (it records how far it extracted); `load-only` loads what earlier
 * `extract-only` runs left on S3, then moves the watermark; `reconcile` (datasets fed by S3
 * uploads) lists the whole prefix; `repair` re-extracts by key the rows behind the watermark that a
 * content report (`repair.reportUri`) lists as missing in the warehouse or changed, loads them
 * through the usual path, proves them by content and leaves the watermark where it is
 * (lambdas/core/repair.ts).
 */
export const RUN_MODES = ['incremental', 'reconcile', 'full', 'extract-only', 'load-only', 'repair'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/**
 * What an operator (console, CLI), a schedule or the trigger passes to the SyncStateMachine.
 * `mode: 'reconcile'` asks for a full listing of the dataset's prefix even when the trigger passed
 * events; `'incremental'` (the default for a dataset with a source) extracts what changed since
 * the watermark.
 */
export const executionInputSchema = z
  .object({
    dataset: z.string({ error: 'required: the name of a configured dataset' }).min(1),
    trigger: s3TriggerSchema.optional(),
    mode: z.enum(RUN_MODES).optional(),
    /**
     * `load-only`: load the files earlier `extract-only` runs left on S3 whose rows come after this
     * position (default: the dataset's watermark).
     */
    after: positionSchema.optional(),
    /** A dataset with a source: rows per chunk for this run (overrides source.limit). */
    limit: z.number().int().min(1).max(10_000_000).optional(),
    /** A dataset with a source: most chunks this run writes (overrides source.maxChunks). */
    maxChunks: z.number().int().min(1).optional(),
    /** Overrides the dataset's `checksumSample` for this run's ChecksumSample stage. */
    checksumSample: checksumSampleSchema.optional(),
    /** `mode: 'repair'`: the content report (window report or content-tier report) whose differences to repair. */
    repair: z
      .strictObject({
        reportUri: z.string().regex(/^s3:\/\/[^/]+\/.+$/, 'must be the s3://bucket/key URI of a content report (content.json or content-tier.json)'),
      })
      .optional(),
  })
  .strict()
  .refine((i) => i.after === undefined || i.mode === 'load-only', { message: 'after is for mode load-only only', path: ['after'] })
  .refine((i) => (i.mode === 'repair') === (i.repair !== undefined), { message: 'mode repair needs repair.reportUri, and repair is for mode repair only', path: ['repair'] });
export type ExecutionInput = z.infer<typeof executionInputSchema>;
