import { z } from 'zod';
import { formatIssues, requireDataset } from '../core/config';
import { ConfigurationError, InvalidInputError } from '../core/errors';
import { executionInputSchema } from '../core/execution-input';
import type { RunStatus } from '../core/ports';
import { ATTACHED_RUN_FAILED, modeOf, sameRun, type ExecutionStatus, type RunLock, type RunLockState } from '../core/run-lock';
import type { StageDeps } from '../core/stage-deps';

/** AcquireRun's payload: the execution, its input, and the state it is in (`$.runLock` after a first pass). */
export const acquireInputSchema = z.object({
  outcome: z.literal('acquire'),
  runId: z.string().min(1),
  executionArn: z.string().min(1),
  input: z.unknown(),
  state: z.object({ runLock: z.unknown().optional() }).passthrough().optional(),
});
export type AcquireInput = z.input<typeof acquireInputSchema>;

const attachedSchema = z.object({ lock: z.literal('ATTACHED'), dataset: z.string(), attachedTo: z.string().min(1), attachedToArn: z.string().min(1) });

/** Rounds of acquire / read / describe before answering WAIT (each round means the lock changed hands meanwhile). */
const ACQUIRE_ROUNDS = 4;

/**
 * AcquireRun (SyncStateMachine, before Extract): one run per dataset with a source at a time.
 * Writes the dataset's run lock for this execution; when a live execution holds it, this one
 * attaches to it (same mode) or waits for it (another mode), and an attached execution, once the
 * one it attached to has ended, records that outcome as its own run record (`stages.attached`
 * names the execution that did the work) and ends with it. A holder Step Functions no longer
 * reports RUNNING is taken over (conditionally on the holder read). Datasets fed by uploads take
 * no lock: their runs carry their own objects, and the load protocol keeps concurrent ones exact.
 */
export async function acquireRun(raw: AcquireInput, deps: StageDeps): Promise<RunLockState> {
  const envelope = acquireInputSchema.parse(raw);
  const parsed = executionInputSchema.safeParse(envelope.input);
  if (!parsed.success) throw new InvalidInputError(`invalid execution input: ${formatIssues(parsed.error)}`);
  const input = parsed.data;
  const dataset = requireDataset(deps.config, input.dataset);
  if (!dataset.source || input.trigger) return { lock: 'ACQUIRED', locked: false };
  const { runLocks, executions } = deps;
  if (!runLocks || !executions) throw new ConfigurationError('the record stage has no run lock store or execution reader configured; redeploy the stack');
  const me = envelope.executionArn;

  const previous = attachedSchema.safeParse(envelope.state?.runLock);
  if (previous.success) {
    const attached = previous.data;
    const described = await executions.describe(attached.attachedToArn);
    if (described.status === 'RUNNING') return attached;
    return attachedEnded(envelope.runId, dataset.name, attached.attachedTo, attached.attachedToArn, described, deps);
  }

  const mode = modeOf(input);
  const now = deps.clock.now().toISOString();
  const mine: RunLock = { dataset: dataset.name, holder: envelope.runId, holderArn: me, mode, ...(input.after ? { after: input.after } : {}), acquiredAt: now };
  for (let round = 0; round < ACQUIRE_ROUNDS; round += 1) {
    if (await runLocks.acquire(mine)) return { lock: 'ACQUIRED', locked: true };
    const held = await runLocks.get(dataset.name);
    if (!held) continue; // released meanwhile
    const described = await executions.describe(held.holderArn);
    if (described.status !== 'RUNNING') {
      if (await runLocks.acquire(mine, held.holderArn)) {
        deps.log.warn('took over the run lock of an execution that is no longer running', { holder: held.holder, holderStatus: described.status });
        return { lock: 'ACQUIRED', locked: true };
      }
      continue; // someone else took it over first
    }
    if (sameRun(held, mode, input.after)) {
      deps.log.info('attached to the live run of the dataset', { attachedTo: held.holder });
      return { lock: 'ATTACHED', dataset: dataset.name, attachedTo: held.holder, attachedToArn: held.holderArn };
    }
    deps.log.info('waiting for the live run of the dataset (another mode)', { holder: held.holder, holderMode: held.mode, mode });
    return { lock: 'WAIT', dataset: dataset.name, holder: held.holder, holderArn: held.holderArn, holderMode: held.mode };
  }
  const held = await runLocks.get(dataset.name);
  return { lock: 'WAIT', dataset: dataset.name, holder: held?.holder ?? '(changing hands)', holderArn: held?.holderArn ?? '', holderMode: held?.mode ?? mode };
}

/**
 * The attached-to execution ended: this execution's run record takes its outcome (status, with
 * `stages.attached` naming it), and the state says how to end.
 */
async function attachedEnded(
  runId: string,
  dataset: string,
  attachedTo: string,
  attachedToArn: string,
  described: { readonly status: ExecutionStatus; readonly error?: string; readonly cause?: string },
  deps: StageDeps,
): Promise<RunLockState> {
  const run = await deps.runs.get(attachedTo);
  const succeeded = described.status === 'SUCCEEDED';
  const status: RunStatus = succeeded ? (run && run.status !== 'RUNNING' ? run.status : 'NO_WORK') : 'FAILED';
  const failure = succeeded
    ? undefined
    : `attached to execution ${attachedTo} (the live run of dataset '${dataset}'), which ended ${described.status}${described.error ? `: ${described.error}` : ''}${run?.error ? ` (${run.error})` : ''}`;
  const now = deps.clock.now().toISOString();
  await deps.runs.start({ runId, dataset, status: 'RUNNING', startedAt: now, updatedAt: now, stages: {} });
  await deps.runs.update(
    runId,
    { status, stage: 'attached', output: { execution: attachedTo, executionArn: attachedToArn, executionStatus: described.status }, dataset, ...(failure ? { error: `${ATTACHED_RUN_FAILED}: ${failure}` } : {}) },
    now,
  );
  return {
    lock: 'ATTACHED_ENDED',
    dataset,
    attachedTo,
    attachedToArn,
    runId: attachedTo,
    status,
    executionStatus: described.status,
    ...(failure ? { error: ATTACHED_RUN_FAILED, cause: failure } : {}),
  };
}

/**
 * Releases the dataset's run lock if this execution holds it (Finish and RecordFailure). A lock
 * held by another execution, or none, is left as it is.
 */
export async function releaseRun(deps: StageDeps, input: unknown, executionArn: string | undefined): Promise<void> {
  if (!executionArn || !deps.runLocks) return;
  const dataset = (input as { dataset?: unknown } | null | undefined)?.dataset;
  if (typeof dataset !== 'string' || !deps.config.datasets.some((d) => d.name === dataset && d.source)) return;
  await deps.runLocks.release(dataset, executionArn);
}
