import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { syncOnStack } from '../../cli/sync-stack';
import { syncExitCode } from '../../cli/sync-command';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:SyncStateMachine-abc';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:SyncStateMachine-abc:sync-orders-1';

beforeEach(() => {
  cfn.reset();
  sfn.reset();
  ddb.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [
      { OutputKey: 'SyncStateMachineArn', OutputValue: ARN },
      { OutputKey: 'RunsTableName', OutputValue: 'runs-t' },
      { OutputKey: 'WatermarksTableName', OutputValue: 'wm-t' },
    ] }],
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
});

describe('syncproof sync --stack', () => {
  it('starts the stack\'s SyncStateMachine with the run\'s input and name, waits for it, and reads back run and watermark', async () => {
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() }).resolves({ status: 'SUCCEEDED', executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand, { TableName: 'runs-t' }).resolves({ Item: { runId: 'sync-orders-1', dataset: 'orders', status: 'PASSED', startedAt: 'x', updatedAt: 'y', 'stage_extract': { rows: 5, files: 1 } } });
    ddb.on(GetCommand, { TableName: 'wm-t' }).resolves({ Item: { dataset: 'orders', version: 3, position: { cursor: '2024-01-01 00:00:00', key: ['9'] }, strategy: 'keyset', updatedAt: 'z' } });

    const report = await syncOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders', limit: 10 }, name: 'sync-orders-1', pollMs: 1 });

    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ARN, name: 'sync-orders-1', input: JSON.stringify({ dataset: 'orders', limit: 10 }) });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
    expect(report).toMatchObject({ executionStatus: 'SUCCEEDED', status: 'PASSED', watermark: { version: 3, position: { key: ['9'] } } });
    expect(syncExitCode(report)).toBe(0);
  });

  it('reports a failed execution with its error and cause, and exits 2', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'VerificationFailedError', cause: JSON.stringify({ errorMessage: 'the watermark was not moved' }), executionArn: EXECUTION, stateMachineArn: ARN, startDate: new Date() });
    ddb.on(GetCommand).resolves({});
    const report = await syncOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders' }, name: 'sync-orders-2', pollMs: 1 });
    expect(report).toMatchObject({ executionStatus: 'FAILED', status: 'FAILED', error: 'VerificationFailedError: the watermark was not moved' });
    expect(syncExitCode(report)).toBe(2);
  });

  it('names the missing output of a stack deployed by an older syncproof', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
    await expect(syncOnStack({ stack: 'Syncproof', region: 'eu-west-1', input: { dataset: 'orders' }, name: 'n', pollMs: 1 })).rejects.toThrow("stack 'Syncproof' has no SyncStateMachineArn output");
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
