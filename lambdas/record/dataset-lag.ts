import { timeZoneOf, type DatasetConfig } from '../core/config';
import { databaseProvenThrough, fileProvenThrough, lagAt, lagThresholdsOf, type Lag } from '../core/lag';
import type { StageDeps } from '../core/stage-deps';

/**
 * A dataset's sync lag at `now`, by the rule of lambdas/core/lag.ts (the rule `syncproof status`
 * and the stack's lag alarm use): a database dataset from its watermark, a file dataset from the
 * newest object its ledger records as loaded.
 */
export async function datasetLag(deps: StageDeps, dataset: DatasetConfig, now: Date): Promise<Lag> {
  if (dataset.source) {
    const watermark = await deps.watermarks?.get(dataset.name);
    return lagAt(now, databaseProvenThrough(watermark, timeZoneOf(dataset.source)), lagThresholdsOf(dataset));
  }
  const loaded: { lastModified: string }[] = [];
  for await (const e of deps.ledger.listDataset(dataset.name)) if (e.status === 'loaded') loaded.push({ lastModified: e.lastModified });
  return lagAt(now, fileProvenThrough(loaded), lagThresholdsOf(dataset));
}
