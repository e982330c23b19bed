/**
 * IAM as AWS enforces it, for the local runtime (DESIGN.md §6): each AWS call a stage makes is
 * evaluated, by `@cloud-copilot/iam-simulate`, against the identity policies CDK synthesized for
 * that stage's role and the data bucket's policy, with the request's condition keys; a call AWS
 * would deny is denied with the service's own error name, naming principal, action and resource.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { LOCAL_ACCOUNT, LOCAL_PARTITION_REGION } from '../template';
import { iamRequestsOf, type IamRequest, type RequestScope } from './sdk-requests';
import { roleUniqueId, type PolicyDocument, type StackIam, type StackRole } from './stack-iam';

/** Who makes a call: a session of a role. */
export interface LocalPrincipal {
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  readonly sessionArn: string;
  readonly roleArn: string;
  /** `aws:userid`: `<role unique id>:<session name>`. */
  readonly userId: string;
  readonly policies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
}

/** A denied call: the text AWS gives and the error name the service answers with. */
export class LocalAccessDenied extends Error {
  constructor(
    message: string,
    readonly action: string,
    readonly resource: string,
  ) {
    super(message);
  }
}

/** The scope the local runtime's ARNs live in. */
export const LOCAL_SCOPE: RequestScope = { partition: LOCAL_PARTITION_REGION.partition, region: LOCAL_PARTITION_REGION.region, account: LOCAL_ACCOUNT };

/** Decisions kept per principal, action, resource and context (evaluation is pure). */
const CACHE_LIMIT = 50_000;

/** Evaluates calls against one synthesized stack's IAM. */
export class LocalIam {
  private readonly decisions = new Map<string, Promise<string | undefined>>();

  constructor(readonly stack: StackIam) {}

  /** The principal a Lambda function's invocations call AWS as (its role, session = function name). */
  functionPrincipal(functionLogicalId: string): LocalPrincipal {
    return this.sessionOfRole(this.stack.functionRoles.get(functionLogicalId), functionLogicalId, `Lambda function ${functionLogicalId}`);
  }

  /** The principal a state machine calls AWS as. */
  stateMachinePrincipal(stateMachineLogicalId: string): LocalPrincipal {
    return this.sessionOfRole(this.stack.stateMachineRoles.get(stateMachineLogicalId), stateMachineLogicalId, `state machine ${stateMachineLogicalId}`);
  }

  private sessionOfRole(roleId: string | undefined, session: string, what: string): LocalPrincipal {
    const role: StackRole | undefined = roleId === undefined ? undefined : this.stack.roles.get(roleId);
    if (!role) throw new Error(`the synthesized template gives ${what} no role`);
    return sessionOf(role.arn, session, role.policies);
  }

  /** Throws {@link LocalAccessDenied} unless every IAM request of the SDK call is allowed. */
  async authorizeCall(principal: LocalPrincipal, service: string, operation: string, input: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>> = {}): Promise<void> {
    const requests = await iamRequestsOf(service, operation, input, LOCAL_SCOPE);
    for (const request of requests) await this.authorize(principal, { ...request, context: { ...request.context, ...context } });
  }

  /** Throws {@link LocalAccessDenied} unless `request` is allowed for `principal`. */
  async authorize(principal: LocalPrincipal, request: IamRequest): Promise<void> {
    const key = JSON.stringify([principal.sessionArn, request.action, request.resource, request.context]);
    let decision = this.decisions.get(key);
    if (!decision) {
      if (this.decisions.size >= CACHE_LIMIT) this.decisions.clear();
      decision = this.evaluate(principal, request);
      this.decisions.set(key, decision);
    }
    const denied = await decision;
    if (denied !== undefined) throw new LocalAccessDenied(denied, request.action, request.resource);
  }

  /** Undefined when allowed, else AWS's text for the denial. */
  private async evaluate(principal: LocalPrincipal, request: IamRequest): Promise<string | undefined> {
    const onBucket = request.resource === this.stack.bucketArn || request.resource.startsWith(`${this.stack.bucketArn}/`);
    const result = await runSimulation(
      {
        request: {
          principal: principal.sessionArn,
          action: request.action,
          resource: { resource: request.resource, accountId: LOCAL_ACCOUNT },
          contextVariables: {
            'aws:userid': principal.userId,
            'aws:PrincipalArn': principal.roleArn,
            'aws:PrincipalAccount': LOCAL_ACCOUNT,
            'aws:SecureTransport': 'true',
            'aws:RequestedRegion': LOCAL_SCOPE.region,
            ...request.context,
          },
        },
        identityPolicies: principal.policies.map((p) => ({ name: p.name, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(onBucket && this.stack.bucketPolicy ? { resourcePolicy: this.stack.bucketPolicy } : {}),
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(`the local IAM check could not evaluate ${request.action}: ${result.errors.message}`);
    if (result.overallResult === 'Allowed') return undefined;
    const why =
      result.overallResult === 'ExplicitlyDenied'
        ? `with an explicit deny in ${onBucket ? 'a resource-based or identity-based' : 'an identity-based'} policy`
        : `because no ${onBucket ? 'identity-based or resource-based' : 'identity-based'} policy allows the ${request.action} action`;
    return `User: ${principal.sessionArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`;
  }
}

/** A session of `roleArn` named `session`, with the role's identity policies. */
export function sessionOf(roleArn: string, session: string, policies: LocalPrincipal['policies'] = []): LocalPrincipal {
  const [, , , , account, resource] = roleArn.split(':');
  const roleName = (resource ?? '').split('/').at(-1) ?? '';
  return { sessionArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`, roleArn, userId: `${roleUniqueId(roleArn)}:${session}`, policies };
}
