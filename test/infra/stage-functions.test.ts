import type { Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../lambdas/core/env';
import { exampleConfig, functionIdOf, resources, templateOf, type Json } from './support';

const STAGES = ['trigger', 'extract', 'discover', 'load', 'verify', 'commit', 'record', 'inventory', 'checksum'];

describe('stage functions', () => {
  let template: Template;
  const props = (stage: string): Record<string, Json> =>
    template.findResources('AWS::Lambda::Function')[functionIdOf(template, stage)]?.Properties as Record<string, Json>;
  const env = (stage: string): Record<string, Json> => (props(stage).Environment as { Variables: Record<string, Json> }).Variables;
  beforeAll(() => {
    template = templateOf();
  });

  it('creates one Lambda per stage and no other', () => {
    const stages = resources(template, 'AWS::Lambda::Function').map(([, r]) => (r.Properties?.Environment as { Variables: Record<string, Json> }).Variables.SYNCPROOF_STAGE);
    expect(stages.sort()).toEqual([...STAGES].sort());
  });

  it('runs every function on nodejs22.x, arm64', () => {
    for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
      expect([id, fn.Properties?.Runtime, fn.Properties?.Architectures]).toEqual([id, 'nodejs22.x', ['arm64']]);
    }
  });

  it.each(STAGES)('binds the %s function to its stage with SYNCPROOF_STAGE', (stage) => {
    expect(env(stage).SYNCPROOF_STAGE).toBe(stage);
    expect(props(stage).Handler).toBe('index.handler');
  });

  it('gives every stage the bucket, the tables, the validated config and the redshift-data warehouse', () => {
    for (const stage of STAGES) {
      const vars = env(stage);
      for (const name of [ENV.bucket, ENV.ledgerTable, ENV.runsTable, ENV.watermarksTable]) expect([stage, name, typeof vars[name]]).toEqual([stage, name, 'object']);
      expect(JSON.parse(String(vars[ENV.config]))).toEqual(exampleConfig());
      expect(vars[ENV.warehouse]).toBe('redshift-data');
      expect(vars.POWERTOOLS_SERVICE_NAME).toBe('syncproof');
    }
  });

  it('tells only the trigger which state machine to start', () => {
    const sm = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).find((id) => id.startsWith('SyncStateMachine'));
    expect(env('trigger')[ENV.syncStateMachineArn]).toEqual({ Ref: sm });
    for (const stage of STAGES.filter((s) => s !== 'trigger')) expect(env(stage)[ENV.syncStateMachineArn]).toBeUndefined();
  });

  it('gives extract, load, verify, inventory and checksum 15 minutes, the others 1 minute', () => {
    expect(Object.fromEntries(STAGES.map((s) => [s, props(s).Timeout]))).toEqual({
      trigger: 60,
      extract: 900,
      discover: 60,
      load: 900,
      verify: 900,
      commit: 60,
      record: 60,
      inventory: 900,
      checksum: 900,
    });
  });

  it('gives extract and load 3008 MiB and the others 1024 MiB', () => {
    expect(Object.fromEntries(STAGES.map((s) => [s, props(s).MemorySize]))).toEqual({
      trigger: 1024,
      extract: 3008,
      discover: 1024,
      load: 3008,
      verify: 1024,
      commit: 1024,
      record: 1024,
      inventory: 1024,
      checksum: 1024,
    });
  });

  it('logs each function to its own log group with a retention', () => {
    const groups = STAGES.map((s) => (props(s).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref);
    expect(new Set(groups).size).toBe(STAGES.length);
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    for (const id of groups) expect(logGroups[id]?.Properties?.RetentionInDays).toBe(30);
  });
});
