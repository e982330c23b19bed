import { buildProgram } from './program';
import { TerminalError, TransientError } from '../lambdas/core/errors';
import { CliError } from './errors';
import type { SourceCommandDeps } from './source-url';

/**
 * Runs the CLI (entry bin/syncproof.ts, which package.json "bin" runs through bin/syncproof.cjs).
 * Resolves to the exit code: 0 passed, 1 passed with warnings, 2 failed, 3 error (bad arguments,
 * unreachable services).
 * `deps` replaces how source databases are opened (tests).
 */
export async function main(argv: readonly string[], deps?: SourceCommandDeps): Promise<number> {
  const outcome = { exitCode: 0 };
  const program = buildProgram(outcome, deps);
  try {
    await program.parseAsync([...argv]);
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`syncproof: ${error.message}\n`);
      return error.exitCode;
    }
    const e = error as { code?: string };
    if (e.code?.startsWith('commander.')) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 3;
    // Our own errors are sentences already (their class name tells a user nothing); anything
    // else keeps its name, as it is likely a defect worth reporting.
    const ours = error instanceof TransientError || error instanceof TerminalError;
    process.stderr.write(`syncproof: ${error instanceof Error ? (ours ? error.message : `${error.name}: ${error.message}`) : String(error)}\n`);
    return 3;
  }
}
