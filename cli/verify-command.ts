/**
 * `syncproof verify DATASET`: the dataset's verification tiers on local state (the count chain,
 * lambdas/verify/count-chain.ts) or, with `--stack`, a VerifyStateMachine execution on a deployed
 * stack (./verify-stack.ts). Statuses and exit codes as `verify-local`: 0 passed, 1 warnings,
 * 2 failed, 3 error.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfigFile } from '../lib/config';
import { requireDataset } from '../lambdas/core/config';
import { hopLine } from '../lambdas/core/count-chain';
import { exitCodeFor } from '../lambdas/core/verification';
import { runCountChain, type CountChainReport } from '../lambdas/verify/count-chain';
import { CliError } from './errors';
import { startRuntime } from './local-runtime';
import type { CommandOutcome } from './program';
import { requireWarehouseUrl } from './source-url';
import { verifyOnStack } from './verify-stack';

/** What `--tier` accepts. */
export const VERIFY_TIERS = ['counts', 'content', 'all'] as const;
export type VerifyTier = (typeof VERIFY_TIERS)[number];

function tier(value: string): VerifyTier {
  if (!(VERIFY_TIERS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--tier must be one of ${VERIFY_TIERS.join(', ')}, got '${value}'`);
  return value as VerifyTier;
}

/** The human summary of a count-chain report: its status, then one line per hop (and per failed run). */
export function formatCountChain(report: CountChainReport): string {
  const lines = [`verify ${report.dataset} (counts): ${report.status}${report.since !== undefined ? ` (since ${report.since})` : ''}`];
  for (const h of report.hops) lines.push(`  ${hopLine(h)}`);
  for (const r of report.runs.filter((x) => x.status === 'FAILED')) for (const p of r.problems) lines.push(`  FAILED ${p}`);
  if (report.notLoadedFiles > 0) lines.push(`  note: ${report.notLoadedFiles} manifested files are not loaded yet (outside the counts)`);
  return lines.join('\n');
}

interface VerifyOptions {
  config: string;
  dataDir?: string;
  warehouse?: string;
  tier: VerifyTier;
  since?: string;
  json?: string;
  stack?: string;
  region?: string;
}

/** `syncproof verify DATASET --config FILE [--data-dir DIR] [--warehouse URL] [--tier …] [--since VALUE] [--json FILE] [--stack NAME]`. */
export function verifyCommand(outcome: CommandOutcome): Command {
  return new Command('verify')
    .description("verify a synced dataset: the row-count chain source → manifests → audit → target (file datasets: manifests → ledger → audit → target), each hop's numbers, on local state or a deployed stack")
    .argument('<dataset>', 'a dataset of the configuration')
    .requiredOption('--config <file>', 'dataset configuration (the same JSON file the CDK app deploys)')
    .option('--data-dir <dir>', 'the local state `syncproof sync --data-dir` kept (S3, DynamoDB, warehouse)')
    .option('--warehouse <url>', 'postgres://… when the local state loaded into a PostgreSQL server')
    .addOption(new Option('--tier <tier>', `${VERIFY_TIERS.join(' | ')}`).argParser(tier).default('counts'))
    .option('--since <value>', 'only rows and runs after this cursor value (database datasets) or loads since this time (file datasets)')
    .option('--json <file>', 'also write the full report as JSON to this file')
    .addOption(new Option('--stack <name>', 'run the VerifyStateMachine on a deployed stack instead (AWS credentials from the default chain) and wait for it').conflicts(['dataDir', 'warehouse']))
    .option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)')
    .exitOverride()
    .action(async (dataset: string, opts: VerifyOptions) => {
      let config;
      try {
        config = loadConfigFile(resolve(opts.config));
        requireDataset(config, dataset);
      } catch (error) {
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
      if (opts.tier !== 'counts') throw new CliError(`--tier ${opts.tier}: the content tier is not available in this build; use --tier counts`);
      if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
      if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
      if (opts.stack) {
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
        const result = await verifyOnStack({ stack: opts.stack, region: opts.region, input: { dataset, tier: opts.tier }, name: `verify-${dataset}-${Date.now()}` });
        process.stdout.write(`${result.lines.join('\n')}\n`);
        if (opts.json) await writeFile(resolve(opts.json), `${JSON.stringify(result, null, 2)}\n`);
        outcome.exitCode = exitCodeFor(result.status);
        return;
      }
      const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r${line}\x1b[K`) : () => undefined;
      progress(`verify ${dataset}: starting the local runtime…`);
      const runtime = await startRuntime({
        config,
        warehouse: opts.warehouse,
        warehouseApi: opts.warehouse ? 'direct' : 'data-api',
        dataDir: opts.dataDir ? resolve(opts.dataDir) : undefined,
        owner: `syncproof verify ${dataset}`,
        s3Events: false,
      });
      let report: CountChainReport;
      try {
        progress(`verify ${dataset}: counting rows at every hop…`);
        ({ report } = await runCountChain({ runId: `verify-${dataset}-${Date.now()}`, dataset, ...(opts.since !== undefined ? { since: opts.since } : {}) }, runtime.deps));
      } finally {
        progress('');
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        await runtime.stop();
      }
      process.stdout.write(`${formatCountChain(report)}\n`);
      if (opts.json) await writeFile(resolve(opts.json), `${JSON.stringify(report, null, 2)}\n`);
      outcome.exitCode = exitCodeFor(report.status);
    });
}
