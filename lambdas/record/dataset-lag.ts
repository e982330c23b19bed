import type { DatasetConfig } from '../core/config';
import type { StageDeps } from '../core/stage-deps';

/**
 * A dataset's sync lag in whole seconds at `now`: now minus the newest data proven in the
 * warehouse (a database dataset: its watermark's cursor when it is a time, else the start of its
 * last verified run; a file dataset: the newest loaded object's LastModified). Undefined before
 * anything is proven.
 *
 * Interim: lambdas/core/lag.ts (issue #16) owns this rule; this function is the one place the
 * Record stage asks, and delegates to it once it is on main.
 */
export async function datasetLagSeconds(deps: StageDeps, dataset: DatasetConfig, now: Date): Promise<number | undefined> {
  let proven: number | undefined;
  if (dataset.source) {
    const w = await deps.watermarks?.get(dataset.name);
    const cursor = w?.position?.cursor;
    const at = typeof cursor === 'string' && /^\d{4}-\d{2}-\d{2}/.test(cursor) ? Date.parse(cursor.replace(' ', 'T')) : Number.NaN;
    proven = !Number.isNaN(at) ? at : w?.lastRun && w.position ? Date.parse(w.lastRun.startedAt) : undefined;
  } else {
    for await (const e of deps.ledger.listDataset(dataset.name)) {
      if (e.status !== 'loaded') continue;
      const t = Date.parse(e.lastModified);
      if (!Number.isNaN(t) && (proven === undefined || t > proven)) proven = t;
    }
  }
  if (proven === undefined || Number.isNaN(proven)) return undefined;
  return Math.max(0, Math.floor((now.getTime() - proven) / 1000));
}
