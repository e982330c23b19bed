import { Command, InvalidArgumentError, Option } from 'commander';
import { stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { paginateListObjectsV2, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import picomatch from 'picomatch';
import { createS3Client } from '../lambdas/adapters/clients';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { digestFile } from '../lambdas/core/checksums';
import { checkFileMultipartEtag } from '../lambdas/core/multipart-etag';
import { verifyObjectIntegrity, type IntegrityVerdict } from '../lambdas/core/integrity';
import {
  DEFAULT_THRESHOLDS,
  SyncDiff,
  decideStatus,
  defaultSeed,
  exitCodeOf,
  formatBytes,
  formatSection,
  formatVariance,
  isFolderMarker,
  keyFor,
  parseS3Target,
  parseThreshold,
  relativePathOf,
  summaryLine,
  variancePercent,
  type S3Target,
  type SyncStatus,
  type Threshold,
  type Thresholds,
  type TypeVariance,
} from '../lambdas/core/local-sync';
import { DEFAULT_SAMPLE, SeededSampler, parseSampleSpec, sampleSize, type SampleSpec } from '../lambdas/core/sampling';
import { CliError } from './errors';
import { maskUrl } from '../lambdas/core/connection-url';
import { walkLocalFiles } from './local-files';
import type { CommandOutcome } from './program';
import { positiveInt } from './program';

/** What `verifyLocal` compares and how. */
export interface VerifyLocalOptions {
  readonly dir: string;
  readonly s3Uri: string;
  /** Checksum-sample files present on both sides with equal sizes (a size difference is a finding already). */
  readonly detailed: boolean;
  readonly sample: SampleSpec;
  /** Sampling seed; default: the S3 URI and the folder's name (printed and reported). */
  readonly seed?: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly thresholds: Thresholds;
  /** Sampled files verified at once. */
  readonly concurrency: number;
  /** S3-compatible endpoint (emulator): path-style addressing and emulator checksum settings. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Default: the SDK's credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Items kept per report category (counts are always complete). Default 1000. */
  readonly cap?: number;
  /** Called with one progress line now and then (the CLI shows it on a TTY only). */
  readonly progress?: (line: string) => void;
}

/** The CLI's defaults, for callers of verifyLocal that set only the folder, the URI and the endpoint. */
export const VERIFY_LOCAL_DEFAULTS = {
  detailed: false,
  sample: DEFAULT_SAMPLE,
  include: [],
  exclude: [],
  thresholds: DEFAULT_THRESHOLDS,
  concurrency: 8,
} as const satisfies Partial<VerifyLocalOptions>;

/** One sampled file's verdict. */
export interface SampleItem {
  readonly path: string;
  readonly key: string;
  readonly status: IntegrityVerdict['status'] | 'error';
  readonly evidence: IntegrityVerdict['evidence'];
  readonly algorithm?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly bytesDownloaded: number;
  readonly detail: string;
}

/** The full `--json` report. */
export interface VerifyLocalReport {
  readonly command: 'verify-local';
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The options as run (no credentials), with the parsed bucket and prefix and the seed used. */
  readonly settings: Pick<VerifyLocalOptions, 'dir' | 's3Uri' | 'detailed' | 'sample' | 'include' | 'exclude' | 'thresholds' | 'concurrency' | 'endpoint' | 'region'> & {
    readonly bucket: string;
    readonly prefix: string;
    readonly seed: string;
  };
  readonly totals: {
    readonly local: { files: number; bytes: number };
    readonly s3: { files: number; bytes: number };
    readonly variancePercent: number | null;
    readonly folderMarkersIgnored: number;
    readonly excluded: { local: number; s3: number };
    readonly matchedEqualSize: number;
  };
  readonly byType: readonly TypeVariance[];
  readonly categories: {
    readonly missing: unknown;
    readonly extra: unknown;
    readonly sizeMismatch: unknown;
    readonly warnings: unknown;
    readonly notCompared: unknown;
    readonly checksumMismatch: { count: number; items: SampleItem[] };
  };
  readonly sample?: {
    readonly seed: string;
    readonly population: number;
    readonly size: number;
    readonly items: readonly SampleItem[];
    readonly counts: Record<string, number>;
    readonly bytesDownloaded: number;
  };
  readonly status: SyncStatus;
  readonly reasons: readonly string[];
  readonly exitCode: 0 | 1 | 2;
  /** Capped lists, kept for the human summary (not in the JSON file). */
  readonly diff: SyncDiff;
}

/** Runs `tasks` with at most `limit` at a time, results in input order. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One line naming what went wrong with S3 and what to do; never the credentials. */
export function describeS3Failure(error: unknown, target: S3Target, endpoint: string | undefined): string {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const where = `s3://${target.bucket}/${target.prefix}`;
  const code = e.code ?? e.cause?.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(code) || e.name === 'TimeoutError') {
    return `cannot reach the S3 endpoint ${endpoint ? maskUrl(endpoint) : '(AWS default)'} (${code || e.name}); check --endpoint-url and that the service is running`;
  }
  if (e.name === 'NoSuchBucket') return `bucket '${target.bucket}' does not exist at ${endpoint ? maskUrl(endpoint) : 'AWS'}; check the bucket name (and --endpoint-url / --region)`;
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '') && !status) {
    return 'no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE';
  }
  if (e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
    return `S3 rejected the credentials (${e.name}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE`;
  }
  if (e.name === 'AccessDenied' || status === 403) return `access denied listing ${where}; the credentials need s3:ListBucket and s3:GetObject on the bucket`;
  if (/region is missing/i.test(e.message ?? '')) return 'no AWS region; pass --region or set AWS_REGION';
  if (e.name === 'PermanentRedirect' || status === 301) return `bucket '${target.bucket}' is in another region; pass its --region`;
  return `listing ${where} failed: ${e.name ?? 'Error'}${e.message ? `: ${e.message.split('\n')[0]}` : ''}`;
}

function matcher(include: readonly string[], exclude: readonly string[]): (path: string) => boolean {
  const inc = include.length > 0 ? picomatch([...include], { dot: true }) : undefined;
  const exc = exclude.length > 0 ? picomatch([...exclude], { dot: true }) : undefined;
  return (path) => (inc === undefined || inc(path)) && (exc === undefined || !exc(path));
}

async function verifySample(
  objects: S3ObjectStore,
  root: string,
  target: S3Target,
  picks: readonly { key: string; size: number }[],
  listedEtags: ReadonlyMap<string, string>,
  concurrency: number,
  onDone: () => void,
): Promise<SampleItem[]> {
  return pool(picks, concurrency, async ({ key: path, size }) => {
    const key = keyFor(target.prefix, path);
    try {
      const file = join(root, path);
      const v = await verifyObjectIntegrity(
        objects,
        key,
        {
          size,
          compute: (options) => digestFile(file, options, size),
          checkMultipartEtag: (etag, candidates) => checkFileMultipartEtag(file, size, etag, { candidates }),
        },
        { etag: listedEtags.get(key) },
      );
      return { path, key, status: v.status, evidence: v.evidence, algorithm: v.algorithm, expected: v.expected, actual: v.actual, bytesDownloaded: v.bytesDownloaded, detail: v.detail };
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      const what = e.name === 'ObjectChangedError' ? 'the S3 object changed during the check; run again' : `${e.code ?? e.name ?? 'Error'}: ${e.message ?? String(error)}`;
      return { path, key, status: 'error' as const, evidence: 'none' as const, bytesDownloaded: 0, detail: `${path}: could not check: ${what}` };
    } finally {
      onDone();
    }
  });
}

/**
 * Starts listing at once and keeps at most `depth` pages ahead (bounded memory: depth × 1,000
 * objects), so the first pages arrive while the folder is still being walked. A failure is kept
 * and rethrown when that page is consumed.
 */
function prefetchListing(client: S3Client, target: S3Target, depth: number): AsyncIterator<ListObjectsV2CommandOutput> & { readonly failed: boolean } {
  const pages = paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: target.bucket, Prefix: target.prefix });
  const it = pages[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<ListObjectsV2CommandOutput>>[] = [];
  let done = false;
  let failed = false;
  const fill = () => {
    while (!done && queue.length < depth) {
      const next = it.next();
      next.then(
        (r) => (done ||= r.done === true),
        () => (done = failed = true),
      );
      queue.push(next);
    }
  };
  fill();
  return {
    get failed() {
      return failed;
    },
    next: async () => {
      const head = queue.shift();
      const result = head ? await head : ({ done: true, value: undefined } as const);
      fill();
      return result;
    },
  };
}

async function listS3(
  pages: AsyncIterator<ListObjectsV2CommandOutput>,
  target: S3Target,
  endpoint: string | undefined,
  each: (key: string, size: number, etag: string | undefined) => void,
): Promise<void> {
  try {
    for (;;) {
      const page = await pages.next();
      if (page.done) return;
      for (const o of page.value.Contents ?? []) if (o.Key !== undefined) each(o.Key, o.Size ?? 0, o.ETag);
    }
  } catch (error) {
    throw new CliError(describeS3Failure(error, target, endpoint));
  }
}

/**
 * Compares a local folder with an S3 prefix: walk (local map), stream the listing against it
 * (every file missing, extra or of another size is a finding), summarize the size variance per
 * type, and with `detailed` verify a seeded sample of the equal-size files' content. Throws CliError (exit 3) for bad input and unreachable / missing S3.
 */
export async function verifyLocal(options: VerifyLocalOptions): Promise<VerifyLocalReport> {
  const startedAt = new Date().toISOString();
  let target: S3Target;
  try {
    target = parseS3Target(options.s3Uri);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const root = resolve(options.dir);
  try {
    const s = await stat(root);
    if (!s.isDirectory()) throw new CliError(`'${options.dir}' is not a directory; give the local folder to compare`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: string }).code ?? 'error';
    throw new CliError(code === 'ENOENT' ? `directory '${options.dir}' does not exist; give the local folder to compare` : `cannot open directory '${options.dir}' (${code})`);
  }
  if (options.endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(options.endpoint)) {
    throw new CliError(`--endpoint-url must be an http(s):// URL, got '${maskUrl(options.endpoint)}'`);
  }
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (options.endpoint ? 'us-east-1' : undefined);
  const client = createS3Client({ s3: options.endpoint, region, credentials: options.credentials ? { ...options.credentials } : undefined });
  const seed = options.seed ?? defaultSeed(options.s3Uri, basename(root));
  const keep = matcher(options.include, options.exclude);
  const progress = options.progress ?? (() => undefined);
  try {
    // The listing starts now; a failure (bucket, credentials, endpoint) stops the walk early.
    const pages = prefetchListing(client, target, 2);
    const diff = new SyncDiff(options.cap ?? 1000);
    const unreadable = new Set<string>();
    const excluded = { local: 0, s3: 0 };
    let walked = 0;
    for await (const file of walkLocalFiles(root, { onIssue: (issue) => diff.addIssue(issue) })) {
      if (!keep(file.path)) {
        excluded.local += 1;
        continue;
      }
      if (pages.failed) break;
      diff.addLocal(file.path, file.size);
      if (!file.readable) unreadable.add(file.path);
      if (++walked % 1000 === 0) progress(`walked ${walked} files`);
    }
    let listed = 0;
    // With --detailed, the listing's ETags let a sampled file match without a HEAD per object.
    const listedEtags = new Map<string, string>();
    await listS3(pages, target, options.endpoint, (key, size, etag) => {
      if (options.detailed && etag !== undefined) listedEtags.set(key, etag);
      if (++listed % 1000 === 0) progress(`walked ${walked} files, listed ${listed} objects`);
      const path = relativePathOf(target.prefix, key);
      if (path === undefined) return;
      if (isFolderMarker(key, size)) return diff.addFolderMarker();
      if (!keep(path)) {
        excluded.s3 += 1;
        return;
      }
      diff.addS3(path, size, key);
    });
    diff.finish();

    let sample: VerifyLocalReport['sample'];
    if (options.detailed) {
      let population = 0;
      for (const m of diff.matched()) if (!unreadable.has(m.key)) population += 1;
      const size = sampleSize(options.sample, population);
      const sampler = new SeededSampler<{ key: string; size: number }>(seed, size);
      for (const m of diff.matched()) if (!unreadable.has(m.key)) sampler.offer(m);
      let checked = 0;
      const items = await verifySample(new S3ObjectStore(client, target.bucket), root, target, sampler.result(), listedEtags, options.concurrency, () =>
        progress(`walked ${walked} files, listed ${listed} objects, checked ${++checked}/${size}`),
      );
      const counts: Record<string, number> = { match: 0, mismatch: 0, missing: 0, unverifiable: 0, error: 0 };
      for (const item of items) counts[item.status] = (counts[item.status] ?? 0) + 1;
      sample = { seed, population, size, items, counts, bytesDownloaded: items.reduce((n, i) => n + i.bytesDownloaded, 0) };
    }

    const byType = diff.variances(options.thresholds);
    const mismatches = sample?.items.filter((i) => i.status === 'mismatch') ?? [];
    const decision = decideStatus({
      missing: diff.missing.total,
      extra: diff.extra.total,
      sizeMismatches: diff.sizeMismatch.total,
      issues: diff.issues.total,
      detailed: options.detailed,
      checksumMismatches: mismatches.length,
      sampleMissing: sample?.counts.missing ?? 0,
      sampleUnchecked: (sample?.counts.unverifiable ?? 0) + (sample?.counts.error ?? 0),
    });
    return {
      command: 'verify-local',
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        dir: root,
        s3Uri: options.s3Uri,
        bucket: target.bucket,
        prefix: target.prefix,
        detailed: options.detailed,
        sample: options.sample,
        seed,
        include: options.include,
        exclude: options.exclude,
        thresholds: options.thresholds,
        concurrency: options.concurrency,
        endpoint: options.endpoint ? maskUrl(options.endpoint) : undefined,
        region,
      },
      totals: {
        local: { ...diff.localTotals },
        s3: { ...diff.s3Totals },
        variancePercent: variancePercent(diff.localTotals.bytes, diff.s3Totals.bytes),
        folderMarkersIgnored: diff.folderMarkers,
        excluded,
        matchedEqualSize: diff.matchedEqual,
      },
      byType,
      categories: {
        missing: diff.missing.toJSON(),
        extra: diff.extra.toJSON(),
        sizeMismatch: diff.sizeMismatch.toJSON(),
        warnings: diff.issues.toJSON(),
        notCompared: diff.notCompared.toJSON(),
        checksumMismatch: { count: mismatches.length, items: mismatches },
      },
      sample,
      status: decision.status,
      reasons: decision.reasons,
      exitCode: exitCodeOf(decision.status),
      diff,
    };
  } finally {
    client.destroy();
  }
}

/** The report as written by `--json` (the in-memory diff left out). */
export function reportJson(report: VerifyLocalReport): string {
  const { diff: _diff, ...rest } = report;
  return `${JSON.stringify(rest, null, 2)}\n`;
}

function thresholdLine(t: Threshold): string {
  return `warn > ${t.warnPercent}%, fail > ${t.failPercent}%`;
}

/** The human summary: verdict line, short lists (first 10 of each), content check, status. */
export function formatVerifyLocal(report: VerifyLocalReport): string {
  const d = report.diff;
  const lines = [summaryLine(report.status, report.totals.local, report.totals.s3)];
  const s3 = (key: string) => `s3://${report.settings.bucket}/${key}`;
  lines.push(...formatSection('missing from S3 (local only)', d.missing, (f) => `${f.path} (${formatBytes(f.size)})`));
  lines.push(...formatSection('extra in S3 (no local file)', d.extra, (f) => `${f.path} (${formatBytes(f.size)})`));
  lines.push(
    ...formatSection('size mismatches (each a finding)', d.sizeMismatch, (m) => `${m.path} ≠ ${s3(m.key)}: local ${m.localSize} B, S3 ${m.s3Size} B (${formatVariance(m.variancePercent)})`),
  );
  // The per-type variance summarizes how far sizes drift; the verdict comes from the files above.
  for (const t of report.byType) {
    if (t.verdict !== 'ok' || t.absoluteDifference > 0) {
      lines.push(`summary: ${t.type} files vary ${formatVariance(t.variancePercent)} in size (${thresholdLine(t.threshold)}: ${t.verdict === 'ok' ? 'within' : `above ${t.verdict}`})`);
    }
  }
  lines.push(...formatSection('local paths not compared', d.issues, (i) => `${i.path}: ${i.code} — ${i.message}`));
  lines.push(...formatSection('S3 objects not compared (local path unreadable)', d.notCompared, (f) => f.path));
  if (report.totals.folderMarkersIgnored > 0) lines.push(`folder markers ignored: ${report.totals.folderMarkersIgnored}`);
  if (report.totals.excluded.local + report.totals.excluded.s3 > 0) {
    lines.push(`excluded by --include/--exclude: ${report.totals.excluded.local} local, ${report.totals.excluded.s3} S3`);
  }
  const s = report.sample;
  if (!s) {
    lines.push('content: not checked; use --detailed');
  } else {
    const c = s.counts;
    lines.push(
      `content: ${s.size} of ${s.population} equal-size files sampled (seed '${s.seed}'): ${c.match} match, ${c.mismatch} differ` +
        `${c.missing ? `, ${c.missing} gone` : ''}${c.unverifiable ? `, ${c.unverifiable} unverifiable` : ''}${c.error ? `, ${c.error} not checked` : ''}; ` +
        `${formatBytes(s.bytesDownloaded)} downloaded`,
    );
    const bad = s.items.filter((i) => i.status !== 'match');
    lines.push(...formatSection('content problems', { total: bad.length, items: bad }, (i) => `${i.path} (${s3(i.key)}): ${i.status} — ${i.detail}`));
  }
  lines.push(`status: ${report.status}${report.reasons.length ? ` (${report.reasons.join('; ')})` : ''}`);
  return lines.join('\n');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function thresholdOption(name: string) {
  return (value: string): Threshold => {
    try {
      return parseThreshold(value, name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

function sampleOption(value: string): SampleSpec {
  try {
    return parseSampleSpec(value, { min: 1, max: 20 });
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** A single `\r`-updated progress line on a TTY stderr, at most 10 times a second; nothing otherwise. */
function ttyProgress(): { update: (line: string) => void; clear: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, clear: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update: (line) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[K${line}`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

interface CliOptions {
  detailed?: boolean;
  sample?: SampleSpec;
  seed?: string;
  include: string[];
  exclude: string[];
  json?: string;
  thresholdCompressed?: Threshold;
  thresholdUncompressed?: Threshold;
  thresholdText?: Threshold;
  concurrency: number;
  endpointUrl?: string;
  region?: string;
}

/** `syncproof verify-local DIR s3://BUCKET/PREFIX`: do the local files and the bucket hold the same thing? */
export function verifyLocalCommand(outcome: CommandOutcome): Command {
  return new Command('verify-local')
    .description('check that a local folder and an S3 prefix hold the same files (sizes; content with --detailed)')
    .argument('<dir>', 'local folder')
    .argument('<s3uri>', 's3://BUCKET/PREFIX to compare with')
    .option('--detailed', 'also verify the content of a seeded sample of files (checksums; downloads only when S3 offers no usable checksum)')
    .option('--sample <spec>', "files to check: 'all', a count, or a percentage (default 10%, at least 1, at most 20); implies --detailed", sampleOption)
    .option('--seed <text>', 'sampling seed (default: the S3 URI and the folder name)')
    .option('--include <glob>', 'compare only relative paths matching this glob (repeatable)', collect, [])
    .option('--exclude <glob>', 'leave out relative paths matching this glob (repeatable)', collect, [])
    .option('--json <file>', 'write the full report as JSON to this file')
    .addOption(new Option('--threshold-compressed <pct>', "marks in the size-variance summary of compressed files (.parquet .gz …): 'FAIL' or 'WARN,FAIL' percent (default 1,2); any file of another size fails").argParser(thresholdOption('--threshold-compressed')))
    .addOption(new Option('--threshold-uncompressed <pct>', "marks in the size-variance summary of other binary files (default 0.25,0.5)").argParser(thresholdOption('--threshold-uncompressed')))
    .addOption(new Option('--threshold-text <pct>', 'marks in the size-variance summary of text files (.csv .json …) (default 0.05,0.1)').argParser(thresholdOption('--threshold-text')))
    .option('--concurrency <n>', 'sampled files checked at once', positiveInt('--concurrency'), VERIFY_LOCAL_DEFAULTS.concurrency)
    .option('--endpoint-url <url>', 'S3-compatible endpoint (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .exitOverride()
    .action(async (dir: string, s3Uri: string, opts: CliOptions) => {
      const progress = ttyProgress();
      let report: VerifyLocalReport;
      try {
        report = await verifyLocal({
          dir,
          s3Uri,
          detailed: Boolean(opts.detailed) || opts.sample !== undefined,
          sample: opts.sample ?? DEFAULT_SAMPLE,
          seed: opts.seed,
          include: opts.include,
          exclude: opts.exclude,
          thresholds: {
            compressed: opts.thresholdCompressed ?? DEFAULT_THRESHOLDS.compressed,
            uncompressed: opts.thresholdUncompressed ?? DEFAULT_THRESHOLDS.uncompressed,
            text: opts.thresholdText ?? DEFAULT_THRESHOLDS.text,
          },
          concurrency: opts.concurrency,
          endpoint: opts.endpointUrl ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined),
          region: opts.region,
          progress: progress.update,
        });
      } finally {
        progress.clear();
      }
      if (opts.json) {
        try {
          await writeFile(resolve(opts.json), reportJson(report));
        } catch (error) {
          throw new CliError(`cannot write the --json report to '${opts.json}' (${(error as { code?: string }).code ?? 'error'}); check the path`);
        }
      }
      process.stdout.write(`${formatVerifyLocal(report)}\n`);
      outcome.exitCode = report.exitCode;
    });
}
