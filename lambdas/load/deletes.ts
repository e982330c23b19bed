/**
 * The driver of a deletion (`deletes: "propagate"`, issue #15 item 4): the rules, the document's
 * content and the transaction are in lambdas/core/deletes.ts; this writes the document, keeps its
 * ledger entry by the load protocol (lambdas/core/load-protocol.ts decideFile / settleFile) and
 * submits the transaction through the load target, exactly as the load stage does for a data file.
 */
import { randomBytes } from 'node:crypto';
import { wasLoaded } from '../core/ledger-status';
import { encodeParquet, type ParquetColumnInput } from '../adapters/parquet-file';
import { INTERNAL_PREFIX, requireDataset } from '../core/config';
import {
  canonicalKeys,
  checkDeletion,
  deletionColumnKinds,
  deletionDocumentKey,
  deletionIdFor,
  deletionLedgerDataset,
  deletionReportKey,
  deletionValue,
  type DeletionKey,
  type DeletionRequest,
} from '../core/deletes';
import { TerminalError, TransientError } from '../core/errors';
import { LEASE_MS, decideFile, settleFile, versionId } from '../core/load-protocol';
import type { ObjectSummary, StatementState } from '../core/ports';
import { loadableDataset } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import { WarehouseLoadTarget, type CommittedFile } from './load-target';

/** What a propagation did, as the run record holds it (counts only; the keys are in the report). */
export interface DeletionOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly deletionId: string;
  /** `DELETED`: applied (by this call or an earlier one: `appliedBy`); `NOTHING`: no keys given. */
  readonly status: 'DELETED' | 'NOTHING';
  /** Distinct keys in the deletion. */
  readonly keys: number;
  /** Target rows the committed deletion removed (from its audit row). */
  readonly rowsDeleted: number;
  /** The attempt whose transaction applied it. */
  readonly appliedBy?: string;
  /** False when an earlier call had applied it already (a retry, a crash after commit). */
  readonly appliedNow: boolean;
  readonly documentUri?: string;
  readonly reportUri: string;
}

const MAX_ROUNDS = 6;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 1000;

/**
 * Removes exactly `request.keys` from the dataset's target, once, through the exactly-once load
 * path (see lambdas/core/deletes.ts for the ordering rule). Refused with a TerminalError when the
 * proof does not allow it (an errored, partial or cut comparison). Idempotent: the same keys again
 * name the same document, which is already loaded, and delete nothing more.
 */
export async function propagateDeletes(request: DeletionRequest, deps: StageDeps): Promise<DeletionOutput> {
  const dataset = await loadableDataset(requireDataset(deps.config, request.dataset), deps.objects);
  checkDeletion(request, dataset);
  const keys = canonicalKeys(request.keys);
  const deletionId = deletionIdFor(dataset.name, keys);
  const uri = (key: string) => `s3://${deps.objects.bucket}/${key}`;
  const reportKey = deletionReportKey(INTERNAL_PREFIX, dataset.name, deletionId);
  const nowIso = () => deps.clock.now().toISOString();

  const finish = async (out: Omit<DeletionOutput, 'reportUri' | 'runId' | 'dataset' | 'deletionId' | 'keys'>): Promise<DeletionOutput> => {
    const output: DeletionOutput = { runId: request.runId, dataset: dataset.name, deletionId, keys: keys.length, ...out, reportUri: uri(reportKey) };
    await deps.objects.putJson(reportKey, {
      ...output,
      keyColumns: dataset.keyColumns,
      // Keys only in the report object, never in logs or the run record.
      deletedKeys: keys,
      proof: request.proof,
    });
    await deps.runs.update(request.runId, { stage: `delete_${deletionId}`, output }, nowIso());
    deps.log.info('deletes propagated', { ...output });
    return output;
  };
  if (keys.length === 0) return finish({ status: 'NOTHING', rowsDeleted: 0, appliedNow: false });

  const lt = new WarehouseLoadTarget(await deps.warehouse(), dataset, deps.objects, deps.copyRoleArn, deps.loadViews);
  const targetColumns = await lt.prepare();
  const docKey = deletionDocumentKey(INTERNAL_PREFIX, dataset.name, deletionId);
  const doc = await writeDocument(deps, docKey, dataset.keyColumns, deletionColumnKinds(dataset, targetColumns), keys);
  const file = { key: doc.key, etag: doc.etag };
  const id = versionId(doc.key, doc.etag);
  if (!(await deps.ledger.get(doc.key, doc.etag))) {
    await deps.ledger.discover({ dataset: deletionLedgerDataset(dataset.name), key: doc.key, etag: doc.etag, size: doc.size, lastModified: doc.lastModified }, nowIso());
  }
  const done = (c: CommittedFile, appliedNow: boolean) => finish({ status: 'DELETED', rowsDeleted: c.rows ?? 0, appliedBy: c.loadId, appliedNow, documentUri: uri(doc.key) });

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const ledger = await deps.ledger.get(doc.key, doc.etag);
    const heldBy = ledger?.lease?.attemptId;
    const statement = heldBy ? (await lt.state(heldBy)).status : undefined;
    let committed = (await lt.committed([file])).get(id);
    const action = decideFile({ ledger, committed, ...(statement ? { statement } : {}) }, { loadId: deletionId, now: deps.clock.now() });
    switch (action.kind) {
      case 'done':
        if (wasLoaded(ledger?.status) && committed) return done(committed, false);
        throw new TerminalError(`deletion document '${doc.key}' of dataset '${dataset.name}' is ${ledger?.status ?? 'unknown'} in the ledger (${ledger?.reason ?? 'no reason'}); nothing was deleted: inspect it with 'syncproof ledger show'`);
      case 'settle-loaded':
        await deps.ledger.markLoaded({ ...file, fence: action.fence }, action.loadId, action.rows, nowIso());
        return done(committed!, false);
      case 'held':
        throw new TransientError(`deletion document '${doc.key}' of dataset '${dataset.name}' is held by ${action.by}; try again once it ended`);
      case 'await':
        if ((await waitUntilEnded(lt, action.attemptId, deps)).status === 'running') {
          throw new TransientError(`the deletion statement ${action.attemptId} of dataset '${dataset.name}' is still running; call again to settle it`);
        }
        continue;
      case 'inconsistent':
        throw new TerminalError(`ledger entry of deletion document '${doc.key}' is inconsistent: ${action.reason}; inspect it with 'syncproof ledger show'`);
      case 'claim':
        break;
    }
    const lease = { loadId: deletionId, expiresAt: new Date(deps.clock.now().getTime() + LEASE_MS).toISOString() };
    const fence = await deps.ledger.claim(doc.key, doc.etag, action.fence, lease, nowIso(), action.attemptId);
    if (fence === undefined) continue; // another call claimed it first: read the facts again
    const at = { ...file, fence };
    deps.faults?.crash('after-claim');
    const attemptId = `${deletionId}_${randomBytes(4).toString('hex')}`;
    if (!(await deps.ledger.recordAttempt(at, attemptId, nowIso()))) continue;
    deps.faults?.crash('after-write-ahead');
    let state = await lt.submitDeletion({ runId: request.runId, attemptId, document: { key: doc.key, etag: doc.etag, size: doc.size, keys: keys.length }, targetLoads: request.proof.targetLoads });
    deps.faults?.crash('after-submit');
    if (state.status === 'running') state = await waitUntilEnded(lt, attemptId, deps);
    if (state.status === 'running') throw new TransientError(`the deletion statement ${attemptId} of dataset '${dataset.name}' is still running; call again to settle it`);
    deps.faults?.crash('after-end');
    const outcome = await lt.outcome(attemptId, state, [{ ...file }]);
    committed = (await lt.committed([file])).get(id);
    const settled = settleFile(id, committed, outcome);
    if (settled.kind === 'loaded') {
      await deps.ledger.markLoaded(at, settled.loadId, settled.rows, nowIso());
      return done(committed!, committed!.loadId === attemptId);
    }
    if (settled.kind === 'quarantine') {
      await deps.ledger.markQuarantined(at, settled.reason, nowIso());
      throw new TerminalError(`dataset '${dataset.name}': the deletion document '${doc.key}' could not be applied (${settled.reason}); nothing was deleted`);
    }
    await deps.ledger.markFailed(at, settled.reason, nowIso());
    if (settled.kind === 'fail') throw new TerminalError(settled.reason);
    deps.log.warn('deletion attempt did not apply; trying again', { attemptId, reason: settled.reason });
  }
  throw new TransientError(`dataset '${dataset.name}': deletion ${deletionId} did not settle in ${MAX_ROUNDS} rounds; call again`);
}

/**
 * The deletion document: a Parquet file of the key columns, one row per key, written once. An
 * object already at the key (an earlier call wrote it: the key is a hash of the same keys) is kept
 * as it is, so every retry names the same object version.
 */
async function writeDocument(
  deps: StageDeps,
  key: string,
  columns: readonly string[],
  kinds: readonly ReturnType<typeof deletionColumnKinds>[number][],
  keys: readonly DeletionKey[],
): Promise<ObjectSummary> {
  const existing = await deps.objects.head(key);
  if (existing) return existing;
  const parquet: ParquetColumnInput[] = columns.map((name, c) => ({
    name,
    type: kinds[c]!,
    data: keys.map((k) => deletionValue(kinds[c]!, k[c]!, name)),
  })) as ParquetColumnInput[];
  return deps.objects.put(key, encodeParquet(parquet));
}

/** Polls a deletion's statement until it ends or the invocation's budget runs low. */
async function waitUntilEnded(lt: WarehouseLoadTarget, attemptId: string, deps: StageDeps): Promise<StatementState> {
  const remaining = deps.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  for (let pause = POLL_FIRST_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) {
    const state = await lt.state(attemptId);
    if (state.status !== 'running' || remaining() < 30_000 + pause) return state;
    await new Promise((r) => setTimeout(r, pause));
  }
}
