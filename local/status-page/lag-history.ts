/** Lag samples per dataset, oldest first: what the status page's lag chart plots. */
export type LagHistory = Record<string, { readonly t: string; readonly seconds: number | null }[]>;

/**
 * Adds the lag of `dataset` at `t` (null: unknown) to `history`, keeping the newest `max` samples.
 * A sample at the same instant as the last one replaces it (a status read twice).
 */
export function lagHistoryPoint(history: LagHistory, dataset: string, t: string, seconds: number | undefined, max: number): void {
  const points = (history[dataset] ??= []);
  const point = { t, seconds: seconds ?? null };
  if (points.at(-1)?.t === t) points[points.length - 1] = point;
  else points.push(point);
  if (points.length > max) points.splice(0, points.length - max);
}
