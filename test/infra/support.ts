import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfigFile, parseConfig, type SyncproofConfig } from '../../lib/config';
import { SyncproofStack } from '../../lib/syncproof-stack';

/** The repository root (cdk.json, the example configuration). */
export const REPO_ROOT = join(__dirname, '..', '..');

/** The example configuration that cdk.json points at. */
export function exampleConfig(): SyncproofConfig {
  return loadConfigFile(join(REPO_ROOT, 'syncproof.config.example.json'));
}

/**
 * A dataset extracted from a MySQL table, as a configuration file states it: no prefix, no
 * columns and no key columns (they come from the table).
 */
export function sourceDataset(): Record<string, unknown> {
  return {
    name: 'customers',
    source: { engine: 'mysql', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-AbCdEf', table: 'crm.customers', cursorColumn: 'updated_at' },
    target: { schema: 'public', table: 'customers' },
  };
}

/** The example configuration with these datasets instead of its own, parsed as the CDK app parses a file. */
export function configWithDatasets(...datasets: unknown[]): SyncproofConfig {
  return parseConfig({ ...exampleConfig(), datasets });
}

/** cdk.json's context (feature flags) without `config`, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const { config: _config, ...flags } = cdkJson.context ?? {};
  return flags;
}

/** A stack and the App it lives in (register validation plugins on the App). */
export interface BuiltStack {
  readonly app: App;
  readonly stack: SyncproofStack;
}

/**
 * A SyncproofStack in a fresh App with cdk.json's feature flags, and without esbuild bundling
 * (`aws:cdk:bundling-stacks: []`; NodejsFunction skips bundling when Stack.bundlingRequired is
 * false), so a synth takes about a second.
 */
export function buildStack(config: SyncproofConfig = exampleConfig(), context: Record<string, unknown> = cdkJsonContext()): BuiltStack {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new SyncproofStack(app, 'Syncproof', { config });
  return { app, stack };
}

/** The synthesized template of {@link buildStack}. */
export function templateOf(config?: SyncproofConfig): Template {
  return Template.fromStack(buildStack(config).stack);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A template resource, as the tests read it. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

/** Resources of one type, as `[logicalId, resource]`. */
export function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

/** The logical id of the one resource of `type` that satisfies `predicate`; throws unless exactly one does. */
export function logicalIdOf(template: Template, type: string, predicate: (r: Resource) => boolean = () => true): string {
  const found = resources(template, type).filter(([, r]) => predicate(r));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return (found[0] as [string, Resource])[0];
}

/** The data bucket: the one that sends events to EventBridge. */
export function dataBucketId(template: Template): string {
  return logicalIdOf(template, 'AWS::S3::Bucket', (r) => Boolean((r.Properties?.NotificationConfiguration as { EventBridgeConfiguration?: Json } | undefined)?.EventBridgeConfiguration));
}

/** Logical id of the Lambda whose SYNCPROOF_STAGE is `stage`. */
export function functionIdOf(template: Template, stage: string): string {
  return logicalIdOf(template, 'AWS::Lambda::Function', (r) => stageOf(r) === stage);
}

/** The SYNCPROOF_STAGE of a Lambda resource. */
export function stageOf(fn: Resource): string | undefined {
  const vars = (fn.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables;
  return typeof vars?.SYNCPROOF_STAGE === 'string' ? vars.SYNCPROOF_STAGE : undefined;
}

/**
 * Renders a CloudFormation value as a string: `Fn::Join` parts joined, `Ref` as `#{Id}`,
 * `Fn::GetAtt` as `#{Id.Attr}`, `Fn::Select` of `Fn::Split` as `#{select(i, split('sep', …))}`. Used for state machine definitions and IAM resources.
 */
export function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(render).join(sep);
    }
    if ('Ref' in value) return `#{${String(value.Ref)}}`;
    if ('Fn::GetAtt' in value) return `#{${(value['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Select' in value) {
      const [index, list] = value['Fn::Select'] as [number, Json];
      return `#{select(${index}, ${render(list)})}`;
    }
    if ('Fn::Split' in value) {
      const [sep, source] = value['Fn::Split'] as [string, Json];
      return `split('${sep}', ${render(source)})`;
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** A state of a parsed definition. */
export type State = Record<string, Json> & { Type: string };
/** A parsed state machine definition. */
export interface Definition {
  readonly StartAt: string;
  readonly States: Record<string, State>;
  readonly [k: string]: Json;
}

/** A state machine's logical id and its DefinitionString, parsed, with tokens as `#{…}`. */
export interface ParsedMachine {
  readonly logicalId: string;
  readonly raw: string;
  readonly definition: Definition;
  readonly properties: Record<string, Json>;
}

/** The one state machine whose logical id starts with `prefix`, parsed. */
export function machineDefinition(template: Template, prefix: string): ParsedMachine {
  const found = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one state machine ${prefix}*, found ${found.length}`);
  const [logicalId, sm] = found[0] as [string, Resource];
  const properties = sm.Properties as Record<string, Json>;
  const raw = render(properties.DefinitionString as Json);
  return { logicalId, raw, definition: JSON.parse(raw) as Definition, properties };
}

/** The SyncStateMachine's logical id and its DefinitionString, parsed, with tokens as `#{…}`. */
export function syncDefinition(template: Template): ParsedMachine {
  return machineDefinition(template, 'SyncStateMachine');
}

/** The VerifyStateMachine's logical id and its DefinitionString, parsed, with tokens as `#{…}`. */
export function verifyDefinition(template: Template): ParsedMachine {
  return machineDefinition(template, 'VerifyStateMachine');
}

/** A policy statement with Action and Resource as lists and resources rendered by {@link render}. */
export interface Statement {
  readonly policy: string;
  readonly resourceType: string;
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Json>;
  readonly Principal?: Json;
}

const asList = (v: Json | undefined): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every identity and resource policy in the template, normalized. */
export function policyStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  const documents: [string, string, Json][] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, r] of resources(template, type)) documents.push([id, type, r.Properties?.PolicyDocument as Json]);
  }
  for (const [id, r] of resources(template, 'AWS::IAM::Role')) {
    for (const p of asList(r.Properties?.Policies)) documents.push([id, 'AWS::IAM::Role', (p as { PolicyDocument: Json }).PolicyDocument]);
  }
  for (const type of ['AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy']) {
    for (const [id, r] of resources(template, type)) documents.push([id, type, r.Properties?.PolicyDocument as Json]);
  }
  for (const [policy, resourceType, doc] of documents) {
    for (const s of asList((doc as { Statement: Json }).Statement) as Record<string, Json>[]) {
      out.push({
        policy,
        resourceType,
        Effect: String(s.Effect),
        Action: asList(s.Action).map(String),
        Resource: asList(s.Resource).map(render),
        Condition: s.Condition as Record<string, Json> | undefined,
        Principal: s.Principal,
      });
    }
  }
  return out;
}

/** Identity-policy statements (what our roles may do), Allow only. */
export function allowedIdentityStatements(template: Template): Statement[] {
  return policyStatements(template).filter((s) => s.Effect === 'Allow' && s.resourceType.startsWith('AWS::IAM::'));
}

/** The roles an IAM policy is attached to (logical ids). */
export function rolesOf(template: Template, policyId: string): string[] {
  const policy = template.findResources('AWS::IAM::Policy')[policyId] as Resource;
  return asList(policy.Properties?.Roles).map((r) => String((r as { Ref: string }).Ref));
}

/** Logical id of the role a Lambda runs as. */
export function roleOfFunction(template: Template, functionId: string): string {
  const fn = template.findResources('AWS::Lambda::Function')[functionId] as Resource;
  return (fn.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Statements granted to the role of the Lambda of `stage`. */
export function statementsOfStage(template: Template, stage: string): Statement[] {
  const role = roleOfFunction(template, functionIdOf(template, stage));
  return allowedIdentityStatements(template).filter((s) => s.resourceType === 'AWS::IAM::Policy' && rolesOf(template, s.policy).includes(role));
}

export type { Json };
