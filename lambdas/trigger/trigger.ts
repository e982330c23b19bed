import { z } from 'zod';
import { INTERNAL_PREFIX, datasetForKey, type SyncproofConfig } from '../core/config';
import { INLINE_EVENT_OBJECTS, eventsDocumentKey, type EventObject, type EventsDocument, type S3Trigger } from '../core/execution-input';
import { executionName } from '../core/ids';
import type { ExecutionStarter, ObjectStore } from '../core/ports';

/**
 * The part of an EventBridge "Object Created" event the trigger reads. `sequencer` and `time` are
 * taken as they come (the S3 emulator reports its sequencer as a number) and normalized by
 * {@link eventObjectOf}: a field that only orders events never makes the trigger drop one.
 */
export const objectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  time: z.unknown().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), etag: z.string().optional(), size: z.number().optional(), sequencer: z.unknown().optional() }),
  }),
});
export type ObjectCreatedEvent = z.infer<typeof objectCreatedEventSchema>;

export interface TriggerDeps {
  readonly config: SyncproofConfig;
  /** The data bucket: events of other buckets are ignored; events documents are written here. */
  readonly objects: Pick<ObjectStore, 'bucket' | 'putJson'>;
  readonly starter: ExecutionStarter;
}

export interface TriggerResult {
  readonly started: readonly string[];
  readonly duplicates: readonly string[];
  /** Events for other buckets, syncproof's own objects, or keys outside every dataset prefix. */
  readonly ignored: number;
}

/** The object version an event names, with its sequencer and time when they are usable. */
export function eventObjectOf(e: ObjectCreatedEvent): EventObject {
  const { key, etag, size, sequencer } = e.detail.object;
  const seq = typeof sequencer === 'number' && Number.isSafeInteger(sequencer) && sequencer >= 0 ? String(sequencer) : sequencer;
  const time = typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)) ? e.time : undefined;
  return {
    key,
    etag: (etag ?? '').replace(/^"|"$/g, ''),
    size: size !== undefined && Number.isSafeInteger(size) && size >= 0 ? size : 0,
    ...(typeof seq === 'string' && /^[0-9A-Fa-f]+$/.test(seq) ? { sequencer: seq } : {}),
    ...(time ? { eventTime: time } : {}),
  };
}

/**
 * Groups a batch of object-created events by dataset and starts one SyncStateMachine execution
 * per dataset, passing the object versions the events named (key, ETag, size, sequencer, event
 * time), so Discover looks at those only. Up to {@link INLINE_EVENT_OBJECTS} travel in the
 * execution input; more are written to an events document
 * (`_syncproof/events/<dataset>/<executionName>.json`) whose URI is passed instead, as Step
 * Functions caps the input at 256 KiB. The execution name is derived from the (key, ETag) set, so
 * the same events delivered twice (in any order, or repeated within a batch) start nothing new.
 */
export async function runTrigger(events: readonly ObjectCreatedEvent[], deps: TriggerDeps): Promise<TriggerResult> {
  const byDataset = new Map<string, Map<string, EventObject>>();
  let ignored = 0;
  for (const e of events) {
    const { key } = e.detail.object;
    const dataset = e.detail.bucket.name === deps.objects.bucket && !key.startsWith(INTERNAL_PREFIX) ? datasetForKey(deps.config, key) : undefined;
    if (!dataset) {
      ignored += 1;
      continue;
    }
    const versions = byDataset.get(dataset.name) ?? new Map<string, EventObject>();
    const object = eventObjectOf(e);
    const id = `${object.key}\u0000${object.etag}`;
    const seen = versions.get(id);
    if (!seen || (!seen.sequencer && object.sequencer)) versions.set(id, object);
    byDataset.set(dataset.name, versions);
  }
  const started: string[] = [];
  const duplicates: string[] = [];
  for (const [dataset, versions] of byDataset) {
    const objects = [...versions.values()].sort((a, b) => (a.key === b.key ? (a.etag < b.etag ? -1 : 1) : a.key < b.key ? -1 : 1));
    const name = executionName(dataset, objects);
    let trigger: S3Trigger;
    if (objects.length <= INLINE_EVENT_OBJECTS) {
      trigger = { source: 's3', objects: objects.length, events: objects };
    } else {
      // Deterministic key and content: a redelivery rewrites the same document.
      const key = eventsDocumentKey(dataset, name);
      const doc: EventsDocument = { dataset, executionName: name, objects };
      await deps.objects.putJson(key, doc);
      trigger = { source: 's3', objects: objects.length, eventsUri: `s3://${deps.objects.bucket}/${key}` };
    }
    const outcome = await deps.starter.start(name, { dataset, trigger });
    (outcome === 'started' ? started : duplicates).push(name);
  }
  return { started, duplicates, ignored };
}
