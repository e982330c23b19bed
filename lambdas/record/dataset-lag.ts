import { timeZoneOf, type DatasetConfig } from '../core/config';
import { databaseProvenThrough, fileProvenThrough, lagAt, lagThresholdsOf, type Lag } from '../core/lag';
import { wasLoaded } from '../core/ledger-status';
import type { StageDeps } from '../core/stage-deps';

/**
 * A dataset's sync lag at `now`, by the rule of lambdas/core/lag.ts (the rule `syncproof status`
 * and the stack's lag alarm use): a database dataset from its watermark, a file dataset from the
 * newest object its ledger records as loaded. A ledger scan still running at `deadline` (epoch ms)
 * throws: the lag is not worth the record stage's time budget.
 */
export async function datasetLag(deps: StageDeps, dataset: DatasetConfig, now: Date, deadline = Number.POSITIVE_INFINITY): Promise<Lag> {
  if (dataset.source) {
    const watermark = await deps.watermarks?.get(dataset.name);
    return lagAt(now, databaseProvenThrough(watermark, timeZoneOf(dataset.source)), lagThresholdsOf(dataset));
  }
  const loaded: { lastModified: string }[] = [];
  for await (const e of deps.ledger.listDataset(dataset.name)) {
    if (Date.now() > deadline) throw new Error(`reading the ledger of dataset ${dataset.name} for its lag took longer than its budget`);
    if (wasLoaded(e.status)) loaded.push({ lastModified: e.lastModified }); // `deleted` too: loaded, then removed by retention
  }
  return lagAt(now, fileProvenThrough(loaded), lagThresholdsOf(dataset));
}
