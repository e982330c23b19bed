/**
 * `syncproof verify DATASET --stack NAME`: one VerifyStateMachine execution on a deployed stack,
 * started with StartExecution and waited for with DescribeExecution (./sync-stack.ts); the run
 * record Record wrote is then read back from the stack's runs table, and the tiers' report objects
 * it names from the bucket, so the summary is the one a local `verify` prints (./verify-format.ts).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { parseS3Uri } from '../lambdas/core/s3-uri';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import type { VerificationStatus } from '../lambdas/core/verification';
import type { ContentTierReport } from '../lambdas/verify/content';
import type { CountChainReport } from '../lambdas/verify/count-chain';
import { readStackOutputs, stackRegion } from './state-target';
import { startAndWait } from './sync-stack';
import { failureText } from './sync-report';
import { contentReportLine, formatContent, formatCountChain } from './verify-format';

export interface VerifyOnStackOptions {
  readonly stack: string;
  readonly region?: string;
  /** The execution input: `{"dataset", "tier", "since"?, "seed"?}`. */
  readonly input: { readonly dataset: string; readonly tier: string; readonly since?: string; readonly seed?: string };
  readonly name: string;
  /** Between DescribeExecution calls. @default 5000 */
  readonly pollMs?: number;
}

/** What a verification on the stack reports (also written with --json). */
export interface VerifyOnStackResult {
  readonly dataset: string;
  readonly execution: string;
  readonly executionStatus: 'SUCCEEDED' | 'FAILED';
  readonly status: VerificationStatus;
  /** The run record's stage outputs (inventory, checksum, counts: verdicts and report URIs). */
  readonly stages?: unknown;
  readonly error?: string;
  /** The tiers' reports the run record names, as read back from the bucket (or why they could not be). */
  readonly reports?: { readonly counts?: CountChainReport | { readonly unreadable: string }; readonly content?: ContentTierReport | { readonly unreadable: string } };
  /** The human summary. */
  readonly lines: readonly string[];
}

/** The report URIs Record wrote into the run record's `finish` stage (inventory, checksum, counts, content). */
function evidenceOf(stages: unknown): Record<string, string> {
  const finish = (stages as { finish?: unknown } | undefined)?.finish;
  if (!finish || typeof finish !== 'object') return {};
  return Object.fromEntries(Object.entries(finish).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].startsWith('s3://')));
}

/** Reads one report object; an unreadable one (no s3:GetObject, deleted) is said, never fatal: the verdict is the run record's. */
async function readReport<T>(s3: ReturnType<typeof createS3Client>, uri: string): Promise<T | { unreadable: string }> {
  try {
    const { bucket, key } = parseS3Uri(uri);
    return (await new S3ObjectStore(s3, bucket).getJson(key)) as T;
  } catch (error) {
    return { unreadable: `${uri} could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
}

const readable = <T extends object>(r: T | { unreadable: string } | undefined): r is T => r !== undefined && !('unreadable' in r);

/**
 * Starts the execution, waits until it ends, and reads back its run record. A failed execution
 * whose record says FAILED is a FAILED verdict (exit 2); one that failed with no verdict recorded
 * is FAILED too, with the error.
 */
export async function verifyOnStack(options: VerifyOnStackOptions): Promise<VerifyOnStackResult> {
  const region = stackRegion(options.region);
  const outputs = await readStackOutputs(options.stack, region, [STACK_OUTPUTS.verifyStateMachine, STACK_OUTPUTS.runsTable]);
  const sfn = new SFNClient({ region });
  const ddb = createDocumentClient({ region });
  const s3 = createS3Client({ region });
  try {
    const described = await startAndWait(sfn, outputs[STACK_OUTPUTS.verifyStateMachine]!, options, `starting a verification of '${options.input.dataset}' on stack '${options.stack}'`, 'the VerifyStateMachine', region);
    const run = await new DynamoDbRunStore(ddb, outputs[STACK_OUTPUTS.runsTable]).get(options.name);
    const succeeded = described.status === 'SUCCEEDED';
    const recorded = run?.status;
    const status: VerificationStatus =
      recorded === 'PASSED' || recorded === 'PASSED_WITH_WARNINGS' || recorded === 'PASSED_PARTIAL' || recorded === 'FAILED' ? recorded : succeeded ? 'PASSED' : 'FAILED';
    const error = succeeded ? undefined : failureText(described.error ?? described.status ?? 'FAILED', described.cause);
    const lines = [`verify ${options.input.dataset} (${options.input.tier}) on stack ${options.stack}: ${status} (execution ${options.name} ${succeeded ? 'SUCCEEDED' : 'FAILED'})`];
    const evidence = evidenceOf(run?.stages);
    for (const stage of ['inventory', 'checksum'] as const) if (evidence[stage]) lines.push(`  ${stage} report: ${evidence[stage]}`);
    const counts = evidence.counts ? await readReport<CountChainReport>(s3, evidence.counts) : undefined;
    const content = evidence.content ? await readReport<ContentTierReport>(s3, evidence.content) : undefined;
    for (const report of [counts, content]) if (report && !readable(report)) lines.push(`  ${report.unreadable}`);
    // A report this version cannot print (written by another version of the stack) is named, not fatal.
    const format = <T extends object>(report: T, print: (r: T) => string, uri: string) => {
      try {
        lines.push(print(report));
      } catch {
        lines.push(`  ${uri} is not a report this version of syncproof can print; read it with aws s3 cp`);
      }
    };
    if (readable(counts)) format(counts, formatCountChain, evidence.counts!);
    if (readable(content)) {
      format(content, formatContent, evidence.content!);
      lines.push(contentReportLine(options.input.dataset, content, evidence.content!));
    }
    // The error repeats what the tiers' summaries say when they were read; it is kept for a failure before them.
    if (error && !readable(counts) && !readable(content)) lines.push(`  ${error}`);
    const reports = { ...(counts ? { counts } : {}), ...(content ? { content } : {}) };
    return {
      dataset: options.input.dataset,
      execution: options.name,
      executionStatus: succeeded ? 'SUCCEEDED' : 'FAILED',
      status,
      ...(run?.stages ? { stages: run.stages } : {}),
      ...(Object.keys(reports).length ? { reports } : {}),
      ...(error ? { error } : {}),
      lines,
    };
  } finally {
    sfn.destroy();
    ddb.destroy();
    s3.destroy();
  }
}
