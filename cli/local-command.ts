import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { maskUrl } from '../lambdas/core/connection-url';
import { loadCliConfig } from './config-file';
import { startRuntime } from './local-runtime';
import { requireWarehouseUrl } from './source-url';
import { executionLine } from './format';
import { portNumber, type CommandOutcome } from './program';
import type { LocalRuntime } from '../local/runtime';

function seed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 31) throw new InvalidArgumentError(`--event-seed must be an integer from 0 to 2147483647, got '${value}'`);
  return n;
}

/** The status page over `runtime`, loaded only when served (esbuild and Chart.js are not small). */
async function startLocalStatusPage(runtime: LocalRuntime, port: number | undefined, dataDir: string | undefined) {
  const { startStatusPage } = require('../local/status-page/server') as typeof import('../local/status-page/server');
  const { localStatusSource } = require('../local/status-page/local-status') as typeof import('../local/status-page/local-status');
  return startStatusPage({ ...localStatusSource(runtime), port, source: `syncproof local${dataDir ? `, data dir ${resolve(dataDir)}` : ''}` });
}

/**
 * `syncproof local`: the runtime for the user's own datasets, kept running. Prints where to upload
 * and one line per triggered run; Ctrl-C lets running executions finish, then stops. S3 events
 * arrive at least once, possibly duplicated and reordered, as in AWS (the banner prints the seed;
 * `--event-seed` replays it). `--exit-when-idle` drains instead: it delivers what the queue holds,
 * lets every execution (restarted ones too) end, then stops — for scripts and crash recovery.
 */
export function localCommand(outcome: CommandOutcome): Command {
  return new Command('local')
    .description('run the pipeline locally on embedded emulators for your datasets, until Ctrl-C')
    .requiredOption('--config <file>', 'dataset configuration (the same JSON file the CDK app deploys)')
    .option('--warehouse <url>', 'postgres://… to load into a PostgreSQL server instead of the embedded one')
    .option('--s3-port <port>', 'S3 endpoint port (default: a free port)', portNumber('--s3-port'))
    .option('--status-port <port>', 'status page port on 127.0.0.1 (default: a free port)', portNumber('--status-port'))
    .option('--no-status-page', 'do not serve the status page')
    .option('--data-dir <dir>', 'keep S3, DynamoDB and warehouse data here; a restart resumes from it')
    .option('--bucket <name>', 'bucket name', 'syncproof-local')
    .option('--event-seed <n>', 'seed of the S3 event delivery (duplicates, delays, order); default: random', seed)
    .option('--exit-when-idle', 'stop once no event is queued and no execution runs (after restarting those a killed process left)')
    .exitOverride()
    .action(async (opts: { config: string; warehouse?: string; s3Port?: number; statusPort?: number; statusPage: boolean; dataDir?: string; bucket: string; eventSeed?: number; exitWhenIdle?: boolean }) => {
      const config = loadCliConfig(opts.config);
      if (opts.warehouse) requireWarehouseUrl(opts.warehouse);
      const runtime = await startRuntime({
        owner: 'syncproof local',
        config,
        warehouse: opts.warehouse,
        // A PostgreSQL server given here is loaded directly; the embedded one behind the local Redshift Data API.
        warehouseApi: opts.warehouse ? 'direct' : 'data-api',
        dataDir: opts.dataDir ? resolve(opts.dataDir) : undefined,
        s3Port: opts.s3Port,
        bucket: opts.bucket,
        eventDelivery: opts.eventSeed === undefined ? undefined : { seed: opts.eventSeed },
        onExecution: (e) => {
          process.stdout.write(`${executionLine(e)}\n`);
          if (e.status === 'FAILED' || e.run?.status === 'FAILED') outcome.exitCode = 2;
        },
      });
      const page = opts.statusPage ? await startLocalStatusPage(runtime, opts.statusPort, opts.dataDir) : undefined;
      const lines = [
        'syncproof local runtime is ready',
        ...(page ? [`  status page:  ${page.url}`] : []),
        `  S3 endpoint:  ${runtime.s3Endpoint}`,
        `  DynamoDB:     ${runtime.dynamoDbEndpoint} (for syncproof ledger --endpoint)`,
        `  bucket:       ${runtime.bucket}`,
        `  region:       ${runtime.region}`,
        `  credentials:  AWS_ACCESS_KEY_ID=${runtime.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${runtime.credentials.secretAccessKey}`,
        `  warehouse:    ${opts.warehouse ? maskUrl(opts.warehouse) : `embedded (PGlite), via the local Redshift Data API at ${runtime.dataApi()?.endpoint ?? '?'}`}`,
        `  data:         ${opts.dataDir ? resolve(opts.dataDir) : 'temporary (removed on exit; use --data-dir to keep it)'}`,
        `  S3 events:    at least once, possibly duplicated and reordered (--event-seed ${runtime.eventDeliverySeed})`,
        ...config.datasets.map(
          (d) => `  dataset ${d.name}: s3://${runtime.bucket}/${d.prefix} → ${d.target.schema}.${d.target.table} (${d.loadMode})`,
        ),
        `  upload with:  aws --endpoint-url ${runtime.s3Endpoint} s3 cp FILE s3://${runtime.bucket}/${config.datasets[0]?.prefix ?? ''}`,
        opts.exitWhenIdle ? 'Stops when idle.' : 'Press Ctrl-C to stop.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (opts.exitWhenIdle) {
        await runtime.waitForIdle();
        process.stdout.write('idle: no event queued, no execution running; stopping\n');
        await page?.stop();
        await runtime.stop();
        process.stdout.write('stopped\n');
        return;
      }
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.stdout.write('stopping: letting running executions finish…\n');
          Promise.resolve(page?.stop())
            .then(() => runtime.stop())
            .then(done, (error: unknown) => {
            process.stderr.write(`syncproof: error while stopping: ${String(error)}\n`);
            outcome.exitCode = 3;
            done();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stdout.write('stopped\n');
    });
}
