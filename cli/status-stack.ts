/**
 * What `syncproof status --stack` reads besides the tables: the dead-letter queue's depth (SQS
 * GetQueueAttributes; its messages are not received, so they cannot be attributed to a dataset)
 * and the schedule rules targeting the state machines (EventBridge ListRuleNamesByTarget,
 * DescribeRule, ListTargetsByRule).
 */
import { DescribeRuleCommand, EventBridgeClient, ListRuleNamesByTargetCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DatasetConfig, SyncproofConfig } from '../lambdas/core/config';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { schedulesOf } from '../lambdas/core/status';
import { CliError } from './errors';
import { awsFailure, readStackOutputs } from './state-target';
import type { ScheduleState } from './status-collect';

/** One schedule rule of the stack: which dataset, which schedule, its expression and state. */
interface StackRule {
  readonly dataset: string;
  readonly name: ScheduleState['name'];
  readonly expression: string;
  readonly enabled: boolean;
}

/** The stack's dead letters (bodies unknown: each counts against every dataset) and schedules. */
export interface StackExtras {
  deadLetters(): Promise<readonly { body: string }[]>;
  schedules(dataset: DatasetConfig): Promise<readonly ScheduleState[]>;
}

async function listRules(client: EventBridgeClient, machineArn: string, machine: 'sync' | 'verify'): Promise<StackRule[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListRuleNamesByTargetCommand({ TargetArn: machineArn, NextToken: token }));
    names.push(...(page.RuleNames ?? []));
    token = page.NextToken;
  } while (token);
  const rules: StackRule[] = [];
  for (const rule of names) {
    const described = await client.send(new DescribeRuleCommand({ Name: rule }));
    if (!described.ScheduleExpression) continue;
    const targets = await client.send(new ListTargetsByRuleCommand({ Rule: rule }));
    for (const t of targets.Targets ?? []) {
      if (t.Arn !== machineArn || !t.Input) continue;
      const input = JSON.parse(t.Input) as { dataset?: unknown; mode?: unknown };
      if (typeof input.dataset !== 'string') continue;
      const name = machine === 'verify' ? 'verify' : input.mode === 'reconcile' ? 'reconcile' : 'sync';
      rules.push({ dataset: input.dataset, name, expression: described.ScheduleExpression, enabled: described.State === 'ENABLED' });
    }
  }
  return rules;
}

/**
 * Reads the stack's outputs once and returns its dead letters and schedules. A dataset whose
 * configured schedule has no rule on the stack shows it `enabled: false` (deployed without it).
 */
export async function stackExtras(stack: string, region: string, config: SyncproofConfig): Promise<StackExtras> {
  const fedByUploads = config.datasets.some((d) => !d.source);
  const machines = await readStackOutputs(stack, region, [STACK_OUTPUTS.syncStateMachine, STACK_OUTPUTS.verifyStateMachine]);
  const queueUrl = fedByUploads ? (await readStackOutputs(stack, region, [STACK_OUTPUTS.deadLetterQueueUrl]))[STACK_OUTPUTS.deadLetterQueueUrl] : undefined;
  let rules: Promise<StackRule[]> | undefined;
  const allRules = () => {
    rules ??= (async () => {
      const client = new EventBridgeClient({ region });
      try {
        return [...(await listRules(client, machines[STACK_OUTPUTS.syncStateMachine], 'sync')), ...(await listRules(client, machines[STACK_OUTPUTS.verifyStateMachine], 'verify'))];
      } catch (error) {
        throw new CliError(awsFailure(error, `reading the schedule rules of stack '${stack}'`, 'events:ListRuleNamesByTarget, DescribeRule and ListTargetsByRule', region));
      } finally {
        client.destroy();
      }
    })();
    return rules;
  };
  return {
    async deadLetters() {
      if (queueUrl === undefined) return [];
      const client = new SQSClient({ region });
      try {
        const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
        const n = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
        return Array.from({ length: n }, () => ({ body: '' }));
      } catch (error) {
        throw new CliError(awsFailure(error, `reading the dead-letter queue of stack '${stack}'`, 'sqs:GetQueueAttributes on the dead-letter queue', region));
      } finally {
        client.destroy();
      }
    },
    async schedules(dataset) {
      const found = (await allRules()).filter((r) => r.dataset === dataset.name);
      return schedulesOf(dataset).map((spec) => {
        const rule = found.find((r) => r.name === spec.name);
        return rule ? { name: spec.name, expression: rule.expression, enabled: rule.enabled } : { ...spec, enabled: false };
      });
    },
  };
}
