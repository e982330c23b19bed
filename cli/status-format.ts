/**
 * How `syncproof status` and `syncproof runs` print on a terminal: aligned tables and one
 * sentence per reason. JSON output is the report itself.
 */
import { formatLag } from '../lambdas/core/lag';
import type { DatasetStatus, RunSummary, StatusReport } from '../lambdas/core/status';
import { oneLine } from './ledger-format';

/** Rows under headers, columns padded to their widest cell, two spaces apart. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `12m 5s`-like duration of a run, or `running`. */
export function durationText(run: RunSummary): string {
  return run.durationSeconds === undefined ? 'running' : formatLag(run.durationSeconds);
}

function costText(run: RunSummary): string {
  return run.cost ? `$${run.cost.usd.toFixed(4)}` : '-';
}

function runLine(run: RunSummary | undefined, now: Date): string {
  if (!run) return 'none';
  const ago = formatLag(Math.max(0, Math.floor((now.getTime() - Date.parse(run.startedAt)) / 1000)));
  return `${run.status} ${run.runId} (${run.mode ?? run.kind}${run.tier ? `, tier ${run.tier}` : ''}, started ${run.startedAt}, ${ago} ago)`;
}

function ledgerText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return parts.length === 0 ? 'no entries' : parts.join(', ');
}

function datasetBlock(d: DatasetStatus, now: Date): string {
  const lines = [`${d.dataset} (${d.kind}): ${d.health.toUpperCase()}`];
  const field = (name: string, value: string) => lines.push(`  ${`${name}:`.padEnd(21)}${value}`);
  const proven = d.lag.provenThrough ? ` (proven through ${d.lag.provenThrough.at}, by ${d.lag.provenThrough.basis})` : '';
  field('lag', `${formatLag(d.lag.seconds)} [${d.lag.level}; warn ${formatLag(d.lag.thresholds.warnSeconds)}, fail ${formatLag(d.lag.thresholds.failSeconds)}]${proven}`);
  field('last run', runLine(d.lastRun, now));
  field('last verification', runLine(d.lastVerification, now));
  if (d.kind === 'database') field('watermark', d.watermark ? `cursor ${d.watermark.cursor}, key [${d.watermark.key.join(', ')}] (updated ${d.watermark.updatedAt}${d.watermark.runId ? ` by ${d.watermark.runId}` : ''})` : 'none');
  field('ledger', ledgerText(d.ledger));
  for (const q of d.quarantined) field('quarantined', `${q.key} (ETag ${q.etag})${q.reason ? `: ${oneLine(q.reason)}` : ''}`);
  for (const s of d.schedules) {
    const enabled = s.enabled === 'unknown' ? 'enabled unknown' : s.enabled ? 'enabled' : 'disabled';
    const onTime = s.onTime === 'unknown' ? 'on time unknown' : s.onTime ? 'on time' : 'LATE';
    field(`${s.name} schedule`, `${s.expression}, ${enabled}, ${onTime}${s.lastRunAt ? ` (last run ${s.lastRunAt})` : ''}`);
  }
  field('dead letters', String(d.deadLetters));
  for (const r of d.reasons) lines.push(`  - ${r}`);
  return lines.join('\n');
}

/** The whole report: a summary table, then each dataset's evidence and reasons. */
export function formatStatus(report: StatusReport): string {
  const now = new Date(report.generatedAt);
  const table = textTable(
    ['DATASET', 'HEALTH', 'LAG', 'LAST RUN', 'LAST VERIFICATION', 'QUARANTINED', 'DEAD LETTERS'],
    report.datasets.map((d) => [d.dataset, d.health, formatLag(d.lag.seconds), d.lastRun?.status ?? '-', d.lastVerification ? `${d.lastVerification.status}${d.lastVerification.tier ? ` (${d.lastVerification.tier})` : ''}` : '-', String(d.quarantined.length), String(d.deadLetters)]),
  );
  const blocks = report.datasets.map((d) => datasetBlock(d, now));
  const notes = (report.notes ?? []).map((n) => `note: ${n}\n`).join('');
  return `${table}\n\n${blocks.join('\n\n')}\n\n${notes}status at ${report.generatedAt}: ${report.health} (exit ${report.exitCode})`;
}

/** `syncproof runs`: one line a run. */
export function formatRuns(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no runs';
  return textTable(
    ['RUN', 'DATASET', 'KIND', 'MODE', 'STATUS', 'STARTED', 'DURATION', 'ROWS', 'FILES', 'COST', 'REPORT'],
    runs.map((r) => [r.runId, r.dataset, r.kind, r.mode ?? '-', r.status, r.startedAt, durationText(r), r.rows === undefined ? '-' : String(r.rows), r.files === undefined ? '-' : String(r.files), costText(r), r.reportUri ?? '-']),
  );
}
