import { INTERNAL_PREFIX, type DatasetConfig } from '../lambdas/core/config';
import { digest } from '../lambdas/core/ids';
import type { StageDeps } from '../lambdas/core/stage-deps';
import { matchesPattern } from './event-pattern';
import type { Json, LocalRule } from './template';

/**
 * Object versions under `dataset`'s prefix that an upload event would announce (the template's
 * own rule patterns) and discover would load (the dataset's file extension), but that have no
 * ledger entry and no message left in the queue (`queued` keys): their events were lost. One listing of the
 * prefix and one query of the ledger.
 */
export async function unannouncedObjects(
  deps: StageDeps,
  dataset: DatasetConfig,
  rules: readonly LocalRule[],
  queued: ReadonlySet<string>,
): Promise<{ key: string; etag: string }[]> {
  const known = new Set<string>();
  for await (const e of deps.ledger.listDataset(dataset.name)) known.add(`${e.key}\u0000${e.etag}`);
  const extension = dataset.format === 'csv' ? '.csv' : '.parquet';
  const out: { key: string; etag: string }[] = [];
  for await (const o of deps.objects.list(dataset.prefix)) {
    if (o.key.endsWith('/') || o.key.startsWith(INTERNAL_PREFIX) || !o.key.toLowerCase().endsWith(extension)) continue;
    if (known.has(`${o.key}\u0000${o.etag}`) || queued.has(o.key)) continue;
    const event: Json = { source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: deps.objects.bucket }, object: { key: o.key } } };
    if (rules.some((rule) => matchesPattern(rule.pattern, event))) out.push({ key: o.key, etag: o.etag });
  }
  return out;
}

/**
 * Name of the reconcile execution for a set of lost object versions: deterministic (the same set
 * gives the same name, so two starts on one data dir start it once), at most 80 characters.
 */
export function reconcileExecutionName(dataset: string, objects: readonly { key: string; etag: string }[]): string {
  const ids = objects.map((o) => `${o.key}@${o.etag}`).sort();
  const hash = digest('reconcile', dataset, ...ids).slice(0, 24);
  return `reconcile-${dataset.slice(0, 80 - 'reconcile-'.length - 25)}-${hash}`;
}
