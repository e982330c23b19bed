import { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError } from './errors';
import { requireWarehouseUrl } from './source-url';
import { runtimeStartError } from './local-runtime';
import { progressFromExecutions, startProgress } from './progress';
import type { CommandOutcome } from './program';
import { positiveInt } from './program';

/** `syncproof demo`: the whole pipeline on the embedded default, proven by reading back. */
export function demoCommand(outcome: CommandOutcome): Command {
  return new Command('demo')
    .description('run the demo pipeline locally: two waves of Parquet files, then an incremental database extraction, loaded and verified')
    .option('--rows <n>', 'rows in the first wave', positiveInt('--rows'), 200_000)
    .option('--files <n>', 'Parquet files in the first wave', positiveInt('--files'), 20)
    .option('--warehouse <url>', 'postgres://… to use a PostgreSQL server instead of the embedded warehouse')
    .option('--keep <dir>', 'leave the local state (S3, DynamoDB, warehouse and source data) in this directory')
    .option('--json <file>', 'also write the report as JSON to this file')
    .exitOverride()
    .action(async (opts: { rows: number; files: number; warehouse?: string; keep?: string; json?: string }) => {
      if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
      if (opts.files > opts.rows) throw new CliError(`--files (${opts.files}) cannot exceed --rows (${opts.rows})`);
      // Loaded when the command runs: the runtime (CDK, emulators, warehouse) is most of what a
      // CLI process would otherwise load at start, for every command (see program.ts).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { formatDemoReport, runDemo } = require('../local/demo') as typeof import('../local/demo');
      const bar = startProgress({ label: 'demo' });
      const report = await runDemo({
        rows: opts.rows,
        files: opts.files,
        warehouse: opts.warehouse,
        keep: opts.keep ? resolve(opts.keep) : undefined,
        json: opts.json ? resolve(opts.json) : undefined,
        progress: (line) => bar.log(`${line}\n`),
        onStateEntered: progressFromExecutions(bar),
      })
        .catch((error: unknown) => {
          throw runtimeStartError(error) ?? error;
        })
        .finally(() => bar.stop());
      process.stdout.write(`${formatDemoReport(report)}\n`);
      outcome.exitCode = report.status === 'PASSED' ? 0 : 2;
    });
}
