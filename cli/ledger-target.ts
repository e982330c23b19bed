import { DynamoDbLedgerStore } from '../lambdas/adapters/dynamodb-stores';
import { openStateTarget, type StateTargetDescription, type StateTargetOptions } from './state-target';

export { TARGET_FLAGS, describeAwsError } from './state-target';

/** Which ledger a `syncproof ledger` command reads: exactly one of the three (see {@link StateTargetOptions}). */
export type LedgerTargetOptions = StateTargetOptions;

/** Where the ledger was found, as reports show it (no credentials). */
export type LedgerTargetDescription = StateTargetDescription;

/** An opened ledger; `close` releases the client and, for a data dir, the embedded emulator. */
export interface LedgerTarget {
  readonly ledger: DynamoDbLedgerStore;
  readonly description: LedgerTargetDescription;
  close(): Promise<void>;
}

/** Opens the ledger the options name (the stack's `LedgerTableName` output). Throws CliError (exit 3) naming what to fix. */
export async function openLedgerTarget(options: LedgerTargetOptions): Promise<LedgerTarget> {
  const target = await openStateTarget(options, 'ledger');
  return { ledger: new DynamoDbLedgerStore(target.client, target.table), description: target.description, close: () => target.close() };
}
