import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncproofConfig } from '../lambdas/core/config';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_PARTITION_REGION = { partition: 'aws', region: 'us-east-1' } as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** What the local runtime takes from a synthesized stack. */
export interface SynthesizedStack {
  readonly template: CfnTemplate;
  /**
   * The encoded configuration the stage Lambdas' bundles carry (StageFunction `bundledConfig`;
   * the template does not show it, since it is compiled into the code). The local runtime decodes
   * it with `decodeBundledConfig`, as a deployed handler does.
   */
  readonly bundledConfig: string;
}

/**
 * Synthesizes the CDK app for `config`, exactly as `cdk synth` would, except that Lambda
 * bundling is skipped (the local runtime calls the handler modules directly) and so is the
 * built-in CloudFormation validation: its engine (WebAssembly) took ~3.4 s of every CLI start
 * (measured), and the template it would check is the one `cdk synth`, `cdk deploy` and the
 * infrastructure tests (test/infra, Template.fromStack) still validate. A synthesis is kept in the
 * temp dir and reused while nothing it reads has changed (see synthesisCacheFile).
 */
export function synthesizeStack(config: SyncproofConfig): SynthesizedStack {
  const file = synthesisCacheFile(config);
  if (file !== undefined) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as SynthesizedStack;
    } catch {
      // not synthesized yet (or unreadable): synthesized below
    }
  }
  const synthesized = synthesizeFresh(config);
  if (file !== undefined) {
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(temporary, JSON.stringify(synthesized));
      renameSync(temporary, file);
    } catch {
      rmSync(temporary, { force: true });
    }
  }
  return synthesized;
}

/**
 * Where the synthesis of `config` is kept: a file in the temp dir named by a digest of everything
 * the synthesis reads — the configuration, every source file of lib/ and lambdas/ (constructs,
 * names, the bundled-config encoding), this file, the installed aws-cdk-lib and constructs
 * versions, and the environment variables CDK's App reads. Loading aws-cdk-lib and synthesizing
 * took ~1.2-1.6 s of CPU at each runtime start in a fresh process (each CLI `sync`/`local`/`demo`,
 * each test file); reading the file takes milliseconds. Undefined (no cache) when the sources are
 * not beside this file.
 */
function synthesisCacheFile(config: SyncproofConfig): string | undefined {
  const root = join(__dirname, '..');
  if (!existsSync(join(root, 'lib')) || !existsSync(join(root, 'lambdas'))) return undefined;
  const hash = createHash('sha256');
  hash.update(JSON.stringify(config));
  for (const name of ['CDK_CONTEXT_JSON', 'CDK_OUTDIR', 'CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION']) hash.update(`\0${name}=${process.env[name] ?? ''}`);
  const files = [__filename.replace(/\.js$/, '.ts'), ...sourceFiles(join(root, 'lib')), ...sourceFiles(join(root, 'lambdas'))];
  for (const path of files) {
    hash.update(`\0${path}\0`);
    try {
      hash.update(readFileSync(path));
    } catch {
      return undefined;
    }
  }
  for (const pkg of ['aws-cdk-lib', 'constructs']) {
    try {
      hash.update(`\0${pkg}@${(JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version}`);
    } catch {
      return undefined;
    }
  }
  return join(tmpdir(), 'syncproof-synth', `${hash.digest('hex')}.json`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.[cm]?[tj]s$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** {@link synthesizeStack} without the kept synthesis. */
export function synthesizeFresh(config: SyncproofConfig): SynthesizedStack {
  // Loaded only when a synthesis is not kept yet (see synthesisCacheFile).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { StageFunction } = require('../lib/constructs/stage-function') as typeof import('../lib/constructs/stage-function');
  const { SyncproofStack } = require('../lib/syncproof-stack') as typeof import('../lib/syncproof-stack');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  // Nothing is deployed from here: a source URL with a password stays on this machine.
  const stack = new SyncproofStack(app, 'Syncproof', { config, allowSourcePasswords: true });
  const assembly = app.synth();
  const bundled = new Set(stack.node.findAll().flatMap((c) => (c instanceof StageFunction ? [c.bundledConfig] : [])));
  if (bundled.size !== 1) throw new Error(`the synthesized stack's stage Lambdas bundle ${bundled.size} different configurations; the local runtime runs them with one`);
  return { template: assembly.getStackByName(stack.stackName).template as CfnTemplate, bundledConfig: [...bundled][0] as string };
}

/** Local ARN of a Lambda function: the logical id stands in for the function name. */
export function localFunctionArn(logicalId: string): string {
  return `arn:aws:lambda:${LOCAL_PARTITION_REGION.region}:${LOCAL_ACCOUNT}:function:${logicalId}`;
}

/**
 * Resolves the intrinsic functions CDK emits in the parts the local runtime reads (state machine
 * definitions, rule patterns, IAM policies): Fn::Join, Fn::Select, Fn::Split, Fn::GetAtt
 * (`attributes` by `<logicalId>.<attribute>`, else Lambda ARNs → local ARNs, else a local
 * placeholder), Ref (pseudo parameters; resources via `refs`, else the logical id).
 */
export function resolveIntrinsics(value: Json, template: CfnTemplate, refs: Record<string, string> = {}, attributes: Record<string, string> = {}): Json {
  const resolve = (v: Json): Json => resolveIntrinsics(v, template, refs, attributes);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const arg = value[k] as Json;
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, Json[]];
      return (resolve(parts) as Json[]).map(String).join(sep);
    }
    if (k === 'Fn::Select') {
      const [index, list] = arg as [number, Json];
      return (resolve(list) as Json[])[Number(index)] ?? null;
    }
    if (k === 'Fn::Split') {
      const [sep, text] = arg as [string, Json];
      return String(resolve(text)).split(sep);
    }
    if (k === 'Fn::GetAtt') {
      const [id, attr] = arg as [string, string];
      const known = attributes[`${id}.${attr}`];
      if (known !== undefined) return known;
      const type = template.Resources[id]?.Type;
      if (type === 'AWS::Lambda::Function' && attr === 'Arn') return localFunctionArn(id);
      return `arn:local:${id}:${attr}`;
    }
    if (k === 'Ref') {
      const ref = arg as string;
      if (ref === 'AWS::Partition') return LOCAL_PARTITION_REGION.partition;
      if (ref === 'AWS::Region') return LOCAL_PARTITION_REGION.region;
      if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return refs[ref] ?? ref;
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(value[k] as Json)]));
}

/** Logical ids of resources of one type. */
export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The data bucket: the one with EventBridge notifications on. */
export function dataBucketLogicalId(template: CfnTemplate): string {
  const found = resourcesOfType(template, 'AWS::S3::Bucket').find(
    ([, r]) => (r.Properties?.NotificationConfiguration as { EventBridgeConfiguration?: unknown } | undefined)?.EventBridgeConfiguration,
  );
  if (!found) throw new Error('the synthesized template has no bucket with EventBridge notifications');
  return found[0];
}

/** Stage name of each Lambda, from the SYNCPROOF_STAGE variable the stack sets. */
export function functionStages(template: CfnTemplate): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, r] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const vars = (r.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables;
    const stage = vars?.SYNCPROOF_STAGE;
    if (typeof stage === 'string') out.set(id, stage);
  }
  return out;
}

/**
 * Configured timeout of each Lambda, in seconds (the function's `Timeout` property; Lambda's
 * default of 3 s when the template sets none). The local runtime counts each invocation's
 * `getRemainingTimeInMillis()` down from it.
 */
export function functionTimeouts(template: CfnTemplate): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, r] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const timeout = r.Properties?.Timeout;
    out.set(id, typeof timeout === 'number' ? timeout : 3);
  }
  return out;
}

/**
 * Each Lambda function's billing facts from the template: `MemorySize` (MB; CloudFormation's
 * default 128) and architecture (`Architectures`, default x86_64), by logical id.
 */
export function functionBilling(template: CfnTemplate): Map<string, { readonly memoryMb: number; readonly architecture: 'arm64' | 'x86_64' }> {
  const out = new Map<string, { memoryMb: number; architecture: 'arm64' | 'x86_64' }>();
  for (const [id, r] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const memory = r.Properties?.MemorySize;
    const arch = r.Properties?.Architectures;
    out.set(id, { memoryMb: typeof memory === 'number' ? memory : 128, architecture: Array.isArray(arch) && arch[0] === 'arm64' ? 'arm64' : 'x86_64' });
  }
  return out;
}

export interface LocalStateMachine {
  readonly logicalId: string;
  readonly definition: Record<string, Json>;
}

/** Every state machine's definition with its intrinsics resolved. */
export function stateMachines(template: CfnTemplate): LocalStateMachine[] {
  return resourcesOfType(template, 'AWS::StepFunctions::StateMachine').map(([id, r]) => {
    const raw = resolveIntrinsics((r.Properties?.DefinitionString ?? null) as Json, template);
    if (typeof raw !== 'string') throw new Error(`state machine ${id} has no DefinitionString`);
    return { logicalId: id, definition: JSON.parse(raw) as Record<string, Json> };
  });
}

export interface LocalRule {
  readonly logicalId: string;
  readonly pattern: Record<string, Json>;
}

/** EventBridge rules with their patterns resolved (bucket refs → the local bucket name). */
export function eventRules(template: CfnTemplate, localBucket: string): LocalRule[] {
  const refs = { [dataBucketLogicalId(template)]: localBucket };
  return resourcesOfType(template, 'AWS::Events::Rule')
    .filter(([, r]) => r.Properties?.EventPattern)
    .map(([id, r]) => ({ logicalId: id, pattern: resolveIntrinsics(r.Properties?.EventPattern as Json, template, refs) as Record<string, Json> }));
}

/**
 * The inputs the template's EventBridge schedules pass to the state machine `machineLogicalId`, by
 * the `dataset` each names: what a scheduled execution of it starts with.
 */
export function scheduleInputs(template: CfnTemplate, machineLogicalId: string): Map<string, Record<string, Json>> {
  const inputs = new Map<string, Record<string, Json>>();
  for (const [, r] of resourcesOfType(template, 'AWS::Events::Rule')) {
    if (!r.Properties?.ScheduleExpression) continue;
    for (const t of (r.Properties.Targets ?? []) as { Arn?: { Ref?: string }; Input?: unknown }[]) {
      if (t.Arn?.Ref !== machineLogicalId || typeof t.Input !== 'string') continue;
      const input = JSON.parse(t.Input) as Record<string, Json>;
      if (typeof input.dataset === 'string') inputs.set(input.dataset, input);
    }
  }
  return inputs;
}

export type { Json };

/** How SQS feeds a function: the template's event source mapping of it. */
export interface EventSourceBatching {
  /** Messages per invocation (`BatchSize`; SQS's default 10 when the template sets none). */
  readonly batchSize: number;
  /** `MaximumBatchingWindowInSeconds` (0 when the template sets none). */
  readonly windowSeconds: number;
}

/**
 * The batching of the event source mapping that feeds `functionLogicalId`, so the local queue cuts
 * the batches the stack configures (parity: the trigger sees batches as large as AWS sends).
 */
export function eventSourceBatching(template: CfnTemplate, functionLogicalId: string): EventSourceBatching {
  for (const [, r] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const name = r.Properties?.FunctionName as { Ref?: string } | undefined;
    if (name?.Ref !== functionLogicalId) continue;
    const size = r.Properties?.BatchSize;
    const window = r.Properties?.MaximumBatchingWindowInSeconds;
    return { batchSize: typeof size === 'number' ? size : 10, windowSeconds: typeof window === 'number' ? window : 0 };
  }
  return { batchSize: 10, windowSeconds: 0 };
}
