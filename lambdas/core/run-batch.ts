/**
 * Which object versions a SyncStateMachine execution is about: its **batch**. Discover, Inventory
 * and ChecksumSample all ask this module, so the three stages of one execution look at the same
 * files, and an event run costs O(batch) in each of them (DESIGN.md §2, README "How a run finds its
 * files").
 *
 * - An event run (the trigger passed the versions its S3 events named, inline or in an events
 *   document) has those versions as its batch.
 * - A run of a dataset with a source has the files its own extraction wrote (its extraction
 *   document); none when it extracted nothing.
 * - A reconcile run (`mode: 'reconcile'`, or an upload dataset's run started without events:
 *   console, CLI, the `reconcileSchedule`) has no batch: the stages list the whole prefix.
 */
import { formatIssues, type DatasetConfig } from './config';
import { InvalidInputError } from './errors';
import { EVENTS_PREFIX, eventsDocumentSchema, type EventObject, type ExecutionInput, type S3Trigger } from './execution-input';
import { extractionDocumentKey, extractionDocumentSchema } from './extraction';
import type { ObjectStore, ObjectSummary } from './ports';
import { keyInBucket } from './s3-uri';

/** HEAD requests a batch check keeps in flight at once. */
export const HEAD_CONCURRENCY = 16;

/**
 * The object versions the trigger passed, inline or from the events document at `eventsUri`
 * (which must be this dataset's, under `_syncproof/events/<dataset>/`); undefined when the trigger
 * passed none (the run reconciles instead).
 */
export async function eventObjectsOf(trigger: S3Trigger | undefined, dataset: DatasetConfig, objects: ObjectStore): Promise<readonly EventObject[] | undefined> {
  if (trigger?.events) return trigger.events;
  if (!trigger?.eventsUri) return undefined;
  const key = keyInBucket(trigger.eventsUri, objects.bucket);
  const home = `${EVENTS_PREFIX}${dataset.name}/`;
  if (!key.startsWith(home)) throw new InvalidInputError(`trigger.eventsUri '${trigger.eventsUri}' is not an events document of dataset '${dataset.name}' (expected a key under '${home}')`);
  const parsed = eventsDocumentSchema.safeParse(await objects.getJson(key));
  if (!parsed.success) throw new InvalidInputError(`events document ${trigger.eventsUri} is invalid: ${formatIssues(parsed.error)}`);
  const doc = parsed.data;
  if (doc.dataset !== dataset.name) throw new InvalidInputError(`events document ${trigger.eventsUri} is for dataset '${doc.dataset}', not '${dataset.name}'`);
  if (doc.objects.length !== trigger.objects) {
    throw new InvalidInputError(`events document ${trigger.eventsUri} holds ${doc.objects.length} objects, the execution input says ${trigger.objects}`);
  }
  return doc.objects;
}

/**
 * A dataset with a source: the files this run's extraction wrote (its extraction document), so the
 * run never looks at another run's files. Empty when the run extracted nothing.
 */
export async function extractedObjects(dataset: string, runId: string, objects: ObjectStore): Promise<EventObject[]> {
  const key = extractionDocumentKey(dataset, runId);
  if (!(await objects.head(key))) return [];
  const doc = extractionDocumentSchema.parse(await objects.getJson(key));
  return doc.files.map((f) => ({ key: f.key, etag: f.etag, size: f.size }));
}

/**
 * The execution's batch (see the module comment): the object versions an event run or a source
 * dataset's run is about, or undefined for a reconcile run (list the prefix).
 */
export async function runBatchOf(input: ExecutionInput, dataset: DatasetConfig, runId: string, objects: ObjectStore): Promise<readonly EventObject[] | undefined> {
  if (input.mode === 'reconcile') return undefined;
  return dataset.source ? extractedObjects(dataset.name, runId, objects) : eventObjectsOf(input.trigger, dataset, objects);
}

/** HEADs every key, at most {@link HEAD_CONCURRENCY} at a time; undefined where the key does not exist. */
export async function headAll(keys: readonly string[], objects: Pick<ObjectStore, 'head'>): Promise<Map<string, ObjectSummary | undefined>> {
  const heads = new Map<string, ObjectSummary | undefined>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      heads.set(key, await objects.head(key));
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, keys.length) }, worker));
  return heads;
}
