import { z } from 'zod';
import { INTERNAL_PREFIX, formatIssues, requireDataset } from '../core/config';
import { InvalidInputError, TerminalError } from '../core/errors';
import { executionInputSchema } from '../core/execution-input';
import { maxFilesPerTransaction } from '../core/load-plan';
import type { BatchDocument } from '../core/documents';
import type { StageDeps } from '../core/stage-deps';
import { CandidateSelection, type LedgerCheck } from './candidates';
import { runBatchOf } from '../core/run-batch';
import { eventCandidates } from './event-run';
import { reconcileCandidates } from './reconcile-run';

/** The execution input's schema (lambdas/core/execution-input.ts), under the name it always had here. */
export { executionInputSchema };

export const discoverInputSchema = z.object({
  input: z.unknown(),
  runId: z.string().min(1),
});
export type DiscoverInput = z.input<typeof discoverInputSchema>;

/**
 * `event`: only the object versions the trigger's events named were looked at; `reconcile`: the
 * whole prefix was listed.
 */
export type DiscoverMode = 'event' | 'reconcile';

export interface DiscoverOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly files: number;
  readonly batchUri: string | null;
  readonly hasMore: boolean;
  /** Object versions recorded in the ledger by this invocation. */
  readonly discovered: number;
  readonly mode: DiscoverMode;
  /** Object versions checked against the ledger (event run: one per event key still present; reconcile: every data file listed). */
  readonly checked: number;
}

/**
 * Finds the dataset's object versions that still need loading, records new ones in the ledger,
 * and writes the next batch (S3 order, at most `maxFilesPerBatch` and what one warehouse
 * transaction takes) to S3.
 *
 * An event run (the trigger passed its events' object versions) looks only at those: O(k) HEADs
 * and ledger calls for k events, no listing and no read of the whole ledger. A reconcile run (no
 * events: console, CLI or schedule, or `mode: 'reconcile'`) pages through the prefix's listing
 * and checks each page with one batched ledger read. Loaded and quarantined versions are skipped;
 * a `loading` entry whose lease expired is offered again (the load stage takes it over only once
 * the statement its holder submitted has ended, lambdas/core/load-protocol.ts).
 */
export async function runDiscover(raw: DiscoverInput, deps: StageDeps): Promise<DiscoverOutput> {
  const envelope = discoverInputSchema.parse(raw);
  const parsed = executionInputSchema.safeParse(envelope.input);
  if (!parsed.success) {
    throw new InvalidInputError(
      `invalid execution input: ${formatIssues(parsed.error)}; start the execution with {"dataset": "<name>"} (add "mode": "reconcile" to list the whole prefix)`,
    );
  }
  const input = parsed.data;
  const dataset = requireDataset(deps.config, input.dataset);
  const { runId } = envelope;
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt: nowIso, updatedAt: nowIso, stages: {} });

  // One batch is one warehouse transaction, so it never holds more files than that can take.
  const selection = new CandidateSelection(Math.min(deps.config.maxFilesPerBatch, maxFilesPerTransaction(dataset, deps.maxStatementsPerTransaction)));
  const check: LedgerCheck = { ledger: deps.ledger, dataset: dataset.name, now };
  const events = await runBatchOf(input, dataset, runId, deps.objects);
  let mode: DiscoverMode;
  let counts: { checked: number; recorded: number };
  if (events) {
    mode = 'event';
    const c = await eventCandidates(events, dataset, deps.objects, check, selection);
    if (c.superseded > 0 || c.gone > 0) deps.log.info('event objects changed since their events', { superseded: c.superseded, gone: c.gone, events: c.events });
    counts = c;
  } else {
    mode = 'reconcile';
    counts = await reconcileCandidates(dataset, deps.objects, check, selection);
  }

  const batch = selection.selected;
  const replace = dataset.source !== undefined && input.mode === 'full';
  if (replace && selection.total > batch.length) {
    throw new TerminalError(
      `dataset '${dataset.name}': a full run replaces the target in one transaction, but its ${selection.total} files are more than one load takes (${batch.length}); nothing was loaded: raise source.limit (rows per file) so the snapshot fits, or raise maxFilesPerBatch`,
    );
  }
  let batchUri: string | null = null;
  if (batch.length > 0) {
    const seq = nowIso.replace(/[:.]/g, '-');
    const key = `${INTERNAL_PREFIX}batches/${dataset.name}/${runId}/${seq}.json`;
    const doc: BatchDocument = { runId, dataset: dataset.name, files: batch, ...(replace ? { replace: true as const } : {}) };
    await deps.objects.putJson(key, doc);
    batchUri = `s3://${deps.objects.bucket}/${key}`;
  }
  const output: DiscoverOutput = {
    runId,
    dataset: dataset.name,
    files: batch.length,
    batchUri,
    hasMore: selection.total > batch.length,
    discovered: counts.recorded,
    mode,
    checked: counts.checked,
  };
  deps.log.info('discovered', { ...output });
  return output;
}
