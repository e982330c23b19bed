import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { verifyOnStack } from '../../cli/verify-stack';
import { exitCodeFor } from '../../lambdas/core/verification';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
/** A GetObject answer whose body is `value` as JSON (the SDK's body mixin, reduced to what the adapter reads). */
const jsonBody = (value: unknown) => ({ Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(JSON.stringify(value))) } }) as never;
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:VerifyStateMachine-abc';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:VerifyStateMachine-abc:verify-orders-1';

beforeEach(() => {
  cfn.reset();
  sfn.reset();
  ddb.reset();
  s3.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [
      { OutputKey: 'VerifyStateMachineArn', OutputValue: ARN },
      { OutputKey: 'RunsTableName', OutputValue: 'runs-t' },
    ] }],
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
});

describe('syncproof verify --stack', () => {
  it("starts the stack's VerifyStateMachine with the dataset and tier, waits for it, and reads back the run record", async () => {
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() }).resolves({ status: 'SUCCEEDED', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand, { TableName: 'runs-t', Key: { runId: 'verify-orders-1' } }).resolves({ Item: { runId: 'verify-orders-1', dataset: 'orders', status: 'PASSED', startedAt: 'x', updatedAt: 'y' } });

    const result = await verifyOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders', tier: 'counts' }, name: 'verify-orders-1', pollMs: 1 });

    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'Syncproof' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN, name: 'verify-orders-1', input: JSON.stringify({ dataset: 'orders', tier: 'counts' }) });
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 'runs-t', Key: { runId: 'verify-orders-1' } });
    expect(result).toMatchObject({ executionStatus: 'SUCCEEDED', status: 'PASSED' });
    expect(exitCodeFor(result.status)).toBe(0);
  });

  it('reports a FAILED verdict with the execution error, exit code 2', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'VerificationFailedError', cause: 'orders: FAILED — count chain FAILED', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand).resolves({ Item: { runId: 'verify-orders-1', dataset: 'orders', status: 'FAILED', startedAt: 'x', updatedAt: 'y' } });

    const result = await verifyOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders', tier: 'counts' }, name: 'verify-orders-1', pollMs: 1 });

    expect(result).toMatchObject({ executionStatus: 'FAILED', status: 'FAILED' });
    expect(result.error).toContain('orders: FAILED — count chain FAILED');
    expect(exitCodeFor(result.status)).toBe(2);
  });

  it("prints each tier's summary from the report objects the run record names, as a local verify does; --since and --seed go into the input", async () => {
    const countsUri = 's3://data-b/_syncproof/reports/orders/verify-orders-1/count-chain.json';
    const contentUri = 's3://data-b/_syncproof/reports/orders/verify-orders-1/content-tier.json';
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'VerificationFailedError', cause: 'orders: FAILED — content FAILED', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand).resolves({
      Item: { runId: 'verify-orders-1', dataset: 'orders', status: 'FAILED', startedAt: 'x', updatedAt: 'y', stage_finish: { status: 'FAILED', inventory: 's3://data-b/inv.json', checksum: 's3://data-b/sum.json', counts: countsUri, content: contentUri } },
    });
    s3.on(GetObjectCommand, { Bucket: 'data-b', Key: '_syncproof/reports/orders/verify-orders-1/count-chain.json' }).resolves(
      jsonBody({ tier: 'counts', dataset: 'orders', status: 'PASSED', since: '2024-03-01', hops: [{ name: 'source → manifests', status: 'PASSED', fromRows: 3, toRows: 3, problems: [], proves: 'x' }], runs: [], notLoadedFiles: 0 }),
    );
    s3.on(GetObjectCommand, { Bucket: 'data-b', Key: '_syncproof/reports/orders/verify-orders-1/content-tier.json' }).resolves(
      jsonBody({
        tier: 'sampled', mode: 'database', runId: 'verify-orders-1', dataset: 'orders', status: 'FAILED', verifiedAt: 'z', seed: 's1',
        summary: 'orders content: FAILED, 1 missing in the warehouse', compared: '3 columns, 10 rows', deletes: 'report', comparisonUri: 's3://data-b/c.json',
        keys: { missing: [['7']], extra: [], changed: [{ key: ['9'], columns: ['name'] }], deleted: [], duplicates: [] },
        counts: { missing: 1, extra: 0, changed: 1, deleted: 0, duplicates: 0 },
      }),
    );

    const result = await verifyOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders', tier: 'sampled', since: '2024-03-01', seed: 's1' }, name: 'verify-orders-1', pollMs: 1 });

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { input: JSON.stringify({ dataset: 'orders', tier: 'sampled', since: '2024-03-01', seed: 's1' }) });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(result.status).toBe('FAILED');
    const text = result.lines.join('\n');
    expect(text).toContain('verify orders (sampled) on stack Syncproof: FAILED');
    expect(text).toContain('inventory report: s3://data-b/inv.json');
    expect(text).toContain('verify orders (counts): PASSED (since 2024-03-01)');
    expect(text).toContain('  PASSED source → manifests: 3 → 3');
    expect(text).toContain('verify orders (sampled): FAILED (seed s1)');
    expect(text).toContain('  missing (7)');
    expect(text).toContain('  changed (9): name');
    expect(text).toContain(`  report: ${contentUri} (re-extract its missing and changed rows: syncproof sync orders --repair ${contentUri})`);
    expect(exitCodeFor(result.status)).toBe(2);
  });

  it('says which report could not be read and keeps the run record\'s verdict and error', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'VerificationFailedError', cause: 'orders: FAILED — count chain FAILED', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand).resolves({ Item: { runId: 'verify-orders-1', dataset: 'orders', status: 'FAILED', startedAt: 'x', updatedAt: 'y', stage_finish: { status: 'FAILED', counts: 's3://data-b/gone.json' } } });
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));

    const result = await verifyOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders', tier: 'counts' }, name: 'verify-orders-1', pollMs: 1 });

    expect(result.status).toBe('FAILED');
    expect(result.lines.join('\n')).toContain('s3://data-b/gone.json could not be read');
    expect(result.lines.join('\n')).toContain('orders: FAILED — count chain FAILED');
  });
});
