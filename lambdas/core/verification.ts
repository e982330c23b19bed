/** Verification verdicts (DESIGN.md §8) and the pure rules that produce them. */

import { TerminalError } from './errors';

export type VerificationStatus = 'PASSED' | 'PASSED_PARTIAL' | 'PASSED_WITH_WARNINGS' | 'FAILED';

const SEVERITY: Record<VerificationStatus, number> = {
  PASSED: 0,
  PASSED_PARTIAL: 1,
  PASSED_WITH_WARNINGS: 2,
  FAILED: 3,
};

/** The worse of two statuses. */
export function worstStatus(a: VerificationStatus, b: VerificationStatus): VerificationStatus {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** CLI exit code for a status: 0 passed, 1 warnings, 2 failed (3 is for errors). */
export function exitCodeFor(status: VerificationStatus): number {
  return status === 'FAILED' ? 2 : status === 'PASSED_WITH_WARNINGS' ? 1 : 0;
}

export interface FileEvidence {
  readonly key: string;
  readonly etag: string;
  /** Rows in the Parquet footer. */
  readonly fileRows: number;
  /** Rows the warehouse counted for this object version; undefined if it reported none. */
  readonly auditRows: number | undefined;
  /**
   * What the warehouse's load view (after commit) says its COPY read for this version, and the
   * ETag of the pinned copy it should have read (I5); undefined where the view or the copy is
   * gone (no proof either way).
   */
  readonly read?: { readonly viewEtag: string; readonly pinnedEtag: string };
  /** Committed loads whose audit holds this object version: exactly 1 when it is loaded once (I1). */
  readonly committedLoads: number;
  readonly loadIds: readonly string[];
}

export interface QuarantineEvidence {
  readonly key: string;
  readonly etag: string;
  readonly reason: string;
}

/** A batch file another live load held when this one ran. */
export interface LeftFileEvidence {
  readonly key: string;
  readonly etag: string;
  /** The load whose lease held it; undefined when not known. */
  readonly heldBy: string | undefined;
}

/** One load attempt: rows its COPY staged against the rows its files' footers declare. */
export interface AttemptEvidence {
  readonly loadId: string;
  readonly stagedRows: number;
  readonly declaredRows: number;
}

export interface LoadEvidence {
  readonly loadId: string;
  readonly files: readonly FileEvidence[];
  readonly quarantined: readonly QuarantineEvidence[];
  readonly attempts: readonly AttemptEvidence[];
  /** Rows in the target; with `loadedKeys`, the rows holding one of those keys. */
  readonly targetRows: number;
  /** Distinct keys in the target (upsert datasets; with `loadedKeys`, of those keys); undefined for append. */
  readonly targetDistinctKeys: number | undefined;
  /**
   * An upsert load of few rows is counted for its own keys, not the whole table: how many distinct
   * keys its files hold, each of which the target must hold exactly once. Undefined: the whole
   * target was counted.
   */
  readonly loadedKeys?: number;
  /** Append datasets: rows audited under every committed load of the dataset; undefined for upsert. */
  readonly auditedRows: number | undefined;
  /** A full run's replace: the snapshot's rows, which the target must hold exactly (no more, none missing). */
  readonly replacedRows?: number;
  /**
   * Batch files left to another live load (a duplicate or overlapping event started both): that
   * load's own run proves them, not this one, so this run cannot say they are loaded; each is a
   * warning naming the file and the load that holds it.
   */
  readonly leftToOtherLoads: readonly LeftFileEvidence[];
  /** Batch files that did not load in this run and stay `failed` (retryable). */
  readonly retryable: number;
}

/** The warning of a batch file another live load holds: that load's own run proves it. */
export const LEFT_TO_OTHER_LOAD = 'left-to-other-load';

export interface Finding {
  readonly level: 'error' | 'warning';
  readonly check: string;
  readonly message: string;
}

/** What to do about a warning finding, by its check (empty when nothing is to be done or it says so itself). */
const WARNING_ADVICE: Record<string, string> = {
  quarantine: 'fix the file and upload it again (an overwritten object is a new version, which the next run loads)',
  [LEFT_TO_OTHER_LOAD]: 'nothing to do: that load proves it',
  'inventory-loaded-gone': 'its rows stay in the warehouse; upload the files again if they should be kept in S3',
};

/** A warning finding as one line: what happened, then what to do. */
export function warningLine(f: Finding): string {
  const advice = WARNING_ADVICE[f.check];
  return advice ? `${f.message}; ${advice}` : f.message;
}

export interface Verdict {
  readonly status: VerificationStatus;
  readonly findings: readonly Finding[];
  readonly duplicateKeys: number;
}

/**
 * Decides a load's verdict from evidence read back from the files and the warehouse: `FAILED` on
 * any error, `PASSED_WITH_WARNINGS` when a file was quarantined or left to another live load,
 * else `PASSED`.
 */
export function judgeLoad(e: LoadEvidence): Verdict {
  const findings: Finding[] = [];
  for (const f of e.files) {
    if (f.committedLoads === 0) {
      findings.push({ level: 'error', check: 'file-rows', message: `'${f.key}' has no committed audit row` });
    } else if (f.committedLoads > 1) {
      findings.push({
        level: 'error',
        check: 'double-load',
        message: `'${f.key}' (ETag ${f.etag}) is committed under ${f.committedLoads} loads (${f.loadIds.join(', ')}): its rows are in the target more than once`,
      });
    }
    if (f.read && f.read.viewEtag !== f.read.pinnedEtag) {
      findings.push({
        level: 'error',
        check: 'read-etag',
        message: `'${f.key}' (ETag ${f.etag}): the warehouse's COPY read ETag ${f.read.viewEtag}, not its pinned copy's ${f.read.pinnedEtag}: the bytes loaded are not the bytes discovered`,
      });
    }
    if (f.auditRows !== undefined && f.auditRows !== f.fileRows) {
      findings.push({ level: 'error', check: 'file-rows', message: `'${f.key}': the file holds ${f.fileRows} rows, the warehouse loaded ${f.auditRows}` });
    }
  }
  for (const a of e.attempts) {
    if (a.stagedRows !== a.declaredRows) {
      findings.push({ level: 'error', check: 'audit', message: `load ${a.loadId}: its files hold ${a.declaredRows} rows, its COPY staged ${a.stagedRows}` });
    }
  }
  const duplicateKeys = e.targetDistinctKeys === undefined ? 0 : e.targetRows - e.targetDistinctKeys;
  if (duplicateKeys > 0) {
    findings.push({
      level: 'error',
      check: 'duplicate-keys',
      message:
        e.loadedKeys === undefined
          ? `the target holds ${duplicateKeys} rows more than distinct keys (${e.targetRows} rows, ${e.targetDistinctKeys} keys)`
          : `of the ${e.loadedKeys} keys this load wrote, the target holds ${duplicateKeys} rows more than keys (${e.targetRows} rows, ${e.targetDistinctKeys} keys)`,
    });
  }
  if (e.loadedKeys !== undefined && e.targetDistinctKeys !== undefined && e.targetDistinctKeys < e.loadedKeys) {
    findings.push({
      level: 'error',
      check: 'loaded-keys',
      message: `${e.loadedKeys - e.targetDistinctKeys} of the ${e.loadedKeys} keys this load wrote are not in the target: rows are missing, or were deleted meanwhile by something else`,
    });
  }
  if (e.auditedRows !== undefined && e.auditedRows !== e.targetRows) {
    findings.push({
      level: 'error',
      check: 'append-rows',
      message: `the append target holds ${e.targetRows} rows but its committed loads audited ${e.auditedRows}: rows are doubled, missing, or written by something else`,
    });
  }
  if (e.replacedRows !== undefined && e.replacedRows !== e.targetRows) {
    findings.push({
      level: 'error',
      check: 'replace-rows',
      message: `the full run replaced the target with a snapshot of ${e.replacedRows} rows, but the target holds ${e.targetRows}: rows are missing, doubled, or were written meanwhile by another run`,
    });
  }
  for (const q of e.quarantined) {
    findings.push({ level: 'warning', check: 'quarantine', message: `'${q.key}' quarantined: ${q.reason}` });
  }
  for (const l of e.leftToOtherLoads) {
    findings.push({
      level: 'warning',
      check: LEFT_TO_OTHER_LOAD,
      message: `'${l.key}' (ETag ${l.etag}) was left to ${l.heldBy ? `load ${l.heldBy}` : 'another load'}, which held it (a duplicate or overlapping event started both): that load's own run proves it, this one did not`,
    });
  }
  if (e.retryable > 0) {
    findings.push({ level: 'error', check: 'not-loaded', message: `${e.retryable} files of the batch did not load; they stay failed (retryable) for the next run` });
  }
  const status: VerificationStatus = findings.some((f) => f.level === 'error')
    ? 'FAILED'
    : findings.length > 0
      ? 'PASSED_WITH_WARNINGS'
      : 'PASSED';
  return { status, findings, duplicateKeys };
}

/** Counts an inventory (object tier, DESIGN.md §8 tier 1) reports; see lambdas/inventory/inventory.ts. */
export interface InventoryCounts {
  /** Manifest objects read (0: the dataset has none, so `missing` and `unexpected` are not judged). */
  readonly manifests: number;
  /** Files listed in a manifest but not in S3. */
  readonly missing: number;
  /** Objects under the prefix listed in no manifest (0 when there are no manifests). */
  readonly unexpected: number;
  /**
   * Of `unexpected`, the objects a manifest was written at least an hour after
   * (lambdas/inventory/inventory.ts MANIFEST_GRACE_MS): a producer that writes manifests lists its
   * files in one written after them, so these are extra files, not files whose manifest is still
   * to come. Absent in counts from before it was counted.
   */
  readonly unexpectedBeforeManifest?: number;
  /** Objects whose size differs from their manifest's, or from the ledger's for the same key + ETag. */
  readonly sizeMismatch: number;
  /** Data files with no `loaded` ledger entry for their key + ETag. */
  readonly notLoaded: number;
  /** `loaded` ledger entries whose key is gone from S3. */
  readonly loadedDeleted: number;
  /** `loaded` ledger entries whose key now holds another ETag (informational: the new version is judged itself). */
  readonly loadedOverwritten: number;
}

/** Counts of integrity verdicts of a checksum sample, by verdict status. */
export interface ChecksumCounts {
  readonly match: number;
  readonly mismatch: number;
  readonly missing: number;
  readonly unverifiable: number;
}

/** `sync`: before a SyncStateMachine's loads; `verify`: the scheduled check of a whole dataset. */
export type VerificationScope = 'sync' | 'verify';

function verdictOf(findings: Finding[]): Pick<Verdict, 'status' | 'findings'> {
  const status: VerificationStatus = findings.some((f) => f.level === 'error') ? 'FAILED' : findings.length > 0 ? 'PASSED_WITH_WARNINGS' : 'PASSED';
  return { status, findings };
}

/**
 * Judges an inventory. Errors: a size that contradicts a manifest or the ledger (both scopes), a
 * manifest file missing from S3, an object in no manifest although a newer manifest exists
 * (`verify`). Warnings: a loaded file deleted from S3 (both); objects newer than every manifest
 * and in none (their manifest may still come) and not-yet-loaded files (`verify`). In `sync` scope, files arrive one by one and the
 * not-yet-loaded ones are the run's work, so those categories are reported but not judged; an
 * overwritten loaded file is never judged (its new version is).
 */
export function judgeInventory(c: InventoryCounts, scope: VerificationScope): Pick<Verdict, 'status' | 'findings'> {
  const findings: Finding[] = [];
  if (c.sizeMismatch > 0) findings.push({ level: 'error', check: 'inventory-size', message: `${c.sizeMismatch} objects differ in size from their manifest or ledger entry` });
  if (scope === 'verify' && c.missing > 0) findings.push({ level: 'error', check: 'inventory-missing', message: `${c.missing} files listed in a manifest are not in S3` });
  if (c.loadedDeleted > 0) findings.push({ level: 'warning', check: 'inventory-loaded-gone', message: `${c.loadedDeleted} loaded files are no longer in S3` });
  const extra = c.unexpectedBeforeManifest ?? 0;
  if (scope === 'verify' && extra > 0) findings.push({ level: 'error', check: 'inventory-extra', message: `${extra} objects under the prefix are in no manifest although manifests were written over an hour after them (extra files): remove them, or list them in a manifest` });
  if (scope === 'verify' && c.unexpected > extra) findings.push({ level: 'warning', check: 'inventory-unexpected', message: `${c.unexpected - extra} objects under the prefix are in no manifest yet` });
  if (scope === 'verify' && c.notLoaded > 0) findings.push({ level: 'warning', check: 'inventory-not-loaded', message: `${c.notLoaded} data files are not loaded yet` });
  return verdictOf(findings);
}

/**
 * Judges a checksum sample. Errors: a mismatch (both scopes), a sampled object gone before its
 * check (`verify`; in `sync` a file deleted while the run starts is left to the next run).
 * Warning: an object nothing could prove (`unverifiable`), which is never counted as a match.
 */
export function judgeChecksums(c: ChecksumCounts, scope: VerificationScope): Pick<Verdict, 'status' | 'findings'> {
  const findings: Finding[] = [];
  if (c.mismatch > 0) findings.push({ level: 'error', check: 'checksum-mismatch', message: `${c.mismatch} sampled objects differ from their expected checksum or size` });
  if (scope === 'verify' && c.missing > 0) findings.push({ level: 'error', check: 'checksum-missing', message: `${c.missing} sampled objects disappeared before their check` });
  if (c.unverifiable > 0) findings.push({ level: 'warning', check: 'checksum-unverifiable', message: `${c.unverifiable} sampled objects have no expected checksum to compare with` });
  return verdictOf(findings);
}

/**
 * Thrown in `sync` scope, after the report is stored, when an object's size or checksum
 * contradicts its manifest: nothing of the run is loaded until the file is uploaded again.
 */
export class IntegrityCheckFailedError extends TerminalError {
  override readonly name = 'IntegrityCheckFailedError';
}
