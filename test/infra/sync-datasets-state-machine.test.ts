import type { Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lib/config';
import { STACK_OUTPUTS } from '../../lambdas/core/stack-outputs';
import { exampleConfig, functionIdOf, machineDefinition, policyStatements, syncDefinition, templateOf, type Definition, type State } from './support';

const datasetsDefinition = (template: Template) => machineDefinition(template, 'SyncDatasetsStateMachine');

describe('SyncDatasetsStateMachine definition', () => {
  let template: Template;
  let definition: Definition;
  let raw: string;
  let properties: Record<string, unknown>;
  let syncId: string;
  const state = (name: string): State => {
    const s = definition.States[name];
    if (!s) throw new Error(`no state ${name}`);
    return s;
  };
  const iterator = (): Definition => state('SyncDatasets').ItemProcessor as unknown as Definition;
  beforeAll(() => {
    template = templateOf();
    ({ definition, raw, properties } = datasetsDefinition(template));
    syncId = syncDefinition(template).logicalId;
  });

  it('is a Standard workflow with exactly the contract states', () => {
    expect(properties.StateMachineType).toBe('STANDARD');
    expect(definition.StartAt).toBe('PlanDatasets');
    expect(Object.keys(definition.States).sort()).toEqual(
      ['PlanDatasets', 'SyncDatasets', 'FinishDatasets', 'AnyDatasetFailed', 'DatasetsSucceeded', 'SomeDatasetsFailed', 'RecordDatasetsFailure', 'DatasetsRunFailed'].sort(),
    );
    expect(Object.keys(iterator().States).sort()).toEqual(['DatasetFailed', 'SyncDataset']);
  });

  it('uses JSONPath only and an inline Map: no JSONata, Assign, ItemReader or distributed Map', () => {
    expect(definition.QueryLanguage).toBeUndefined();
    expect(raw).not.toMatch(/JSONata|"Assign"|"ItemReader"|"ItemBatcher"|"DISTRIBUTED"/);
    expect(state('SyncDatasets')).toMatchObject({ Type: 'Map', ItemsPath: '$.items', ResultPath: '$.results', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } } });
  });

  it('runs one dataset at a time by default (MaxConcurrency 1)', () => {
    expect(state('SyncDatasets').MaxConcurrency).toBe(1);
  });

  it('takes MaxConcurrency from maxConcurrentDatasets', () => {
    const configured = datasetsDefinition(templateOf(parseConfig({ ...exampleConfig(), maxConcurrentDatasets: 3 }))).definition;
    expect(configured.States.SyncDatasets?.MaxConcurrency).toBe(3);
  });

  it('refuses a maxConcurrentDatasets above the 40 iterations an inline Map runs at once', () => {
    expect(() => parseConfig({ ...exampleConfig(), maxConcurrentDatasets: 41 })).toThrow(/maxConcurrentDatasets/);
    expect(() => parseConfig({ ...exampleConfig(), maxConcurrentDatasets: 0 })).toThrow(/maxConcurrentDatasets/);
  });

  it('starts each dataset as a child SyncStateMachine execution and waits for it (startExecution.sync:2), named and fed by the plan', () => {
    const task = iterator().States.SyncDataset!;
    expect(iterator().StartAt).toBe('SyncDataset');
    expect(task).toMatchObject({
      Type: 'Task',
      Resource: 'arn:#{AWS::Partition}:states:::states:startExecution.sync:2',
      Parameters: { StateMachineArn: `#{${syncId}}`, 'Name.$': '$.name', 'Input.$': '$.input' },
      ResultPath: '$.execution',
      End: true,
    });
    // The child input is exactly the plan's (the strict execution input): no parent id added to it.
    expect(JSON.stringify(task.Parameters)).not.toContain('AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID');
    // Longer than the default 60 s of the local runner, no longer than a child may run.
    expect(task.TimeoutSeconds).toBe(12 * 3600);
  });

  it("catches every error of a dataset's child in its own iteration, so the others go on", () => {
    const task = iterator().States.SyncDataset!;
    expect(task.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DatasetFailed' }]);
    expect(iterator().States.DatasetFailed).toMatchObject({ Type: 'Pass', End: true });
  });

  it('plans and folds with the record stage, the execution input taken from the context', () => {
    for (const name of ['PlanDatasets', 'FinishDatasets']) {
      const s = state(name);
      expect([name, s.Resource]).toEqual([name, 'arn:#{AWS::Partition}:states:::lambda:invoke']);
      expect([name, JSON.stringify((s.Parameters as Record<string, unknown>).FunctionName)]).toEqual([name, expect.stringContaining(functionIdOf(template, 'record'))]);
      expect([name, s.OutputPath]).toEqual([name, '$.Payload']);
    }
    expect((state('PlanDatasets').Parameters as Record<string, unknown>).Payload).toEqual({ outcome: 'datasets-started', 'runId.$': '$$.Execution.Name', 'input.$': '$$.Execution.Input' });
    expect((state('FinishDatasets').Parameters as Record<string, unknown>).Payload).toEqual({ outcome: 'datasets-finished', 'runId.$': '$$.Execution.Name', 'results.$': '$.results' });
    expect(state('PlanDatasets').Next).toBe('SyncDatasets');
    expect(state('SyncDatasets').Next).toBe('FinishDatasets');
    expect(state('FinishDatasets').Next).toBe('AnyDatasetFailed');
  });

  it('fails the execution with the summary’s Error and Cause when any dataset failed, and succeeds otherwise', () => {
    expect(state('AnyDatasetFailed')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.failedCount', NumericGreaterThan: 0, Next: 'SomeDatasetsFailed' }],
      Default: 'DatasetsSucceeded',
    });
    expect(state('SomeDatasetsFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' });
    expect(state('DatasetsSucceeded').Type).toBe('Succeed');
  });

  it('routes errors of planning, the Map and the fold to the recorded failure path', () => {
    for (const name of ['PlanDatasets', 'SyncDatasets', 'FinishDatasets']) {
      expect([name, state(name).Catch]).toEqual([name, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordDatasetsFailure' }]]);
    }
    expect(state('RecordDatasetsFailure').Next).toBe('DatasetsRunFailed');
    expect(state('DatasetsRunFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  it('may start, describe and stop only SyncStateMachine executions, and manage only the managed rule of .sync', () => {
    const role = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('SyncDatasetsStateMachineRole'))!;
    const statements = policyStatements(template).filter((s) => JSON.stringify(template.findResources('AWS::IAM::Policy')[s.policy]?.Properties?.Roles ?? null).includes(role));
    const on = (prefix: string) => statements.filter((s) => s.Action.some((a) => a.startsWith(prefix)));
    expect(on('states:').map((s) => [s.Action, s.Resource])).toEqual([
      [['states:StartExecution'], [`#{${syncId}}`]],
      [['states:DescribeExecution', 'states:StopExecution'], [`arn:#{AWS::Partition}:states:#{AWS::Region}:#{AWS::AccountId}:execution:#{select(6, split(':', #{${syncId}}))}*`]],
    ]);
    expect(on('events:').flatMap((s) => s.Resource)).toEqual(['arn:#{AWS::Partition}:events:#{AWS::Region}:#{AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule']);
  });

  it('outputs its ARN under a stable key', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[STACK_OUTPUTS.syncDatasetsStateMachine]?.Value).toEqual({ Ref: datasetsDefinition(template).logicalId });
  });
});
