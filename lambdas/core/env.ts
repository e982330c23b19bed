/**
 * Environment variable names shared by the CDK constructs (which set them) and the handlers
 * (which read them). One place, so the two sides cannot drift. The dataset configuration is not
 * among them: it ships in each stage's bundle (`core/bundled-config.ts`), since Lambda caps a
 * function's environment at 4 KB.
 */
export const ENV = {
  /** The data bucket: dataset prefixes and syncproof's own `_syncproof/` objects. */
  bucket: 'SYNCPROOF_BUCKET',
  ledgerTable: 'SYNCPROOF_LEDGER_TABLE',
  runsTable: 'SYNCPROOF_RUNS_TABLE',
  watermarksTable: 'SYNCPROOF_WATERMARKS_TABLE',
  /** ARN of the SyncStateMachine (trigger Lambda only). */
  syncStateMachineArn: 'SYNCPROOF_SYNC_STATE_MACHINE_ARN',
  /** `redshift-data` in AWS; a `postgres://` URL or `pglite:` path locally. */
  warehouse: 'SYNCPROOF_WAREHOUSE',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
