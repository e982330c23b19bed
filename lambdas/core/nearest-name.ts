import { distance } from 'fastest-levenshtein';

/** Most edits a short name may be away from a candidate and still count as its misspelling. */
const MIN_EDITS = 2;

/**
 * The candidate that `name` most likely misspells, or undefined when none is close.
 *
 * Close means a Levenshtein distance, ignoring case (so `loadmode` finds `loadMode`), of at most
 * 2 edits, or a third of the longer name's length for long names. On a tie the earlier candidate
 * wins, so the caller's order decides.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; edits: number } | undefined;
  for (const candidate of candidates) {
    const edits = distance(name.toLowerCase(), candidate.toLowerCase());
    if (edits <= editLimit(name, candidate) && (!best || edits < best.edits)) best = { candidate, edits };
  }
  return best?.candidate;
}

function editLimit(name: string, candidate: string): number {
  return Math.max(MIN_EDITS, Math.floor(Math.max(name.length, candidate.length) / 3));
}
