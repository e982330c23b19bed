import { z } from 'zod';
import type { RunStatus } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';

export const recordInputSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('completed'), runId: z.string().min(1), dataset: z.string().min(1) }),
  z.object({
    outcome: z.literal('failed'),
    runId: z.string().min(1),
    input: z.unknown().optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
  }),
]);
export type RecordInput = z.input<typeof recordInputSchema>;

export interface RecordOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly status: RunStatus;
  /** Set for failures: the error name and a one-line cause, for the Fail state. */
  readonly error?: string;
  readonly cause?: string;
}

/**
 * A Lambda error's Cause is JSON (`errorType`, `errorMessage`, `trace`); Step Functions' own
 * errors carry plain text. Returns the message without the stack trace.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause recorded';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: a Step Functions error text
  }
  return cause;
}

function datasetOf(input: unknown): string {
  const d = (input as { dataset?: unknown } | null | undefined)?.dataset;
  return typeof d === 'string' && d.length > 0 ? d : '(unknown)';
}

/**
 * Closes a run. `completed`: the run's final status is what its verifications folded into it, or
 * NO_WORK when no batch was loaded. `failed`: records FAILED with the error's message.
 */
export async function runRecord(raw: RecordInput, deps: StageDeps): Promise<RecordOutput> {
  const input = recordInputSchema.parse(raw);
  const now = deps.clock.now().toISOString();
  if (input.outcome === 'failed') {
    const error = input.error?.Error ?? 'UnknownError';
    const cause = causeMessage(input.error?.Cause);
    const dataset = datasetOf(input.input);
    await deps.runs.update(input.runId, { status: 'FAILED', error: `${error}: ${cause}`, dataset }, now);
    deps.log.warn('run failed', { error, cause });
    return { runId: input.runId, dataset, status: 'FAILED', error, cause };
  }
  const run = await deps.runs.get(input.runId);
  const status: RunStatus = !run || run.status === 'RUNNING' ? 'NO_WORK' : run.status;
  await deps.runs.update(input.runId, { status, stage: 'finish', output: { status }, dataset: input.dataset }, now);
  deps.log.info('run finished', { status });
  return { runId: input.runId, dataset: input.dataset, status };
}
