/**
 * The Redshift Data API's authorization, for the local Data API (DESIGN.md §4: every Data API
 * call is its own action): a submit needs `redshift-data:<Operation>` on the cluster or workgroup
 * and the permission to get the database credentials it asks for (the secret, Serverless
 * GetCredentials, or GetClusterCredentials[WithIAM]); a call on a statement needs its action on
 * `*` with `redshift-data:statement-owner-iam-userid` set to the submitter's `aws:userid`.
 */
import { createHash } from 'node:crypto';
import { DataApiCallDenied, type DataApiCall } from '../redshift-data-api/server';
import { LOCAL_SCOPE, LocalAccessDenied, type LocalIam, type LocalPrincipal } from './local-iam';
import type { IamRequest } from './sdk-requests';

const { partition, region, account } = LOCAL_SCOPE;

/** A Serverless workgroup's ARN ends in its id; the local one is derived from its name. */
export function localWorkgroupArn(workgroupName: string): string {
  const h = createHash('sha256').update(workgroupName).digest('hex');
  return `arn:${partition}:redshift-serverless:${region}:${account}:workgroup/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const redshiftArn = (resource: string): string => `arn:${partition}:redshift:${region}:${account}:${resource}`;

/** The IAM requests of one call, given who submitted the statement it names. */
export function dataApiRequests(call: DataApiCall, ownerUserId: string | undefined): IamRequest[] {
  const action = `redshift-data:${call.operation}`;
  const t = call.target;
  if (!t) return [{ action, resource: '*', context: { 'redshift-data:statement-owner-iam-userid': ownerUserId ?? '' } }];
  const target = t.workgroupName ? localWorkgroupArn(t.workgroupName) : redshiftArn(`cluster:${t.clusterIdentifier ?? ''}`);
  const requests: IamRequest[] = [{ action, resource: target, context: {} }];
  if (t.secretArn) requests.push({ action: 'secretsmanager:GetSecretValue', resource: t.secretArn, context: {} });
  else if (t.workgroupName) requests.push({ action: 'redshift-serverless:GetCredentials', resource: target, context: {} });
  else if (t.dbUser) {
    requests.push({ action: 'redshift:GetClusterCredentials', resource: redshiftArn(`dbuser:${t.clusterIdentifier}/${t.dbUser}`), context: {} });
    requests.push({ action: 'redshift:GetClusterCredentials', resource: redshiftArn(`dbname:${t.clusterIdentifier}/${t.database}`), context: {} });
  } else requests.push({ action: 'redshift:GetClusterCredentialsWithIAM', resource: redshiftArn(`dbname:${t.clusterIdentifier}/${t.database}`), context: {} });
  return requests;
}

/**
 * The local Data API's `authorize` option: callers are known by the access key id each stage's
 * client signs with (`principals`); an unknown key is denied, as AWS denies an unknown identity.
 */
export function dataApiAuthorizer(iam: LocalIam, principals: ReadonlyMap<string, LocalPrincipal>): (call: DataApiCall) => Promise<void> {
  return async (call) => {
    const principal = principals.get(call.accessKeyId);
    if (!principal) throw new DataApiCallDenied(`The security token included in the request is invalid: access key ${call.accessKeyId || '(none)'} belongs to no role of the stack`);
    const owner = call.owner === undefined ? undefined : (principals.get(call.owner)?.userId ?? call.owner);
    try {
      for (const request of dataApiRequests(call, owner)) await iam.authorize(principal, request);
    } catch (error) {
      if (error instanceof LocalAccessDenied) throw new DataApiCallDenied(error.message);
      throw error;
    }
  };
}
