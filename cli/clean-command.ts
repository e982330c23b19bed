/**
 * `syncproof clean DATASET|--all --config FILE (--data-dir DIR | --stack NAME) [--older-than AGE]
 * [--dry-run] [--yes] [--json FILE]`: retention on demand (issue #16 item 3). Plans with the same
 * core as the stack's scheduled clean Lambda (lambdas/clean/clean.ts, rules in
 * lambdas/core/retention.ts), prints what it would free (objects, bytes, by kind) and what it keeps
 * and why, asks before deleting unless `--yes`, then removes. On a data dir the removal runs as the
 * clean Lambda's role (the local runtime evaluates every call against the synthesized policy).
 *
 * Exit codes: 0 done (or nothing to do, a dry run, or declined at the prompt); 3 an error: bad
 * input, no confirmation possible (stdin not a terminal, no `--yes`), or a delete that failed
 * (named by key; what was removed stays removed, and running clean again finishes the rest).
 *
 * `SYNCPROOF_NOW` (an ISO-8601 instant; tests only) sets the clock retention ages count from.
 */
import { startProgress } from './progress';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import type { CleanPlan, DatasetCleanPlan, DatasetCleanResult, Tally } from '../lambdas/clean/clean';
import { retentionAgeMs, type CleanKind, type KeepReason } from '../lambdas/core/retention';
import type { Clock } from '../lambdas/core/ports';
import type { StageDeps } from '../lambdas/core/stage-deps';
import { loadCliConfig } from './config-file';
import { CliError } from './errors';
import { writeJsonReport } from './json-file';
import { startCommandRuntime } from './local-runtime';
import { cleanDepsOnStack } from './clean-stack';

interface CleanOptions {
  config: string;
  all?: boolean;
  olderThan?: string;
  dataDir?: string;
  stack?: string;
  region?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: string;
}

const KIND_WORDS: Record<CleanKind, string> = { data: 'data files', extracts: 'extraction files', batches: 'batches and load results', inventories: 'inventories', reports: 'reports' };
const KEEP_WORDS: Record<KeepReason, string> = {
  'not-loaded': 'not loaded',
  quarantined: 'quarantined',
  'within-retention': 'within retention',
  'newer-than-verification': 'newer than the last passed verification',
  'ahead-of-watermark': 'ahead of the watermark',
  'in-use': 'of a running, the newest or the verifying run',
};

/** `1.5 MB`, `320 B`: decimal units. */
export function bytesText(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function tallyText(t: Tally): string {
  return `${t.objects} object${t.objects === 1 ? '' : 's'}, ${bytesText(t.bytes)}`;
}

function total(by: Record<CleanKind, Tally>): Tally {
  return Object.values(by).reduce((a, t) => ({ objects: a.objects + t.objects, bytes: a.bytes + t.bytes }), { objects: 0, bytes: 0 });
}

/** The plan of one dataset: what it frees by kind, what it keeps by reason. */
export function formatDatasetPlan(d: DatasetCleanPlan): string {
  if (d.skipped) return `clean ${d.dataset}: nothing removed: ${d.skipped}`;
  const head = `clean ${d.dataset} (older than ${d.olderThan}, before ${d.cutoff}; last passed verification ${d.verification?.runId} started ${d.verification?.startedAt}):`;
  const kinds = (Object.entries(d.freeing) as [CleanKind, Tally][]).filter(([, t]) => t.objects > 0).map(([k, t]) => `${KIND_WORDS[k]} ${tallyText(t)}`);
  const keeps = (Object.entries(d.kept) as [KeepReason, number][]).filter(([, n]) => n > 0).map(([r, n]) => `${n} ${KEEP_WORDS[r]}`);
  const keptTotal = Object.values(d.kept).reduce((a, n) => a + n, 0);
  return [
    head,
    `  frees ${tallyText(total(d.freeing))}${kinds.length ? `: ${kinds.join('; ')}` : ''}`,
    `  keeps ${keptTotal} object${keptTotal === 1 ? '' : 's'}${keeps.length ? `: ${keeps.join(', ')}` : ''}`,
  ].join('\n');
}

/** Asks on the terminal; true only for y/yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** The clock: real, or `SYNCPROOF_NOW` (tests). */
function cleanClock(): Clock {
  const fixed = process.env.SYNCPROOF_NOW;
  if (fixed === undefined || fixed === '') return { now: () => new Date() };
  const at = Date.parse(fixed);
  if (Number.isNaN(at)) throw new CliError(`SYNCPROOF_NOW '${fixed}' is not an ISO-8601 instant; unset it`);
  return { now: () => new Date(at) };
}

/** `syncproof clean`. */
export function cleanCommand(): Command {
  return new Command('clean')
    .description("remove a dataset's loaded and verified objects (data files, extraction files), batches, inventories and reports past retention, recording each data file as deleted in the ledger; never a file that is not loaded, quarantined, or newer than the last passed verification")
    .argument('[dataset]', 'a dataset of the configuration (or --all)')
    .requiredOption('--config <file>', 'dataset configuration (the same JSON file the CDK app deploys)')
    .option('--all', 'every dataset of the configuration')
    .option('--older-than <age>', "retention age, e.g. '7d', '36h' (default: the dataset's retention.olderThan)")
    .addOption(new Option('--data-dir <dir>', 'the local state `syncproof local` or `sync --data-dir` kept (while nothing runs on it)').conflicts(['stack']))
    .addOption(new Option('--stack <name>', "a deployed stack (e.g. 'Syncproof'): its bucket and tables from its outputs; AWS credentials from the default chain").conflicts(['dataDir']))
    .option('--region <region>', 'AWS region of --stack (default: $AWS_REGION)')
    .option('--dry-run', 'show what would be removed; remove nothing')
    .option('--yes', 'remove without asking')
    .option('--json <file>', 'also write the plan and what was removed as JSON to this file')
    .exitOverride()
    .action(async (dataset: string | undefined, opts: CleanOptions) => {
      if ((dataset === undefined) === !opts.all) throw new CliError(dataset === undefined ? 'name a dataset, or pass --all' : 'name a dataset or pass --all, not both');
      if (opts.olderThan !== undefined && retentionAgeMs(opts.olderThan) === undefined) throw new CliError(`--older-than '${opts.olderThan}' is not an age: give a whole number of minutes, hours or days, e.g. '7d', '36h' or '90m'`);
      if ((opts.dataDir === undefined) === (opts.stack === undefined)) throw new CliError('name the state to clean: give exactly one of --data-dir DIR (the local state) or --stack NAME (a deployed stack)');
      if (opts.region !== undefined && opts.stack === undefined) throw new CliError('--region applies to --stack only');
      if (!opts.dryRun && !opts.yes && !process.stdin.isTTY) throw new CliError('clean deletes objects and stdin is not a terminal to confirm it: pass --yes to delete, or --dry-run to see what would go');
      const config = loadCliConfig(opts.config, dataset === undefined ? [] : [dataset]);
      const clock = cleanClock();
      // The core loads only when a clean runs, not at every CLI start.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { applyClean, planClean } = require('../lambdas/clean/clean') as typeof import('../lambdas/clean/clean');
      await withCleanDeps(config, opts, clock, async (deps) => {
        const plan: CleanPlan = await planClean({ ...(dataset === undefined ? { all: true } : { dataset }), ...(opts.olderThan ? { olderThan: opts.olderThan } : {}) }, deps);
        process.stdout.write(`${plan.datasets.map(formatDatasetPlan).join('\n')}\n`);
        const freeing = total(mergeTallies(plan.datasets.map((d) => d.freeing)));
        let results: DatasetCleanResult[] = [];
        let declined = false;
        if (opts.dryRun) process.stdout.write(`dry run: nothing deleted (a clean would free ${tallyText(freeing)})\n`);
        else if (freeing.objects === 0) process.stdout.write('nothing to delete\n');
        else if (!opts.yes && !(await confirm(`delete ${tallyText(freeing)}? [y/N] `))) {
          declined = true;
          process.stdout.write('declined: nothing deleted\n');
        } else {
          // Progress on a terminal only (the counted objects as its `files`); stdout stays line-oriented.
          const progress = startProgress({ label: `clean ${dataset ?? '--all'}` });
          try {
            results = await applyClean(plan, deps, (done, all) => progress.update({ stage: `deleting ${done}/${all}`, files: done }));
          } finally {
            progress.stop();
          }
          const removed = total(mergeTallies(results.map((r) => r.removed)));
          const changed = results.reduce((n, r) => n + r.changed, 0);
          process.stdout.write(`deleted ${tallyText(removed)}${changed ? `; ${changed} left as they were (written again, or their ledger entry moved, since the plan)` : ''}\n`);
        }
        if (opts.json) {
          const datasets = plan.datasets.map(({ removals, ...d }) => ({ ...d, removals: removals.map((r) => ({ key: r.key, etag: r.etag, size: r.size, kind: r.kind })) }));
          await writeJsonReport(opts.json, { command: 'clean', cleanId: plan.cleanId, at: plan.at, dryRun: opts.dryRun === true, declined, datasets, results });
        }
        const failures = results.flatMap((r) => r.failures);
        if (failures.length > 0) {
          throw new CliError(
            `${failures.length} deletes failed, the rest were done; run clean again to finish: ${failures.slice(0, 5).map((f) => `${f.key} (${f.error})`).join('; ')}${failures.length > 5 ? '; …' : ''}`,
          );
        }
      });
    });
}

function mergeTallies(all: readonly Record<CleanKind, Tally>[]): Record<CleanKind, Tally> {
  const out = {} as Record<CleanKind, Tally>;
  for (const by of all) for (const [k, t] of Object.entries(by) as [CleanKind, Tally][]) out[k] = { objects: (out[k]?.objects ?? 0) + t.objects, bytes: (out[k]?.bytes ?? 0) + t.bytes };
  return out;
}

/** Opens the state (local runtime as the clean role, or the stack's bucket and tables), runs `work`, closes. */
async function withCleanDeps(config: ReturnType<typeof loadCliConfig>, opts: CleanOptions, clock: Clock, work: (deps: StageDeps) => Promise<void>): Promise<void> {
  if (opts.stack !== undefined) {
    const { deps, close } = await cleanDepsOnStack(config, opts.stack, opts.region, clock);
    try {
      await work(deps);
    } finally {
      close();
    }
    return;
  }
  try {
    await access(resolve(opts.dataDir as string));
  } catch {
    throw new CliError(`--data-dir '${opts.dataDir}' does not exist; give the directory that \`syncproof local\` or \`sync --data-dir\` keeps its state in`);
  }
  const runtime = await startCommandRuntime(config, { dataDir: opts.dataDir }, 'syncproof clean');
  try {
    await work({ ...runtime.depsOf('clean'), clock });
  } finally {
    await runtime.stop();
  }
}
