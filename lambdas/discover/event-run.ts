import type { DatasetConfig } from '../core/config';
import { wasLoaded } from '../core/ledger-status';
import type { EventObject } from '../core/execution-input';
import type { LedgerEntry, ObjectStore } from '../core/ports';
import { headAll } from '../core/run-batch';
import { LEDGER_PAGE, checkPage, isDataObject, versionId, type Candidate, type CandidateSelection, type LedgerCheck } from './candidates';

/** What an event run looked at. */
export interface EventCounts {
  /** Data files of the dataset the events named. */
  readonly events: number;
  /** Current object versions checked against the ledger (one per key still present). */
  readonly checked: number;
  /** Versions the ledger did not hold, now recorded as `discovered`. */
  readonly recorded: number;
  /** Events whose version the key no longer holds (overwritten since; an event without an ETag never counts). */
  readonly superseded: number;
  /** Keys that no longer exist. */
  readonly gone: number;
}

/**
 * An event run: HEADs each key the events named (current ETag, size, LastModified) and checks
 * only those versions against the ledger, so a run for k new files costs k HEADs, ⌈k/100⌉ batched
 * ledger reads and at most k ledger writes, whatever the prefix holds.
 *
 * An overwritten key: the version its event named cannot be read any more (reads are by key and
 * ETag), so it is not recorded; the version the key holds now is recorded (without the event's
 * sequencer, which belongs to the other version) and offered, and its own event, arriving before
 * or after, finds it in the ledger. A key that no longer exists is skipped. Nothing is ever
 * recorded under an ETag the HEAD did not return.
 */
export async function eventCandidates(
  events: readonly EventObject[],
  dataset: DatasetConfig,
  objects: ObjectStore,
  check: LedgerCheck,
  selection: CandidateSelection,
): Promise<EventCounts> {
  const byKey = new Map<string, EventObject[]>();
  let eventCount = 0;
  for (const e of events) {
    if (!isDataObject(e.key, dataset)) continue;
    eventCount += 1;
    byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  }
  // A key whose every event names a version the ledger already settled (loaded or quarantined) is
  // not HEADed again: a later version of it has an event of its own. The later passes of a long
  // event run's loop so cost batched ledger reads, not a HEAD per event again.
  const named = [...byKey.entries()].flatMap(([key, es]) => es.filter((e) => e.etag !== '').map((e) => ({ key, etag: e.etag })));
  // Entries read here are not read again when the HEAD finds the same version (the usual case).
  const known = new Map<string, LedgerEntry | undefined>();
  for (let i = 0; i < named.length; i += LEDGER_PAGE) {
    const page = named.slice(i, i + LEDGER_PAGE);
    const entries = await check.ledger.getMany(page);
    page.forEach((v, j) => known.set(versionId(v), entries[j]));
  }
  const settled = (key: string, etag: string): boolean => {
    const status = known.get(versionId({ key, etag }))?.status;
    return wasLoaded(status) || status === 'quarantined' || status === 'forgotten';
  };
  const keys = [...byKey.keys()].filter((key) => !byKey.get(key)!.every((e) => settled(key, e.etag))).sort();
  const heads = await headAll(keys, objects);
  const versions: Candidate[] = [];
  let superseded = 0;
  let gone = 0;
  for (const key of keys) {
    const eventsOfKey = byKey.get(key)!;
    const head = heads.get(key);
    if (!head) {
      gone += 1;
      continue;
    }
    const same = eventsOfKey.filter((e) => e.etag === head.etag);
    superseded += eventsOfKey.filter((e) => e.etag !== '' && e.etag !== head.etag).length;
    const sequencer = same.find((e) => e.sequencer)?.sequencer;
    versions.push({ key, etag: head.etag, size: head.size, lastModified: head.lastModified, ...(sequencer ? { sequencer } : {}) });
  }
  let recorded = 0;
  for (let i = 0; i < versions.length; i += LEDGER_PAGE) recorded += await checkPage(versions.slice(i, i + LEDGER_PAGE), check, selection, known);
  return { events: eventCount, checked: versions.length, recorded, superseded, gone };
}
