/**
 * How Discover turns object versions into load candidates, whichever way it found them (events or
 * a listing): check them against the ledger in batched reads, record the new ones, and keep the
 * oldest few in S3 order.
 */
import { isDatasetKey, type DatasetConfig } from '../core/config';
import { leaseExpired } from '../core/load-protocol';
import type { LedgerEntry, LedgerStatus, LedgerStore, ObjectSummary } from '../core/ports';
import { compareS3Order } from '../core/s3-order';

/** An object version Discover may offer to the load stage, with its event sequencer if known. */
export interface Candidate extends ObjectSummary {
  readonly sequencer?: string;
}

/** Object versions checked against the ledger per batched read (one DynamoDB BatchGetItem). */
export const LEDGER_PAGE = 100;

/** Ledger writes (conditional PutItem) in flight at once when a page records new versions. */
const WRITE_CONCURRENCY = 16;

const LOADABLE: ReadonlySet<LedgerStatus> = new Set(['discovered', 'failed']);

/**
 * Whether Discover offers an entry: discovered or failed, or loading with an expired lease (the
 * load stage takes a stale lease over only once its holder's statement has ended,
 * lambdas/core/load-protocol.ts). Loaded and quarantined entries are never offered.
 */
export function offerable(entry: LedgerEntry, now: Date): boolean {
  return LOADABLE.has(entry.status) || (entry.status === 'loading' && leaseExpired(entry, now));
}

/** Whether a key is one of the dataset's data files (not a folder marker, not syncproof's own, right format). */
export function isDataObject(key: string, dataset: DatasetConfig): boolean {
  const ext = dataset.format === 'parquet' ? '.parquet' : '.csv';
  return isDatasetKey(dataset, key) && !key.endsWith('/') && key.toLowerCase().endsWith(ext);
}

/**
 * The first `limit` candidates in S3 order (lambdas/core/s3-order.ts), and how many were offered
 * in all. Holds at most `limit` candidates, however many are offered.
 */
export class CandidateSelection {
  private readonly kept: Candidate[] = [];
  private offered = 0;

  constructor(private readonly limit: number) {}

  offer(candidate: Candidate): void {
    this.offered += 1;
    if (this.kept.length >= this.limit && compareS3Order(candidate, this.kept[this.kept.length - 1]!) >= 0) return;
    let lo = 0;
    let hi = this.kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareS3Order(this.kept[mid]!, candidate) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.kept.splice(lo, 0, candidate);
    if (this.kept.length > this.limit) this.kept.pop();
  }

  /** The kept candidates, oldest first. */
  get selected(): readonly Candidate[] {
    return this.kept;
  }

  /** Every candidate offered, kept or not. */
  get total(): number {
    return this.offered;
  }
}

/** The identity of an object version in maps: key and ETag. */
export function versionId(v: { readonly key: string; readonly etag: string }): string {
  return `${v.key}\u0000${v.etag}`;
}

/** What checking versions against the ledger needs. */
export interface LedgerCheck {
  readonly ledger: LedgerStore;
  readonly dataset: string;
  readonly now: Date;
}

/**
 * Checks up to {@link LEDGER_PAGE} object versions against the ledger with one batched read,
 * records the versions it lacks as `discovered` (with their sequencer), and offers every version
 * the load stage may take to `selection`. Returns how many versions it recorded. A version another
 * run recorded in between is offered all the same: the load stage decides on its own reads.
 * `known`: entries already read (by {@link versionId}; undefined = read, absent from the ledger),
 * not read again.
 */
export async function checkPage(versions: readonly Candidate[], check: LedgerCheck, selection: CandidateSelection, known?: ReadonlyMap<string, LedgerEntry | undefined>): Promise<number> {
  if (versions.length === 0) return 0;
  const unread = known ? versions.filter((v) => !known.has(versionId(v))) : versions;
  const read = unread.length > 0 ? await check.ledger.getMany(unread) : [];
  const fetched = new Map(unread.map((v, i) => [versionId(v), read[i]]));
  const entries = versions.map((v) => (fetched.has(versionId(v)) ? fetched.get(versionId(v)) : known?.get(versionId(v))));
  const nowIso = check.now.toISOString();
  // New versions are recorded WRITE_CONCURRENCY at a time (one conditional PutItem each).
  const fresh = versions.filter((_, i) => entries[i] === undefined);
  let recorded = 0;
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < fresh.length) {
      const { key, etag, size, lastModified, sequencer } = fresh[next++]!;
      if (await check.ledger.discover({ dataset: check.dataset, key, etag, size, lastModified, ...(sequencer ? { sequencer } : {}) }, nowIso)) recorded += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, fresh.length) }, writer));
  for (const [i, v] of versions.entries()) {
    const entry = entries[i];
    if (entry === undefined) {
      selection.offer(v);
    } else if (offerable(entry, check.now)) {
      const sequencer = v.sequencer ?? entry.sequencer;
      selection.offer({ key: v.key, etag: v.etag, size: v.size, lastModified: v.lastModified, ...(sequencer ? { sequencer } : {}) });
    }
  }
  return recorded;
}
