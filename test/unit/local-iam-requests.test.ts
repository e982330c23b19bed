import { iamRequestsOf } from '../../local/iam/sdk-requests';
import { LocalIam, sessionOf } from '../../local/iam/local-iam';
import type { StackIam } from '../../local/iam/stack-iam';

const scope = { partition: 'aws', region: 'us-east-1', account: '000000000000' };
const actions = async (service: string, operation: string, input: Record<string, unknown>) =>
  (await iamRequestsOf(service, operation, input, scope)).map((r) => `${r.action} ${r.resource}`);

describe('the IAM requests of an SDK call', () => {
  it.each([
    ['s3', 'GetObject', { Bucket: 'b', Key: 'k/1.parquet' }, ['s3:GetObject arn:aws:s3:::b/k/1.parquet']],
    ['s3', 'GetObject', { Bucket: 'b', Key: 'k', VersionId: 'v1' }, ['s3:GetObjectVersion arn:aws:s3:::b/k']],
    ['s3', 'HeadObject', { Bucket: 'b', Key: 'k' }, ['s3:GetObject arn:aws:s3:::b/k']],
    ['s3', 'ListObjectsV2', { Bucket: 'b', Prefix: 'orders/' }, ['s3:ListBucket arn:aws:s3:::b']],
    ['s3', 'PutObject', { Bucket: 'b', Key: '_syncproof/x' }, ['s3:PutObject arn:aws:s3:::b/_syncproof/x']],
    ['s3', 'UploadPart', { Bucket: 'b', Key: 'big' }, ['s3:PutObject arn:aws:s3:::b/big']],
    ['s3', 'CopyObject', { Bucket: 'b', Key: 'to', CopySource: 'src/a%20b' }, ['s3:PutObject arn:aws:s3:::b/to', 's3:GetObject arn:aws:s3:::src/a b']],
    ['s3', 'DeleteObjects', { Bucket: 'b', Delete: { Objects: [{ Key: 'x' }, { Key: 'y' }] } }, ['s3:DeleteObject arn:aws:s3:::b/x', 's3:DeleteObject arn:aws:s3:::b/y']],
    ['dynamodb', 'GetItem', { TableName: 't', Key: {} }, ['dynamodb:GetItem arn:aws:dynamodb:us-east-1:000000000000:table/t']],
    ['dynamodb', 'Query', { TableName: 't', IndexName: 'byDataset' }, ['dynamodb:Query arn:aws:dynamodb:us-east-1:000000000000:table/t/index/byDataset']],
    ['dynamodb', 'Query', { TableName: 't' }, ['dynamodb:Query arn:aws:dynamodb:us-east-1:000000000000:table/t']],
    ['dynamodb', 'BatchGetItem', { RequestItems: { t1: {}, t2: {} } }, ['dynamodb:BatchGetItem arn:aws:dynamodb:us-east-1:000000000000:table/t1', 'dynamodb:BatchGetItem arn:aws:dynamodb:us-east-1:000000000000:table/t2']],
    ['redshift-data', 'ListStatements', {}, ['redshift-data:ListStatements *']],
    ['events', 'PutEvents', { Entries: [{ Source: 'syncproof' }] }, ['events:PutEvents arn:aws:events:us-east-1:000000000000:event-bus/default']],
    ['events', 'PutEvents', { Entries: [{ EventBusName: 'default' }, { EventBusName: 'other' }, { EventBusName: 'other' }] }, ['events:PutEvents arn:aws:events:us-east-1:000000000000:event-bus/default', 'events:PutEvents arn:aws:events:us-east-1:000000000000:event-bus/other']],
  ])('%s %s %j → %j', async (service, operation, input, expected) => {
    expect(await actions(service, operation, input)).toEqual(expected);
  });

  it('refuses an operation the Service Authorization Reference has no action for, rather than allowing it', async () => {
    await expect(actions('s3', 'SelectTheUniverse', { Bucket: 'b' })).rejects.toThrow('knows no action s3:SelectTheUniverse');
  });

  it('refuses a call whose resource cannot be named from the request', async () => {
    await expect(actions('dynamodb', 'GetItem', {})).rejects.toThrow('cannot name the resource of dynamodb:GetItem');
  });
});

describe('LocalIam', () => {
  const bucketArn = 'arn:aws:s3:::b';
  const stack: StackIam = {
    roles: new Map(),
    functionRoles: new Map(),
    stateMachineRoles: new Map(),
    bucketArn,
    bucketPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:role/copy' }, Action: 's3:GetObject', Resource: `${bucketArn}/*` },
      ],
    },
  };
  const iam = new LocalIam(stack);
  const reader = sessionOf('arn:aws:iam::000000000000:role/reader', 'fn', [
    { name: 'p', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${bucketArn}/data/*` }] } },
  ]);

  it('allows what an identity policy grants and denies what none does, naming principal, action and resource', async () => {
    await expect(iam.authorizeCall(reader, 's3', 'HeadObject', { Bucket: 'b', Key: 'data/1' })).resolves.toBeUndefined();
    await expect(iam.authorizeCall(reader, 's3', 'PutObject', { Bucket: 'b', Key: 'data/1' })).rejects.toThrow(
      'User: arn:aws:sts::000000000000:assumed-role/reader/fn is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b/data/1',
    );
  });

  it('lets a role with no policy of its own read through the bucket policy that names it, and no other role', async () => {
    await expect(iam.authorizeCall(sessionOf('arn:aws:iam::000000000000:role/copy', 'RedshiftIamRoleSession'), 's3', 'GetObject', { Bucket: 'b', Key: 'x' })).resolves.toBeUndefined();
    await expect(iam.authorizeCall(sessionOf('arn:aws:iam::000000000000:role/other', 's'), 's3', 'GetObject', { Bucket: 'b', Key: 'x' })).rejects.toThrow('s3:GetObject');
  });

  it("applies the bucket policy's explicit deny over an identity allow", async () => {
    await expect(iam.authorizeCall(reader, 's3', 'GetObject', { Bucket: 'b', Key: 'data/1' }, { 'aws:SecureTransport': 'false' })).rejects.toThrow('with an explicit deny');
  });
});
