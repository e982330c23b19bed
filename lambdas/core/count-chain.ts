/**
 * The row-count chain (DESIGN.md §8 tier 3): the rows of a dataset counted at every place they pass
 * through, and the pure rules that say at which hop the counts disagree. Gathered by
 * lambdas/verify/count-chain.ts; judged here.
 *
 * Nodes, in the order rows travel:
 * - `source` (database datasets): the source's rows now — behind the watermark (`windowRows`: every
 *   one of them was extracted and loaded by some run) and in total (`totalRows`);
 * - `manifests`: the rows the extraction (or a producer) wrote, as its manifests list them;
 * - `ledger` (file datasets): the rows the ledger recorded for its `loaded` object versions;
 * - `audit`: the rows the warehouse counted per loaded file, inside the load transaction
 *   (`syncproof_load_files`);
 * - `target`: the rows in the target table, its distinct keys, and (database datasets) its rows
 *   behind the watermark.
 *
 * Upsert datasets: a key read twice (an update, a lookback re-read) is in the manifests and the
 * audit once per version but in the target once, so the hops that end at the target compare
 * distinct keys and bounds, not equal row totals; append datasets compare equal totals.
 */
import type { VerificationStatus } from './verification';

/** One place the rows were counted. */
export interface ChainNode {
  readonly name: 'source' | 'manifests' | 'ledger' | 'audit' | 'target';
  /** Rows counted there (for the target: every row; for the source: every row in scope). */
  readonly rows: number;
  /** Object versions counted (manifests, ledger, audit). */
  readonly files?: number;
  /** Source and target: rows behind the watermark (cursor before its position, and at or after `--since`). */
  readonly windowRows?: number;
  /** Target: distinct keys (upsert datasets). */
  readonly distinctKeys?: number;
}

/** A file whose rows differ between two nodes (the first ones are kept in the report). */
export interface FileCountMismatch {
  readonly key: string;
  readonly etag?: string;
  readonly expected: number | null;
  readonly actual: number | null;
}

/** One hop between two nodes: what it proves, the numbers on both sides, and its verdict. */
export interface ChainHop {
  /** `audit → target`. */
  readonly name: string;
  readonly status: 'PASSED' | 'PASSED_WITH_WARNINGS' | 'FAILED';
  /** The numbers on each side, for the one-line summary. */
  readonly fromRows: number;
  readonly toRows: number;
  /** What the hop proves when it passes (one sentence). */
  readonly proves: string;
  /** Why it failed or warned, one sentence each, naming the hop and its numbers. */
  readonly problems: readonly string[];
  readonly files?: readonly FileCountMismatch[];
}

/** Counts of one database dataset, everything the judge needs. */
export interface DatabaseCounts {
  readonly loadMode: 'upsert' | 'append';
  /** Source rows behind the watermark (undefined: no watermark yet). */
  readonly sourceWindowRows: number | undefined;
  readonly sourceTotalRows: number;
  readonly manifestRows: number;
  readonly manifestFiles: number;
  readonly auditRows: number;
  readonly auditFiles: number;
  /** Manifest files whose rows differ from the audit's, or which no committed load audited. */
  readonly manifestAuditMismatches: readonly FileCountMismatch[];
  readonly targetRows: number;
  readonly targetDistinctKeys: number;
  /** Target rows behind the watermark (undefined with the source's). */
  readonly targetWindowRows: number | undefined;
}

/** Counts of one file dataset. */
export interface FileCounts {
  readonly loadMode: 'upsert' | 'append';
  /** Undefined: the dataset has no manifests (or they state no rows). */
  readonly manifestRows: number | undefined;
  readonly manifestFiles: number;
  /** Manifest files whose rows differ from the ledger's for the loaded version of that key. */
  readonly manifestLedgerMismatches: readonly FileCountMismatch[];
  readonly ledgerRows: number;
  readonly ledgerFiles: number;
  /** Loaded ledger entries whose rows differ from the audit's, or which no committed load audited (I3). */
  readonly ledgerAuditMismatches: readonly FileCountMismatch[];
  readonly auditRows: number;
  readonly auditFiles: number;
  readonly targetRows: number;
  readonly targetDistinctKeys: number;
}

/** Most mismatching files a hop keeps in the report (the count says how many there were). */
export const MAX_FILES_PER_HOP = 100;

const n = (x: number) => x.toLocaleString('en-US');

function hop(name: string, fromRows: number, toRows: number, proves: string, problems: string[], files?: readonly FileCountMismatch[], warn = false): ChainHop {
  const status = problems.length > 0 ? (warn ? 'PASSED_WITH_WARNINGS' : 'FAILED') : 'PASSED';
  return { name, status, fromRows, toRows, proves, problems, ...(files && files.length > 0 ? { files: files.slice(0, MAX_FILES_PER_HOP) } : {}) };
}

function fileProblem(hopName: string, what: [string, string], files: readonly FileCountMismatch[]): string[] {
  if (files.length === 0) return [];
  const first = files[0]!;
  const side = (v: number | null) => (v === null ? 'none' : n(v));
  return [
    `${hopName}: ${n(files.length)} files differ, first '${first.key}': ${side(first.expected)} ${what[0]}, ${side(first.actual)} ${what[1]}`,
  ];
}

/**
 * `audit → target`. Append: the target holds exactly the audited rows. Upsert: each key once
 * (rows = distinct keys), and no more keys than rows were audited (every key came from a loaded
 * file); with `windowRows`, at least as many target rows behind the watermark as the source has
 * there (every one of those source rows was loaded under its key, and a row updated since keeps
 * its older version in the target until the next run).
 */
function auditToTarget(loadMode: 'upsert' | 'append', auditRows: number, t: { rows: number; keys: number; window?: number }, sourceWindow: number | undefined): ChainHop {
  const name = 'audit → target';
  if (loadMode === 'append') {
    return hop(name, auditRows, t.rows, 'the target holds exactly the rows its committed loads counted', t.rows === auditRows ? [] : [`${name}: ${n(auditRows)} audited, ${n(t.rows)} in the target`]);
  }
  const problems: string[] = [];
  if (t.rows !== t.keys) problems.push(`${name}: the target holds ${n(t.rows)} rows but ${n(t.keys)} distinct keys (duplicate keys)`);
  if (t.keys > auditRows) problems.push(`${name}: ${n(auditRows)} audited, ${n(t.keys)} keys in the target (rows written by something else)`);
  if (sourceWindow !== undefined && t.window !== undefined && t.window < sourceWindow) {
    problems.push(`${name}: ${n(sourceWindow)} source rows behind the watermark, ${n(t.window)} in the target (rows removed from the target, or committed late at the source)`);
  }
  return hop(
    name,
    auditRows,
    t.keys,
    'every key the loads wrote is in the target once: no duplicate key, no key from elsewhere, none of the source rows behind the watermark missing',
    problems,
  );
}

/** The chain's verdict: the worst hop. */
export function chainStatus(hops: readonly ChainHop[]): VerificationStatus {
  return hops.some((h) => h.status === 'FAILED') ? 'FAILED' : hops.some((h) => h.status === 'PASSED_WITH_WARNINGS') ? 'PASSED_WITH_WARNINGS' : 'PASSED';
}

/**
 * Judges a database dataset: `source → manifests` (every source row behind the watermark was
 * extracted at least once: the manifests hold at least that many rows; more where updates and
 * lookback re-read a key), `manifests → audit` (each manifest file was loaded by one committed
 * load that counted exactly its rows), `audit → target` (above), and `source → target` (the
 * target holds no more keys than the source has rows: a key deleted at the source, or written by
 * something else, makes it hold more; a delete offset by a new row is beyond counts, the content
 * tier finds it).
 */
export function judgeDatabaseChain(c: DatabaseCounts): { nodes: ChainNode[]; hops: ChainHop[] } {
  const nodes: ChainNode[] = [
    { name: 'source', rows: c.sourceTotalRows, ...(c.sourceWindowRows !== undefined ? { windowRows: c.sourceWindowRows } : {}) },
    { name: 'manifests', rows: c.manifestRows, files: c.manifestFiles },
    { name: 'audit', rows: c.auditRows, files: c.auditFiles },
    { name: 'target', rows: c.targetRows, distinctKeys: c.targetDistinctKeys, ...(c.targetWindowRows !== undefined ? { windowRows: c.targetWindowRows } : {}) },
  ];
  const sm = 'source → manifests';
  const window = c.sourceWindowRows ?? 0;
  const hops = [
    hop(sm, window, c.manifestRows, 'every source row behind the watermark was extracted into a manifested file', window > c.manifestRows ? [`${sm}: ${n(window)} source rows behind the watermark, ${n(c.manifestRows)} in the manifests`] : []),
    manifestsToAudit(c.manifestRows, c.auditRows, c.manifestAuditMismatches),
    auditToTarget(c.loadMode, c.auditRows, { rows: c.targetRows, keys: c.targetDistinctKeys, window: c.targetWindowRows }, c.sourceWindowRows),
    hop(
      'source → target',
      c.sourceTotalRows,
      c.targetDistinctKeys,
      'the target holds no key the source no longer has (as far as counts tell)',
      c.targetDistinctKeys > c.sourceTotalRows
        ? [`source → target: ${n(c.sourceTotalRows)} rows in the source, ${n(c.targetDistinctKeys)} keys in the target (rows deleted at the source, or written to the target by something else)`]
        : [],
    ),
  ];
  return { nodes, hops };
}

function manifestsToAudit(manifestRows: number, auditRows: number, files: readonly FileCountMismatch[]): ChainHop {
  const name = 'manifests → audit';
  const problems = [...fileProblem(name, ['in the manifest', 'audited'], files)];
  if (problems.length === 0 && manifestRows !== auditRows) problems.push(`${name}: ${n(manifestRows)} in the manifests, ${n(auditRows)} audited`);
  return hop(name, manifestRows, auditRows, 'every manifested file was loaded by one committed load that counted exactly its rows', problems, files);
}

/**
 * Judges a file dataset: `manifests → ledger` (where manifests state rows: each loaded file holds
 * the rows its manifest says), `ledger → audit` (each loaded ledger entry has a committed audit
 * row with the same rows, I3), `audit → target` (above; no source, so no window bound).
 */
export function judgeFileChain(c: FileCounts): { nodes: ChainNode[]; hops: ChainHop[] } {
  const nodes: ChainNode[] = [
    ...(c.manifestRows !== undefined ? [{ name: 'manifests' as const, rows: c.manifestRows, files: c.manifestFiles }] : []),
    { name: 'ledger', rows: c.ledgerRows, files: c.ledgerFiles },
    { name: 'audit', rows: c.auditRows, files: c.auditFiles },
    { name: 'target', rows: c.targetRows, distinctKeys: c.targetDistinctKeys },
  ];
  const hops: ChainHop[] = [];
  if (c.manifestRows !== undefined) {
    const ml = 'manifests → ledger';
    hops.push(hop(ml, c.manifestRows, c.ledgerRows, 'each loaded file holds the rows its manifest states', fileProblem(ml, ['in the manifest', 'loaded'], c.manifestLedgerMismatches), c.manifestLedgerMismatches));
  }
  const la = 'ledger → audit';
  const laProblems = fileProblem(la, ['in the ledger', 'audited'], c.ledgerAuditMismatches);
  if (laProblems.length === 0 && c.ledgerRows !== c.auditRows) laProblems.push(`${la}: ${n(c.ledgerRows)} in the ledger, ${n(c.auditRows)} audited`);
  hops.push(hop(la, c.ledgerRows, c.auditRows, 'every loaded ledger entry is held by a committed load that counted the same rows (I3)', laProblems, c.ledgerAuditMismatches));
  hops.push(auditToTarget(c.loadMode, c.auditRows, { rows: c.targetRows, keys: c.targetDistinctKeys }, undefined));
  return { nodes, hops };
}

/** One line per hop: `audit → target: PASSED (1,000 → 1,000)` or its first problem. */
export function hopLine(h: ChainHop): string {
  return h.problems.length > 0 ? `${h.status} ${h.problems.join('; ')}` : `${h.status} ${h.name}: ${n(h.fromRows)} → ${n(h.toRows)}`;
}
