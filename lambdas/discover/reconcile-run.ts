import type { DatasetConfig } from '../core/config';
import type { ObjectStore } from '../core/ports';
import { LEDGER_PAGE, checkPage, isDataObject, type Candidate, type CandidateSelection, type LedgerCheck } from './candidates';

/** What a reconcile run looked at. */
export interface ReconcileCounts {
  /** Data files the listing returned (each checked against the ledger). */
  readonly checked: number;
  /** Versions the ledger did not hold, now recorded as `discovered`. */
  readonly recorded: number;
}

/**
 * A reconcile run (scheduled, console or CLI start, or `mode: 'reconcile'`): pages through the
 * listing of the dataset's prefix and checks each page against the ledger with one batched read,
 * so it finds objects whose events were lost. Memory stays bounded by one page plus the batch;
 * ledger reads are O(listed), never a read of the whole ledger.
 */
export async function reconcileCandidates(dataset: DatasetConfig, objects: ObjectStore, check: LedgerCheck, selection: CandidateSelection): Promise<ReconcileCounts> {
  let checked = 0;
  let recorded = 0;
  let page: Candidate[] = [];
  for await (const o of objects.list(dataset.prefix)) {
    if (!isDataObject(o.key, dataset)) continue;
    page.push({ key: o.key, etag: o.etag, size: o.size, lastModified: o.lastModified });
    if (page.length === LEDGER_PAGE) {
      checked += page.length;
      recorded += await checkPage(page, check, selection);
      page = [];
    }
  }
  checked += page.length;
  recorded += await checkPage(page, check, selection);
  return { checked, recorded };
}
