/**
 * The IAM of a synthesized SyncproofStack as the local runtime enforces it: every role with the
 * policies CDK attached to it, which role each Lambda function and state machine runs under, and
 * the data bucket's policy, with the template's tokens resolved to the local resources' ARNs.
 */
import { createHash } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_PARTITION_REGION, dataBucketLogicalId, resolveIntrinsics, resourcesOfType, type CfnTemplate, type Json } from '../template';

/** A policy document as IAM reads it. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, Json>[];
}

/** One IAM role of the stack. */
export interface StackRole {
  readonly logicalId: string;
  /** `arn:aws:iam::<account>:role/<logicalId>` (the logical id stands in for the generated name). */
  readonly arn: string;
  /** The role's unique id (`AROA…`), the first part of `aws:userid` for its sessions. */
  readonly uniqueId: string;
  /** Identity policies: inline ones and every AWS::IAM::Policy that names the role. */
  readonly policies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
}

/** The names the local runtime gives the stack's resources. */
export interface LocalResourceNames {
  readonly bucket: string;
  /** DynamoDB table name by the table's partition key (`objectKey` ledger, `runId` runs, `dataset` watermarks). */
  readonly tablesByPartitionKey: Readonly<Record<string, string>>;
  /** State machine ARN by logical id. */
  readonly stateMachineArns: Readonly<Record<string, string>>;
}

/** The stack's IAM, resolved. */
export interface StackIam {
  readonly roles: ReadonlyMap<string, StackRole>;
  /** Lambda function logical id → its role's logical id. */
  readonly functionRoles: ReadonlyMap<string, string>;
  /** State machine logical id → its role's logical id. */
  readonly stateMachineRoles: ReadonlyMap<string, string>;
  readonly bucketArn: string;
  /** The data bucket's policy (resource-based policy of every request on the bucket or its objects). */
  readonly bucketPolicy?: PolicyDocument;
}

const { partition, region } = LOCAL_PARTITION_REGION;

/** `arn:aws:iam::<account>:role/<name>`. */
export function localRoleArn(name: string): string {
  return `arn:${partition}:iam::${LOCAL_ACCOUNT}:role/${name}`;
}

/** A stable `AROA…` id for a role ARN, as IAM gives every role one. */
export function roleUniqueId(roleArn: string): string {
  return `AROA${createHash('sha256').update(roleArn).digest('hex').slice(0, 17).toUpperCase()}`;
}

/** Reads the roles, their policies and the bucket policy out of `template`. */
export function stackIam(template: CfnTemplate, names: LocalResourceNames): StackIam {
  const bucketId = dataBucketLogicalId(template);
  const bucketArn = `arn:${partition}:s3:::${names.bucket}`;
  const refs: Record<string, string> = { [bucketId]: names.bucket, ...names.stateMachineArns };
  const attributes: Record<string, string> = { [`${bucketId}.Arn`]: bucketArn };
  for (const [id, table] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
    const key = ((table.Properties?.KeySchema ?? []) as { AttributeName: string; KeyType: string }[]).find((k) => k.KeyType === 'HASH')?.AttributeName;
    const name = key === undefined ? undefined : names.tablesByPartitionKey[key];
    if (name === undefined) continue;
    refs[id] = name;
    attributes[`${id}.Arn`] = `arn:${partition}:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${name}`;
  }
  const roleIds = resourcesOfType(template, 'AWS::IAM::Role').map(([id]) => id);
  for (const id of roleIds) attributes[`${id}.Arn`] = localRoleArn(id);
  const resolve = (value: Json): Json => resolveIntrinsics(value, template, refs, attributes);

  const policies = new Map<string, { name: string; policy: PolicyDocument }[]>(roleIds.map((id) => [id, []]));
  for (const id of roleIds) {
    const inline = (template.Resources[id]?.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: Json }[];
    for (const p of inline) policies.get(id)!.push({ name: p.PolicyName, policy: resolve(p.PolicyDocument) as unknown as PolicyDocument });
  }
  for (const [id, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const document = resolve(policy.Properties?.PolicyDocument ?? null) as unknown as PolicyDocument;
    for (const role of (policy.Properties?.Roles ?? []) as { Ref?: string }[]) {
      if (role.Ref !== undefined) policies.get(role.Ref)?.push({ name: id, policy: document });
    }
  }
  const roles = new Map<string, StackRole>(
    roleIds.map((id) => {
      const arn = localRoleArn(id);
      return [id, { logicalId: id, arn, uniqueId: roleUniqueId(arn), policies: policies.get(id)! }];
    }),
  );

  const roleOf = (value: Json | undefined): string | undefined => {
    const getAtt = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    return getAtt && roles.has(getAtt[0]) ? getAtt[0] : undefined;
  };
  const functionRoles = new Map<string, string>();
  for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const role = roleOf(fn.Properties?.Role);
    if (role) functionRoles.set(id, role);
  }
  const stateMachineRoles = new Map<string, string>();
  for (const [id, machine] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
    const role = roleOf(machine.Properties?.RoleArn);
    if (role) stateMachineRoles.set(id, role);
  }
  const bucketPolicy = resourcesOfType(template, 'AWS::S3::BucketPolicy').find(([, p]) => (p.Properties?.Bucket as { Ref?: string } | undefined)?.Ref === bucketId)?.[1];
  return {
    roles,
    functionRoles,
    stateMachineRoles,
    bucketArn,
    ...(bucketPolicy ? { bucketPolicy: resolve(bucketPolicy.Properties?.PolicyDocument ?? null) as unknown as PolicyDocument } : {}),
  };
}
