/**
 * The SyncStateMachine's execution input, shared by the trigger (which writes it), the Discover
 * stage (which acts on it) and the verification stages (which validate it the same way).
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, checksumSampleSchema } from './config';

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
 * What an operator (console, CLI), a schedule or the trigger passes to the SyncStateMachine.
 * `mode: 'reconcile'` asks for a full listing of the dataset's prefix even when the trigger passed
 * events; `'incremental'` (the default for a dataset with a source) extracts what changed since
 * the watermark.
 */
export const executionInputSchema = z
  .object({
    dataset: z.string({ error: 'required: the name of a configured dataset' }).min(1),
    trigger: s3TriggerSchema.optional(),
    mode: z.enum(['reconcile', 'incremental']).optional(),
    /** A dataset with a source: rows per chunk for this run (overrides source.limit). */
    limit: z.number().int().min(1).max(10_000_000).optional(),
    /** A dataset with a source: most chunks this run writes (overrides source.maxChunks). */
    maxChunks: z.number().int().min(1).optional(),
    /** Overrides the dataset's `checksumSample` for this run's ChecksumSample stage. */
    checksumSample: checksumSampleSchema.optional(),
  })
  .strict();
export type ExecutionInput = z.infer<typeof executionInputSchema>;
