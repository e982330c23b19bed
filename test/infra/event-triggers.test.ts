import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { SyncproofConfig } from '../../lib/config';
import { configWithDatasets, dataBucketId, exampleConfig, functionIdOf, logicalIdOf, policyStatements, resources, sourceDataset, templateOf, type Json } from './support';

describe('event triggers', () => {
  let template: Template;
  let queueId: string;
  beforeAll(() => {
    template = templateOf();
    queueId = logicalIdOf(template, 'AWS::SQS::Queue', (r) => r.Properties?.RedrivePolicy !== undefined);
  });

  it('routes S3 Object Created events of the data bucket under the dataset prefix to the queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: dataBucketId(template) }] }, object: { key: [{ prefix: 'orders/' }] } },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } })],
    });
  });

  it('matches one key prefix per dataset', () => {
    const base = exampleConfig();
    const dataset = base.datasets[0] as SyncproofConfig['datasets'][number];
    const config: SyncproofConfig = { ...base, datasets: [dataset, { ...dataset, name: 'customers', prefix: 'crm/customers/' }] };
    templateOf(config).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ object: { key: [{ prefix: 'orders/' }, { prefix: 'crm/customers/' }] } }) }),
    });
  });

  it('matches the prefix of an uploaded dataset only, not the extract prefix of a dataset with a source', () => {
    const config = configWithDatasets(exampleConfig().datasets[0], sourceDataset());
    const patterns = resources(templateOf(config), 'AWS::Events::Rule').flatMap(([, r]) => (r.Properties?.EventPattern ? [r.Properties.EventPattern] : []));
    expect(patterns.map((p) => (p as { detail: { object: { key: Json } } }).detail.object.key)).toEqual([[{ prefix: 'orders/' }]]);
  });

  it('creates no S3 event rule and no queue when every dataset has a source', () => {
    const template = templateOf(configWithDatasets(sourceDataset()));
    expect(resources(template, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.EventPattern)).toEqual([]);
    expect(resources(template, 'AWS::SQS::Queue')).toEqual([]);
  });

  it('feeds the trigger in batches of up to 10,000 gathered for 20 seconds, reporting partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: functionIdOf(template, 'trigger') },
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('encrypts the queue, moves a message to the dead-letter queue after 5 receives, and outlasts 6 trigger timeouts plus the batching window', () => {
    const queue = template.findResources('AWS::SQS::Queue')[queueId];
    const trigger = template.findResources('AWS::Lambda::Function')[functionIdOf(template, 'trigger')];
    expect(queue?.Properties).toMatchObject({ SqsManagedSseEnabled: true, RedrivePolicy: { maxReceiveCount: 5 } });
    expect(queue?.Properties?.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (trigger?.Properties?.Timeout as number) + 20);
  });

  it('encrypts the dead-letter queue too', () => {
    const dlqId = (template.findResources('AWS::SQS::Queue')[queueId]?.Properties?.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string] } }).deadLetterTargetArn['Fn::GetAtt'][0];
    expect(template.findResources('AWS::SQS::Queue')[dlqId]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it('denies non-TLS access to both queues', () => {
    const denies = policyStatements(template).filter((s) => s.resourceType === 'AWS::SQS::QueuePolicy' && s.Effect === 'Deny');
    expect(denies.map((s) => s.Condition)).toEqual([{ Bool: { 'aws:SecureTransport': 'false' } }, { Bool: { 'aws:SecureTransport': 'false' } }]);
  });

  it('lets only EventBridge rules of this stack send to the queue', () => {
    const sends = policyStatements(template).filter((s) => s.resourceType === 'AWS::SQS::QueuePolicy' && s.Effect === 'Allow');
    expect(sends).toHaveLength(1);
    expect(sends[0]?.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(sends[0]?.Action).toContain('sqs:SendMessage');
    expect(JSON.stringify(sends[0]?.Condition)).toContain('aws:SourceArn');
  });
});

describe('observability', () => {
  let template: Template;
  beforeAll(() => {
    template = templateOf();
  });

  it('alarms when a sync execution fails', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms when the dead-letter queue holds messages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });
});
