import { randomBytes } from 'node:crypto';
import { METRICS } from '../core/metric-names';
import { z } from 'zod';
import { checkFileColumns, columnsToAdd, type FileColumn, type TargetColumn } from '../core/column-check';
import { INTERNAL_PREFIX, requireDataset, schemaDriftOf } from '../core/config';
import { BadFileError, ObjectChangedError, TerminalError } from '../core/errors';
import { loadIdFor } from '../core/ids';
import { pinnedCopyKey, requiredColumns, type PlannedFile } from '../core/load-plan';
import { s3OrderKey } from '../core/s3-order';
import { LEASE_MS, decideFile, renewalDue, settleFile, versionId, type AttemptOutcome } from '../core/load-protocol';
import type { Fenced, LedgerEntry, StatementState } from '../core/ports';
import { keyInBucket } from '../core/s3-uri';
import { loadableDataset } from '../core/source-schema';
import type { StageDeps } from '../core/stage-deps';
import type { BatchDocument, BatchFile, LoadResultDocument, LoadedFile, QuarantinedFile } from '../core/documents';
import { WarehouseLoadTarget, type AttemptFile, type CommittedFile, type LoadTarget } from './load-target';

export const loadInputSchema = z.object({
  runId: z.string().min(1),
  dataset: z.string().min(1),
  batchUri: z.string().startsWith('s3://'),
  files: z.number().int().min(1),
  hasMore: z.boolean(),
});
export type LoadInput = z.input<typeof loadInputSchema>;

export interface LoadOutput {
  readonly runId: string;
  readonly dataset: string;
  readonly loadId: string;
  /** `RUNNING`: a statement is still running; the state machine waits and calls the stage again. */
  readonly status: 'DONE' | 'RUNNING';
  readonly loadUri?: string;
  readonly filesLoaded: number;
  readonly filesQuarantined: number;
  readonly rows: number;
  /** Bytes of the files loaded (their S3 sizes). */
  readonly bytes: number;
  readonly hasMore: boolean;
  /** Echoed so the Wait/Choice loop can call the stage again with its own output. */
  readonly batchUri: string;
  readonly files: number;
}

/** Milliseconds kept in hand before the Lambda's deadline when waiting for the warehouse. */
const BUDGET_RESERVE_MS = 30_000;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 1000;

/** Everything one invocation of the load stage learns and decides, per batch file. */
interface Tracked {
  readonly file: BatchFile;
  readonly id: string;
}

/**
 * Loads one batch exactly once: a thin driver over the protocol of lambdas/core/load-protocol.ts.
 * Each round reads the facts (ledger entries, committed audit rows, statement states), asks the
 * protocol what to do per file, and does it: settle what the audit proves, wait for statements that
 * may still commit (renewing the leases of its own, never cancelling anyone's), claim the rest,
 * check them, and submit one attempt. An attempt
 * that ends is judged by what the warehouse recorded; its files are settled by the same facts.
 * When a statement outlives this invocation's time budget, the stage returns `RUNNING` and the
 * state machine calls it again after a Wait.
 */
export async function runLoad(raw: LoadInput, deps: StageDeps, target?: LoadTarget): Promise<LoadOutput> {
  const input = loadInputSchema.parse(raw);
  const dataset = await loadableDataset(requireDataset(deps.config, input.dataset), deps.objects);
  const loadId = loadIdFor(input.runId, input.batchUri);
  const batch = (await deps.objects.getJson(keyInBucket(input.batchUri, deps.objects.bucket))) as BatchDocument;
  const nowIso = () => deps.clock.now().toISOString();
  const lt = target ?? new WarehouseLoadTarget(await deps.warehouse(), dataset, deps.objects, deps.copyRoleArn, deps.loadViews);
  const started = Date.now();
  const remaining = deps.remainingTimeMs ?? (() => 900_000 - (Date.now() - started));
  let targetColumns = await lt.prepare();
  const targetName = `${dataset.target.schema}.${dataset.target.table}`;

  const tracked: Tracked[] = batch.files.map((file) => ({ file, id: versionId(file.key, file.etag) }));
  const quarantined = new Map<string, QuarantinedFile>();
  const skipped = new Map<string, { key: string; etag: string; reason: string; heldBy?: string }>();
  const attempts: string[] = [];
  const states = new Map<string, StatementState>();
  let committed = new Map<string, CommittedFile>();
  const maxRounds = tracked.length * 2 + 4;
  let oneByOne = false;
  const reasons = new Map<string, string>();
  const sequencers = new Map<string, string>();
  /** This load's running attempts: the entries their leases hold, and when those expire. */
  const held = new Map<string, { ats: Fenced[]; expiresAt: string }>();
  /**
   * The heartbeat: while one of this load's statements runs, every poll renews its files' leases
   * once they are due ({@link renewalDue}), fenced and conditional on the attempt, so a holder that
   * is alive never looks gone to another load.
   */
  const heartbeat = async (attemptId: string): Promise<void> => {
    const h = held.get(attemptId);
    const now = deps.clock.now();
    if (!h || !renewalDue(h.expiresAt, now)) return;
    const expiresAt = new Date(now.getTime() + LEASE_MS).toISOString();
    await inParallel(h.ats, (at) => deps.ledger.renewLease(at, attemptId, expiresAt, now.toISOString()));
    h.expiresAt = expiresAt;
  };

  const output = async (status: 'DONE' | 'RUNNING'): Promise<LoadOutput> => {
    const loaded: LoadedFile[] = [];
    for (const t of tracked) {
      const c = committed.get(t.id);
      if (c) loaded.push({ key: t.file.key, etag: t.file.etag, fileRows: c.fileRows, loadedRows: c.rows, loadedBy: c.loadId });
    }
    const base = { runId: input.runId, dataset: dataset.name, loadId, batchUri: input.batchUri, files: input.files, hasMore: input.hasMore };
    const sizes = new Map(tracked.map((t) => [t.id, t.file.size]));
    const counts = { filesLoaded: loaded.length, filesQuarantined: quarantined.size, rows: loaded.reduce((s, f) => s + (f.loadedRows ?? f.fileRows), 0), bytes: loaded.reduce((s, f) => s + (sizes.get(versionId(f.key, f.etag)) ?? 0), 0) };
    if (status === 'RUNNING') return { ...base, ...counts, status };
    emitLoadMetrics(deps, loaded, sizes, quarantined.size, loadId);
    const retryable = tracked
      .filter((t) => !committed.has(t.id) && !quarantined.has(t.id) && !skipped.has(t.id))
      .map((t) => ({ key: t.file.key, etag: t.file.etag, reason: reasons.get(t.id) ?? 'not loaded' }));
    const doc: LoadResultDocument = {
      runId: input.runId,
      dataset: dataset.name,
      loadId,
      attempts,
      loaded,
      quarantined: [...quarantined.values()],
      skipped: [...skipped.values()],
      retryable,
      ...(batch.replace ? { replace: true as const } : {}),
    };
    const key = `${INTERNAL_PREFIX}loads/${dataset.name}/${loadId}.json`;
    await deps.objects.putJson(key, doc);
    const out: LoadOutput = { ...base, ...counts, status, loadUri: `s3://${deps.objects.bucket}/${key}` };
    await deps.runs.update(input.runId, { stage: `load_${loadId}`, output: out }, nowIso());
    deps.log.info('loaded', { ...out });
    return out;
  };

  for (let round = 0; round < maxRounds; round++) {
    // Facts.
    const entries = new Map<string, LedgerEntry | undefined>();
    await inParallel(tracked, async (t) => {
      const entry = await deps.ledger.get(t.file.key, t.file.etag);
      entries.set(t.id, entry);
      if (entry?.sequencer) sequencers.set(t.id, entry.sequencer);
    });
    for (const e of entries.values()) {
      const attemptId = e?.lease?.attemptId;
      if (attemptId && !states.has(attemptId)) states.set(attemptId, await lt.state(attemptId));
    }
    // After the statement states: a statement seen ended has its commit visible in the audit read next.
    committed = await lt.committed(batch.files);
    // Decisions.
    const decisions = tracked.map((t) => {
      const ledger = entries.get(t.id);
      const attemptId = ledger?.lease?.attemptId;
      const action = decideFile(
        { ledger, committed: committed.get(t.id), ...(attemptId ? { statement: states.get(attemptId)?.status } : {}) },
        { loadId, now: deps.clock.now() },
      );
      return { t, ledger, action, state: attemptId ? states.get(attemptId) : undefined };
    });
    states.clear();

    // What another live load holds is judged afresh each round (its holder may have let go).
    skipped.clear();
    const waitFor = new Set<string>();
    const claimable: { t: Tracked; fence: number; attemptId?: string }[] = [];
    const judge = new Map<string, { state: StatementState; files: { t: Tracked; at: Fenced; file: AttemptFile }[] }>();
    for (const { t, ledger, action, state } of decisions) {
      switch (action.kind) {
        case 'done':
          // Set aside (by a load, or by an operator after Discover offered it): reported, never loaded.
          if (ledger?.status === 'quarantined' || ledger?.status === 'forgotten') {
            quarantined.set(t.id, { key: t.file.key, etag: t.file.etag, reason: ledger.status === 'forgotten' ? `forgotten by ${ledger.setAsideBy ?? 'an operator'}: ${ledger.reason ?? ''}` : (ledger.reason ?? 'quarantined') });
          }
          break;
        case 'settle-loaded':
          await deps.ledger.markLoaded({ key: t.file.key, etag: t.file.etag, fence: action.fence }, action.loadId, action.rows, nowIso());
          break;
        case 'held':
          skipped.set(t.id, { key: t.file.key, etag: t.file.etag, reason: `held by load ${action.by}`, ...(action.by === 'unknown' ? {} : { heldBy: action.by }) });
          break;
        case 'await':
          if (action.mine && ledger?.lease) {
            const h = held.get(action.attemptId) ?? { ats: [], expiresAt: ledger.lease.expiresAt };
            h.ats.push({ key: t.file.key, etag: t.file.etag, fence: ledger.fence });
            if (Date.parse(ledger.lease.expiresAt) < Date.parse(h.expiresAt)) h.expiresAt = ledger.lease.expiresAt;
            held.set(action.attemptId, h);
          } else if (!action.mine) {
            deps.log.warn('waiting for the running statement of an expired lease before taking it over', { key: t.file.key, attemptId: action.attemptId });
          }
          waitFor.add(action.attemptId);
          break;
        case 'claim':
          if (action.attemptId !== undefined && ledger?.lease?.loadId === loadId && state !== undefined) {
            // This load's own attempt, ended after the invocation that submitted it: judge it as
            // that invocation would have (a file error quarantines its file, a content mismatch
            // sends the files one by one) before claiming again; the audit alone says only that
            // it did not commit, and the same batch would go again, and again.
            const j = judge.get(action.attemptId) ?? { state, files: [] };
            const at = { key: t.file.key, etag: t.file.etag, fence: action.fence };
            j.files.push({ t, at, file: { key: at.key, etag: at.etag, copyKey: pinnedCopyKey(INTERNAL_PREFIX, dataset.name, action.attemptId, at.key, at.etag) } });
            judge.set(action.attemptId, j);
          } else claimable.push({ t, fence: action.fence, attemptId: action.attemptId });
          break;
        case 'inconsistent':
          throw new TerminalError(`ledger entry of s3 object '${t.file.key}' (ETag ${t.file.etag}) is inconsistent: ${action.reason}; inspect it with 'syncproof ledger show'`);
      }
    }
    const pending = decisions.some((d) => d.action.kind === 'settle-loaded');
    if (judge.size > 0) {
      for (const [attemptId, j] of judge) await settleAttempt(attemptId, j.state, j.files);
      continue;
    }
    if (waitFor.size > 0) {
      for (const attemptId of waitFor) {
        const state = await waitUntilEnded(lt, attemptId, remaining, () => heartbeat(attemptId));
        if (state.status === 'running') return output('RUNNING');
        held.delete(attemptId);
      }
      continue;
    }
    if (claimable.length === 0) {
      if (pending) continue; // re-read what the settles wrote
      break;
    }

    // Claim, then check what was claimed; only checked files go into the attempt.
    const leaseExpiresAt = new Date(deps.clock.now().getTime() + LEASE_MS).toISOString();
    const claims = await inParallel(claimable, async ({ t, fence, attemptId }) => {
      const lease = { loadId, expiresAt: leaseExpiresAt };
      const next = await deps.ledger.claim(t.file.key, t.file.etag, fence, lease, nowIso(), attemptId);
      return next === undefined ? undefined : { t, at: { key: t.file.key, etag: t.file.etag, fence: next } };
    });
    const claimed = claims.filter((c): c is { t: Tracked; at: Fenced } => c !== undefined);
    if (claimed.length > 0) deps.faults?.crash('after-claim');
    const checks = await inParallel(claimed, (c) => checkFile(deps, c.t.file, targetColumns, targetName));
    const planned: { t: Tracked; at: Fenced; file: PlannedFile }[] = [];
    let drift: string | undefined;
    let driftKey: string | undefined;
    for (const [i, c] of claimed.entries()) {
      let verdict = checks[i]!;
      if (verdict.kind === 'drift' && schemaDriftOf(dataset) === 'add-columns' && verdict.missing.length === 0) {
        // A declared column (a source dataset's schema document) keeps its declared type (SUPER, VARCHAR(n)).
        const added = columnsToAdd(verdict.added)?.map((a) => ({ ...a, type: dataset.columns?.find((d) => d.name === a.name)?.type ?? a.type }));
        if (added) {
          // New columns are nullable and go last, where positional COPY expects them.
          await lt.addColumns(added);
          targetColumns = await lt.prepare();
          deps.log.info('added columns to the target', { columns: added.map((a) => a.name), key: c.t.file.key });
          verdict = await checkFile(deps, c.t.file, targetColumns, targetName);
        }
      }
      if (verdict.kind === 'ok') {
        const file = c.t.file;
        planned.push({ ...c, file: { key: file.key, etag: file.etag, size: file.size, fileRows: verdict.rows, s3Order: s3OrderKey({ ...file, sequencer: file.sequencer ?? sequencers.get(c.t.id) }) } });
      }
      else if (verdict.kind === 'quarantine') await quarantine(c.t, c.at, verdict.reason);
      else {
        drift ??= verdict.reason;
        driftKey ??= c.t.file.key;
        await deps.ledger.markFailed(c.at, verdict.reason, nowIso());
      }
    }
    if (drift !== undefined && schemaDriftOf(dataset) === 'fail') {
      for (const p of planned) await deps.ledger.markFailed(p.at, `not loaded: another file of its batch has schema drift (${drift})`, nowIso());
      throw new TerminalError(
        `dataset '${dataset.name}': ${drift}. Nothing was quarantined; change the table (or set "schemaDrift": "add-columns" for new columns), then run again; ` +
          `or, if the file does not belong, set it aside so later runs go on without it: ${setAsideHint(dataset.name, driftKey!)}`,
      );
    }
    if (drift !== undefined) {
      for (const p of planned) await deps.ledger.markFailed(p.at, `not loaded: another file of its batch has schema drift that add-columns cannot absorb (${drift})`, nowIso());
      throw new TerminalError(
        `dataset '${dataset.name}': ${drift}. "schemaDrift": "add-columns" adds new columns only (at the end of the file, of a type Redshift loads from Parquet); nothing was quarantined: ` +
          `change the table and run again, or set the file aside: ${setAsideHint(dataset.name, driftKey!)}`,
      );
    }
    if (planned.length === 0) continue;
    if (batch.replace && (planned.length !== tracked.length || oneByOne)) {
      // A replace is the whole snapshot or nothing: loading part of it would empty the rest of the target.
      const left = tracked.filter((t) => !planned.some((p) => p.t.id === t.id));
      for (const p of planned) await deps.ledger.markFailed(p.at, 'not loaded: its full run could not load its whole snapshot in one transaction', nowIso());
      throw new TerminalError(
        `dataset '${dataset.name}': a full run replaces the target with its whole snapshot in one transaction, but ${left.length} of its ${tracked.length} files cannot be loaded ` +
          `(${left.slice(0, 3).map((t) => `${t.file.key}: ${quarantined.get(t.id)?.reason ?? skipped.get(t.id)?.reason ?? reasons.get(t.id) ?? 'not loadable'}`).join('; ')}); the target was left as it was: fix the source rows and run full again`,
      );
    }
    // After a content mismatch in a larger batch, files go one by one until the culprit is found.
    if (oneByOne) planned.splice(1);

    const attemptId = `${loadId}_${randomBytes(4).toString('hex')}`;
    // I5: pin each version's bytes where only this attempt writes, conditional on the discovered
    // ETag; the COPY reads the pinned copy, so an overwrite of the key after this point (even with
    // a file of the same size) cannot reach the load. A version already overwritten is quarantined.
    const pins = await inParallel(planned, async (p) => {
      const copyKey = pinnedCopyKey(INTERNAL_PREFIX, dataset.name, attemptId, p.file.key, p.file.etag);
      try {
        await deps.objects.copy(p.file.key, copyKey, { ifMatch: p.file.etag });
        return copyKey;
      } catch (error) {
        if (error instanceof ObjectChangedError) {
          await quarantine(p.t, p.at, `${error.message}; this version could not be pinned for its COPY, so it cannot be loaded`);
          return undefined;
        }
        throw error;
      }
    });
    const pinned = planned.flatMap((p, i) => (pins[i] === undefined ? [] : [{ ...p, file: { ...p.file, copyKey: pins[i] } }]));
    if (batch.replace && pinned.length !== planned.length) {
      // A replace is the whole snapshot or nothing (see above): a version lost before its pin stops it.
      for (const p of pinned) await deps.ledger.markFailed(p.at, 'not loaded: its full run could not pin its whole snapshot', nowIso());
      throw new TerminalError(`dataset '${dataset.name}': a file of the full run's snapshot was overwritten before it could be loaded; the target was left as it was: run full again`);
    }
    if (pinned.length === 0) continue;
    const written = await inParallel(pinned, (p) => deps.ledger.recordAttempt(p.at, attemptId, nowIso()));
    const recorded = pinned.filter((_, i) => written[i]);
    if (recorded.length === 0) continue;
    deps.faults?.crash('after-write-ahead');
    await deps.faults?.pauseBeforeSubmit?.();
    attempts.push(attemptId);
    const files = recorded.map((p) => p.file);
    held.set(attemptId, { ats: recorded.map((p) => p.at), expiresAt: leaseExpiresAt });
    let state = await lt.submit({
      runId: input.runId,
      loadId: attemptId,
      files,
      targetColumns: targetColumns.map((c) => c.name),
      requiredColumns: requiredColumns(dataset, targetColumns, batch.replace === true),
      ...(batch.replace ? { replace: true } : {}),
    });
    deps.faults?.crash('after-submit');
    if (state.status === 'running') state = await waitUntilEnded(lt, attemptId, remaining, () => heartbeat(attemptId));
    if (state.status === 'running') return output('RUNNING');
    held.delete(attemptId);

    deps.faults?.crash('after-end');
    await settleAttempt(attemptId, state, recorded);
    // Settled by the facts just read: another round would only read them again.
    if (tracked.every((t) => committed.has(t.id) || quarantined.has(t.id) || skipped.has(t.id))) return output('DONE');
  }
  committed = await lt.committed(batch.files);
  return output('DONE');

  /**
   * Settles the files of an ended attempt of this load (held under the fences in `recorded`) by
   * the facts: the audit first, then the attempt's outcome. Throws when the outcome fails the run.
   */
  async function settleAttempt(attemptId: string, state: StatementState, recorded: readonly { t: Tracked; at: Fenced; file: AttemptFile }[]): Promise<void> {
    let outcome = await lt.outcome(attemptId, state, recorded.map((p) => p.file));
    committed = await lt.committed(batch.files);
    if (outcome.kind === 'refused' && outcome.nullValues) {
      // The guard found a NULL where the target cannot hold one: read the attempt's files (this
      // error path only) to name each file, column and row; those files are file errors, the rest go again.
      const culprits = await findNulls(deps, recorded.map((p) => p.file), targetColumns, requiredColumns(dataset, targetColumns, batch.replace === true), dataset.loadMode === 'upsert' || batch.replace ? dataset.keyColumns : [], targetName);
      if (culprits.size > 0) outcome = { kind: 'file-errors', files: culprits };
      else if (recorded.length === 1) outcome = { kind: 'file-errors', files: new Map([[recorded[0]!.t.id, `s3 object '${recorded[0]!.file.key}': ${outcome.reason}; write the file again without NULLs there and upload it`]]) };
      else oneByOne = true;
    }
    let failure: string | undefined;
    let settles = 0;
    await inParallel(recorded, async (p) => {
      if (settles++ > 0) deps.faults?.crash('mid-settle');
      const settled = settleFile(p.t.id, committed.get(p.t.id), outcome);
      if (settled.kind === 'loaded') await deps.ledger.markLoaded(p.at, settled.loadId, settled.rows, nowIso());
      else if (settled.kind === 'quarantine') await quarantine(p.t, p.at, settled.reason);
      else {
        await deps.ledger.markFailed(p.at, settled.reason, nowIso());
        reasons.set(p.t.id, settled.reason);
        if (settled.kind === 'fail') failure = settled.reason;
      }
    });
    logOutcome(deps, attemptId, outcome);
    if (outcome.kind === 'refused' && outcome.contentMismatch) oneByOne = true;
    if (failure !== undefined) throw new TerminalError(failure);
  }

  async function quarantine(t: Tracked, at: Fenced, reason: string): Promise<void> {
    if (await deps.ledger.markQuarantined(at, reason, nowIso())) quarantined.set(t.id, { key: t.file.key, etag: t.file.etag, reason });
  }
}

/**
 * The operator commands that set a file left `failed` aside, so it stops failing its dataset's
 * runs (cli/ledger-command.ts), with the flags naming the ledger left to the reader (the stage
 * does not know whether it runs locally or on a stack).
 */
export function setAsideHint(dataset: string, key: string): string {
  const k = /^[\w./=+-]+$/.test(key) ? key : `'${key.replace(/'/g, `'\\''`)}'`;
  return (
    `\`syncproof ledger quarantine ${dataset} ${k} --reason TEXT\` (never loaded, reported as quarantined) or ` +
    `\`syncproof ledger forget ${dataset} ${k} --reason TEXT\` (never loaded, not reported), adding the --data-dir or --stack the runs use; ` +
    `\`syncproof ledger retry\` undoes either`
  );
}

/** Ledger and S3 calls per file run this many at a time (each is one small request). */
const PARALLEL_CALLS = 16;

/** `fn` over `items`, at most PARALLEL_CALLS at a time; results in item order. */
async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL_CALLS) out.push(...(await Promise.all(items.slice(i, i + PARALLEL_CALLS).map(fn))));
  return out;
}

type FileCheck =
  | { kind: 'ok'; rows: number }
  | { kind: 'quarantine'; reason: string }
  | { kind: 'drift'; reason: string; added: readonly FileColumn[]; missing: readonly string[] };

/** Footer readable and pinned to the discovered ETag, columns in the target's order and types. */
async function checkFile(deps: StageDeps, file: BatchFile, target: readonly TargetColumn[], targetName: string): Promise<FileCheck> {
  try {
    const info = await deps.files.inspect(file.key, file.size, file.etag);
    const verdict = checkFileColumns(info.columns, target, targetName);
    if (verdict.kind === 'ok') return { kind: 'ok', rows: info.rows };
    const reason = `s3 object '${file.key}': ${verdict.reason}`;
    return verdict.kind === 'order' ? { kind: 'quarantine', reason } : { kind: 'drift', reason, added: verdict.added, missing: verdict.missing };
  } catch (error) {
    if (error instanceof ObjectChangedError || error instanceof BadFileError) return { kind: 'quarantine', reason: error.message };
    throw error;
  }
}

/** Files whose NULLs are looked for at most this many at a time (each is read whole). */
const NULL_SCAN_FILES = 4;

/**
 * The files of an attempt the guard refused for NULLs, each with its first NULL where the target
 * cannot hold one: the column, its kind (key, or NOT NULL in the target) and the 1-based row in the
 * file. Reads the pinned copy the COPY read (else the key itself, at the discovered ETag); a file
 * that cannot be read is left out (the caller then goes one file at a time). The file's columns
 * are the target's, in `target` order (the column check proved it).
 */
async function findNulls(
  deps: StageDeps,
  files: readonly AttemptFile[],
  target: readonly TargetColumn[],
  required: readonly string[],
  keys: readonly string[],
  targetName: string,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const columnValues = deps.files.columnValues?.bind(deps.files);
  const names = required.filter((c) => target.some((t) => t.name === c));
  if (!columnValues || names.length === 0) return out;
  const positions = names.map((c) => target.findIndex((t) => t.name === c));
  for (let i = 0; i < files.length; i += NULL_SCAN_FILES) {
    await Promise.all(
      files.slice(i, i + NULL_SCAN_FILES).map(async (f) => {
        let rows: Awaited<ReturnType<NonNullable<typeof deps.files.columnValues>>> | undefined;
        for (const key of f.copyKey ? [f.copyKey, f.key] : [f.key]) {
          try {
            rows = await columnValues(key, f.etag, positions);
            break;
          } catch {
            // the pinned copy may carry another ETag (a multipart original): try the key itself
          }
        }
        if (!rows) return;
        for (const [r, row] of rows.entries()) {
          const c = row.findIndex((v) => v === null || v === undefined);
          if (c < 0) continue;
          const column = names[c]!;
          const what = keys.includes(column)
            ? `NULL in key column '${column}' at row ${r + 1} of ${rows.length}: an upsert cannot match a NULL key, so every load of it would add a row`
            : `NULL in column '${column}' at row ${r + 1} of ${rows.length}, which is NOT NULL in ${targetName}`;
          out.set(versionId(f.key, f.etag), `s3 object '${f.key}': ${what}; the file is quarantined, nothing of it loaded: write it again without NULLs there and upload it (a new version loads by itself)`);
          return;
        }
      }),
    );
  }
  return out;
}

/**
 * Polls an attempt until it ends or this invocation's budget runs out (then it is still `running`);
 * `onRunning` (the lease heartbeat) runs after each poll that finds it running.
 */
async function waitUntilEnded(lt: LoadTarget, attemptId: string, remaining: () => number, onRunning: () => Promise<void>): Promise<StatementState> {
  // Short statements end in milliseconds; long ones are polled less often, at most every second.
  for (let pause = POLL_FIRST_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) {
    const state = await lt.state(attemptId);
    if (state.status !== 'running') return state;
    await onRunning();
    if (remaining() < BUDGET_RESERVE_MS + pause) return state;
    await new Promise((r) => setTimeout(r, pause));
  }
}

function logOutcome(deps: StageDeps, attemptId: string, outcome: AttemptOutcome): void {
  if (outcome.kind === 'committed') deps.log.info('load attempt committed', { attemptId });
  else deps.log.warn('load attempt did not merge', { attemptId, outcome: outcome.kind, ...('reason' in outcome ? { reason: outcome.reason } : {}) });
}

/**
 * The load's metrics, once it is DONE: rows, files and bytes of what this load's own attempts
 * committed (a file committed by another load is counted by that load), and the files it set aside.
 */
function emitLoadMetrics(deps: StageDeps, loaded: readonly LoadedFile[], sizes: ReadonlyMap<string, number>, quarantined: number, loadId: string): void {
  const mine = loaded.filter((f) => f.loadedBy === loadId || f.loadedBy.startsWith(`${loadId}_`));
  deps.metrics?.add(METRICS.rows, mine.reduce((s, f) => s + (f.loadedRows ?? f.fileRows), 0));
  deps.metrics?.add(METRICS.files, mine.length);
  deps.metrics?.add(METRICS.bytes, mine.reduce((s, f) => s + (sizes.get(versionId(f.key, f.etag)) ?? 0), 0));
  deps.metrics?.add(METRICS.quarantines, quarantined);
}
