/**
 * S3 order of object versions: the order in which Discover hands files to the load stage, so
 * upserts of the same business key apply oldest first (DESIGN.md §5, I4).
 */

/** What S3 order compares. */
export interface S3Ordered {
  readonly key: string;
  /** ISO-8601 instant. */
  readonly lastModified: string;
  /** S3 event sequencer (hexadecimal), when an event reported it. */
  readonly sequencer?: string;
}

/**
 * Compares two S3 event sequencers as AWS documents it: sequencers may differ in length, so the
 * shorter is right-padded with zeros and the two are compared lexicographically (hex digits,
 * case-insensitive). The Amazon S3 User Guide, "Event message structure", says "right pad" (some
 * older revisions of that page said "left pad"). A missing sequencer sorts before any present one.
 * AWS defines the order for events on the same key only; across keys it is merely a tie-break.
 */
export function compareSequencers(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const width = Math.max(a.length, b.length);
  const pa = a.toUpperCase().padEnd(width, '0');
  const pb = b.toUpperCase().padEnd(width, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** Milliseconds since the epoch; an unreadable instant counts as the epoch, so the order stays total. */
function instant(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/** S3 order: LastModified, then the event sequencer, then the key. */
export function compareS3Order(a: S3Ordered, b: S3Ordered): number {
  const ta = instant(a.lastModified);
  const tb = instant(b.lastModified);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const bySequencer = compareSequencers(a.sequencer, b.sequencer);
  if (bySequencer !== 0) return bySequencer;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Width sequencers are right-padded to in {@link s3OrderKey} (S3's are 16–20 hex digits). */
const SEQUENCER_WIDTH = 40;

/**
 * S3 order as one string that sorts (by code unit) exactly as {@link compareS3Order}: for the
 * warehouse, which compares it in SQL (syncproof_key_order). LastModified as UTC milliseconds,
 * then the sequencer right-padded (a missing one sorts first), then the key.
 */
export function s3OrderKey(o: S3Ordered): string {
  const t = String(instant(o.lastModified)).padStart(16, '0');
  const seq = o.sequencer === undefined ? '0' : `1${o.sequencer.toUpperCase().padEnd(SEQUENCER_WIDTH, '0')}`;
  return `${t}|${seq}|${o.key}`;
}
