import type { RunRecord, RunStore } from '../lambdas/core/ports';

/**
 * The run record that tells what an execution did: its own, or — when it attached to a live run of
 * its dataset (`stages.attached`, written by AcquireRun) — that run's, with its execution's name.
 */
export async function followAttached(run: RunRecord | undefined, runs: RunStore): Promise<{ readonly attachedTo?: string; readonly run: RunRecord | undefined }> {
  const attached = run?.stages?.attached as { execution?: unknown } | undefined;
  if (typeof attached?.execution !== 'string') return { run };
  return { attachedTo: attached.execution, run: (await runs.get(attached.execution)) ?? run };
}
