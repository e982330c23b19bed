/**
 * `syncproof clean --stack NAME`: the deps the clean core needs on a deployed stack — its bucket and
 * its ledger, runs and watermarks tables, found by the stack's outputs — with the operator's
 * credentials (the default chain). The clean never touches the warehouse or a data file's content.
 */
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import type { SyncproofConfig } from '../lambdas/core/config';
import type { Clock } from '../lambdas/core/ports';
import type { StageDeps } from '../lambdas/core/stage-deps';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { readStackOutputs, stackRegion } from './state-target';

const UNUSED = (what: string) => () => Promise.reject(new Error(`syncproof clean does not use ${what}`));

/** Opens the stack's state for a clean; `close` releases the clients. */
export async function cleanDepsOnStack(config: SyncproofConfig, stack: string, regionOption: string | undefined, clock: Clock): Promise<{ deps: StageDeps; close: () => void }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = stackRegion(regionOption);
  const outputs = await readStackOutputs(stack, region, [STACK_OUTPUTS.bucket, STACK_OUTPUTS.ledgerTable, STACK_OUTPUTS.runsTable, STACK_OUTPUTS.watermarksTable]);
  const s3 = createS3Client({ region });
  const ddb = createDocumentClient({ region });
  const deps: StageDeps = {
    config,
    objects: new S3ObjectStore(s3, outputs[STACK_OUTPUTS.bucket]),
    ledger: new DynamoDbLedgerStore(ddb, outputs[STACK_OUTPUTS.ledgerTable]),
    runs: new DynamoDbRunStore(ddb, outputs[STACK_OUTPUTS.runsTable]),
    watermarks: new DynamoDbWatermarkStore(ddb, outputs[STACK_OUTPUTS.watermarksTable]),
    warehouse: UNUSED('the warehouse'),
    files: { inspect: UNUSED('file contents') },
    clock,
    copyRoleArn: '',
    log: { info: () => undefined, warn: () => undefined },
  };
  return {
    deps,
    close: () => {
      s3.destroy();
      ddb.destroy();
    },
  };
}
