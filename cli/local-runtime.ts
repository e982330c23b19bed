/**
 * How the commands that run the local runtime (`sync`, `local`, `demo`) start it, report what
 * keeps it from starting, and end on Ctrl-C.
 */
import { resolve } from 'node:path';
import type { SyncproofConfig } from '../lambdas/core/config';
import { DataDirInUseError } from '../local/data-dir-lock';
import type { LocalRuntime, LocalRuntimeOptions } from '../local/runtime';
import { CliError } from './errors';

/**
 * The CLI's sentence for an error of starting the runtime, or undefined for any other: a data
 * dir another process holds (who, since when) and an `--s3-port` in use.
 */
export function runtimeStartError(error: unknown, s3Port?: number): CliError | undefined {
  if (error instanceof DataDirInUseError) return new CliError(error.message);
  const e = error as NodeJS.ErrnoException & { port?: number };
  if (e?.code === 'EADDRINUSE' && s3Port !== undefined && e.port === s3Port) {
    return new CliError(`--s3-port ${s3Port} is already in use by another process: stop it, choose another port, or leave --s3-port out to use a free one`);
  }
  return undefined;
}

/** {@link LocalRuntime.start}, with {@link runtimeStartError}'s errors as CliErrors. */
export async function startRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  // Loaded when a command starts the runtime, not when the CLI starts (see program.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LocalRuntime } = require('../local/runtime') as typeof import('../local/runtime');
  try {
    return await LocalRuntime.start(options);
  } catch (error) {
    throw runtimeStartError(error, options.s3Port) ?? error;
  }
}

/**
 * The runtime a one-shot command (`sync`, `sync --repair`, `sync A B`, `verify`) works on: the
 * embedded warehouse through the local Data API, or `--warehouse` directly; state in `--data-dir`
 * (or a temporary one); no S3 events (the command starts its executions itself).
 */
export function startCommandRuntime(
  config: SyncproofConfig,
  opts: { readonly warehouse?: string; readonly dataDir?: string },
  owner: string,
  /** Progress on a terminal (./progress.ts). */
  onStateEntered?: LocalRuntimeOptions['onStateEntered'],
): Promise<LocalRuntime> {
  return startRuntime({
    ...(onStateEntered ? { onStateEntered } : {}),
    config,
    warehouse: opts.warehouse,
    warehouseApi: opts.warehouse ? 'direct' : 'data-api',
    dataDir: opts.dataDir ? resolve(opts.dataDir) : undefined,
    owner,
    s3Events: false,
  });
}

/**
 * Runs `work` on `runtime`; a Ctrl-C (SIGINT) or SIGTERM meanwhile ends the process with exit code
 * 130 at once, without waiting for the running executions: they stay journaled in the data dir as
 * a killed process leaves them (the runtime is built to resume from that), and `interrupted`
 * prints what was left running and how the next run resumes it. Stopping the runtime instead would
 * either wait for the executions (what the user interrupted) or close the emulators under them,
 * failing them and journaling them FAILED, so that nothing would resume.
 */
export async function untilInterrupted<T>(
  runtime: LocalRuntime,
  interrupted: (left: ReturnType<LocalRuntime['abandon']>, dataDir: string | undefined) => string,
  work: () => Promise<T>,
): Promise<T> {
  let done = false;
  const onSignal = () => {
    if (done) return;
    done = true;
    const left = runtime.abandon();
    process.stderr.write(`${interrupted(left, runtime.dataDir)}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
