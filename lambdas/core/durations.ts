/** Durations as config writes them and as people read them; no imports, so the status page's browser bundle can use it. */

const DURATION_UNIT_SECONDS = { m: 60, h: 3600, d: 86_400 } as const;

/** Seconds of a duration written as `<n>m`, `<n>h` or `<n>d` ('90m' → 5400), as config's lag thresholds take it. */
export function durationSeconds(text: string): number {
  const unit = text.slice(-1) as keyof typeof DURATION_UNIT_SECONDS;
  return Number(text.slice(0, -1)) * DURATION_UNIT_SECONDS[unit];
}

/** `3h 12m`, `45s`, `2d 4h`: a lag or a duration as a person reads it. */
export function formatLag(seconds: number | undefined): string {
  if (seconds === undefined) return 'unknown';
  if (seconds < 60) return `${seconds}s`;
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}
