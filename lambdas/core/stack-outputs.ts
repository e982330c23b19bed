/**
 * CloudFormation output keys of the deployed stack, shared by the stack (lib/syncproof-stack.ts,
 * which declares them) and the CLI (which reads them with DescribeStacks to find the tables).
 * They are a contract with operators' tooling: renaming one breaks `--stack` lookups.
 */
export const STACK_OUTPUTS = {
  /** Name of the file-ledger table. */
  ledgerTable: 'LedgerTableName',
  /** Name of the watermarks table (`syncproof watermark --stack`). */
  watermarksTable: 'WatermarksTableName',
  /** Name of the run-records table. */
  runsTable: 'RunsTableName',
  /** Name of the data bucket. */
  bucket: 'BucketName',
  /** ARN of the SyncStateMachine (`syncproof sync --stack`). */
  syncStateMachine: 'SyncStateMachineArn',
  /** ARN of the SyncDatasetsStateMachine (`syncproof sync A B --stack`). */
  syncDatasetsStateMachine: 'SyncDatasetsStateMachineArn',
  /** ARN of the VerifyStateMachine (`syncproof verify --stack`). */
  verifyStateMachine: 'VerifyStateMachineArn',
  /** URL of the S3 events' dead-letter queue (`syncproof status --stack`); only when a dataset is fed by uploads. */
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
} as const;

export type StackOutputKey = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];
