import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeRuleCommand, EventBridgeClient, ListRuleNamesByTargetCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { stackExtras } from '../../cli/status-stack';
import { parseConfig } from '../../lambdas/core/config';

const cfn = mockClient(CloudFormationClient);
const events = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const SYNC = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Sync';
const VERIFY = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Verify';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq';

const config = parseConfig({
  datasets: [
    { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'], verifySchedule: 'rate(6 hours)' },
    { name: 'users', prefix: 'users/', target: { schema: 'public', table: 'users' }, keyColumns: ['id'] },
  ],
});

beforeEach(() => {
  cfn.reset();
  events.reset();
  sqs.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [
      { OutputKey: 'SyncStateMachineArn', OutputValue: SYNC },
      { OutputKey: 'VerifyStateMachineArn', OutputValue: VERIFY },
      { OutputKey: 'DeadLetterQueueUrl', OutputValue: QUEUE },
    ] }],
  });
  events.on(ListRuleNamesByTargetCommand, { TargetArn: SYNC }).resolves({ RuleNames: ['reconcile-orders', 'object-created'] });
  events.on(ListRuleNamesByTargetCommand, { TargetArn: VERIFY }).resolves({ RuleNames: ['verify-orders'] });
  events.on(DescribeRuleCommand, { Name: 'reconcile-orders' }).resolves({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' });
  events.on(DescribeRuleCommand, { Name: 'object-created' }).resolves({ EventPattern: '{}', State: 'ENABLED' });
  events.on(DescribeRuleCommand, { Name: 'verify-orders' }).resolves({ ScheduleExpression: 'rate(6 hours)', State: 'DISABLED' });
  events.on(ListTargetsByRuleCommand, { Rule: 'reconcile-orders' }).resolves({ Targets: [{ Id: 't', Arn: SYNC, Input: JSON.stringify({ dataset: 'orders', mode: 'reconcile' }) }] });
  events.on(ListTargetsByRuleCommand, { Rule: 'verify-orders' }).resolves({ Targets: [{ Id: 't', Arn: VERIFY, Input: JSON.stringify({ dataset: 'orders', tier: 'counts' }) }] });
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
});

describe('syncproof status --stack', () => {
  it("reads each dataset's schedule rules and their state; a configured schedule without a rule is disabled", async () => {
    const extras = await stackExtras('Syncproof', 'eu-west-1', config);
    expect(await extras.schedules(config.datasets[0]!)).toEqual([
      { name: 'verify', expression: 'rate(6 hours)', enabled: false },
      { name: 'reconcile', expression: 'rate(1 day)', enabled: true },
    ]);
    expect(await extras.schedules(config.datasets[1]!)).toEqual([
      { name: 'verify', expression: 'rate(1 day)', enabled: false },
      { name: 'reconcile', expression: 'rate(1 day)', enabled: false },
    ]);
    expect(events).toHaveReceivedCommandTimes(ListRuleNamesByTargetCommand, 2);
    expect(events).not.toHaveReceivedCommandWith(ListTargetsByRuleCommand, { Rule: 'object-created' });
  });

  it("counts the dead-letter queue's messages without receiving them (bodies unknown)", async () => {
    const extras = await stackExtras('Syncproof', 'eu-west-1', config);
    expect(await extras.deadLetters()).toEqual([{ body: '' }, { body: '' }, { body: '' }]);
    expect(sqs).toHaveReceivedCommandWith(GetQueueAttributesCommand, { QueueUrl: QUEUE, AttributeNames: ['ApproximateNumberOfMessages'] });
  });

  it('says which permission is missing when EventBridge refuses', async () => {
    events.on(ListRuleNamesByTargetCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const extras = await stackExtras('Syncproof', 'eu-west-1', config);
    await expect(extras.schedules(config.datasets[0]!)).rejects.toThrow(/schedule rules of stack 'Syncproof': access denied; the credentials need events:ListRuleNamesByTarget/);
  });
});
