/**
 * `syncproof verify-local` decisions, pure (no I/O): how local relative paths map to S3 keys, which
 * file type a path is, the byte-variance thresholds per type, the streamed diff of a local listing
 * against an S3 listing, the status rules and the human summary.
 *
 * Memory: the local side is one `Map<relative path, number>`; the S3 side is streamed against it
 * (one object at a time) and never held. Every per-category list is capped (`CappedList`) and
 * keeps its total count, so a prefix of 100,000 objects costs the map, not the lists.
 */
import { InvalidInputError } from './errors';

/** Variance thresholds are set per file type. */
export type FileType = 'compressed' | 'uncompressed' | 'text';

/** The file types, in report order. */
export const FILE_TYPES: readonly FileType[] = ['compressed', 'uncompressed', 'text'];

/** Extensions (lowercase, with the dot) of compressed formats: their sizes vary with the encoder. */
export const COMPRESSED_EXTENSIONS: readonly string[] = ['.parquet', '.gz', '.gzip', '.zst', '.snappy', '.orc', '.avro', '.zip', '.bz2', '.xz', '.lz4', '.br', '.7z'];

/** Extensions (lowercase, with the dot) of text formats; any other file is uncompressed binary. */
export const TEXT_EXTENSIONS: readonly string[] = ['.csv', '.tsv', '.json', '.jsonl', '.ndjson', '.txt', '.xml', '.md', '.sql'];

/**
 * The type of a file from its last extension (`a.csv.gz` is compressed), case-insensitive.
 * Files without a known extension are uncompressed binary.
 */
export function classifyFile(relativePath: string): FileType {
  const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'uncompressed';
  const ext = name.slice(dot).toLowerCase();
  if (COMPRESSED_EXTENSIONS.includes(ext)) return 'compressed';
  if (TEXT_EXTENSIONS.includes(ext)) return 'text';
  return 'uncompressed';
}

/**
 * Byte-variance marks of one file type, in percent, for the per-type summary: a variance above
 * `warnPercent` is labelled `warn`, above `failPercent` `fail`. They label the summary only; the
 * verdict comes from the files themselves. Invariant: 0 ≤ warnPercent ≤ failPercent.
 */
export interface Threshold {
  readonly warnPercent: number;
  readonly failPercent: number;
}

export type Thresholds = Readonly<Record<FileType, Threshold>>;

/**
 * Defaults: compressed formats warn above 1% and fail above 2% (re-encoding changes sizes a
 * little); uncompressed binary warns above 0.25%, fails above 0.5%; text warns above 0.05%,
 * fails above 0.1%.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  compressed: { warnPercent: 1, failPercent: 2 },
  uncompressed: { warnPercent: 0.25, failPercent: 0.5 },
  text: { warnPercent: 0.05, failPercent: 0.1 },
};

/**
 * Parses a `--threshold-*` value: `F` (fail above F%, warn above F/2 %) or `W,F` (warn above W%,
 * fail above F%). A trailing `%` is accepted. InvalidInputError naming the option otherwise.
 */
export function parseThreshold(text: string, option: string): Threshold {
  const parts = text.split(',').map((p) => p.trim().replace(/%$/, ''));
  const numbers = parts.map((p) => (/^\d+(\.\d+)?$/.test(p) ? Number(p) : NaN));
  const bad = (why: string) =>
    new InvalidInputError(`${option} '${text}' ${why}; give a percentage such as '0.5' (warn above half of it) or 'WARN,FAIL' such as '1,2'`);
  if (numbers.some((n) => !Number.isFinite(n)) || numbers.length > 2) throw bad('is not a percentage');
  if (numbers.some((n) => n > 100)) throw bad('is above 100%');
  if (numbers.length === 1) return { warnPercent: numbers[0]! / 2, failPercent: numbers[0]! };
  if (numbers[0]! > numbers[1]!) throw bad('has WARN above FAIL');
  return { warnPercent: numbers[0]!, failPercent: numbers[1]! };
}

/** Bucket and key prefix of a verify-local target; the prefix is empty or ends with '/'. */
export interface S3Target {
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * Parses `s3://BUCKET`, `s3://BUCKET/` or `s3://BUCKET/PREFIX`. A prefix names a folder: `/` is
 * appended when missing, so `s3://b/data` compares with keys under `data/` and never `data2/…`.
 */
export function parseS3Target(uri: string): S3Target {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  const bucket = m?.[1];
  if (!m || !bucket || !/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(bucket)) {
    throw new InvalidInputError(`'${uri}' is not an s3://BUCKET/PREFIX URI; give the bucket and folder, e.g. s3://my-bucket/data/`);
  }
  const raw = m[2] ?? '';
  if (raw.startsWith('/')) throw new InvalidInputError(`'${uri}' has an empty path segment after the bucket; remove the extra '/'`);
  return { bucket, prefix: raw === '' || raw.endsWith('/') ? raw : `${raw}/` };
}

/** The S3 key of a local relative path ('/'-separated) under the prefix: plain concatenation, no encoding. */
export function keyFor(prefix: string, relativePath: string): string {
  return prefix + relativePath;
}

/** The local relative path of a listed key (keys come decoded from the SDK), or undefined outside the prefix. */
export function relativePathOf(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rel = key.slice(prefix.length);
  return rel === '' ? undefined : rel;
}

/** A 0-byte key ending in '/' is a folder marker (console "Create folder"): not a file. */
export function isFolderMarker(key: string, size: number): boolean {
  return size === 0 && key.endsWith('/');
}

/**
 * Byte variance in percent: |s3 − local| / local × 100. 0 when both are 0; `null` when local is 0
 * and S3 is not (undefined ratio: treated as above every threshold).
 */
export function variancePercent(localBytes: number, s3Bytes: number): number | null {
  if (localBytes === 0) return s3Bytes === 0 ? 0 : null;
  return (Math.abs(s3Bytes - localBytes) / localBytes) * 100;
}

/** A list that keeps its first `cap` items and counts all of them. */
export class CappedList<T> {
  readonly items: T[] = [];
  total = 0;

  constructor(readonly cap: number) {}

  add(item: T): void {
    this.total += 1;
    if (this.items.length < this.cap) this.items.push(item);
  }

  toJSON(): { count: number; items: T[]; truncated: boolean } {
    return { count: this.total, items: this.items, truncated: this.total > this.items.length };
  }
}

/** A file present on one side only. */
export interface OneSidedFile {
  readonly path: string;
  readonly size: number;
}

/** A file present on both sides with different sizes: a finding (the verdict is FAILED). */
export interface SizeMismatch {
  /** The local relative path. */
  readonly path: string;
  /** The S3 key it was compared with. */
  readonly key: string;
  readonly type: FileType;
  readonly localSize: number;
  readonly s3Size: number;
  readonly variancePercent: number | null;
}

/** Why a local path was not compared: unreadable, a symlink loop, not a regular file. */
export interface PathIssue {
  readonly path: string;
  readonly kind: 'unreadable' | 'symlink-loop' | 'not-a-file';
  /** errno code (EACCES, ENOENT, ELOOP, …) or a short tag. */
  readonly code: string;
  readonly message: string;
}

/** Files and bytes of one side. */
export interface SideTotals {
  files: number;
  bytes: number;
}

/** Per-type byte totals over files present on both sides. */
export interface TypeTotals {
  files: number;
  localBytes: number;
  s3Bytes: number;
  /** Σ |s3 size − local size| over the type's files. */
  absoluteDifference: number;
}

/**
 * Per-type variance against the thresholds: a summary of how far sizes drift, never the verdict
 * (every file whose size differs is a finding of its own).
 */
export interface TypeVariance extends TypeTotals {
  readonly type: FileType;
  /** Σ|Δ| / Σ local bytes × 100; null when the local bytes are 0 and some differ. */
  readonly variancePercent: number | null;
  readonly threshold: Threshold;
  readonly verdict: 'ok' | 'warn' | 'fail';
}

const MATCHED = -1;

/**
 * The streamed diff. Feed every local file (`addLocal`), then every S3 object (`addS3`), then
 * `finish()`. Local entries live in a map (relative path → size; matched equal-size entries are
 * marked in place so the sample can be drawn from them); S3 objects are compared one by one and
 * dropped.
 */
export class SyncDiff {
  private readonly local = new Map<string, number>();
  /** Local paths that could not be compared: S3 objects at or under them are not called extra. */
  private readonly skipped: string[] = [];
  readonly localTotals: SideTotals = { files: 0, bytes: 0 };
  readonly s3Totals: SideTotals = { files: 0, bytes: 0 };
  readonly byType: Record<FileType, TypeTotals> = {
    compressed: { files: 0, localBytes: 0, s3Bytes: 0, absoluteDifference: 0 },
    uncompressed: { files: 0, localBytes: 0, s3Bytes: 0, absoluteDifference: 0 },
    text: { files: 0, localBytes: 0, s3Bytes: 0, absoluteDifference: 0 },
  };
  readonly missing: CappedList<OneSidedFile>;
  readonly extra: CappedList<OneSidedFile>;
  readonly sizeMismatch: CappedList<SizeMismatch>;
  readonly issues: CappedList<PathIssue>;
  /** S3 objects not compared because their local path is unreadable or in a loop. */
  readonly notCompared: CappedList<OneSidedFile>;
  folderMarkers = 0;
  matchedEqual = 0;
  private finished = false;

  constructor(readonly cap = 1000) {
    this.missing = new CappedList(cap);
    this.extra = new CappedList(cap);
    this.sizeMismatch = new CappedList(cap);
    this.issues = new CappedList(cap);
    this.notCompared = new CappedList(cap);
  }

  /** Records one local file (relative, '/'-separated). A path offered twice keeps the last size. */
  addLocal(path: string, size: number): void {
    if (!this.local.has(path)) {
      this.localTotals.files += 1;
      this.localTotals.bytes += size;
    }
    this.local.set(path, size);
  }

  /** Records a local path that could not be compared (a warning). */
  addIssue(issue: PathIssue): void {
    this.issues.add(issue);
    this.skipped.push(issue.path);
  }

  /**
   * Records one S3 object already mapped to its relative path (folder markers: `addFolderMarker`);
   * `key` is its S3 key (default: the path).
   */
  addS3(path: string, size: number, key = path): void {
    this.s3Totals.files += 1;
    this.s3Totals.bytes += size;
    const localSize = this.local.get(path);
    if (localSize === undefined || localSize < 0) {
      if (this.isSkipped(path)) this.notCompared.add({ path, size });
      else this.extra.add({ path, size });
      return;
    }
    const type = classifyFile(path);
    const t = this.byType[type];
    t.files += 1;
    t.localBytes += localSize;
    t.s3Bytes += size;
    if (localSize === size) {
      this.local.set(path, MATCHED - localSize);
      this.matchedEqual += 1;
    } else {
      t.absoluteDifference += Math.abs(size - localSize);
      this.sizeMismatch.add({ path, key, type, localSize, s3Size: size, variancePercent: variancePercent(localSize, size) });
      this.local.delete(path);
    }
  }

  /** Counts an ignored folder-marker object. */
  addFolderMarker(): void {
    this.folderMarkers += 1;
  }

  /** Closes the S3 side: every unmatched local file is missing from S3. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const [path, size] of this.local) if (size >= 0) this.missing.add({ path, size });
  }

  /** Local files present in S3 with the same size (the sampling population), with their sizes. */
  *matched(): Generator<{ readonly key: string; readonly size: number }> {
    for (const [path, value] of this.local) if (value < 0) yield { key: path, size: MATCHED - value };
  }

  /** Per-type variance against the thresholds (types with no files on both sides are left out). */
  variances(thresholds: Thresholds): TypeVariance[] {
    return FILE_TYPES.filter((type) => this.byType[type].files > 0).map((type) => {
      const t = this.byType[type];
      const v = t.absoluteDifference === 0 ? 0 : variancePercent(t.localBytes, t.localBytes + t.absoluteDifference);
      const threshold = thresholds[type];
      const verdict = v === null || v > threshold.failPercent ? 'fail' : v > threshold.warnPercent ? 'warn' : 'ok';
      return { type, ...t, variancePercent: v, threshold, verdict };
    });
  }

  private isSkipped(path: string): boolean {
    return this.skipped.some((s) => path === s || path.startsWith(`${s}/`));
  }
}

/** Outcome statuses (DESIGN.md §8). */
export type SyncStatus = 'PASSED' | 'PASSED_PARTIAL' | 'PASSED_WITH_WARNINGS' | 'FAILED';

/** CLI exit code of a status: 0 passed (also partial), 1 warnings, 2 failed. */
export function exitCodeOf(status: SyncStatus): 0 | 1 | 2 {
  return status === 'FAILED' ? 2 : status === 'PASSED_WITH_WARNINGS' ? 1 : 0;
}

/** Counts the status rules look at. */
export interface StatusInput {
  readonly missing: number;
  readonly extra: number;
  /** Files on both sides whose sizes differ (each a finding, whatever its type's variance). */
  readonly sizeMismatches: number;
  readonly issues: number;
  /** Was content sampling (--detailed) done? */
  readonly detailed: boolean;
  readonly checksumMismatches: number;
  /** Sampled objects gone from S3 between the listing and the check. */
  readonly sampleMissing: number;
  /** Sampled objects that could not be checked (read error, unverifiable, changed meanwhile). */
  readonly sampleUnchecked: number;
}

/** The decision and every reason behind it, one line each. */
export interface StatusDecision {
  readonly status: SyncStatus;
  readonly reasons: readonly string[];
}

/**
 * FAILED: a file missing from S3, an extra S3 object, a file whose size differs from its S3
 * object, a checksum mismatch, or a sampled object gone. PASSED_WITH_WARNINGS: a local path not
 * compared (unreadable, symlink loop, special file), a sampled object that could not be checked.
 * PASSED_PARTIAL: nothing wrong, but content not checked (no --detailed). PASSED otherwise. The
 * per-type size variance is a summary only: averaged over a type's bytes it hides a small file
 * replaced by a big one, so it never decides.
 */
export function decideStatus(input: StatusInput): StatusDecision {
  const failures: string[] = [];
  const warnings: string[] = [];
  if (input.missing > 0) failures.push(`${input.missing} local file(s) missing from S3`);
  if (input.extra > 0) failures.push(`${input.extra} S3 object(s) with no local file`);
  if (input.sizeMismatches > 0) failures.push(`${input.sizeMismatches} file(s) whose size differs from their S3 object`);
  if (input.checksumMismatches > 0) failures.push(`${input.checksumMismatches} sampled file(s) with different content`);
  if (input.sampleMissing > 0) failures.push(`${input.sampleMissing} sampled object(s) gone from S3 during the check`);
  if (input.issues > 0) warnings.push(`${input.issues} local path(s) not compared (unreadable, symlink loop or not a regular file)`);
  if (input.sampleUnchecked > 0) warnings.push(`${input.sampleUnchecked} sampled file(s) could not be checked`);
  if (failures.length > 0) return { status: 'FAILED', reasons: [...failures, ...warnings] };
  if (warnings.length > 0) return { status: 'PASSED_WITH_WARNINGS', reasons: warnings };
  if (!input.detailed) return { status: 'PASSED_PARTIAL', reasons: ['content not checked; use --detailed'] };
  return { status: 'PASSED', reasons: [] };
}

/** Bytes in decimal units with one decimal: `0 B`, `512 B`, `1.5 kB`, `531.2 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A variance for humans: `0.06%`, or `n/a` when undefined (nothing local, something in S3). */
export function formatVariance(percent: number | null): string {
  return percent === null ? 'n/a' : `${percent.toFixed(2)}%`;
}

/** The one-line verdict: `syncproof local ↔ S3: SYNCED — 96 files (531.2 MB) local, …`. */
export function summaryLine(status: SyncStatus, local: SideTotals, s3: SideTotals): string {
  const label = status === 'FAILED' ? 'NOT SYNCED' : status === 'PASSED_WITH_WARNINGS' ? 'SYNCED WITH WARNINGS' : 'SYNCED';
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  return (
    `syncproof local ↔ S3: ${label} — ${files(local.files)} (${formatBytes(local.bytes)}) local, ` +
    `${files(s3.files)} (${formatBytes(s3.bytes)}) S3, variance ${formatVariance(variancePercent(local.bytes, s3.bytes))}`
  );
}

/** `title (count):` then the first `limit` lines, then `… and N more` when there are more. */
export function formatSection<T>(title: string, list: { readonly total: number; readonly items: readonly T[] }, line: (item: T) => string, limit = 10): string[] {
  if (list.total === 0) return [];
  const out = [`${title} (${list.total}):`, ...list.items.slice(0, limit).map((item) => `  ${line(item)}`)];
  const shown = Math.min(limit, list.items.length);
  if (list.total > shown) out.push(`  … and ${list.total - shown} more (all counted; the first ${list.items.length} are in the --json report)`);
  return out;
}

/** The default sampling seed: the S3 URI and the local folder's name, so a re-run picks the same files. */
export function defaultSeed(s3Uri: string, dirName: string): string {
  return `${s3Uri}#${dirName}`;
}
