/**
 * What a run says about itself, for `sync`, `sync A B …`, `sync --stack` and `local`: every
 * warning its stages recorded in the run record (one line each, with what to do), and a failed
 * execution's error as `Name: message` — never the Lambda's JSON error document.
 */
import type { RunRecord } from '../lambdas/core/ports';

/** One warning of a run: the dataset and a sentence saying what happened and what to do. */
export interface RunWarning {
  readonly dataset: string;
  readonly message: string;
}

interface ExtractStage {
  readonly warnings?: readonly string[];
  readonly nullCursorRows?: number;
  readonly zeroDates?: Record<string, number>;
}

interface WarningsStage {
  readonly warnings?: readonly string[];
  readonly moreWarnings?: number;
}

/**
 * The warnings a run's stages recorded, in stage order, each once: the extraction's (a lossy type
 * mapping, rows with a NULL cursor, zero dates loaded as NULL, extract-only runs left for later),
 * the inventory's (objects of another format skipped) and the verifications' (files quarantined
 * or left to another load).
 */
export function runWarnings(dataset: string, run: RunRecord | undefined): RunWarning[] {
  const stages = run?.stages ?? {};
  const lines: string[] = [];
  const extract = stages.extract as ExtractStage | undefined;
  lines.push(...(extract?.warnings ?? []));
  if (extract?.nullCursorRows) {
    lines.push(
      `${extract.nullCursorRows} source rows whose cursor is NULL were not extracted (an incremental run cannot place them); give them a cursor value, or run --mode full to load them`,
    );
  }
  for (const [column, n] of Object.entries(extract?.zeroDates ?? {})) {
    lines.push(`${n} zero dates in ${column} were loaded as NULL (Redshift has no zero date); fix them in the source if they should be dates`);
  }
  lines.push(...((stages.inventory as WarningsStage | undefined)?.warnings ?? []));
  for (const [stage, output] of Object.entries(stages)) {
    if (!stage.startsWith('verify_')) continue;
    const v = output as WarningsStage;
    lines.push(...(v.warnings ?? []));
    if (v.moreWarnings) lines.push(`${v.moreWarnings} more warnings of load ${stage.slice('verify_'.length)}; see its report (${String((output as { reportUri?: unknown }).reportUri ?? 'in S3')})`);
  }
  // A run never passes with warnings without a line saying so (a stage that recorded none).
  if (lines.length === 0 && run?.status === 'PASSED_WITH_WARNINGS') {
    lines.push(`the run passed with warnings its record does not name; read its report (${run.reportUri ?? `run ${run.runId} in the runs table`})`);
  }
  return [...new Set(lines)].map((message) => ({ dataset, message }));
}

/** Parses a JSON text, or undefined. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A failed execution's error as one line, `Name: message`. Step Functions hands over a Lambda's
 * error as Error = its name and Cause = a JSON document (`errorType`, `errorMessage`, `trace`);
 * a failed child execution's Cause is its DescribeExecution (`Error`, `Cause`, nested again);
 * Step Functions' own errors carry plain text. A message that already starts with the name (a run
 * record's `error`) is not prefixed again.
 */
export function failureText(error: string | undefined, cause: string | undefined): string {
  let name = error;
  let message = cause ?? '';
  for (let depth = 0; depth < 5; depth++) {
    const parsed = parseJson(message) as { errorType?: unknown; errorMessage?: unknown; Error?: unknown; Cause?: unknown } | undefined;
    if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string') {
      name = typeof parsed.errorType === 'string' ? parsed.errorType : name;
      message = parsed.errorMessage;
    } else if (parsed && typeof parsed === 'object' && (typeof parsed.Cause === 'string' || typeof parsed.Error === 'string')) {
      name = typeof parsed.Error === 'string' ? parsed.Error : name;
      message = typeof parsed.Cause === 'string' ? parsed.Cause : '';
    } else {
      break;
    }
  }
  message = message.trim();
  while (name && message.startsWith(`${name}: `)) message = message.slice(name.length + 2);
  if (!name) return message || 'the execution failed without an error';
  return message ? `${name}: ${message}` : `${name} (no cause recorded)`;
}
