import { Match, type Template } from 'aws-cdk-lib/assertions';
import { INTERNAL_PREFIX } from '../../lambdas/core/config';
import { eventsDocumentKey } from '../../lambdas/core/execution-input';
import { copyManifestKey, pinnedCopyKey } from '../../lambdas/core/load-plan';
import { STACK_OUTPUTS } from '../../lambdas/core/stack-outputs';
import { dataBucketId, logicalIdOf, policyStatements, resources, templateOf } from './support';

describe('storage', () => {
  let template: Template;
  let bucketId: string;
  beforeAll(() => {
    template = templateOf();
    bucketId = dataBucketId(template);
  });

  it('sends the data bucket events to EventBridge on the bucket resource itself', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('denies requests to the data bucket that do not use TLS', () => {
    const deny = policyStatements(template).filter(
      (s) => s.resourceType === 'AWS::S3::BucketPolicy' && s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
    );
    expect(deny.flatMap((s) => s.Resource)).toEqual(expect.arrayContaining([`#{${bucketId}.Arn}`, `#{${bucketId}.Arn}/*`]));
  });

  it('blocks all public access, encrypts with S3-managed keys and versions the data bucket', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    expect(bucket?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('expires, with no ledger check, only what is temporary: pinned copies and COPY manifests, events documents, noncurrent versions and expired delete markers', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    const folder = (key: string) => key.split('/').slice(0, 2).join('/') + '/';
    expect(bucket?.Properties?.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'ExpirePinnedCopies', Prefix: folder(pinnedCopyKey(INTERNAL_PREFIX, 'd', 'a', 'k', 'e')), ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' },
        { Id: 'ExpireCopyManifests', Prefix: folder(copyManifestKey(INTERNAL_PREFIX, 'd', 'ld')), ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' },
        { Id: 'ExpireEventDocuments', Prefix: folder(eventsDocumentKey('d', 'x')), ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' },
        // A retention delete leaves a delete marker and a noncurrent version: both go.
        { Id: 'ExpireNoncurrentVersions', NoncurrentVersionExpiration: { NoncurrentDays: 7 }, ExpiredObjectDeleteMarker: true, Status: 'Enabled' },
      ],
    });
  });

  it('never expires a dataset prefix, manifests, extraction documents or run documents by age alone: syncproof clean decides those', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    const rules = (bucket?.Properties?.LifecycleConfiguration as { Rules: { Prefix?: string; ExpirationInDays?: number }[] }).Rules;
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined).map((r) => r.Prefix);
    expect(expiring).toEqual([`${INTERNAL_PREFIX}pinned/`, `${INTERNAL_PREFIX}copy-manifests/`, `${INTERNAL_PREFIX}events/`]);
  });

  it('writes the data bucket access logs to a separate, private bucket', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
    const logBucketRef = bucket?.Properties?.LoggingConfiguration?.DestinationBucketName as { Ref: string };
    expect(logBucketRef.Ref).not.toBe(bucketId);
    const logBucket = template.findResources('AWS::S3::Bucket')[logBucketRef.Ref];
    expect(logBucket?.Properties?.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
  });

  it('creates the ledger keyed by object key and ETag, with a byDataset index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'objectKey', KeyType: 'HASH' },
        { AttributeName: 'etag', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byDataset',
          KeySchema: [
            { AttributeName: 'dataset', KeyType: 'HASH' },
            { AttributeName: 'objectKey', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it.each([['runId'], ['dataset']])('creates a table keyed by %s alone', (key) => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: key, KeyType: 'HASH' }] });
  });

  it('makes every table on-demand, AWS-managed encrypted and point-in-time recoverable', () => {
    const tables = resources(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(3);
    for (const [, table] of tables) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    }
  });

  it('keeps the data bucket and the tables when the stack is deleted', () => {
    for (const [id, r] of Object.entries(template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>)) {
      if (r.Type === 'AWS::DynamoDB::Table' || id === bucketId) expect([id, r.DeletionPolicy]).toEqual([id, 'Retain']);
    }
  });

  it('outputs the ledger, watermarks and runs table names, the data bucket name, both sync state machines and the verify state machine under stable keys', () => {
    const keyedBy = (hash: string) => (r: { Properties?: Record<string, unknown> }) =>
      (r.Properties?.KeySchema as { AttributeName: string; KeyType: string }[] | undefined)?.some((k) => k.KeyType === 'HASH' && k.AttributeName === hash) ?? false;
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[STACK_OUTPUTS.ledgerTable]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', keyedBy('objectKey')) });
    expect(outputs[STACK_OUTPUTS.watermarksTable]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', keyedBy('dataset')) });
    expect(outputs[STACK_OUTPUTS.runsTable]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::DynamoDB::Table', keyedBy('runId')) });
    expect(outputs[STACK_OUTPUTS.bucket]?.Value).toEqual({ Ref: bucketId });
    expect(outputs[STACK_OUTPUTS.syncStateMachine]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::StepFunctions::StateMachine', (r) => JSON.stringify(r.Properties?.DefinitionString ?? '').includes('Extract')) });
    expect(outputs[STACK_OUTPUTS.syncDatasetsStateMachine]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::StepFunctions::StateMachine', (r) => JSON.stringify(r.Properties?.DefinitionString ?? '').includes('PlanDatasets')) });
    expect(outputs[STACK_OUTPUTS.verifyStateMachine]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::StepFunctions::StateMachine', (r) => JSON.stringify(r.Properties?.DefinitionString ?? '').includes('CountChain')) });
    expect(STACK_OUTPUTS).toEqual({
      ledgerTable: 'LedgerTableName',
      watermarksTable: 'WatermarksTableName',
      runsTable: 'RunsTableName',
      bucket: 'BucketName',
      syncStateMachine: 'SyncStateMachineArn',
      syncDatasetsStateMachine: 'SyncDatasetsStateMachineArn',
      verifyStateMachine: 'VerifyStateMachineArn',
      deadLetterQueueUrl: 'DeadLetterQueueUrl',
    });
    expect(outputs[STACK_OUTPUTS.deadLetterQueueUrl]?.Value).toEqual({ Ref: logicalIdOf(template, 'AWS::SQS::Queue', (r) => r.Properties?.RedrivePolicy === undefined && JSON.stringify(r.Properties ?? {}).includes('1209600')) });
  });
});
