import { STAGE_NAMES } from '../../lib/constructs/stage-function';
import { parseConfig } from '../../lambdas/core/config';
import { buildStack, configWithDatasets, exampleConfig, functionIdOf, sourceDataset, statementsOfStage, templateOf, type Statement } from './support';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-AbCdEf';

function actionsOf(statement: Statement): string[] {
  return statement.Action;
}

describe('source databases in the stack', () => {
  it('lets only the extract, commit and counts stages read the sources\' secrets, and only those secrets', () => {
    const template = templateOf(configWithDatasets(exampleConfig().datasets[0], sourceDataset()));
    for (const stage of STAGE_NAMES) {
      const reads = statementsOfStage(template, stage).filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
      if (stage === 'extract' || stage === 'commit' || stage === 'counts') expect([stage, reads.map((s) => s.Resource)]).toEqual([stage, [[SECRET]]]);
      else expect(reads).toEqual([]);
    }
  });

  it('refuses a source URL with a password at synth, naming the field and what to do', () => {
    const config = configWithDatasets({ ...sourceDataset(), source: { engine: 'mysql', url: 'mysql://reader:s3cret@db.internal:3306/crm', table: 'crm.customers', cursorColumn: 'updated_at' } });
    expect(() => buildStack(config)).toThrow(/datasets\.0\.source\.url: carries a password, .*set source\.secretArn instead/);
    expect(() => buildStack(config)).not.toThrow(/s3cret/);
  });

  it('runs the extract, commit and counts Lambdas, and only them, in the sources\' subnets and security groups', () => {
    const config = parseConfig({ ...exampleConfig(), datasets: [sourceDataset()], sourceNetwork: { subnetIds: ['subnet-0abc12345678def0', 'subnet-0def12345678abc0'], securityGroupIds: ['sg-0123456789abcdef0'] } });
    const template = templateOf(config);
    const functions = template.findResources('AWS::Lambda::Function');
    for (const stage of STAGE_NAMES) {
      const vpc = (functions[functionIdOf(template, stage)]!.Properties as { VpcConfig?: unknown }).VpcConfig;
      if (stage === 'extract' || stage === 'commit' || stage === 'counts') expect(vpc).toEqual({ SubnetIds: ['subnet-0abc12345678def0', 'subnet-0def12345678abc0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
      else expect(vpc).toBeUndefined();
    }
    expect(statementsOfStage(template, 'extract').some((s) => actionsOf(s).includes('ec2:CreateNetworkInterface'))).toBe(true);
    expect(statementsOfStage(template, 'load').some((s) => actionsOf(s).includes('ec2:CreateNetworkInterface'))).toBe(false);
  });
});

describe('scheduled database syncs', () => {
  it('starts an incremental SyncStateMachine run of a source dataset on its schedule, and of no other', () => {
    const scheduled = { ...sourceDataset(), source: { ...(sourceDataset().source as object), schedule: 'rate(1 hour)' } };
    const other = { ...sourceDataset(), name: 'accounts', source: { ...(sourceDataset().source as object), table: 'crm.accounts' } };
    const template = templateOf(configWithDatasets(scheduled, other));
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => (r.Properties as { ScheduleExpression?: string }).ScheduleExpression === 'rate(1 hour)');
    expect(rules).toHaveLength(1);
    const target = (rules[0]!.Properties as { Targets: { Arn: { Ref: string }; Input: string }[] }).Targets[0]!;
    expect(JSON.parse(target.Input)).toEqual({ dataset: 'customers' });
    expect(target.Arn.Ref).toMatch(/^SyncStateMachine/);
  });
});
