import type { RunRecord } from '../lambdas/core/ports';
import type { ExecutionSummary } from '../local/runtime';
import { failureText, runWarnings } from './sync-report';


/** Totals of a run's load stages. */
export function runTotals(run: RunRecord | undefined): { filesLoaded: number; filesQuarantined: number; rows: number } {
  const totals = { filesLoaded: 0, filesQuarantined: 0, rows: 0 };
  for (const [stage, output] of Object.entries(run?.stages ?? {})) {
    if (!stage.startsWith('load_')) continue;
    const o = output as { filesLoaded?: number; filesQuarantined?: number; rows?: number };
    totals.filesLoaded += o.filesLoaded ?? 0;
    totals.filesQuarantined += o.filesQuarantined ?? 0;
    totals.rows += o.rows ?? 0;
  }
  return totals;
}

/** One status line per ended execution, then one line per warning of its run. */
export function executionLine(e: ExecutionSummary): string {
  const dataset = e.run?.dataset ?? String((e.input as { dataset?: unknown } | null)?.dataset ?? '?');
  const status = e.status === 'FAILED' ? 'FAILED' : (e.run?.status ?? 'UNKNOWN');
  const t = runTotals(e.run);
  const restarted = e.restartedAt ? ` (restarted at ${e.restartedAt})` : '';
  const base = `${new Date().toISOString()} ${dataset} ${e.name}${restarted} ${status}: ${t.filesLoaded} files loaded, ${t.filesQuarantined} quarantined, ${t.rows} rows`;
  if (e.status === 'FAILED') return `${base} — ${failureText(e.error, e.cause ?? e.run?.error)}`;
  const warnings = runWarnings(dataset, e.run).map((w) => `\n  warning: ${w.dataset}: ${w.message}`).join('');
  if (e.run?.reportUri) return `${base}; report ${e.run.reportUri}${warnings}`;
  return `${base}${warnings}`;
}
