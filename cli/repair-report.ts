/**
 * `syncproof sync DATASET --repair REPORT`: which report REPORT names, and how the repair is told.
 * REPORT is what a user copies: the `s3://BUCKET/_syncproof/reports/…` URI `verify` or a failed
 * run printed, the report's key (`_syncproof/reports/…`, also inside a path in the data dir), or
 * the file `verify --json` wrote (the stored report of that verification is then used: the
 * pipeline repairs from the report of record, never from a local copy).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { windowReportKey } from '../lambdas/core/content/window-check';
import { createS3Client } from '../lambdas/adapters/clients';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import type { ObjectStore } from '../lambdas/core/ports';
import { RepairReportError, leftAloneText, readRepairRequest, type RepairOutcome, type RepairRequest } from '../lambdas/core/repair';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { contentTierReportKey } from '../lambdas/verify/content';
import { CliError } from './errors';
import { readStackOutputs, stackRegion } from './state-target';

const REPORTS = '_syncproof/reports/';

const HOW = 'give the s3://… URI that `syncproof verify DATASET --tier content` or a failed run printed, the report\'s key (_syncproof/reports/DATASET/RUN/content-tier.json or content.json), or the file verify --json wrote';

/** The report's key when REPORT is a key or a path that holds one (`…/_syncproof/reports/…`). */
function reportKeyIn(given: string): string | undefined {
  const at = given.replace(/\\/g, '/').indexOf(REPORTS);
  return at < 0 ? undefined : given.replace(/\\/g, '/').slice(at);
}

/** The stored report's key of a report file `verify --json` wrote (`--tier all` wraps it in `content`). */
function keyOfReportFile(path: string): string {
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`--repair ${path}: not a JSON report (${error instanceof Error ? error.message : String(error)}): ${HOW}`);
  }
  const whole = body as { tier?: unknown; content?: unknown };
  const r = (whole?.tier === 'all' ? whole.content : body) as { dataset?: unknown; runId?: unknown; tier?: unknown; window?: unknown } | undefined;
  if (!r || typeof r.dataset !== 'string' || typeof r.runId !== 'string' || (r.tier === undefined && r.window === undefined)) {
    throw new CliError(`--repair ${path}: not a content report (no dataset, run id and tier or window): ${HOW}`);
  }
  return r.tier !== undefined ? contentTierReportKey(r.dataset, r.runId) : windowReportKey(r.dataset, r.runId);
}

/** REPORT as the s3:// URI of a report in the local runtime's bucket; CliError (exit 3) when it names none. */
export async function localReportUri(given: string, bucket: string): Promise<string> {
  if (given.startsWith('s3://')) return given;
  const key = reportKeyIn(given);
  if (key) return `s3://${bucket}/${key}`;
  if (existsSync(resolve(given))) return `s3://${bucket}/${keyOfReportFile(resolve(given))}`;
  throw new CliError(`--repair ${given}: no such report (not an s3:// URI, a _syncproof/reports/… key or an existing file): ${HOW}`);
}

/**
 * REPORT on a deployed stack: an s3:// URI as given, a key in the stack's bucket; and the stack's
 * bucket, read with the caller's credentials, so the report is checked before anything starts.
 */
export async function reportOnStack(given: string, stack: string, region: string | undefined): Promise<{ reportUri: string; objects: ObjectStore }> {
  const key = given.startsWith('s3://') ? undefined : (reportKeyIn(given) ?? (existsSync(resolve(given)) ? keyOfReportFile(resolve(given)) : undefined));
  if (!given.startsWith('s3://') && !key) throw new CliError(`--repair ${given}: no such report (not an s3:// URI, a _syncproof/reports/… key or an existing file): ${HOW}`);
  const r = stackRegion(region);
  const bucket = (await readStackOutputs(stack, r, [STACK_OUTPUTS.bucket]))[STACK_OUTPUTS.bucket]!;
  return { reportUri: key ? `s3://${bucket}/${key}` : given, objects: new S3ObjectStore(createS3Client({ region: r }), bucket) };
}

/** The report's repair request; a report the repair refuses is a CliError (exit 3) with its message. */
export async function checkedRepairRequest(objects: ObjectStore, reportUri: string, dataset: string): Promise<RepairRequest> {
  try {
    return await readRepairRequest(objects, reportUri, dataset);
  } catch (error) {
    if (error instanceof RepairReportError) throw new CliError(`--repair: ${error.message}; nothing was loaded`);
    throw error;
  }
}

/** What `sync --repair` reports beside the run (also in --json). */
export interface RepairSummary {
  readonly reportUri: string;
  /** Keys the report lists as missing or changed (unknown on a stack until the run tells). */
  readonly requested?: number;
  readonly outcome?: RepairOutcome;
  /** The report's extra, deleted and duplicated keys, which a repair leaves to deletes. */
  readonly leftAlone?: string;
}

export function repairSummary(reportUri: string, request: RepairRequest | undefined, run: { extract?: unknown; commit?: unknown }): RepairSummary {
  const outcome = ((run.commit as { repair?: RepairOutcome } | undefined)?.repair ?? (run.extract as { repair?: RepairOutcome } | undefined)?.repair) as RepairOutcome | undefined;
  const alone = request ? leftAloneText(request) : '';
  return { reportUri, ...(request ? { requested: request.keys.length } : {}), ...(outcome ? { outcome } : {}), ...(alone ? { leftAlone: alone } : {}) };
}

/** The repair's lines of the human summary. */
export function repairLines(r: RepairSummary): string[] {
  const lines = [`  repair of ${r.reportUri}`];
  const o = r.outcome;
  if (o) {
    lines.push(`  repaired: ${o.extracted} of the ${o.requested} keys the report lists as missing or changed were re-extracted from behind the watermark`);
    if (o.pastWatermark) lines.push(`  left to the next incremental run: ${o.pastWatermark} rows now past the watermark`);
    if (o.proofUri) lines.push(`  proof: the report's window compared again by content: ${o.proofUri}`);
  }
  if (r.leftAlone) lines.push(`  ${r.leftAlone}`);
  return lines;
}
