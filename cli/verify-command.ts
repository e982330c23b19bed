/**
 * `syncproof verify DATASET`: the dataset's verification tiers on local state (the count chain,
 * lambdas/verify/count-chain.ts; the content tier, lambdas/verify/content.ts) or, with `--stack`,
 * a VerifyStateMachine execution on a deployed stack (./verify-stack.ts). One summary line per
 * tier, then the differing keys (never values: those are in the report object and `--json`).
 * Statuses and exit codes as `verify-local`: 0 passed, 1 warnings, 2 failed, 3 error.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadCliConfig } from './config-file';
import { exitCodeFor, worstStatus } from '../lambdas/core/verification';
import type { ContentTierReport } from '../lambdas/verify/content';
import type { CountChainReport } from '../lambdas/verify/count-chain';
import { CliError } from './errors';
import { startCommandRuntime } from './local-runtime';
import { startProgress } from './progress';
import type { CommandOutcome } from './program';
import { requireWarehouseUrl } from './source-url';
import { contentReportLine, formatContent, formatCountChain } from './verify-format';
import { verifyOnStack } from './verify-stack';

/** What `--tier` accepts. */
export const VERIFY_TIERS = ['counts', 'content', 'sampled', 'all'] as const;
export type VerifyTier = (typeof VERIFY_TIERS)[number];

function tier(value: string): VerifyTier {
  if (!(VERIFY_TIERS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--tier must be one of ${VERIFY_TIERS.join(', ')}, got '${value}'`);
  return value as VerifyTier;
}

interface VerifyOptions {
  config: string;
  dataDir?: string;
  warehouse?: string;
  tier: VerifyTier;
  since?: string;
  seed?: string;
  json?: string;
  stack?: string;
  region?: string;
}

/** `syncproof verify DATASET --config FILE [--data-dir DIR] [--warehouse URL] [--tier …] [--since VALUE] [--json FILE] [--stack NAME]`. */
export function verifyCommand(outcome: CommandOutcome): Command {
  return new Command('verify')
    .description("verify a synced dataset: the row-count chain source → manifests → audit → target (file datasets: manifests → ledger → audit → target), each hop's numbers, and the content tier (every value, source ↔ warehouse by segment checksums; file datasets: loaded Parquet ↔ target), on local state or a deployed stack")
    .argument('<dataset>', 'a dataset of the configuration')
    .requiredOption('--config <file>', 'dataset configuration (the same JSON file the CDK app deploys)')
    .option('--data-dir <dir>', 'the local state `syncproof sync --data-dir` kept (S3, DynamoDB, warehouse)')
    .option('--warehouse <url>', 'postgres://… when the local state loaded into a PostgreSQL server')
    .addOption(new Option('--tier <tier>', `${VERIFY_TIERS.join(' | ')}: counts, content (every row), sampled (a seeded subset of segments), all (counts + content)`).argParser(tier).default('counts'))
    .option('--since <value>', 'only rows and runs after this cursor value (database datasets) or loads since this time (file datasets)')
    .option('--seed <text>', '--tier sampled: the seed drawing the segments (default: the run id; the report prints it, so a sample can be drawn again)')
    .option('--json <file>', 'also write the full report as JSON to this file')
    .addOption(new Option('--stack <name>', 'run the VerifyStateMachine on a deployed stack instead (AWS credentials from the default chain) and wait for it').conflicts(['dataDir', 'warehouse']))
    .option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)')
    .exitOverride()
    .action(async (dataset: string, opts: VerifyOptions) => {
      const config = loadCliConfig(opts.config, [dataset]);
      if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
      if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
      if (opts.seed !== undefined && opts.tier !== 'sampled') throw new CliError('--seed applies to --tier sampled only');
      if (opts.stack) {
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
        const result = await verifyOnStack({ stack: opts.stack, region: opts.region, input: { dataset, tier: opts.tier, ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) }, name: `verify-${dataset}-${Date.now()}` });
        process.stdout.write(`${result.lines.join('\n')}\n`);
        if (opts.json) await writeFile(resolve(opts.json), `${JSON.stringify(result, null, 2)}\n`);
        outcome.exitCode = exitCodeFor(result.status);
        return;
      }
      const bar = startProgress({ label: `verify ${dataset}` });
      const progress = (stage: string) => bar.update({ stage });
      progress('starting the local runtime');
      const runtime = await startCommandRuntime(config, opts, `syncproof verify ${dataset}`).catch((error: unknown) => {
        bar.stop();
        throw error;
      });
      // The tiers (Parquet, content sides) load when a verification runs, not at every CLI start.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { propagateDeletes } = require('../lambdas/load/deletes') as typeof import('../lambdas/load/deletes');
      const { runContentTier } = require('../lambdas/verify/content') as typeof import('../lambdas/verify/content');
      const { runCountChain } = require('../lambdas/verify/count-chain') as typeof import('../lambdas/verify/count-chain');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const runId = `verify-${dataset}-${Date.now()}`;
      const startedAt = new Date().toISOString();
      const since = opts.since !== undefined ? { since: opts.since } : {};
      let counts: CountChainReport | undefined;
      let countsUri: string | undefined;
      let content: ContentTierReport | undefined;
      let contentUri: string | undefined;
      try {
        if (opts.tier === 'counts' || opts.tier === 'all') {
          progress('counting rows at every hop');
          ({ report: counts, reportUri: countsUri } = await runCountChain({ runId, dataset, ...since }, runtime.deps));
        }
        if (opts.tier !== 'counts') {
          progress('comparing rows by content');
          const deps = runtime.deps;
          ({ report: content, reportUri: contentUri } = await runContentTier({ runId, dataset, tier: opts.tier === 'sampled' ? 'sampled' : 'content', ...since, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) }, deps, { propagate: (request) => propagateDeletes(request, deps) }));
        }
        // The verification is a run like the stack's: `status`, `runs` and `clean` (which removes
        // only what a passed verification proved) read it from the run record.
        const verdict = [counts?.status, content?.status].filter((x) => x !== undefined).reduce((a, b) => worstStatus(a, b));
        await runtime.deps.runs.start({
          runId,
          dataset,
          status: verdict,
          startedAt,
          updatedAt: new Date().toISOString(),
          stages: { verify: { tier: opts.tier, local: true }, finish: { status: verdict, ...(countsUri ? { counts: countsUri } : {}), ...(contentUri ? { content: contentUri } : {}) } },
          ...(countsUri ?? contentUri ? { reportUri: (countsUri ?? contentUri)! } : {}),
        });
      } finally {
        bar.stop();
        await runtime.stop();
      }
      const lines = [...(counts ? [formatCountChain(counts)] : []), ...(content ? [formatContent(content)] : [])];
      if (content && contentUri) lines.push(contentReportLine(dataset, content, contentUri));
      process.stdout.write(`${lines.join('\n')}\n`);
      const status = [counts?.status, content?.status].filter((x) => x !== undefined).reduce((a, b) => worstStatus(a, b));
      if (opts.json) await writeFile(resolve(opts.json), `${JSON.stringify(opts.tier === 'all' ? { dataset, tier: 'all', status, counts, content } : (counts ?? content), null, 2)}\n`);
      outcome.exitCode = exitCodeFor(status);
    });
}
