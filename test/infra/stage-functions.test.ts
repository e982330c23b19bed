import { randomBytes } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { decodeBundledConfig } from '../../lambdas/core/bundled-config';
import { ENV } from '../../lambdas/core/env';
import { StageFunction } from '../../lib/constructs/stage-function';
import type { SyncproofStack } from '../../lib/syncproof-stack';
import { parseConfig } from '../../lambdas/core/config';
import { buildStack, configWithDatasets, exampleConfig, functionIdOf, resources, sourceDataset, templateOf, type Json } from './support';

/** Lambda's limit on a function's environment variables, keys and values together. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;

/**
 * Bytes of a function's environment once deployed: keys and values; a token (a generated bucket
 * or table name, an ARN) counts as 256 bytes, more than any of them resolves to.
 */
function envBytes(vars: Record<string, Json>): number {
  return Object.entries(vars).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 256), 0);
}

/** The stack's StageFunction constructs, by stage. */
function stageFunctions(stack: SyncproofStack): Map<string, StageFunction> {
  return new Map(stack.node.findAll().flatMap((c) => (c instanceof StageFunction ? [[c.stage, c] as const] : [])));
}

const STAGES = ['trigger', 'extract', 'discover', 'load', 'verify', 'commit', 'record', 'inventory', 'checksum', 'counts', 'clean'];

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

  it('gives every stage the bucket, the tables and the redshift-data warehouse in its environment', () => {
    for (const stage of STAGES) {
      const vars = env(stage);
      for (const name of [ENV.bucket, ENV.ledgerTable, ENV.runsTable, ENV.watermarksTable]) expect([stage, name, typeof vars[name]]).toEqual([stage, name, 'object']);
      expect(vars[ENV.warehouse]).toBe('redshift-data');
      expect(vars.POWERTOOLS_SERVICE_NAME).toBe('syncproof');
    }
  });

  it('bundles the validated config into every stage, not into its environment', () => {
    const { stack } = buildStack();
    const functions = stageFunctions(stack);
    expect([...functions.keys()].sort()).toEqual([...STAGES].sort());
    for (const [stage, fn] of functions) {
      expect([stage, decodeBundledConfig(fn.bundledConfig)]).toEqual([stage, exampleConfig()]);
      expect([stage, JSON.stringify(env(stage))]).not.toContain('"datasets"');
      expect(env(stage).SYNCPROOF_CONFIG).toBeUndefined();
    }
  });

  it('refuses, naming the limit, a configuration too large for the one esbuild argument that carries it', () => {
    // Random column names barely deflate: 20,000 of them are ~400 KB in base64.
    const columns = Array.from({ length: 20_000 }, () => ({ name: `c_${randomBytes(8).toString('hex')}`, type: 'BIGINT' }));
    const config = parseConfig({ datasets: [{ name: 'wide', prefix: 'wide/', target: { schema: 'public', table: 'wide' }, keyColumns: [columns[0]!.name], columns }] });
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Wide');
    expect(() => new StageFunction(stack, 'Load', { stage: 'load', config, environment: {} })).toThrow(/config is \d+ bytes deflated, in base64; esbuild takes it as one command-line argument, which holds 130048/);
  });

  describe('with 40 datasets that have sources', () => {
    const datasets = Array.from({ length: 40 }, (_, i) => {
      const base = sourceDataset() as { source: Record<string, unknown> };
      return { ...base, name: `customers-${i}`, source: { ...base.source, table: `crm.customers_${i}`, schedule: 'rate(1 hour)' }, target: { schema: 'public', table: `customers_${i}` } };
    });
    const config = configWithDatasets(...datasets);
    let big: Template;
    let stack: SyncproofStack;
    beforeAll(() => {
      stack = buildStack(config).stack;
      big = Template.fromStack(stack);
    });

    it('has a configuration far over the 4 KB Lambda allows a function environment', () => {
      expect(Buffer.byteLength(JSON.stringify(config))).toBeGreaterThan(3 * LAMBDA_ENV_LIMIT_BYTES);
    });

    it('keeps every stage function environment under 4 KB and without SYNCPROOF_CONFIG', () => {
      const fns = resources(big, 'AWS::Lambda::Function');
      expect(fns).toHaveLength(STAGES.length);
      for (const [id, fn] of fns) {
        const vars = (fn.Properties?.Environment as { Variables: Record<string, Json> }).Variables;
        expect([id, vars.SYNCPROOF_CONFIG]).toEqual([id, undefined]);
        expect([id, envBytes(vars) < LAMBDA_ENV_LIMIT_BYTES]).toEqual([id, true]);
      }
    });

    it('bundles all 40 datasets into every stage', () => {
      for (const [stage, fn] of stageFunctions(stack)) expect([stage, decodeBundledConfig(fn.bundledConfig).datasets.map((d) => d.name)]).toEqual([stage, datasets.map((d) => d.name)]);
    });
  });

  it('tells only the trigger which state machine to start', () => {
    const sm = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).find((id) => id.startsWith('SyncStateMachine'));
    expect(env('trigger')[ENV.syncStateMachineArn]).toEqual({ Ref: sm });
    for (const stage of STAGES.filter((s) => s !== 'trigger')) expect(env(stage)[ENV.syncStateMachineArn]).toBeUndefined();
  });

  it('gives extract, load, verify, inventory, checksum, counts and clean 15 minutes, the others 1 minute', () => {
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
      counts: 900,
      clean: 900,
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
      counts: 1024,
      clean: 1024,
    });
  });

  it('logs each function to its own log group with a retention', () => {
    const groups = STAGES.map((s) => (props(s).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref);
    expect(new Set(groups).size).toBe(STAGES.length);
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    for (const id of groups) expect(logGroups[id]?.Properties?.RetentionInDays).toBe(30);
  });
});
