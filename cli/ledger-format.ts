import type { LedgerEntry, LedgerStatus } from '../lambdas/core/ports';

/** Every ledger state, in life-cycle order (the order counts are printed in). */
export const LEDGER_STATES: readonly LedgerStatus[] = ['discovered', 'loading', 'loaded', 'failed', 'quarantined', 'forgotten', 'deleted'];

/** Entries per state; every state present, zero when none. */
export type StateCounts = Record<LedgerStatus, number>;

/** A ledger entry as reports show it: `leaseExpired` is set for a `loading` entry. */
export type EntryView = LedgerEntry & { readonly leaseExpired?: boolean };

/** An ETag as the ledger stores it: without the quotes S3 and the console show around it. */
export function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, '$1');
}

/** By key, then ETag (code-unit order, as DynamoDB sorts keys of plain ASCII). */
export function byKeyThenEtag(a: LedgerEntry, b: LedgerEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.etag < b.etag ? -1 : a.etag > b.etag ? 1 : 0;
}

/** Whether a lease has expired at `now` (expiry itself counts as expired, as in the load protocol). */
export function leaseExpired(entry: LedgerEntry, now: Date): boolean | undefined {
  if (entry.status !== 'loading' || !entry.lease) return undefined;
  return Date.parse(entry.lease.expiresAt) <= now.getTime();
}

/** The entry with `leaseExpired` added for a `loading` entry. */
export function viewOf(entry: LedgerEntry, now: Date): EntryView {
  const expired = leaseExpired(entry, now);
  return expired === undefined ? entry : { ...entry, leaseExpired: expired };
}

/** Counts per state. */
export function countStates(entries: Iterable<LedgerEntry>): StateCounts {
  const counts = Object.fromEntries(LEDGER_STATES.map((s) => [s, 0])) as StateCounts;
  for (const e of entries) counts[e.status] += 1;
  return counts;
}

/** Text on one line: line breaks (in a warehouse error, say) become spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function rowsText(rows: number | null | undefined): string {
  if (rows === null) return 'rows not reported by the load view';
  return rows === undefined ? 'rows unknown' : `${rows} rows`;
}

function leaseText(entry: EntryView): string {
  if (!entry.lease) return 'no lease recorded';
  const state = entry.leaseExpired ? 'expired' : 'active';
  return `lease held by ${entry.lease.loadId} until ${entry.lease.expiresAt} (${state})`;
}

/** What one `ledger list` line says after the state: rows, reason, or lease holder and expiry. */
export function entryDetail(entry: EntryView): string {
  switch (entry.status) {
    case 'loaded':
      return `${rowsText(entry.rows)}, loaded by ${entry.loadedBy ?? '?'}`;
    case 'deleted':
      return `${rowsText(entry.rows)}, loaded by ${entry.loadedBy ?? '?'}; object removed by retention at ${entry.deletedAt ?? '?'}`;
    case 'failed':
    case 'quarantined':
    case 'forgotten':
      return `reason: ${oneLine(entry.reason ?? '(none recorded)')}${entry.setAsideBy ? ` (set aside by ${entry.setAsideBy} at ${entry.setAsideAt ?? '?'})` : ''}`;
    case 'loading':
      return leaseText(entry);
    case 'discovered':
      return 'waiting for the next run';
  }
}

/** `3 entries: 1 discovered, 0 loading, 2 loaded, 0 failed, 0 quarantined`. */
export function countsLine(counts: StateCounts): string {
  const total = LEDGER_STATES.reduce((n, s) => n + counts[s], 0);
  return `${total} ${total === 1 ? 'entry' : 'entries'}: ${LEDGER_STATES.map((s) => `${counts[s]} ${s}`).join(', ')}`;
}

/**
 * `ledger list`: one aligned line per entry (key, ETag, state, detail), then the counts per
 * state of the whole dataset; with a state filter, how many of them are shown.
 */
export function formatList(dataset: string, shown: readonly EntryView[], counts: StateCounts, state: LedgerStatus | undefined): string {
  const keyWidth = Math.max(0, ...shown.map((e) => e.key.length));
  const etagWidth = Math.max(0, ...shown.map((e) => e.etag.length));
  const stateWidth = Math.max(...LEDGER_STATES.map((s) => s.length));
  const lines = shown.map((e) => `${e.key.padEnd(keyWidth)}  ${e.etag.padEnd(etagWidth)}  ${e.status.padEnd(stateWidth)}  ${entryDetail(e)}`);
  const total = LEDGER_STATES.reduce((n, s) => n + counts[s], 0);
  if (state !== undefined) lines.push(`${shown.length} of ${total} entries of dataset '${dataset}' are ${state}`);
  lines.push(`dataset '${dataset}': ${countsLine(counts)}`);
  return lines.join('\n');
}

/** `ledger show`: every field of each version, a loading entry's lease in full. */
export function formatShow(key: string, versions: readonly EntryView[]): string {
  const lines = [`${key}: ${versions.length} ${versions.length === 1 ? 'version' : 'versions'} in the ledger`];
  for (const e of versions) {
    const field = (name: string, value: string | number) => lines.push(`  ${`${name}:`.padEnd(18)}${value}`);
    lines.push(`ETag ${e.etag}`);
    field('dataset', e.dataset);
    field('state', e.status);
    if (e.status === 'loading') {
      field('lease holder', e.lease?.loadId ?? '(none recorded)');
      field('fence', e.fence);
      field('attempt id', e.lease?.attemptId ?? 'none (no statement submitted under this lease yet)');
      if (e.lease) {
        field(
          'lease expires',
          `${e.lease.expiresAt} (${e.leaseExpired ? 'expired: the next run takes it over once the statement its holder submitted has ended' : 'not expired'})`,
        );
      }
    } else {
      field('fence', e.fence);
    }
    if (e.status === 'loaded' || e.status === 'deleted') {
      field('loaded by', e.loadedBy ?? '?');
      field('rows', e.rows === null ? 'not reported by the load view' : (e.rows ?? 'unknown'));
    }
    if (e.status === 'deleted') field('object removed', `by retention (${e.deletedBy ?? 'syncproof clean'}) at ${e.deletedAt ?? '?'}`);
    if (e.reason !== undefined) field('reason', oneLine(e.reason));
    if (e.setAsideBy !== undefined) field('set aside by', `${e.setAsideBy} at ${e.setAsideAt ?? '?'}`);
    if (e.loadId !== undefined && e.status !== 'loading') field('last claimed by', e.loadId);
    field('size', `${e.size} bytes`);
    field('last modified', e.lastModified);
    if (e.sequencer !== undefined) field('sequencer', e.sequencer);
    field('updated at', e.updatedAt);
  }
  return lines.join('\n');
}

/** What `ledger retry` does with the versions of a key it found. */
export type RetryDecision =
  | { readonly action: 'release'; readonly entry: LedgerEntry }
  /** Nothing to do: the entry already waits for the next run (exit 0). */
  | { readonly action: 'none'; readonly entry: LedgerEntry; readonly message: string }
  /** The entry is loaded or loading: releasing it would break the protocol (exit 2). */
  | { readonly action: 'refuse'; readonly message: string }
  /** Unknown key or ETag, or an ambiguous key (exit 3). */
  | { readonly action: 'error'; readonly message: string };

function label(e: LedgerEntry): string {
  return `'${e.key}' (ETag ${e.etag})`;
}

/** Why one entry cannot be retried, or undefined when it can (failed or quarantined). */
export function refusal(e: LedgerEntry, now: Date): string | undefined {
  if (e.status === 'loaded' || e.status === 'deleted') {
    return `refused: ${label(e)} is ${e.status === 'deleted' ? 'loaded (its object since removed by retention)' : 'loaded'} (${rowsText(e.rows)}, by ${e.loadedBy ?? '?'}); syncproof never loads an object version twice, so there is nothing to retry`;
  }
  if (e.status === 'loading') {
    const lease = e.lease ? `by ${e.lease.loadId}, lease ${leaseExpired(e, now) ? 'expired' : 'expires'} at ${e.lease.expiresAt}` : 'with no lease recorded';
    return (
      `refused: ${label(e)} is loading (${lease}, fence ${e.fence}). A loading entry needs no retry: once its lease has expired and the ` +
      'statement its holder submitted has ended, the next run takes it over (ledger show gives the lease)'
    );
  }
  return undefined;
}

/** Why `key` has no version in `dataset`: it is another dataset's, or not in the ledger at all. */
function notInDataset(dataset: string, key: string, versions: readonly LedgerEntry[]): string {
  const others = [...new Set(versions.map((v) => v.dataset))];
  return others.length > 0
    ? `'${key}' is in the ledger of dataset ${others.map((d) => `'${d}'`).join(', ')}, not '${dataset}'; check the dataset`
    : `no ledger entry for '${key}' in dataset '${dataset}'; check the key (the S3 object key, without s3://BUCKET/) with \`syncproof ledger list ${dataset}\``;
}

/**
 * Chooses the version to release. With `etag`, that version. Without, the key's only version in
 * the dataset, or, when it has several, the only failed or quarantined one; otherwise the caller
 * must name the ETag.
 */
export function decideRetry(dataset: string, key: string, etag: string | undefined, versions: readonly LedgerEntry[], now: Date): RetryDecision {
  const mine = versions.filter((v) => v.dataset === dataset);
  if (mine.length === 0) return { action: 'error', message: notInDataset(dataset, key, versions) };
  let entry: LedgerEntry | undefined;
  if (etag !== undefined) {
    entry = mine.find((v) => v.etag === etag);
    if (!entry) return { action: 'error', message: `'${key}' has no version with ETag ${etag} in dataset '${dataset}'; its versions: ${mine.map((v) => `${v.etag} (${v.status})`).join(', ')}` };
  } else if (mine.length === 1) {
    entry = mine[0];
  } else {
    const retryable = mine.filter((v) => v.status === 'failed' || v.status === 'quarantined' || v.status === 'forgotten');
    const listed = mine.map((v) => `${v.etag} (${v.status})`).join(', ');
    if (retryable.length > 1) return { action: 'error', message: `'${key}' has ${retryable.length} failed or quarantined versions in dataset '${dataset}': ${listed}; name one with --etag` };
    if (retryable.length === 0) {
      const waiting = mine.find((v) => v.status === 'discovered');
      if (waiting) return { action: 'none', entry: waiting, message: `no version of '${key}' is failed or quarantined (${listed}); ETag ${waiting.etag} is discovered: the next run of dataset '${dataset}' loads it` };
      return {
        action: 'refuse',
        message:
          `refused: no version of '${key}' in dataset '${dataset}' is failed or quarantined: ${listed}. A loaded version is never loaded again; ` +
          'a loading one is taken over by the next run once its lease has expired and the statement its holder submitted has ended',
      };
    }
    entry = retryable[0];
  }
  const e = entry as LedgerEntry;
  const refused = refusal(e, now);
  if (refused) return { action: 'refuse', message: refused };
  if (e.status === 'discovered') return { action: 'none', entry: e, message: `${label(e)} is already discovered: the next run of dataset '${dataset}' loads it; nothing to retry` };
  return { action: 'release', entry: e };
}

/** What `ledger quarantine|forget` does with the versions of a key it found. */
export type SetAsideDecision =
  | { readonly action: 'set'; readonly entry: LedgerEntry }
  /** The entry is loaded or loading: setting it aside would break the protocol or lie (exit 2). */
  | { readonly action: 'refuse'; readonly message: string }
  /** Unknown key or ETag, or an ambiguous key (exit 3). */
  | { readonly action: 'error'; readonly message: string };

/**
 * Chooses the version to set aside as `status`. With `etag`, that version; without, the key's only
 * version in the dataset, or its only one not loaded. Refuses a `loaded` entry (its rows are in
 * the target: quarantining it would say otherwise) and a `loading` one (a load holds it; once it
 * settles, set it aside).
 */
export function decideSetAside(dataset: string, key: string, etag: string | undefined, versions: readonly LedgerEntry[], status: 'quarantined' | 'forgotten', now: Date): SetAsideDecision {
  const mine = versions.filter((v) => v.dataset === dataset);
  const listed = mine.map((v) => `${v.etag} (${v.status})`).join(', ');
  if (mine.length === 0) return { action: 'error', message: notInDataset(dataset, key, versions) };
  let entry: LedgerEntry | undefined;
  if (etag !== undefined) {
    entry = mine.find((v) => v.etag === etag);
    if (!entry) return { action: 'error', message: `'${key}' has no version with ETag ${etag} in dataset '${dataset}'; its versions: ${listed}` };
  } else if (mine.length === 1) {
    entry = mine[0];
  } else {
    const open = mine.filter((v) => v.status !== 'loaded' && v.status !== 'deleted');
    if (open.length !== 1) return { action: 'error', message: `'${key}' has ${mine.length} versions in dataset '${dataset}': ${listed}; name one with --etag` };
    entry = open[0];
  }
  const e = entry as LedgerEntry;
  if (e.status === 'loaded' || e.status === 'deleted') {
    return { action: 'refuse', message: `refused: ${label(e)} is ${e.status === 'deleted' ? 'loaded (its object since removed by retention)' : 'loaded'} (${rowsText(e.rows)}, by ${e.loadedBy ?? '?'}): its rows are in the target, so it cannot be ${status}; delete them from the target yourself if they must go` };
  }
  if (e.status === 'loading') {
    const r = refusal(e, now) ?? '';
    return { action: 'refuse', message: `${r.replace(/^refused: /, 'refused: ')}; set it aside once that load has settled it (\`syncproof ledger show ${e.key}\`)` };
  }
  return { action: 'set', entry: e };
}
