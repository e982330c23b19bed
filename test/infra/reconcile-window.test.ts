/**
 * The VerifyStateMachine's late-row reconciliation (datasets with `reconcileWindow`): the schedule
 * passes the window in its input, the definition has the repair branch (ContentCheck →
 * RepairsToRun → RepairRun, a child SyncStateMachine execution → ContentCheckAfterRepair →
 * CountChainAfterRepair → Record), and the state machine's role may start exactly the
 * SyncStateMachine — none of this without a reconciling dataset.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStack, configWithDatasets, exampleConfig, policyStatements, resources, sourceDataset, syncDefinition, templateOf, verifyDefinition, type Definition, type Json, type State } from './support';

describe('VerifyStateMachine with a reconcileWindow', () => {
  let template: Template;
  let definition: Definition;
  let verifyId: string;
  const state = (name: string): State => {
    const s = definition.States[name];
    if (!s) throw new Error(`no state ${name}`);
    return s;
  };
  beforeAll(() => {
    template = templateOf(configWithDatasets({ ...sourceDataset(), reconcileWindow: '24h' }, { ...sourceDataset(), name: 'accounts', target: { schema: 'public', table: 'accounts' }, verifyTier: 'content' }));
    ({ definition, logicalId: verifyId } = verifyDefinition(template));
  });

  /** The schedule inputs of the VerifyStateMachine, by dataset. */
  const scheduleInputs = (t: Template, machine: string): Record<string, unknown> =>
    Object.fromEntries(
      resources(t, 'AWS::Events::Rule')
        .filter(([, r]) => r.Properties?.ScheduleExpression && JSON.stringify(r.Properties?.Targets).includes(machine))
        .map(([, r]) => JSON.parse((r.Properties?.Targets as { Input: string }[])[0]!.Input) as { dataset: string })
        .map((i) => [i.dataset, i]),
    );

  it("passes the dataset's reconcileWindow in its schedule's input (and nothing for a dataset without one)", () => {
    expect(scheduleInputs(template, verifyId)).toEqual({ customers: { dataset: 'customers', tier: 'counts', reconcileWindow: '24h' }, accounts: { dataset: 'accounts', tier: 'content' } });
  });

  it('compares the window by content whatever the tier, and has the repair branch: RepairRun starts a SyncStateMachine execution with the repair input and waits for it, then the check and the counts run again', () => {
    const tier = state('ContentTier') as unknown as { Choices: { Next: string; And: unknown[] }[] };
    expect(tier.Choices.map((c) => c.Next)).toEqual(['ContentCheck', 'ContentCheck']);
    expect(tier.Choices[1]!.And).toEqual([
      { Variable: '$.reconcileWindow', IsPresent: true },
      { Variable: '$.tier', IsPresent: true },
      { Variable: '$.tier', IsString: true },
    ]);
    expect(state('ContentCheck').Next).toBe('RepairsToRun');
    expect(state('RepairsToRun')).toMatchObject({ Type: 'Choice', Default: 'DeletesToPropagate', Choices: [{ Next: 'RepairRun' }] });
    const syncId = syncDefinition(template).logicalId;
    expect(state('RepairRun')).toMatchObject({
      Type: 'Task',
      Resource: 'arn:#{AWS::Partition}:states:::states:startExecution.sync:2',
      Parameters: { StateMachineArn: `#{${syncId}}`, 'Input.$': '$.content.repair.input', 'Name.$': '$.content.repair.name' },
      ResultPath: '$.repairRun',
      Next: 'ContentCheckAfterRepair',
    });
    expect((state('RepairRun').Catch as Json[])[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' });
    expect(state('ContentCheckAfterRepair')).toMatchObject({ Next: 'CountChainAfterRepair', ResultPath: '$.content' });
    expect(state('CountChainAfterRepair').Next).toBe('Record');
  });

  it("lets the state machine's role start exactly the SyncStateMachine (and follow its executions), nothing else", () => {
    const machine = resources(template, 'AWS::StepFunctions::StateMachine').find(([id]) => id === verifyId)![1];
    const role = (machine.Properties?.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = resources(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(role)).map(([id]) => id);
    const statements = policyStatements(template).filter((s) => policies.includes(s.policy) && s.Action.some((a) => a.startsWith('states:')));
    const syncId = syncDefinition(template).logicalId;
    expect(statements.map((s) => [s.Action.sort(), s.Resource])).toEqual([
      [['states:StartExecution'], [`#{${syncId}}`]],
      [['states:DescribeExecution', 'states:StopExecution'], [`arn:#{AWS::Partition}:states:#{AWS::Region}:#{AWS::AccountId}:execution:#{select(6, split(':', #{${syncId}}))}*`]],
    ]);
  });

  it('passes cdk-nag AwsSolutions (the RepairRun grant on the SyncStateMachine executions is acknowledged with its reason)', () => {
    const { stack } = buildStack(configWithDatasets({ ...sourceDataset(), reconcileWindow: '24h' }));
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('without a reconciling dataset: no repair branch, and no states: permission for the VerifyStateMachine', () => {
    const plain = templateOf(exampleConfig());
    const { definition: d, logicalId } = verifyDefinition(plain);
    expect(Object.keys(d.States).filter((s) => /Repair/.test(s))).toEqual([]);
    const machine = resources(plain, 'AWS::StepFunctions::StateMachine').find(([id]) => id === logicalId)![1];
    const role = (machine.Properties?.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = resources(plain, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(role)).map(([id]) => id);
    expect(policyStatements(plain).filter((s) => policies.includes(s.policy) && s.Action.some((a) => a.startsWith('states:')))).toEqual([]);
  });

  it('runs the repair the check found, hands the next check what was repaired, and records the verdict after', async () => {
    const calls: [string, Record<string, unknown>][] = [];
    const payload = (effective: Record<string, unknown>) => (effective.Payload ?? effective) as Record<string, unknown>;
    const handler = (name: string, h: (p: Record<string, unknown>) => unknown, lambda = true) => [
      name,
      async (effective: Record<string, unknown>) => {
        calls.push([name, payload(effective)]);
        const out = await h(payload(effective));
        return lambda ? { Payload: out, StatusCode: 200 } : out;
      },
    ];
    const repair = { name: 'verify-1-repair', input: { dataset: 'customers', mode: 'repair', repair: { reportUri: 's3://b/_syncproof/reports/customers/verify-1/content-tier.json' } }, keys: 1 };
    const content = (p: Record<string, unknown>) => ({ runId: p.runId, dataset: 'customers', tier: 'content', status: p.repaired ? 'PASSED' : 'FAILED', reportUri: `s3://b/_syncproof/reports/customers/${String(p.runId)}/content-tier.json`, summary: 's', deletion: null, repair: p.repaired ? null : repair });
    const counts = () => ({ status: 'PASSED', hops: [], reportUri: 's3://b/c.json' });
    const local = Object.fromEntries([
      handler('Inventory', () => ({ dataset: 'customers', status: 'PASSED', objects: 1, findings: 0, summaryUri: 's3://b/i.json' })),
      handler('ChecksumSample', () => ({ status: 'PASSED', sampled: 1, bytesDownloaded: 0, reportUri: 's3://b/k.json' })),
      handler('CountChain', counts),
      handler('ContentCheck', content),
      handler('RepairRun', () => ({ ExecutionArn: 'arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:verify-1-repair', Status: 'SUCCEEDED', Output: { runId: 'verify-1-repair', dataset: 'customers', status: 'PASSED' }, StartDate: 1, StopDate: 2 }), false),
      handler('ContentCheckAfterRepair', content),
      handler('CountChainAfterRepair', counts),
      handler('Record', (p) => ({ runId: p.runId, dataset: p.dataset, status: (p.content as { status: string }).status })),
    ]);
    const input = { dataset: 'customers', tier: 'counts', reconcileWindow: '24h' };
    const output = await new StateMachine(definition as never, { validationOptions: { checkArn: false } }).run(input as never, {
      overrides: { taskResourceLocalHandlers: local as never },
      context: { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:VerifyStateMachine:verify-1', Name: 'verify-1', Input: input } } as never,
    }).result;
    expect(calls.map(([n]) => n)).toEqual(['Inventory', 'ChecksumSample', 'CountChain', 'ContentCheck', 'RepairRun', 'ContentCheckAfterRepair', 'CountChainAfterRepair', 'Record']);
    expect(calls[4]?.[1]).toMatchObject({ StateMachineArn: expect.any(String), Input: repair.input, Name: 'verify-1-repair' });
    expect(calls[5]?.[1]).toMatchObject({
      runId: 'verify-1-repaired',
      repaired: { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:verify-1-repair', status: 'SUCCEEDED', runStatus: 'PASSED', reportUri: 's3://b/_syncproof/reports/customers/verify-1/content-tier.json' },
    });
    expect(calls[7]?.[1].content).toMatchObject({ status: 'PASSED', reportUri: 's3://b/_syncproof/reports/customers/verify-1-repaired/content-tier.json', repair: null });
    expect(output).toMatchObject({ status: 'PASSED' });
  });
});
