import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { LEDGER_DATASET_INDEX, RUNS_DATASET_INDEX } from '../../lambdas/adapters/dynamodb-stores';
import { INTERNAL_PREFIX } from '../../lambdas/core/config';
import { EVENTS_PREFIX } from '../../lambdas/core/execution-input';

/** Where loads pin the object versions their COPY reads (lambdas/core/load-plan.ts pinnedCopyKey). */
const PINNED_PREFIX = `${INTERNAL_PREFIX}pinned/`;
/** Where load attempts write their COPY manifests (lambdas/core/load-plan.ts copyManifestKey). */
const COPY_MANIFESTS_PREFIX = `${INTERNAL_PREFIX}copy-manifests/`;

/** Properties of {@link Storage}. */
export interface StorageProps {
  /**
   * What happens to the data bucket and the tables when the stack is deleted. The ledger and the
   * watermarks are what stop a file being loaded twice, so they outlive the stack by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days after which server access logs are deleted.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /**
   * Days after which the pinned copies a load's COPY read (`_syncproof/pinned/`) expire: they are
   * needed until the run's Verify has compared the ETag Redshift read (or a crashed run resumed),
   * then they only double the bucket. Their noncurrent versions go a day later.
   * @default Duration.days(7)
   */
  readonly pinnedCopyRetention?: Duration;
  /**
   * Days after which the data bucket's noncurrent versions expire, and its delete markers once no
   * version is left behind them. A retention delete (`syncproof clean`) and an overwrite leave the
   * old version noncurrent; syncproof never reads a noncurrent version (every read names the key,
   * pinned by ETag), so they are kept only as a window to undo a mistake.
   * @default Duration.days(7)
   */
  readonly noncurrentVersionRetention?: Duration;
  /**
   * Days after which the events documents of executions (`_syncproof/events/`, read by the run
   * they start) expire.
   * @default Duration.days(7)
   */
  readonly eventDocumentRetention?: Duration;
}

/**
 * Where syncproof keeps data and state: the data bucket (dataset prefixes plus its own
 * `_syncproof/` objects), a bucket for the data bucket's server access logs, and the DynamoDB
 * tables for the file ledger, run records and watermarks (DESIGN.md §5).
 *
 * EventBridge notifications are set on the bucket resource itself (`NotificationConfiguration.
 * EventBridgeConfiguration`) rather than through the L2 `eventBridgeEnabled` flag: the flag
 * deploys a custom-resource Lambda that needs `s3:PutBucketNotification` on `*`, and the local
 * runtime finds the data bucket by this property. Do not add `addEventNotification` targets to
 * the bucket: that custom resource would replace the configuration.
 */
export class Storage extends Construct {
  /** The data bucket: versioned, SSE-S3, TLS only, no public access, events to EventBridge. */
  readonly bucket: s3.Bucket;
  /** Receives the data bucket's server access logs (prefix `data-bucket/`). */
  readonly accessLogBucket: s3.Bucket;
  /** One item per S3 object version: PK `objectKey`, SK `etag`; GSI `byDataset` (PK `dataset`, SK `objectKey`). */
  readonly ledgerTable: dynamodb.Table;
  /** One item per execution: PK `runId`; GSI `byDatasetStarted` (PK `dataset`, SK `startedAt`). */
  readonly runsTable: dynamodb.Table;
  /** One item per dataset: PK `dataset`. */
  readonly watermarksTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const accessLogRetention = props.accessLogRetention ?? Duration.days(90);
    const pinnedCopyRetention = props.pinnedCopyRetention ?? Duration.days(7);
    const noncurrentVersionRetention = props.noncurrentVersionRetention ?? Duration.days(7);
    const eventDocumentRetention = props.eventDocumentRetention ?? Duration.days(7);
    const problems: string[] = [];
    if (noncurrentVersionRetention.toDays() < 1) problems.push(`noncurrentVersionRetention must be at least 1 day, got ${noncurrentVersionRetention.toHumanString()}`);
    if (eventDocumentRetention.toDays() < 1) problems.push(`eventDocumentRetention must be at least 1 day, got ${eventDocumentRetention.toHumanString()}`);
    if (accessLogRetention.toDays() < 1) problems.push(`accessLogRetention must be at least 1 day, got ${accessLogRetention.toHumanString()}`);
    if (pinnedCopyRetention.toDays() < 1) problems.push(`pinnedCopyRetention must be at least 1 day, got ${pinnedCopyRetention.toHumanString()}`);
    if (problems.length > 0) throw new Error(`Storage: ${problems.join('; ')}`);

    // Log delivery through a bucket policy, not ACLs (ACLs stay disabled: BucketOwnerEnforced),
    // whatever the app's feature flags say.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: accessLogRetention }],
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'DataBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      // What needs no ledger check (the rest is `syncproof clean`'s, lambdas/core/retention.ts).
      lifecycleRules: [
        { id: 'ExpirePinnedCopies', prefix: PINNED_PREFIX, expiration: pinnedCopyRetention, noncurrentVersionExpiration: Duration.days(1) },
        // A COPY manifest is read by its attempt's COPY only; kept as long as the copies it names.
        { id: 'ExpireCopyManifests', prefix: COPY_MANIFESTS_PREFIX, expiration: pinnedCopyRetention, noncurrentVersionExpiration: Duration.days(1) },
        { id: 'ExpireEventDocuments', prefix: EVENTS_PREFIX, expiration: eventDocumentRetention, noncurrentVersionExpiration: Duration.days(1) },
        { id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: noncurrentVersionRetention, expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
    });
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    const tableDefaults = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    } as const;
    this.ledgerTable = new dynamodb.Table(this, 'LedgerTable', {
      ...tableDefaults,
      partitionKey: { name: 'objectKey', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'etag', type: dynamodb.AttributeType.STRING },
    });
    this.ledgerTable.addGlobalSecondaryIndex({
      indexName: LEDGER_DATASET_INDEX,
      partitionKey: { name: 'dataset', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'objectKey', type: dynamodb.AttributeType.STRING },
    });
    this.runsTable = new dynamodb.Table(this, 'RunsTable', {
      ...tableDefaults,
      partitionKey: { name: 'runId', type: dynamodb.AttributeType.STRING },
    });
    this.runsTable.addGlobalSecondaryIndex({
      indexName: RUNS_DATASET_INDEX,
      partitionKey: { name: 'dataset', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'startedAt', type: dynamodb.AttributeType.STRING },
    });
    this.watermarksTable = new dynamodb.Table(this, 'WatermarksTable', {
      ...tableDefaults,
      partitionKey: { name: 'dataset', type: dynamodb.AttributeType.STRING },
    });
  }
}
