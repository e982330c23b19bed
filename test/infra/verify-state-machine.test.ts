import { StateMachine } from 'aws-local-stepfunctions';
import type { Template } from 'aws-cdk-lib/assertions';
import type { SyncproofConfig } from '../../lib/config';
import { buildStack, exampleConfig, functionIdOf, resources, templateOf, verifyDefinition, type Definition, type State } from './support';

const TASKS = ['Inventory', 'ChecksumSample', 'CountChain', 'ContentCheck', 'PropagateDeletes', 'ContentCheckAfter', 'CountChainAfter', 'Record', 'RecordFailure'];

describe('VerifyStateMachine definition', () => {
  let template: Template;
  let definition: Definition;
  let raw: string;
  let properties: Record<string, unknown>;
  let logicalId: string;
  const state = (name: string): State => {
    const s = definition.States[name];
    if (!s) throw new Error(`no state ${name}`);
    return s;
  };
  beforeAll(() => {
    template = templateOf();
    ({ definition, raw, properties, logicalId } = verifyDefinition(template));
  });

  it('is a Standard workflow: Inventory → ChecksumSample → CountChain → ContentTier → (ContentCheck …) → Record → Verdict', () => {
    expect(properties.StateMachineType).toBe('STANDARD');
    expect(definition.StartAt).toBe('Inventory');
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        'Inventory',
        'ChecksumSample',
        'CountChain',
        'ContentTier',
        'ContentCheck',
        'ContentSkipped',
        'DeletesToPropagate',
        'PropagateDeletes',
        'ContentCheckAfter',
        'CountChainAfter',
        'Record',
        'Verdict',
        'Verified',
        'VerificationFailed',
        'RecordFailure',
        'VerifyFailed',
      ].sort(),
    );
    expect(state('Inventory').Next).toBe('ChecksumSample');
    expect(state('ChecksumSample').Next).toBe('CountChain');
    expect(state('CountChain').Next).toBe('ContentTier');
    expect(state('ContentSkipped')).toMatchObject({ Type: 'Pass', Result: { status: 'SKIPPED' }, ResultPath: '$.content', Next: 'Record' });
    expect(state('ContentCheck').Next).toBe('DeletesToPropagate');
    expect(state('PropagateDeletes').Next).toBe('ContentCheckAfter');
    expect(state('ContentCheckAfter').Next).toBe('CountChainAfter');
    expect(state('CountChainAfter').Next).toBe('Record');
    expect(state('Record').Next).toBe('Verdict');
  });

  it("chooses the content tier on the execution input's tier: content, sampled and all; counts or none skips it", () => {
    const choice = state('ContentTier') as unknown as { Type: string; Choices: { Next: string; And: unknown[] }[]; Default: string };
    expect([choice.Type, choice.Default, choice.Choices.map((c) => c.Next)]).toEqual(['Choice', 'ContentSkipped', ['ContentCheck']]);
    expect(choice.Choices[0]!.And).toEqual([
      { Variable: '$.tier', IsPresent: true },
      { Variable: '$.tier', IsString: true },
      { Or: ['content', 'sampled', 'all'].map((t) => ({ Variable: '$.tier', StringEquals: t })) },
    ]);
    const deletes = state('DeletesToPropagate') as unknown as { Choices: { Next: string }[]; Default: string };
    expect([deletes.Choices.map((c) => c.Next), deletes.Default]).toEqual([['PropagateDeletes'], 'Record']);
  });

  it('runs ContentCheck in the counts Lambda and PropagateDeletes in the load Lambda, keeping small results beside the input', () => {
    expect(state('ContentCheck')).toMatchObject({
      Parameters: { FunctionName: `#{${functionIdOf(template, 'counts')}.Arn}`, Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name', contentTier: true, 'tier.$': '$.tier' } },
      ResultSelector: { 'status.$': '$.Payload.status', 'reportUri.$': '$.Payload.reportUri', 'summary.$': '$.Payload.summary', 'deletion.$': '$.Payload.deletion', 'tier.$': '$.Payload.tier' },
      ResultPath: '$.content',
      TimeoutSeconds: 900,
    });
    expect(state('PropagateDeletes')).toMatchObject({
      Parameters: { FunctionName: `#{${functionIdOf(template, 'load')}.Arn}`, Payload: { 'runId.$': '$$.Execution.Name', deletion: { 'requestKey.$': '$.content.deletion.requestKey' } } },
      ResultPath: '$.deletion',
    });
    expect(state('ContentCheckAfter')).toMatchObject({ Parameters: { FunctionName: `#{${functionIdOf(template, 'counts')}.Arn}`, Payload: { 'propagated.$': '$.deletion', 'runId.$': "States.Format('{}-after', $$.Execution.Name)" } }, ResultPath: '$.content' });
    expect(state('CountChainAfter')).toMatchObject({ Parameters: { FunctionName: `#{${functionIdOf(template, 'counts')}.Arn}` }, ResultPath: '$.counts' });
  });

  it('uses JSONPath only: no JSONata, no Assign, no ItemReader or distributed Map', () => {
    expect(definition.QueryLanguage).toBeUndefined();
    expect(raw).not.toMatch(/JSONata|"Assign"|"ItemReader"|"ItemBatcher"|"DISTRIBUTED"/);
  });

  it('retries TransientError and Lambda service errors, and catches States.ALL into RecordFailure, in every Task state', () => {
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual([...TASKS].sort());
    for (const [name, task] of tasks) {
      const retry = task.Retry as { ErrorEquals: string[] }[];
      expect([name, retry.find((r) => r.ErrorEquals.includes('TransientError'))]).toEqual([name, { ErrorEquals: ['TransientError'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }]);
      expect([name, retry.some((r) => r.ErrorEquals.includes('Lambda.ServiceException'))]).toEqual([name, true]);
      const catches = task.Catch as { ErrorEquals: string[]; Next: string }[];
      expect([name, catches.some((c) => c.ErrorEquals.includes('States.ALL'))]).toEqual([name, true]);
      if (name !== 'RecordFailure') expect([name, catches]).toEqual([name, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]]);
    }
  });

  it('invokes inventory, checksum, counts and record with lambda:invoke', () => {
    const expected: Record<string, string> = { Inventory: 'inventory', ChecksumSample: 'checksum', CountChain: 'counts', Record: 'record', RecordFailure: 'record' };
    for (const [name, stage] of Object.entries(expected)) {
      expect([name, (state(name).Parameters as { FunctionName: string }).FunctionName]).toEqual([name, `#{${functionIdOf(template, stage)}.Arn}`]);
    }
  });

  it('runs both checks in verify mode and keeps only small ResultSelector fields beside the input', () => {
    for (const [name, path] of [['Inventory', '$.inventory'], ['ChecksumSample', '$.checksum']] as const) {
      const s = state(name);
      expect([name, s.Parameters]).toMatchObject([name, { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name', mode: 'verify' } }]);
      expect([name, s.ResultPath, s.TimeoutSeconds]).toEqual([name, path, 900]);
      expect([name, Object.values(s.ResultSelector as Record<string, string>).every((v) => v.startsWith('$.Payload.'))]).toEqual([name, true]);
    }
    expect(state('Record')).toMatchObject({
      Parameters: { Payload: { outcome: 'verified', 'runId.$': '$$.Execution.Name', 'dataset.$': '$.inventory.dataset', 'inventory.$': '$.inventory', 'checksum.$': '$.checksum', 'counts.$': '$.counts', 'content.$': '$.content' } },
      OutputPath: '$.Payload',
    });
  });

  it('runs the count chain on the execution input and keeps its verdict, hop lines and report URI beside it', () => {
    expect(state('CountChain')).toMatchObject({
      Parameters: { Payload: { 'input.$': '$$.Execution.Input', 'runId.$': '$$.Execution.Name' } },
      ResultSelector: { 'status.$': '$.Payload.status', 'hops.$': '$.Payload.hops', 'reportUri.$': '$.Payload.reportUri' },
      ResultPath: '$.counts',
      TimeoutSeconds: 900,
    });
  });

  it('fails the execution with the recorded error when the verdict is FAILED, else succeeds', () => {
    expect(state('Verdict')).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.status', StringEquals: 'FAILED', Next: 'VerificationFailed' }], Default: 'Verified' });
    expect(state('VerificationFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' });
    expect(state('VerifyFailed')).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  it('logs every execution event, without its data by default, to its own log group, traces with X-Ray, and alarms on failures', () => {
    expect(properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/Syncproof-verify' });
    const alarms = resources(template, 'AWS::CloudWatch::Alarm').filter(([, a]) => JSON.stringify(a.Properties?.Dimensions ?? []).includes(logicalId));
    expect(alarms.map(([, a]) => a.Properties?.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    // A FAILED content verdict fails the execution (Verdict → VerificationFailed), which this alarm counts.
    expect(String(alarms.find(([, a]) => a.Properties?.MetricName === 'ExecutionsFailed')![1].Properties?.AlarmDescription)).toContain('content');
  });

  it('starts one execution per dataset on its schedule, rate(1 day) by default', () => {
    const rules = resources(template, 'AWS::Events::Rule').filter(([, r]) => r.Properties?.ScheduleExpression && JSON.stringify(r.Properties?.Targets).includes(logicalId));
    expect(rules).toHaveLength(exampleConfig().datasets.length);
    const [, rule] = rules[0]!;
    expect(rule.Properties?.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.Properties?.State).toBe('ENABLED');
    const [target] = rule.Properties?.Targets as { Arn: { Ref: string }; Input: string; RoleArn: unknown }[];
    expect(target?.Arn).toEqual({ Ref: logicalId });
    expect(JSON.parse(target!.Input)).toEqual({ dataset: exampleConfig().datasets[0]!.name, tier: 'counts' });
  });

  it("passes each dataset's verifyTier in its schedule's execution input", () => {
    const base = exampleConfig();
    const config: SyncproofConfig = {
      ...base,
      datasets: [
        { ...base.datasets[0]!, verifyTier: 'content' },
        { ...base.datasets[0]!, name: 'invoices', prefix: 'invoices/', verifyTier: 'sampled' },
        { ...base.datasets[0]!, name: 'refunds', prefix: 'refunds/' },
      ],
    };
    const template = templateOf(config);
    const verifyId = verifyDefinition(template).logicalId;
    const inputs = resources(template, 'AWS::Events::Rule')
      .filter(([, r]) => r.Properties?.ScheduleExpression && JSON.stringify(r.Properties?.Targets).includes(verifyId))
      .map(([, r]) => JSON.parse((r.Properties?.Targets as { Input: string }[])[0]!.Input) as unknown);
    expect(inputs).toEqual(
      expect.arrayContaining([
        { dataset: 'orders', tier: 'content' },
        { dataset: 'invoices', tier: 'sampled' },
        { dataset: 'refunds', tier: 'counts' },
      ]),
    );
    expect(inputs).toHaveLength(3);
  });

  it("takes each dataset's verifySchedule from the configuration", () => {
    const base = exampleConfig();
    const config: SyncproofConfig = {
      ...base,
      datasets: [
        { ...base.datasets[0]!, verifySchedule: 'cron(0 3 * * ? *)' },
        { ...base.datasets[0]!, name: 'invoices', prefix: 'invoices/', verifySchedule: 'rate(6 hours)' },
      ],
    };
    const template = templateOf(config);
    const verifyId = verifyDefinition(template).logicalId;
    const schedules = resources(template, 'AWS::Events::Rule')
      .filter(([, r]) => JSON.stringify(r.Properties?.Targets).includes(verifyId))
      .map(([, r]) => r.Properties?.ScheduleExpression)
      .filter(Boolean);
    expect(schedules.sort()).toEqual(['cron(0 3 * * ? *)', 'rate(6 hours)']);
  });

  it('rejects a bad schedule expression at synth time, naming the field', () => {
    const base = exampleConfig();
    expect(() => buildStack({ ...base, datasets: [{ ...base.datasets[0]!, verifySchedule: 'every day' }] })).toThrow(/datasets\.0\.verifySchedule/);
  });
});

describe('VerifyStateMachine flow', () => {
  type Handler = (payload: Record<string, unknown>) => unknown;
  let definition: Definition;
  beforeAll(() => {
    const raw = verifyDefinition(templateOf()).raw.replace(/#\{([A-Za-z0-9:]+)(?:\.Arn)?\}/g, (_m, id: string) =>
      id === 'AWS::Partition' ? 'aws' : `arn:aws:lambda:us-east-1:000000000000:function:${id}`,
    );
    definition = JSON.parse(raw) as Definition;
  });

  async function run(handlers: Record<string, Handler>, input: Record<string, unknown> = { dataset: 'orders' }) {
    const calls: [string, Record<string, unknown>][] = [];
    const local = Object.fromEntries(
      Object.entries(handlers).map(([name, h]) => [
        name,
        async (effective: Record<string, unknown>) => {
          calls.push([name, effective.Payload as Record<string, unknown>]);
          return { Payload: await h(effective.Payload as Record<string, unknown>), StatusCode: 200 };
        },
      ]),
    );
    const execution = new StateMachine(definition as never, { validationOptions: { checkArn: false } }).run(input as never, {
      overrides: { taskResourceLocalHandlers: local as never },
      context: { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:VerifyStateMachine:verify-1', Name: 'verify-1', Input: input } } as never,
    });
    try {
      return { calls, output: await execution.result, error: undefined };
    } catch (error) {
      return { calls, output: undefined, error: (error as { cause: { name: string; message: string } }).cause };
    }
  }

  const inventory: Handler = () => ({ dataset: 'orders', status: 'PASSED_WITH_WARNINGS', objects: 3, findings: 1, summaryUri: 's3://b/_syncproof/inventory/orders/verify-1.json', bytes: 9, missing: 0 });
  const checksum: Handler = () => ({ status: 'PASSED', sampled: 1, bytesDownloaded: 0, reportUri: 's3://b/_syncproof/checksums/orders/verify-1.json', byStatus: { match: 1 } });
  const counts: Handler = () => ({ runId: 'verify-1', dataset: 'orders', status: 'PASSED', reportUri: 's3://b/_syncproof/reports/orders/verify-1/count-chain.json', hops: ['PASSED audit → target: 3 → 3'] });

  it('hands Record the trimmed inventory and checksum results and succeeds unless the verdict is FAILED', async () => {
    const { calls, output } = await run({
      Inventory: inventory,
      ChecksumSample: checksum,
      CountChain: counts,
      Record: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'PASSED_WITH_WARNINGS' }),
    });
    expect(calls.map(([n]) => n)).toEqual(['Inventory', 'ChecksumSample', 'CountChain', 'Record']);
    expect(calls[2]?.[1]).toEqual({ input: { dataset: 'orders' }, runId: 'verify-1' });
    expect(calls[3]?.[1]).toEqual({
      outcome: 'verified',
      runId: 'verify-1',
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:VerifyStateMachine:verify-1',
      dataset: 'orders',
      inventory: { dataset: 'orders', status: 'PASSED_WITH_WARNINGS', objects: 3, findings: 1, summaryUri: 's3://b/_syncproof/inventory/orders/verify-1.json' },
      checksum: { status: 'PASSED', sampled: 1, bytesDownloaded: 0, reportUri: 's3://b/_syncproof/checksums/orders/verify-1.json' },
      counts: { status: 'PASSED', reportUri: 's3://b/_syncproof/reports/orders/verify-1/count-chain.json', hops: ['PASSED audit → target: 3 → 3'] },
      content: { status: 'SKIPPED' },
    });
    expect(output).toMatchObject({ status: 'PASSED_WITH_WARNINGS' });
  });

  const content = (status: string, deletion: unknown = null): Handler => (p) => ({ runId: p.runId, dataset: 'orders', tier: 'content', status, reportUri: `s3://b/_syncproof/reports/orders/${String(p.runId)}/content-tier.json`, summary: `orders content: ${status}`, deletion });

  it('runs ContentCheck for tier content and hands Record its verdict and report URI', async () => {
    const { calls, error } = await run(
      {
        Inventory: inventory,
        ChecksumSample: checksum,
        CountChain: counts,
        ContentCheck: content('FAILED'),
        Record: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'FAILED', error: 'VerificationFailedError', cause: `content FAILED (${(p.content as { reportUri: string }).reportUri})` }),
      },
      { dataset: 'orders', tier: 'content' },
    );
    expect(calls.map(([n]) => n)).toEqual(['Inventory', 'ChecksumSample', 'CountChain', 'ContentCheck', 'Record']);
    expect(calls[3]?.[1]).toEqual({ input: { dataset: 'orders', tier: 'content' }, runId: 'verify-1', contentTier: true, tier: 'content' });
    expect(calls[4]?.[1].content).toEqual({ status: 'FAILED', tier: 'content', summary: 'orders content: FAILED', reportUri: 's3://b/_syncproof/reports/orders/verify-1/content-tier.json', deletion: null });
    expect(error).toMatchObject({ name: 'VerificationFailedError', message: 'content FAILED (s3://b/_syncproof/reports/orders/verify-1/content-tier.json)' });
  });

  it('propagates a proved deletion through the load Lambda, then checks content and counts again', async () => {
    const { calls, output } = await run(
      {
        Inventory: inventory,
        ChecksumSample: checksum,
        CountChain: counts,
        ContentCheck: content('FAILED', { requestKey: '_syncproof/reports/orders/verify-1/deletion-request.json', keys: 1 }),
        PropagateDeletes: () => ({ status: 'DELETED', keys: 1, rowsDeleted: 1, appliedNow: true, reportUri: 's3://b/d.json', deletionId: 'x' }),
        ContentCheckAfter: content('PASSED'),
        CountChainAfter: counts,
        Record: (p) => ({ runId: p.runId, dataset: p.dataset, status: (p.content as { status: string }).status }),
      },
      { dataset: 'orders', tier: 'all' },
    );
    expect(calls.map(([n]) => n)).toEqual(['Inventory', 'ChecksumSample', 'CountChain', 'ContentCheck', 'PropagateDeletes', 'ContentCheckAfter', 'CountChainAfter', 'Record']);
    expect(calls[4]?.[1]).toEqual({ runId: 'verify-1', deletion: { requestKey: '_syncproof/reports/orders/verify-1/deletion-request.json' } });
    expect(calls[5]?.[1]).toMatchObject({ runId: 'verify-1-after', propagated: { keys: 1, rowsDeleted: 1, appliedNow: true, reportUri: 's3://b/d.json' } });
    expect(calls[6]?.[1]).toMatchObject({ runId: 'verify-1-after' });
    expect(output).toMatchObject({ status: 'PASSED' });
  });

  it('fails with the error Record returns when the verdict is FAILED', async () => {
    const { error } = await run({
      Inventory: inventory,
      ChecksumSample: checksum,
      CountChain: counts,
      Record: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'FAILED', error: 'VerificationFailedError', cause: 'orders: FAILED' }),
    });
    expect(error).toMatchObject({ name: 'VerificationFailedError', message: 'orders: FAILED' });
  });

  it('records a stage error and fails with it', async () => {
    const { calls, error } = await run({
      Inventory: () => {
        throw Object.assign(new Error('manifest s3://b/x.json is invalid'), { name: 'InvalidManifestError' });
      },
      RecordFailure: (p) => ({ runId: p.runId, status: 'FAILED' }),
    });
    expect(calls.map(([n]) => n)).toEqual(['Inventory', 'RecordFailure']);
    expect(calls[1]?.[1]).toMatchObject({ outcome: 'failed', runId: 'verify-1', input: { dataset: 'orders' }, error: { Error: 'InvalidManifestError' } });
    expect(error).toMatchObject({ name: 'InvalidManifestError' });
  });
});

describe('reconcile schedule', () => {
  const reconcileRules = (template: Template) =>
    resources(template, 'AWS::Events::Rule')
      .map(([, r]) => r.Properties as { ScheduleExpression?: string; Targets?: { Arn: { Ref: string }; Input: string }[] })
      .filter((p) => p.ScheduleExpression && p.Targets?.[0]?.Arn.Ref.startsWith('SyncStateMachine'));

  it('starts a reconcile SyncStateMachine run of each dataset fed by uploads, rate(1 day) by default', () => {
    const rules = reconcileRules(templateOf(exampleConfig()));
    expect(rules.map((r) => [r.ScheduleExpression, JSON.parse(r.Targets![0]!.Input)])).toEqual(
      exampleConfig().datasets.map((d) => ['rate(1 day)', { dataset: d.name, mode: 'reconcile' }]),
    );
  });

  it("takes each dataset's reconcileSchedule from the configuration", () => {
    const base = exampleConfig();
    const config: SyncproofConfig = {
      ...base,
      datasets: [
        { ...base.datasets[0]!, reconcileSchedule: 'rate(6 hours)' },
        { ...base.datasets[0]!, name: 'invoices', prefix: 'invoices/', reconcileSchedule: 'cron(0 2 * * ? *)' },
      ],
    };
    const rules = reconcileRules(templateOf(config));
    expect(rules.map((r) => [r.ScheduleExpression, JSON.parse(r.Targets![0]!.Input)]).sort()).toEqual(
      [
        ['cron(0 2 * * ? *)', { dataset: 'invoices', mode: 'reconcile' }],
        ['rate(6 hours)', { dataset: 'orders', mode: 'reconcile' }],
      ].sort(),
    );
  });

  it('rejects a bad reconcileSchedule at synth time, naming the field', () => {
    const base = exampleConfig();
    expect(() => buildStack({ ...base, datasets: [{ ...base.datasets[0]!, reconcileSchedule: 'every day' }] })).toThrow(/datasets\.0\.reconcileSchedule/);
  });
});
