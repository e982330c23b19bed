import { Command, InvalidArgumentError } from 'commander';
import { demoCommand } from './demo-command';
import { ledgerCommand } from './ledger-command';
import { localCommand } from './local-command';
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

/** The `syncproof` command line. Each command calls the same cores and adapters as the Lambdas. */
export function buildProgram(outcome: CommandOutcome): Command {
  const program = new Command('syncproof')
    .description('Keep Amazon Redshift in proven sync with its sources')
    .exitOverride()
    .showHelpAfterError();
  program.addCommand(demoCommand(outcome));
  program.addCommand(localCommand(outcome));
  program.addCommand(ledgerCommand());
  program.addCommand(verifyLocalCommand(outcome));
  program.addCommand(watermarkCommand());
  return program;
}
