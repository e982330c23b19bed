import { z } from 'zod';
import type { RunStatus } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';
import { worstStatus, type VerificationStatus } from '../core/verification';
import { planDatasets, summarizeDatasets, type DatasetItem, type DatasetsSummary } from '../core/dataset-batch';
import type { RunLockState } from '../core/run-lock';
import { acquireInputSchema, acquireRun, releaseRun } from './run-lock';
import { announceRun, announceVerification } from './run-end';

const verificationStatusSchema = z.enum(['PASSED', 'PASSED_PARTIAL', 'PASSED_WITH_WARNINGS', 'FAILED']);

/** What the VerifyStateMachine hands to Record from its Inventory, ChecksumSample and CountChain states (their outputs, trimmed). */
export const verifiedStageSchema = z
  .object({
    status: verificationStatusSchema,
    /** Inventory: the summary object; ChecksumSample: the report. */
    summaryUri: z.string().optional(),
    reportUri: z.string().optional(),
  })
  .passthrough();

export const recordInputSchema = z.discriminatedUnion('outcome', [
  /** SyncStateMachine's Finish; `executionArn` releases the dataset's run lock this execution holds. */
  z.object({
    outcome: z.literal('completed'),
    runId: z.string().min(1),
    dataset: z.string().min(1),
    executionArn: z.string().min(1).optional(),
    /** The execution input (its `mode`, for the `syncproof.run` event). */
    input: z.unknown().optional(),
  }),
  /** SyncStateMachine's AcquireRun: one run per dataset at a time (./run-lock.ts). */
  acquireInputSchema,
  z.object({
    outcome: z.literal('verified'),
    runId: z.string().min(1),
    dataset: z.string().min(1),
    /** This execution: Record counts its state transitions (lambdas/core/usage.ts). */
    executionArn: z.string().min(1).optional(),
    inventory: verifiedStageSchema,
    checksum: verifiedStageSchema,
    /** The count chain (CountChain); absent from executions started before it existed. */
    counts: verifiedStageSchema.optional(),
    /** The content tier (ContentCheck); `{"status": "SKIPPED"}` when the input's tier is counts. */
    content: z.union([z.object({ status: z.literal('SKIPPED') }), verifiedStageSchema]).optional(),
  }),
  /** SyncDatasetsStateMachine, before its Map: validate the input, name the child executions. */
  z.object({ outcome: z.literal('datasets-started'), runId: z.string().min(1), input: z.unknown() }),
  /** SyncDatasetsStateMachine, after its Map: fold the children's outcomes. */
  z.object({ outcome: z.literal('datasets-finished'), runId: z.string().min(1), results: z.array(z.unknown()) }),
  z.object({
    outcome: z.literal('failed'),
    runId: z.string().min(1),
    /** Releases the dataset's run lock if this execution holds it. */
    executionArn: z.string().min(1).optional(),
    input: z.unknown().optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
    /** Which state machine failed (its event): a sync run when absent. */
    workflow: z.enum(['sync', 'verify', 'datasets']).optional(),
  }),
]);
export type RecordInput = z.input<typeof recordInputSchema>;

export interface RecordOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly status: RunStatus;
  /** Set for failures (and failed verifications): the error name and a one-line cause, for the Fail state. */
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

/** The error name a failed scheduled verification ends with. */
export const VERIFICATION_FAILED = 'VerificationFailedError';

/**
 * Closes a run. `verified` (VerifyStateMachine): the worse of the inventory's and the checksum
 * sample's verdicts; when FAILED, the output carries `error`/`cause` for the Fail state that
 * follows, so the execution fails while the run record keeps the evidence (stage outputs with
 * the URIs of the findings and the report). `completed`: the run's final status is what its verifications folded into it, or
 * NO_WORK when no batch was loaded. `failed`: records FAILED with the error's message.
 */
export async function runRecord(raw: RecordInput, deps: StageDeps): Promise<RecordOutput | DatasetsPlan | DatasetsSummary | RunLockState> {
  const input = recordInputSchema.parse(raw);
  if (input.outcome === 'acquire') return acquireRun(input, deps);
  const now = deps.clock.now().toISOString();
  if (input.outcome === 'datasets-started') return startDatasets(input.runId, input.input, deps, now);
  if (input.outcome === 'datasets-finished') return finishDatasets(input.runId, input.results, deps, now);
  if (input.outcome === 'failed') {
    await countTransitions(deps, input.runId, input.executionArn);
    const error = input.error?.Error ?? 'UnknownError';
    const cause = causeMessage(input.error?.Cause);
    const dataset = datasetOf(input.input);
    await deps.runs.update(input.runId, { status: 'FAILED', error: `${error}: ${cause}`, dataset }, now);
    await releaseRun(deps, input.input, input.executionArn);
    deps.log.warn('run failed', { error, cause });
    if (dataset !== '(unknown)' && input.workflow === 'verify') await announceVerification(deps, { runId: input.runId, dataset, status: 'FAILED', tiers: {}, error: `${error}: ${cause}` }, deps.clock.now());
    else if (dataset !== '(unknown)' && input.workflow !== 'datasets') await announceRun(deps, { runId: input.runId, dataset, status: 'FAILED', input: input.input, error: `${error}: ${cause}` }, deps.clock.now());
    return { runId: input.runId, dataset, status: 'FAILED', error, cause };
  }
  if (input.outcome === 'verified') {
    await countTransitions(deps, input.runId, input.executionArn);
    const content = input.content && input.content.status !== 'SKIPPED' ? (input.content as z.infer<typeof verifiedStageSchema>) : undefined;
    const status: VerificationStatus = worstStatus(worstStatus(worstStatus(input.inventory.status, input.checksum.status), input.counts?.status ?? 'PASSED'), content?.status ?? 'PASSED');
    const evidence = { inventory: input.inventory.summaryUri, checksum: input.checksum.reportUri, ...(input.counts ? { counts: input.counts.reportUri } : {}), ...(content ? { content: content.reportUri } : {}) };
    const hops = Array.isArray(input.counts?.hops) ? (input.counts.hops as unknown[]).filter((h): h is string => typeof h === 'string' && h.startsWith('FAILED')) : [];
    const cause =
      `${input.dataset}: ${status} — inventory ${input.inventory.status} (${evidence.inventory ?? 'no summary'}), checksum sample ${input.checksum.status} (${evidence.checksum ?? 'no report'})` +
      (input.counts ? `, count chain ${input.counts.status} (${evidence.counts ?? 'no report'})${hops.length ? `: ${hops.join('; ')}` : ''}` : '') +
      (content ? `, content ${content.status} (${evidence.content ?? 'no report'})${content.status === 'FAILED' && typeof content.summary === 'string' ? `: ${content.summary}` : ''}` : '');
    await deps.runs.update(
      input.runId,
      { status, stage: 'finish', output: { status, ...evidence, ...(content && typeof content.summary === 'string' ? { content: evidence.content, contentSummary: content.summary } : {}) }, dataset: input.dataset, reportUri: evidence.inventory, ...(status === 'FAILED' ? { error: `${VERIFICATION_FAILED}: ${cause}` } : {}) },
      now,
    );
    deps.log.info('verification recorded', { status, ...evidence });
    const tiers = { inventory: input.inventory.status, checksum: input.checksum.status, ...(input.counts ? { counts: input.counts.status } : {}), ...(input.content ? { content: input.content.status } : {}) };
    await announceVerification(deps, { runId: input.runId, dataset: input.dataset, status, tiers, reportUri: evidence.inventory, ...(status === 'FAILED' ? { error: `${VERIFICATION_FAILED}: ${cause}` } : {}) }, deps.clock.now());
    return status === 'FAILED'
      ? { runId: input.runId, dataset: input.dataset, status, error: VERIFICATION_FAILED, cause }
      : { runId: input.runId, dataset: input.dataset, status };
  }
  await countTransitions(deps, input.runId, input.executionArn);
  const run = await deps.runs.get(input.runId);
  const status: RunStatus = !run || run.status === 'RUNNING' ? 'NO_WORK' : run.status;
  await deps.runs.update(input.runId, { status, stage: 'finish', output: { status }, dataset: input.dataset }, now);
  await releaseRun(deps, { dataset: input.dataset }, input.executionArn);
  deps.log.info('run finished', { status });
  await announceRun(deps, { runId: input.runId, dataset: input.dataset, status, input: input.input, ...(run?.error ? { error: run.error } : {}) }, deps.clock.now());
  return { runId: input.runId, dataset: input.dataset, status };
}

/**
 * Sets the run's `sfnTransitions` to the states its execution has entered so far (its history,
 * through `deps.executions`; the Record state included, the states after it not). Set, not added:
 * a retried Record counts again. A count that cannot be read leaves the figure as it was (null)
 * and is logged: the run's cost must never fail the run.
 */
async function countTransitions(deps: StageDeps, runId: string, executionArn: string | undefined): Promise<void> {
  if (!executionArn || !deps.executions?.transitions || !deps.runs.addUsage) return;
  try {
    const transitions = await deps.executions.transitions(executionArn);
    await deps.runs.addUsage(runId, {}, { sfnTransitions: transitions });
  } catch (error) {
    deps.log.warn('could not count the run\'s state transitions; its usage leaves them out', { error: String(error) });
  }
}

/** What the SyncDatasetsStateMachine's Map iterates over: one child execution per dataset. */
export interface DatasetsPlan {
  readonly items: readonly DatasetItem[];
}

/** The run key of a SyncDatasetsStateMachine run: its datasets, comma-separated. */
function datasetsKey(items: readonly { readonly dataset: string }[]): string {
  return items.map((i) => i.dataset).join(',');
}

/**
 * Opens the run of a SyncDatasetsStateMachine execution: validates its input against the
 * configuration (InvalidInputError, before any child starts) and records the child executions
 * it is about to start.
 */
async function startDatasets(runId: string, raw: unknown, deps: StageDeps, now: string): Promise<DatasetsPlan> {
  const items = planDatasets(raw, deps.config, runId);
  await deps.runs.update(runId, { status: 'RUNNING', stage: 'datasets', output: { children: items.map((i) => ({ dataset: i.dataset, execution: i.name })) }, dataset: datasetsKey(items) }, now);
  deps.log.info('datasets run started', { datasets: items.length });
  return { items };
}

/**
 * Closes the run of a SyncDatasetsStateMachine execution with the worst of its datasets'
 * statuses and each dataset's outcome; the summary carries the Fail state's Error and Cause
 * when a dataset failed.
 */
async function finishDatasets(runId: string, results: readonly unknown[], deps: StageDeps, now: string): Promise<DatasetsSummary> {
  const summary = summarizeDatasets(results);
  await deps.runs.update(
    runId,
    { status: summary.status, stage: 'finish', output: { status: summary.status, datasets: summary.datasets }, dataset: datasetsKey(summary.datasets), ...(summary.cause ? { error: `${summary.error}: ${summary.cause}` } : {}) },
    now,
  );
  if (summary.failedCount > 0) deps.log.warn('datasets run finished with failures', { failed: summary.failed });
  else deps.log.info('datasets run finished', { status: summary.status });
  return summary;
}
