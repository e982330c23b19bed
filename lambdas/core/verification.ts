/** Verification verdicts (DESIGN.md §8) and the pure rules that produce them. */

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
  /** Rows the warehouse's audit table records for this file in this load; undefined if absent. */
  readonly auditRows: number | undefined;
}

export interface QuarantineEvidence {
  readonly key: string;
  readonly etag: string;
  readonly reason: string;
}

export interface LoadEvidence {
  readonly loadId: string;
  readonly files: readonly FileEvidence[];
  readonly quarantined: readonly QuarantineEvidence[];
  /** `syncproof_loads.rows` read back; undefined when the audit row is missing. */
  readonly auditTotalRows: number | undefined;
  readonly targetRows: number;
  /** Distinct keys in the target (upsert datasets); undefined for append. */
  readonly targetDistinctKeys: number | undefined;
}

export interface Finding {
  readonly level: 'error' | 'warning';
  readonly check: string;
  readonly message: string;
}

export interface Verdict {
  readonly status: VerificationStatus;
  readonly findings: readonly Finding[];
  readonly duplicateKeys: number;
}

/** Decides a load's verdict from evidence read back from the files and the warehouse. */
export function judgeLoad(e: LoadEvidence): Verdict {
  const findings: Finding[] = [];
  for (const f of e.files) {
    if (f.auditRows === undefined) {
      findings.push({ level: 'error', check: 'file-rows', message: `'${f.key}' has no audit row in load ${e.loadId}` });
    } else if (f.auditRows !== f.fileRows) {
      findings.push({
        level: 'error',
        check: 'file-rows',
        message: `'${f.key}': the file holds ${f.fileRows} rows, the warehouse loaded ${f.auditRows}`,
      });
    }
  }
  const fileTotal = e.files.reduce((s, f) => s + f.fileRows, 0);
  if (e.files.length > 0 && e.auditTotalRows === undefined) {
    findings.push({ level: 'error', check: 'audit', message: `load ${e.loadId} has no row in syncproof_loads` });
  } else if (e.auditTotalRows !== undefined && e.auditTotalRows !== fileTotal) {
    findings.push({
      level: 'error',
      check: 'audit',
      message: `load ${e.loadId}: files hold ${fileTotal} rows, syncproof_loads records ${e.auditTotalRows}`,
    });
  }
  const duplicateKeys = e.targetDistinctKeys === undefined ? 0 : e.targetRows - e.targetDistinctKeys;
  if (duplicateKeys > 0) {
    findings.push({
      level: 'error',
      check: 'duplicate-keys',
      message: `the target holds ${duplicateKeys} rows more than distinct keys (${e.targetRows} rows, ${e.targetDistinctKeys} keys)`,
    });
  }
  for (const q of e.quarantined) {
    findings.push({ level: 'warning', check: 'quarantine', message: `'${q.key}' quarantined: ${q.reason}` });
  }
  const status: VerificationStatus = findings.some((f) => f.level === 'error')
    ? 'FAILED'
    : findings.length > 0
      ? 'PASSED_WITH_WARNINGS'
      : 'PASSED';
  return { status, findings, duplicateKeys };
}
