import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on `scope` and everything under it, with one reason.
 *
 * cdk-nag 3 reports rules that yield several findings (IAM4, IAM5) once per finding, as
 * `RuleId[finding]`, and matches acknowledgements exactly — so `findings` names each one
 * (`Action::s3:List*`, `Resource::<DataBucketE3889A50.Arn>/*`); without `findings` the whole
 * rule is acknowledged.
 *
 * @param rule a rule id such as `AwsSolutions-IAM5`
 * @param reason why the finding is acceptable here; must not be empty
 */
export function acknowledgeNag(scope: IConstruct, rule: string, reason: string, findings: readonly string[] = []): void {
  if (reason.trim().length === 0) throw new Error(`acknowledgement of ${rule} on ${scope.node.path} needs a reason`);
  const ids = findings.length === 0 ? [rule] : findings.map((f) => `${rule}[${f}]`);
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/** How cdk-nag prints `Fn::GetAtt` of a resource in a finding: `<LogicalId.Attr>`. */
export function nagAttribute(construct: IConstruct, attribute: string): string {
  const element = construct.node.defaultChild as CfnElement | undefined;
  if (!element) throw new Error(`${construct.node.path} has no CloudFormation resource to name in an acknowledgement`);
  return `<${Stack.of(construct).getLogicalId(element)}.${attribute}>`;
}

/**
 * How cdk-nag prints a string with tokens (an `Fn::Join`): pseudo parameters and refs as
 * `<AWS::Region>`, attributes as `<Id.Attr>`, other intrinsics as their JSON.
 */
export function nagString(scope: IConstruct, value: string): string {
  const resolved = Stack.of(scope).resolve(value) as unknown;
  if (typeof resolved === 'string') return resolved;
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`cannot render ${JSON.stringify(resolved)} as a cdk-nag finding`);
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (ref) return `<${ref}>`;
      if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
      // Other intrinsics (Fn::Select, Fn::Split) cdk-nag prints as their JSON.
      return JSON.stringify(part);
    })
    .join(join[0]);
}
