/**
 * `syncproof status [DATASET…]`: each dataset's sync health (issue #16) from the local state
 * (`--data-dir`, `--endpoint`) or a deployed stack (`--stack`). Exit codes: 0 healthy, 1 warning,
 * 2 failing, 3 error — so cron or a monitor can call it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import type { SyncproofConfig } from '../lambdas/core/config';
import { systemClock, type Clock } from '../lambdas/core/ports';
import { loadCliConfig } from './config-file';
import { CliError } from './errors';
import type { CommandOutcome } from './program';
import { portNumber, positiveInt } from './program';
import { openStateTables, stackRegion, stateFailure, type StateTargetDescription } from './state-target';
import { collectStatus, DEFAULT_RUNS_PER_DATASET, type StatusDeps } from './status-collect';
import { formatStatus } from './status-format';
import { stackExtras } from './status-stack';

/**
 * Test hook, not a user option: `SYNCPROOF_NOW` (an ISO-8601 instant) is the clock `status`, `runs`
 * and `sample` judge lag and schedules at, so tests can put a dataset past each lag threshold
 * without waiting. Unset: the system clock.
 */
export const NOW_ENV = 'SYNCPROOF_NOW';

/** The clock of the status commands: {@link NOW_ENV} when set (tests), else the system clock. */
export function commandClock(): Clock {
  const text = process.env[NOW_ENV];
  if (text === undefined || text === '') return systemClock;
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new CliError(`${NOW_ENV} must be an ISO-8601 instant ('2026-12-07T12:00:00Z'), got '${text}'`);
  return { now: () => new Date(at) };
}

/** The flags of the commands that read the state (`status`, `runs`). */
export interface StateFlags {
  readonly dataDir?: string;
  readonly endpoint?: string;
  readonly stack?: string;
  readonly region?: string;
}

/** Adds --data-dir, --endpoint, --stack and --region. */
export function withStateFlags(command: Command, endpointNote = ''): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'the --data-dir of `syncproof local` or `sync` (while no runtime uses it)').conflicts(['endpoint', 'stack']))
    .addOption(new Option('--endpoint <url>', `the DynamoDB endpoint a running \`syncproof local\` printed${endpointNote}`).conflicts(['dataDir', 'stack']))
    .addOption(new Option('--stack <name>', "a deployed stack (e.g. 'Syncproof'); AWS credentials from the default chain").conflicts(['dataDir', 'endpoint']))
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)'));
}

/** The dead-lettered events of a local data dir (`queue/dead/*.json`, the local queue's dead-letter queue). */
export async function localDeadLetters(dataDir: string): Promise<{ body: string }[]> {
  const dir = join(dataDir, 'queue', 'dead');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  const out: { body: string }[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text === undefined) continue; // redriven meanwhile
    try {
      out.push({ body: JSON.stringify((JSON.parse(text) as { body?: unknown }).body ?? null) });
    } catch {
      out.push({ body: '' });
    }
  }
  return out;
}

/** Opens the runs, ledger and watermarks tables of the target, runs `work` with the status deps, closes them. */
export async function onStatusState<T>(flags: StateFlags, config: SyncproofConfig, owner: string, work: (deps: StatusDeps, where: StateTargetDescription) => Promise<T>): Promise<T> {
  const opened = await openStateTables({ dataDir: flags.dataDir, endpoint: flags.endpoint, stack: flags.stack, region: flags.region }, ['runs', 'ledger', 'watermarks'], owner);
  const where = opened.description;
  try {
    const extras = where.kind === 'stack' ? await stackExtras(where.stack, stackRegion(flags.region), config) : undefined;
    const deps: StatusDeps = {
      config,
      runs: new DynamoDbRunStore(opened.client, opened.tables.runs),
      ledger: new DynamoDbLedgerStore(opened.client, opened.tables.ledger),
      watermarks: new DynamoDbWatermarkStore(opened.client, opened.tables.watermarks),
      clock: commandClock(),
      deadLetters: extras ? () => extras.deadLetters() : where.kind === 'data-dir' ? () => localDeadLetters(where.dataDir) : async () => [],
      ...(extras ? { schedules: (d) => extras.schedules(d) } : {}),
    };
    return await work(deps, where);
  } catch (error) {
    throw stateFailure(error, where, 'runs');
  } finally {
    await opened.close();
  }
}

interface StatusFlags extends StateFlags {
  readonly config: string;
  readonly serve?: number;
  readonly json?: boolean;
  readonly runs?: number;
}

/** `syncproof status [DATASET…] --config FILE (--data-dir DIR | --endpoint URL | --stack NAME) [--json]`. */
export function statusCommand(outcome: CommandOutcome): Command {
  return withStateFlags(
    new Command('status')
      .description('sync health of each dataset: last run and verification, sync lag, ledger counts, quarantined files, watermark, schedules and dead letters; exit 0 healthy, 1 warning, 2 failing, 3 error')
      .argument('[datasets...]', 'datasets of the configuration (default: all)')
      .requiredOption('--config <file>', 'dataset configuration (lag thresholds lagWarn/lagFail, schedules)')
      .option('--json', 'print the report as JSON instead of a table')
      .option('--runs <n>', `runs listed per dataset in --json (default ${DEFAULT_RUNS_PER_DATASET})`, positiveInt('--runs'))
      .option('--serve <port>', 'serve the status page on 127.0.0.1:PORT (0: a free port) until Ctrl-C, updating live', portNumber('--serve', { allowZero: true })),
    ' (dead letters are not counted through it)',
  )
    .exitOverride()
    .action(async (datasets: string[], flags: StatusFlags) => {
      const config = loadCliConfig(flags.config, datasets);
      if (flags.serve !== undefined) {
        const { serveStatus } = require('./status-serve') as typeof import('./status-serve');
        await onStatusState(flags, config, 'syncproof status --serve', (deps, where) => serveStatus(deps, where, { port: flags.serve!, datasets, region: flags.region }));
        return;
      }
      const collected = await onStatusState(flags, config, 'syncproof status', (deps) => collectStatus(deps, { datasets, runsPerDataset: flags.runs }));
      const report = flags.endpoint === undefined ? collected : { ...collected, notes: ['dead letters are not counted through --endpoint (they are in the data dir of `syncproof local`, and on its status page)'] };
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
      outcome.exitCode = report.exitCode;
    });
}
