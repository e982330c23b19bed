import type { Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lambdas/core/config';
import { configWithDatasets, dataBucketId, exampleConfig, functionIdOf, logicalIdOf, resources, sourceDataset, statementsOfStage, templateOf, type Json } from './support';

function withRetention(retention: Record<string, unknown>, extra: unknown[] = []) {
  const [orders] = exampleConfig().datasets;
  return configWithDatasets({ ...orders, retention }, ...extra);
}

/** The EventBridge rules that invoke the clean Lambda, with their schedule and input. */
function cleanSchedules(template: Template): { schedule: Json; input: Json }[] {
  const clean = functionIdOf(template, 'clean');
  return resources(template, 'AWS::Events::Rule')
    .map(([, r]) => r.Properties as { ScheduleExpression?: Json; Targets?: { Arn: Json; Input?: string }[] })
    .filter((p) => p.Targets?.some((t) => JSON.stringify(t.Arn).includes(clean)))
    .map((p) => ({ schedule: p.ScheduleExpression ?? null, input: JSON.parse(p.Targets![0]!.Input ?? 'null') as Json }));
}

describe('retention in the stack', () => {
  it('invokes the clean Lambda on the schedule a dataset configures, with that dataset', () => {
    expect(cleanSchedules(templateOf(withRetention({ olderThan: '30d', schedule: 'rate(1 day)' })))).toEqual([{ schedule: 'rate(1 day)', input: { dataset: 'orders' } }]);
  });

  it('has no clean schedule without one configured (retention without a schedule, or none at all)', () => {
    expect(cleanSchedules(templateOf(withRetention({ olderThan: '30d' })))).toEqual([]);
    expect(cleanSchedules(templateOf())).toEqual([]);
  });

  it('lets the clean Lambda delete only under the datasets\' prefixes and their run-document folders, list the bucket, and never delete a version', () => {
    const template = templateOf(configWithDatasets(exampleConfig().datasets[0], sourceDataset()));
    const bucket = dataBucketId(template);
    const statements = statementsOfStage(template, 'clean');
    const on = (action: string) => statements.filter((s) => s.Action.includes(action)).flatMap((s) => s.Resource).sort();
    const folders = (name: string) => ['batches', 'checksums', 'inventory', 'loads', 'reports'].map((f) => `#{${bucket}.Arn}/_syncproof/${f}/${name}/*`);
    const source = (sourceDataset() as { name: string }).name;
    expect(on('s3:DeleteObject')).toEqual([...folders('orders'), ...folders(source), `#{${bucket}.Arn}/_syncproof/extracts/${source}/*`, `#{${bucket}.Arn}/orders/*`].sort());
    expect(on('s3:ListBucket')).toEqual([`#{${bucket}.Arn}`]);
    expect(on('s3:GetObject')).toEqual([`#{${bucket}.Arn}/_syncproof/extractions/${source}/*`, `#{${bucket}.Arn}/_syncproof/schemas/${source}.json`]);
    const actions = statements.flatMap((s) => s.Action);
    expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket']);
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const ledger = logicalIdOf(template, 'AWS::DynamoDB::Table', (r) => JSON.stringify(r.Properties?.KeySchema).includes('objectKey'));
    expect(on('dynamodb:UpdateItem')).toEqual([`#{${ledger}.Arn}`]);
    expect(on('dynamodb:Query')).toEqual([expect.stringMatching(/\/index\/byDataset$/), expect.stringMatching(/\/index\/byDatasetStarted$/)]);
  });

  it('refuses an unknown retention key, naming the nearest', () => {
    expect(() => parseConfig({ datasets: [{ ...exampleConfig().datasets[0], retention: { olderThen: '7d' } }] })).toThrow(/datasets\.0\.retention\.olderThen: unknown key; did you mean 'olderThan'\?/);
    expect(() => parseConfig({ datasets: [{ ...exampleConfig().datasets[0], retention: { olderThan: '7 days' } }] })).toThrow(/datasets\.0\.retention\.olderThan: must be an age such as '7d'/);
  });
});
