/**
 * Environment variable names shared by the CDK constructs (which set them) and the handlers
 * (which read them). One place, so the two sides cannot drift.
 */
export const ENV = {
  /** The data bucket: dataset prefixes and syncproof's own `_syncproof/` objects. */
  bucket: 'SYNCPROOF_BUCKET',
  ledgerTable: 'SYNCPROOF_LEDGER_TABLE',
  runsTable: 'SYNCPROOF_RUNS_TABLE',
  watermarksTable: 'SYNCPROOF_WATERMARKS_TABLE',
  /** The validated SyncproofConfig, as JSON. */
  config: 'SYNCPROOF_CONFIG',
  /** ARN of the SyncStateMachine (trigger Lambda only). */
  syncStateMachineArn: 'SYNCPROOF_SYNC_STATE_MACHINE_ARN',
  /** `redshift-data` in AWS; a `postgres://` URL or `pglite:` path locally. */
  warehouse: 'SYNCPROOF_WAREHOUSE',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
