import type { Template } from 'aws-cdk-lib/assertions';
import { functionIdOf, syncDefinition, templateOf, type Definition, type State } from './support';

const TASKS = ['AcquireRun', 'Extract', 'ExtractNext', 'Inventory', 'ChecksumSample', 'Discover', 'Load', 'Verify', 'CommitWatermark', 'Finish', 'RecordFailure'];

describe('SyncStateMachine definition', () => {
  let template: Template;
  let definition: Definition;
  let raw: string;
  let properties: Record<string, unknown>;
  const state = (name: string): State => {
    const s = definition.States[name];
    if (!s) throw new Error(`no state ${name}`);
    return s;
  };
  beforeAll(() => {
    template = templateOf();
    ({ definition, raw, properties } = syncDefinition(template));
  });

  it('is a Standard workflow with exactly the contract states', () => {
    expect(properties.StateMachineType).toBe('STANDARD');
    expect(definition.StartAt).toBe('EventRun');
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        'EventRun',
        'AcquireRun',
        'RunLockAnswer',
        'RunAcquired',
        'RunWait',
        'AttachedRunEnded',
        'AttachedRunFailed',
        'Extract',
        'ExtractMore',
        'ExtractNext',
        'Inventory',
        'ChecksumSample',
        'ExtractOnly',
        'Discover',
        'HasWork',
        'Load',
        'LoadRunning',
        'LoadWait',
        'Verify',
        'MoreBatches',
        'NextBatch',
        'CommitWatermark',
        'Finish',
        'Succeeded',
        'RecordFailure',
        'SyncFailed',
      ].sort(),
    );
  });

  it('uses JSONPath only: no JSONata, no Assign, no ItemReader or distributed Map', () => {
    expect(definition.QueryLanguage).toBeUndefined();
    expect(raw).not.toMatch(/JSONata|"Assign"|"ItemReader"|"ItemBatcher"|"DISTRIBUTED"/);
  });

  it('retries TransientError and catches States.ALL in every Task state', () => {
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual([...TASKS].sort());
    for (const [name, task] of tasks) {
      const retry = task.Retry as { ErrorEquals: string[]; MaxAttempts: number; IntervalSeconds: number; BackoffRate: number }[];
      expect([name, retry.find((r) => r.ErrorEquals.includes('TransientError'))]).toEqual([name, { ErrorEquals: ['TransientError'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }]);
      expect([name, retry.some((r) => r.ErrorEquals.includes('Lambda.ServiceException'))]).toEqual([name, true]);
      // A crashed or timed-out invocation is retried with the same input: the load finds its own lease again.
      expect([name, retry.find((r) => r.ErrorEquals.includes('Lambda.Unknown'))?.ErrorEquals]).toEqual([name, ['Lambda.Unknown', 'Sandbox.Timedout', 'States.Timeout']]);
      expect([name, task.TimeoutSeconds]).toEqual([name, 900]);
      const catches = task.Catch as { ErrorEquals: string[] }[];
      expect([name, catches.some((c) => c.ErrorEquals.includes('States.ALL'))]).toEqual([name, true]);
    }
  });

  it('invokes each stage with lambda:invoke and the Fn::GetAtt ARN of its function', () => {
    const expected: Record<string, string> = {
      AcquireRun: 'record',
      Extract: 'extract',
      ExtractNext: 'extract',
      Inventory: 'inventory',
      ChecksumSample: 'checksum',
      Discover: 'discover',
      Load: 'load',
      Verify: 'verify',
      CommitWatermark: 'commit',
      Finish: 'record',
      RecordFailure: 'record',
    };
    expect(Object.keys(expected).sort()).toEqual([...TASKS].sort());
    for (const [name, stage] of Object.entries(expected)) {
      const task = state(name);
      expect([name, task.Resource]).toEqual([name, 'arn:#{AWS::Partition}:states:::lambda:invoke']);
      expect([name, (task.Parameters as { FunctionName: string }).FunctionName]).toEqual([name, `#{${functionIdOf(template, stage)}.Arn}`]);
    }
  });

  it('takes the run lock of the dataset before anything else, except in an S3 event run, which carries its own objects', () => {
    expect(state('EventRun')).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.trigger', IsPresent: true, Next: 'Extract' }], Default: 'AcquireRun' });
    expect(state('AcquireRun')).toMatchObject({
      Parameters: { Payload: { outcome: 'acquire', 'runId.$': '$$.Execution.Name', 'executionArn.$': '$$.Execution.Id', 'input.$': '$$.Execution.Input', 'state.$': '$' } },
      ResultPath: '$.runLockResult',
      Next: 'RunLockAnswer',
    });
    // The loop's state is the dataset and the newest answer only: it never grows.
    expect(state('RunLockAnswer')).toMatchObject({ Type: 'Pass', Parameters: { 'dataset.$': '$$.Execution.Input.dataset', 'runLock.$': '$.runLockResult.Payload' }, Next: 'RunAcquired' });
    const choices = state('RunAcquired').Choices as { Next: string }[];
    expect(choices.map((c) => c.Next)).toEqual(['Extract', 'RunWait', 'AttachedRunEnded']);
    expect(state('RunAcquired').Default).toBe('AttachedRunFailed');
    expect(state('RunWait')).toMatchObject({ Type: 'Wait', Seconds: 10, Next: 'AcquireRun' });
    expect(state('AttachedRunEnded')).toMatchObject({ Type: 'Succeed', OutputPath: '$.runLock' });
    expect(state('AttachedRunFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.runLock.error', CausePath: '$.runLock.cause' });
  });

  it('releases the run lock in Finish and RecordFailure, which name the execution by its ARN', () => {
    expect((state('Finish').Parameters as { Payload: Record<string, unknown> }).Payload).toMatchObject({ outcome: 'completed', 'executionArn.$': '$$.Execution.Id' });
    expect((state('RecordFailure').Parameters as { Payload: Record<string, unknown> }).Payload).toMatchObject({ outcome: 'failed', 'executionArn.$': '$$.Execution.Id' });
  });

  it('runs Extract (after the run lock) given the execution input and name, and keeps its status and result beside the state in $.extract', () => {
    expect(state('Extract')).toMatchObject({
      Parameters: { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name' } },
      ResultSelector: { 'status.$': '$.Payload.status', 'result.$': '$.Payload' },
      ResultPath: '$.extract',
      Next: 'ExtractMore',
    });
    expect(state('Extract').OutputPath).toBeUndefined();
  });

  it('extracts again through ExtractNext while the extract returns MORE, else goes to Inventory', () => {
    expect(state('ExtractMore')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.extract.status', StringEquals: 'MORE', Next: 'ExtractNext' }],
      Default: 'Inventory',
    });
    expect(state('ExtractNext').Next).toBe('ExtractMore');
  });

  it("hands ExtractNext the previous invocation's continuation with the execution input and name", () => {
    expect(state('ExtractNext')).toMatchObject({
      Parameters: { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name', 'continuation.$': '$.extract.result.continuation' } },
      ResultSelector: { 'status.$': '$.Payload.status', 'result.$': '$.Payload' },
      ResultPath: '$.extract',
    });
  });

  it("commits the watermark with the run id and the execution input's dataset, keeps the state for Finish, then finishes", () => {
    expect(state('CommitWatermark')).toMatchObject({
      Parameters: { Payload: { 'runId.$': '$$.Execution.Name', 'dataset.$': '$$.Execution.Input.dataset' } },
      ResultSelector: { 'status.$': '$.Payload.status' },
      ResultPath: '$.commit',
      Next: 'Finish',
    });
    expect(state('CommitWatermark').OutputPath).toBeUndefined();
  });

  it('retries SourceUnavailableError (2 s, 3 attempts, backoff 2) in Extract and ExtractNext only, the tasks that read a source', () => {
    const retriers = Object.entries(definition.States)
      .filter(([, s]) => s.Type === 'Task')
      .flatMap(([name, s]) => (s.Retry as { ErrorEquals: string[] }[]).filter((r) => r.ErrorEquals.includes('SourceUnavailableError')).map((r) => [name, r]));
    expect(retriers).toEqual(['Extract', 'ExtractNext'].map((name) => [name, { ErrorEquals: ['SourceUnavailableError'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }]));
  });

  it('inventories and checksum-samples once, in sync mode, before Discover, with the execution input from the context, keeping the state', () => {
    for (const [name, next] of [['Inventory', 'ChecksumSample'], ['ChecksumSample', 'ExtractOnly']] as const) {
      const task = state(name);
      expect([name, task]).toMatchObject([name, { Parameters: { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name', mode: 'sync' } }, ResultPath: null, Next: next }]);
      expect([name, task.OutputPath]).toEqual([name, undefined]);
    }
  });

  it('sends an extract-only run from ChecksumSample to CommitWatermark, every other run to Discover', () => {
    expect(state('ExtractOnly')).toEqual({
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.extract.result.extractOnly', IsPresent: true },
            { Variable: '$.extract.result.extractOnly', BooleanEquals: true },
          ],
          Next: 'CommitWatermark',
        },
      ],
      Default: 'Discover',
    });
  });

  it('passes the execution input (from the context, on every batch) and name to Discover and continues with its Payload', () => {
    expect(state('Discover')).toMatchObject({ Parameters: { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name' } }, OutputPath: '$.Payload', Next: 'HasWork' });
  });

  it('loads only when Discover found files, else commits the watermark', () => {
    expect(state('HasWork')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.files', NumericGreaterThan: 0, Next: 'Load' }],
      Default: 'CommitWatermark',
    });
  });

  it('hands the whole state to Load and then Verify, waiting and asking Load again while it is RUNNING', () => {
    expect(state('Load')).toMatchObject({ Parameters: { 'Payload.$': '$' }, OutputPath: '$.Payload', Next: 'LoadRunning' });
    expect(state('LoadRunning')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.status', StringEquals: 'RUNNING', Next: 'LoadWait' }],
      Default: 'Verify',
    });
    expect(state('LoadWait')).toMatchObject({ Type: 'Wait', Seconds: 10, Next: 'Load' });
    expect(state('Verify')).toMatchObject({ Parameters: { 'Payload.$': '$' }, OutputPath: '$.Payload', Next: 'MoreBatches' });
  });

  it('loops to Discover with only the dataset while more batches wait, else commits the watermark', () => {
    expect(state('MoreBatches')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.hasMore', BooleanEquals: true, Next: 'NextBatch' }],
      Default: 'CommitWatermark',
    });
    expect(state('NextBatch')).toMatchObject({ Type: 'Pass', Parameters: { 'dataset.$': '$.dataset' }, Next: 'Discover' });
  });

  it('records a completed run in Finish and then succeeds', () => {
    expect(state('Finish')).toMatchObject({
      Parameters: { Payload: { outcome: 'completed', 'runId.$': '$$.Execution.Name', 'dataset.$': '$.dataset' } },
      OutputPath: '$.Payload',
      Next: 'Succeeded',
    });
    expect(state('Succeeded')).toEqual({ Type: 'Succeed' });
  });

  it('sends caught errors to RecordFailure under $.error', () => {
    for (const name of TASKS.filter((t) => t !== 'RecordFailure')) {
      expect([name, state(name).Catch]).toEqual([name, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]]);
    }
  });

  it('records the failure without replacing the state, so SyncFailed reports the original error', () => {
    const recordFailure = state('RecordFailure');
    expect(recordFailure).toMatchObject({
      Parameters: { Payload: { outcome: 'failed', 'runId.$': '$$.Execution.Name', 'input.$': '$$.Execution.Input', 'error.$': '$.error' } },
      ResultPath: '$.recorded',
      Next: 'SyncFailed',
    });
    expect(recordFailure.OutputPath).toBeUndefined();
    expect(recordFailure.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.recordError', Next: 'SyncFailed' }]);
    expect(state('SyncFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  it('logs every execution event, without its data by default, to the state machine log group, and traces with X-Ray', () => {
    expect(properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/Syncproof-sync' });
  });

  it('gets a logical id starting with SyncStateMachine, which the local runtime looks for', () => {
    expect(syncDefinition(template).logicalId).toMatch(/^SyncStateMachine/);
  });
});
