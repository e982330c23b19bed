import type { LedgerStatus } from './ports';

/**
 * Whether a ledger state says the object version was committed in the target: `loaded`, or
 * `deleted` (loaded, then its object removed by retention). Every check of "loaded once" uses it:
 * a deleted version is never offered or loaded again (I1), its rows still count in the count
 * chain, and it is never "not loaded". Checks of the object's presence in S3 ask for `loaded` alone.
 */
export function wasLoaded(status: LedgerStatus | undefined): boolean {
  return status === 'loaded' || status === 'deleted';
}
