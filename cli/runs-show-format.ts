/**
 * `syncproof runs show RUN_ID`: a run record as a person reads it — the summary, then every stage
 * in pipeline order with its evidence (counts, URIs, verdicts), the error and the report URI.
 */
import type { RunRecord } from '../lambdas/core/ports';
import { summarizeRun } from '../lambdas/core/status';
import { durationText } from './status-format';

/** Pipeline order of stage names (a stage `load_<id>` ranks as `load`). */
const STAGE_ORDER = ['attached', 'datasets', 'extract', 'inventory', 'checksum', 'load', 'verify', 'delete', 'commit', 'counts', 'content', 'finish'];

function stageRank(name: string): number {
  const base = name.replace(/_.*$/, '');
  const i = STAGE_ORDER.indexOf(base);
  return i < 0 ? STAGE_ORDER.length : i;
}

/** Stage names in pipeline order, then by name. */
export function orderedStages(stages: Record<string, unknown>): string[] {
  return Object.keys(stages).sort((a, b) => stageRank(a) - stageRank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Most array items and characters of one value shown; the rest is counted. */
const MAX_ITEMS = 20;
const MAX_TEXT = 300;

function scalarText(value: unknown): string {
  if (value === null) return 'null';
  const text = typeof value === 'string' ? value.replace(/\s*\n\s*/g, ' ') : String(value);
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}… (${text.length} characters)` : text;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

/** An output as indented `name: value` lines; nested objects indent, arrays of scalars join. */
export function evidenceLines(value: unknown, indent: string): string[] {
  if (isScalar(value)) return [`${indent}${scalarText(value)}`];
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_ITEMS);
    const more = value.length > MAX_ITEMS ? [`${indent}… ${value.length - MAX_ITEMS} more`] : [];
    if (shown.every(isScalar)) return [`${indent}${shown.map(scalarText).join(', ')}${more.length ? ` … ${value.length - MAX_ITEMS} more` : ''}`];
    return [...shown.flatMap((item, i) => [`${indent}[${i}]`, ...evidenceLines(item, `${indent}  `)]), ...more];
  }
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!isScalar(v) && !Array.isArray(v) && Object.keys(v as object).length === 0) {
      lines.push(`${indent}${key}: (none)`);
    } else if (isScalar(v) || (Array.isArray(v) && v.every(isScalar) && v.length <= MAX_ITEMS)) {
      lines.push(`${indent}${key}: ${Array.isArray(v) ? (v.length === 0 ? '(none)' : v.map(scalarText).join(', ')) : scalarText(v)}`);
    } else {
      lines.push(`${indent}${key}:`, ...evidenceLines(v, `${indent}  `));
    }
  }
  return lines;
}

/** The whole run: summary lines, every stage's evidence, error and report. */
export function formatRunShow(run: RunRecord): string {
  const s = summarizeRun(run);
  const lines = [`run ${run.runId}`];
  const field = (name: string, value: string) => lines.push(`  ${`${name}:`.padEnd(11)}${value}`);
  field('dataset', run.dataset);
  field('kind', `${s.kind}${s.mode ? ` (mode ${s.mode})` : ''}${s.tier ? `, tier ${s.tier}` : ''}`);
  field('status', run.status);
  field('started', run.startedAt);
  field('ended', s.endedAt ? `${s.endedAt} (${durationText(s)})` : 'still running');
  if (s.rows !== undefined || s.files !== undefined) field('moved', `${s.rows ?? 0} rows, ${s.files ?? 0} files`);
  field('cost', s.cost ? `$${s.cost.usd.toFixed(4)}` : 'not recorded');
  field('report', run.reportUri ?? 'none');
  if (run.error) field('error', scalarText(run.error));
  const stages = run.stages ?? {};
  const names = orderedStages(stages);
  lines.push(names.length === 0 ? 'stages: none recorded' : 'stages:');
  for (const name of names) {
    lines.push(`  ${name}`);
    lines.push(...evidenceLines(stages[name], '    '));
  }
  return lines.join('\n');
}
