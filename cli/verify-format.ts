/**
 * The human summaries `syncproof verify` prints, on local state (./verify-command.ts) and on a
 * stack (./verify-stack.ts, from the report objects the execution wrote): keys, never values.
 */
import { hopLine } from '../lambdas/core/count-chain';
import type { ContentTierReport } from '../lambdas/verify/content';
import type { CountChainReport } from '../lambdas/verify/count-chain';

/** The human summary of a count-chain report: its status, then one line per hop (and per failed run). */
export function formatCountChain(report: CountChainReport): string {
  const lines = [`verify ${report.dataset} (counts): ${report.status}${report.since !== undefined ? ` (since ${report.since})` : ''}`];
  for (const h of report.hops) lines.push(`  ${hopLine(h)}`);
  for (const r of report.runs.filter((x) => x.status === 'FAILED')) for (const p of r.problems) lines.push(`  FAILED ${p}`);
  if (report.notLoadedFiles > 0) lines.push(`  note: ${report.notLoadedFiles} manifested files are not loaded yet (outside the counts)`);
  return lines.join('\n');
}

/** The human summary of a content-tier report: its status and what it compared, then one line per differing key. */
export function formatContent(report: ContentTierReport): string {
  const lines = [`verify ${report.dataset} (${report.tier}): ${report.status}${report.seed !== undefined ? ` (seed ${report.seed})` : ''}`, `  compared ${report.compared}`];
  if (report.propagated) lines.push(`  deletes propagated: ${report.propagated.rowsDeleted} rows of ${report.propagated.keys} keys removed${report.propagated.appliedNow ? '' : ' (already applied earlier)'}; compared again after`);
  const key = (k: readonly (string | null)[]) => `(${k.map((v) => (v === null ? 'NULL' : v)).join(', ')})`;
  const k = report.keys;
  for (const x of k.missing) lines.push(`  missing ${key(x)}`);
  for (const x of k.extra) lines.push(`  extra ${key(x)}`);
  for (const x of k.changed) lines.push(`  changed ${key(x.key)}: ${x.columns.join(', ')}`);
  for (const x of k.deleted) lines.push(`  deleted at source ${key(x)}`);
  for (const x of k.duplicates) lines.push(`  duplicated ${key(x)}`);
  const c = report.counts;
  const beyond = c.missing + c.extra + c.changed + c.deleted + c.duplicates - (k.missing.length + k.extra.length + k.changed.length + k.deleted.length + k.duplicates.length);
  if (beyond > 0) lines.push(`  … and ${beyond} more differing keys (see --json or ${report.comparisonUri})`);
  if (report.status !== 'PASSED') lines.push(`  ${report.summary}`);
  return lines.join('\n');
}

/** Where a content-tier report is, and for a database dataset with missing or changed rows, the command that re-extracts them. */
export function contentReportLine(dataset: string, report: ContentTierReport, uri: string): string {
  const repairable = report.mode === 'database' && report.counts.missing + report.counts.changed > 0;
  return `  report: ${uri}${repairable ? ` (re-extract its missing and changed rows: syncproof sync ${dataset} --repair ${uri})` : ''}`;
}
