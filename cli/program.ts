import { Command, InvalidArgumentError } from 'commander';
import { cleanCommand } from './clean-command';
import { datasetsCommand } from './datasets-command';
import { demoCommand } from './demo-command';
import { diffCommand } from './diff-command';
import { ledgerCommand } from './ledger-command';
import { localCommand } from './local-command';
import { runsCommand } from './runs-command';
import { sampleCommand } from './sample-command';
import { sourceCommand } from './source-command';
import { statusCommand } from './status-command';
import { openSourceUrl } from './source-connect';
import type { SourceCommandDeps } from './source-url';
import { syncCommand } from './sync-command';
import { verifyCommand } from './verify-command';
import { verifyLocalCommand } from './verify-local-command';
import { watermarkCommand } from './watermark-command';

/** Where a command leaves the process exit code. */
export interface CommandOutcome {
  exitCode: number;
}

/** Parses a positive integer option, or fails with a message naming the option. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** Parses a TCP port option (1-65535; with `allowZero`, 0 asks for a free port), or fails naming the option. */
export function portNumber(name: string, options: { readonly allowZero?: boolean } = {}) {
  const min = options.allowZero ? 0 : 1;
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > 65535) throw new InvalidArgumentError(`${name} must be ${min}-65535${min === 0 ? ' (0: a free port)' : ''}, got '${value}'`);
    return n;
  };
}

/**
 * The `syncproof` command line. Each command calls the same cores and adapters as the Lambdas;
 * `deps` opens source databases (tests pass an in-memory one).
 */
export function buildProgram(outcome: CommandOutcome, deps: SourceCommandDeps = { openSource: openSourceUrl }): Command {
  const program = new Command('syncproof')
    .description('Keep Amazon Redshift in proven sync with its sources')
    .exitOverride()
    .showHelpAfterError();
  program.addCommand(demoCommand(outcome));
  program.addCommand(localCommand(outcome));
  program.addCommand(ledgerCommand());
  program.addCommand(syncCommand(outcome));
  program.addCommand(verifyCommand(outcome));
  program.addCommand(verifyLocalCommand(outcome));
  program.addCommand(watermarkCommand());
  program.addCommand(sourceCommand(deps));
  program.addCommand(datasetsCommand(deps));
  program.addCommand(diffCommand(outcome));
  program.addCommand(statusCommand(outcome));
  program.addCommand(runsCommand());
  program.addCommand(sampleCommand());
  program.addCommand(cleanCommand());
  return program;
}
