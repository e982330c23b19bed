import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type SyncproofConfig } from '../../lib/config';
import { schedulePeriodSeconds } from '../../lib/constructs/schedule-period';
import { METRIC_NAMESPACE, METRICS } from '../../lambdas/core/metric-names';
import { exampleConfig, sourceDataset, templateOf } from './support';

const ORDERS = exampleConfig().datasets[0]!;

/** The example's orders dataset with lagFail 2h and a 6-hourly verification, and a database dataset with the defaults. */
function twoDatasets(extra: Partial<SyncproofConfig> = {}): SyncproofConfig {
  return parseConfig({ ...exampleConfig(), datasets: [{ ...ORDERS, lagFail: '2h', verifySchedule: 'rate(6 hours)' }, sourceDataset()], ...extra });
}

type Resource = { Properties: Record<string, unknown> };
const alarms = (t: Template): Resource[] => Object.values(t.findResources('AWS::CloudWatch::Alarm')) as Resource[];
const alarmOf = (t: Template, metricName: string, dataset?: string): Resource[] =>
  alarms(t).filter((a) => a.Properties.MetricName === metricName && (dataset === undefined || JSON.stringify(a.Properties.Dimensions).includes(`"Value":"${dataset}"`)));

describe('observability: dashboard', () => {
  const template = templateOf(twoDatasets());

  it('has one dashboard that names the syncproof metrics the stages emit, in their namespace', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
    for (const name of [METRICS.rows, METRICS.files, METRICS.bytes, METRICS.lagSeconds, METRICS.quarantines, METRICS.dataApiStatements, METRICS.retries, METRICS.verifications]) {
      expect(body).toContain(`\\"${METRIC_NAMESPACE}\\",\\"${name}\\",\\"dataset\\"`);
    }
    // Stage durations: a search over every stage and dataset.
    expect(body).toMatch(new RegExp(`SEARCH\\('\\{${METRIC_NAMESPACE},dataset,service,stage\\} MetricName=[\\\\"]+${METRICS.durationMs}`));
    expect(body).toContain(`\\"${METRIC_NAMESPACE}\\"`);
    // Each dataset's lag graph carries its lagFail line.
    expect(body).toContain('\\"value\\":7200');
    expect(body).toContain('\\"value\\":21600');
    // The executions of the three state machines.
    expect(body.match(/ExecutionsFailed/g)?.length).toBe(3);
  });
});

describe('observability: alarms', () => {
  const template = templateOf(twoDatasets());

  it("alarms on each dataset's lag at its lagFail, in seconds", () => {
    expect(alarmOf(template, METRICS.lagSeconds, 'orders').map((a) => a.Properties)).toEqual([
      expect.objectContaining({ Namespace: 'syncproof', Threshold: 7200, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Statistic: 'Maximum', Dimensions: expect.arrayContaining([{ Name: 'service', Value: 'syncproof' }]) }),
    ]);
    expect(alarmOf(template, METRICS.lagSeconds, 'customers').map((a) => a.Properties.Threshold)).toEqual([6 * 3600]);
  });

  it('alarms on failed and on timed-out executions of each state machine', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      const machines = alarmOf(template, metric).map((a) => JSON.stringify(a.Properties.Dimensions));
      expect(machines).toHaveLength(3);
      for (const id of ['SyncStateMachine', 'VerifyStateMachine', 'SyncDatasetsStateMachine']) expect(machines.some((d) => new RegExp(`"Ref":"${id}[0-9A-F]{8}"`).test(d) || d.includes(id))).toBe(true);
    }
  });

  it('alarms on any quarantined file per dataset and on dead letters', () => {
    expect(alarmOf(template, METRICS.quarantines, 'orders').map((a) => a.Properties)).toEqual([expect.objectContaining({ Threshold: 1, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' })]);
    expect(alarmOf(template, METRICS.quarantines, 'customers')).toHaveLength(1);
    expect(alarmOf(template, 'ApproximateNumberOfMessagesVisible')).toHaveLength(1);
  });

  it("alarms when no verification was recorded within a dataset's schedule period plus an hour, missing data breaching", () => {
    expect(alarmOf(template, METRICS.verifications, 'orders').map((a) => a.Properties)).toEqual([
      expect.objectContaining({ Period: 7 * 3600, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', Statistic: 'Sum', EvaluationPeriods: 1 }),
    ]);
    expect(alarmOf(template, METRICS.verifications, 'customers').map((a) => a.Properties.Period)).toEqual([25 * 3600]);
  });

  it('gives alarms no action without alerts', () => {
    for (const a of alarms(template)) expect(a.Properties.AlarmActions).toBeUndefined();
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('observability: alerts', () => {
  it('creates an encrypted, TLS-only topic that every alarm notifies, with the e-mail subscribed', () => {
    const template = templateOf(twoDatasets({ alerts: { emails: ['data-team@example.com'] } }));
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'data-team@example.com' });
    expect(alarms(template).length).toBeGreaterThanOrEqual(12);
    for (const a of alarms(template)) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it("notifies the account's own topic when alerts names one, creating none", () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    const template = templateOf(twoDatasets({ alerts: { topicArn } }));
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const a of alarms(template)) expect(a.Properties.AlarmActions).toEqual([topicArn]);
  });

  it('refuses an alerts topic that is not an SNS topic ARN', () => {
    expect(() => twoDatasets({ alerts: { topicArn: 'oncall' } })).toThrow(/alerts\.topicArn: must be an SNS topic ARN/);
  });
});

describe('observability: the record stage may put events on the default bus only', () => {
  const template = templateOf(twoDatasets());

  it('grants events:PutEvents to the record role alone, on the default event bus', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')) as [string, Resource][];
    const granting = policies.filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('events:PutEvents'));
    expect(granting.map(([id]) => id)).toEqual([expect.stringMatching(/^RecordStageRole/)]);
    const statement = (granting[0]![1].Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement.find((s) => s.Action === 'events:PutEvents');
    expect(JSON.stringify(statement?.Resource)).toMatch(/:event-bus\/default"/);
  });
});

describe('schedulePeriodSeconds', () => {
  it.each([
    ['rate(6 hours)', 21_600],
    ['rate(1 day)', 86_400],
    ['rate(30 minutes)', 1800],
    ['cron(0 3 * * ? *)', 86_400],
    ['cron(0 3 ? * MON *)', 604_800],
    ['cron(0 3 1 * ? *)', undefined],
  ])('%s → %s', (expression, seconds) => {
    expect(schedulePeriodSeconds(expression)).toBe(seconds);
  });
});
