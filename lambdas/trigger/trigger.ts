import { z } from 'zod';
import { INTERNAL_PREFIX, datasetForKey, type SyncproofConfig } from '../core/config';
import { executionName } from '../core/ids';
import type { ExecutionStarter } from '../core/ports';

/** The part of an EventBridge "Object Created" event the trigger reads. */
export const objectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), etag: z.string().optional(), size: z.number().optional() }),
  }),
});
export type ObjectCreatedEvent = z.infer<typeof objectCreatedEventSchema>;

export interface TriggerDeps {
  readonly config: SyncproofConfig;
  readonly bucket: string;
  readonly starter: ExecutionStarter;
}

export interface TriggerResult {
  readonly started: readonly string[];
  readonly duplicates: readonly string[];
  /** Events for other buckets, syncproof's own objects, or keys outside every dataset prefix. */
  readonly ignored: number;
}

/**
 * Groups a batch of object-created events by dataset and starts one SyncStateMachine execution
 * per dataset. The execution name is derived from the (key, ETag) set, so the same events
 * delivered twice start nothing new.
 */
export async function runTrigger(events: readonly ObjectCreatedEvent[], deps: TriggerDeps): Promise<TriggerResult> {
  const byDataset = new Map<string, { key: string; etag: string }[]>();
  let ignored = 0;
  for (const e of events) {
    const { key, etag } = e.detail.object;
    const dataset = e.detail.bucket.name === deps.bucket && !key.startsWith(INTERNAL_PREFIX) ? datasetForKey(deps.config, key) : undefined;
    if (!dataset) {
      ignored += 1;
      continue;
    }
    const list = byDataset.get(dataset.name) ?? [];
    list.push({ key, etag: etag ?? '' });
    byDataset.set(dataset.name, list);
  }
  const started: string[] = [];
  const duplicates: string[] = [];
  for (const [dataset, objects] of byDataset) {
    const name = executionName(dataset, objects);
    const outcome = await deps.starter.start(name, { dataset, trigger: { source: 's3', objects: objects.length } });
    (outcome === 'started' ? started : duplicates).push(name);
  }
  return { started, duplicates, ignored };
}
