import { maxFilesPerTransaction } from '../core/load-plan';
import { z } from 'zod';
import { INTERNAL_PREFIX, checksumSampleSchema, formatIssues, requireDataset } from '../core/config';
import { InvalidInputError } from '../core/errors';
import { leaseExpired } from '../core/load-protocol';
import type { LedgerEntry, LedgerStatus, ObjectSummary } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';

/** What an operator (console, CLI) or the trigger passes to the SyncStateMachine. */
export const executionInputSchema = z
  .object({
    dataset: z.string({ error: 'required: the name of a configured dataset' }).min(1),
    trigger: z.record(z.string(), z.unknown()).optional(),
    /** Overrides the dataset's `checksumSample` for this run's ChecksumSample stage. */
    checksumSample: checksumSampleSchema.optional(),
  })
  .strict();

export const discoverInputSchema = z.object({
  input: z.unknown(),
  runId: z.string().min(1),
});
export type DiscoverInput = z.input<typeof discoverInputSchema>;

export interface BatchFile extends ObjectSummary {}

/** The batch object written to S3 and passed by reference. */
export interface BatchDocument {
  readonly runId: string;
  readonly dataset: string;
  readonly files: readonly BatchFile[];
}

export interface DiscoverOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly files: number;
  readonly batchUri: string | null;
  readonly hasMore: boolean;
  readonly discovered: number;
}

const LOADABLE: ReadonlySet<LedgerStatus> = new Set(['discovered', 'failed']);

function extensionFor(format: 'parquet' | 'csv'): string {
  return format === 'parquet' ? '.parquet' : '.csv';
}

/**
 * Lists the dataset prefix, records new object versions in the ledger, and writes the next batch
 * (oldest first, at most `maxFilesPerBatch`) to S3. Objects already loaded or quarantined are
 * skipped; a `loading` entry whose lease expired is offered again (the load stage takes it over
 * only once the statement its holder submitted has ended, lambdas/core/load-protocol.ts).
 */
export async function runDiscover(raw: DiscoverInput, deps: StageDeps): Promise<DiscoverOutput> {
  const envelope = discoverInputSchema.parse(raw);
  const parsed = executionInputSchema.safeParse(envelope.input);
  if (!parsed.success) {
    throw new InvalidInputError(
      `invalid execution input: ${formatIssues(parsed.error)}; start the execution with {"dataset": "<name>"}`,
    );
  }
  const dataset = requireDataset(deps.config, parsed.data.dataset);
  const { runId } = envelope;
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  await deps.runs.start({ runId, dataset: dataset.name, status: 'RUNNING', startedAt: nowIso, updatedAt: nowIso, stages: {} });

  const known = new Map<string, LedgerEntry>();
  for await (const e of deps.ledger.listDataset(dataset.name)) known.set(`${e.key}\u0000${e.etag}`, e);

  const ext = extensionFor(dataset.format);
  const candidates: ObjectSummary[] = [];
  let discovered = 0;
  for await (const o of deps.objects.list(dataset.prefix)) {
    if (o.key.endsWith('/') || o.key.startsWith(INTERNAL_PREFIX) || !o.key.toLowerCase().endsWith(ext)) continue;
    const entry = known.get(`${o.key}\u0000${o.etag}`);
    if (!entry) {
      if (await deps.ledger.discover({ dataset: dataset.name, key: o.key, etag: o.etag, size: o.size, lastModified: o.lastModified }, nowIso)) {
        discovered += 1;
      }
      candidates.push(o);
    } else if (LOADABLE.has(entry.status) || (entry.status === 'loading' && leaseExpired(entry, now))) {
      candidates.push(o);
    }
  }
  candidates.sort((a, b) => (a.lastModified === b.lastModified ? (a.key < b.key ? -1 : 1) : a.lastModified < b.lastModified ? -1 : 1));
  // One batch is one warehouse transaction, so it never holds more files than that can take.
  const batch = candidates.slice(0, Math.min(deps.config.maxFilesPerBatch, maxFilesPerTransaction(dataset, deps.maxStatementsPerTransaction)));
  let batchUri: string | null = null;
  if (batch.length > 0) {
    const seq = nowIso.replace(/[:.]/g, '-');
    const key = `${INTERNAL_PREFIX}batches/${dataset.name}/${runId}/${seq}.json`;
    const doc: BatchDocument = { runId, dataset: dataset.name, files: batch };
    await deps.objects.putJson(key, doc);
    batchUri = `s3://${deps.objects.bucket}/${key}`;
  }
  const output: DiscoverOutput = {
    runId,
    dataset: dataset.name,
    files: batch.length,
    batchUri,
    hasMore: candidates.length > batch.length,
    discovered,
  };
  deps.log.info('discovered', { ...output });
  return output;
}
