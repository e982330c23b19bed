import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { verifyOnStack } from '../../cli/verify-stack';
import { exitCodeFor } from '../../lambdas/core/verification';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:VerifyStateMachine-abc';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:VerifyStateMachine-abc:verify-orders-1';

beforeEach(() => {
  cfn.reset();
  sfn.reset();
  ddb.reset();
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
});
