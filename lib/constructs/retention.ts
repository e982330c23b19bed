import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LEDGER_DATASET_INDEX, RUNS_DATASET_INDEX } from '../../lambdas/adapters/dynamodb-stores';
import { INTERNAL_PREFIX, type DatasetConfig } from '../../lambdas/core/config';
import { extractionDocumentPrefix } from '../../lambdas/core/extraction';
import { RUN_DOCUMENT_FOLDERS } from '../../lambdas/core/retention';
import { schemaDocumentKey } from '../../lambdas/core/source-schema';
import { acknowledgeNag, nagAttribute } from './nag-acknowledgements';
import type { StageFunction } from './stage-function';

/** Properties of {@link Retention}. */
export interface RetentionProps {
  /** The `clean` stage Lambda (lambdas/clean/handler.ts). */
  readonly clean: StageFunction;
  /** Every configured dataset: the clean's role may remove what any of them holds. */
  readonly datasets: readonly DatasetConfig[];
  readonly bucket: s3.Bucket;
  readonly ledgerTable: dynamodb.Table;
  readonly runsTable: dynamodb.Table;
  readonly watermarksTable: dynamodb.Table;
}

/**
 * The scheduled clean (issue #16 item 3): what the clean Lambda may touch, and the EventBridge
 * schedule of each dataset whose `retention.schedule` is set (none otherwise; `syncproof clean`
 * runs the same core on demand). S3 lifecycle rules for what needs no ledger check are the data
 * bucket's (lib/constructs/storage.ts).
 *
 * Least privilege, written out rather than `grant*` (which would give every read and write):
 * `s3:ListBucket` on the bucket; `s3:DeleteObject` only on each dataset's prefix (a dataset with a
 * source: its `_syncproof/extracts/<name>/`) and its run-document folders
 * (`_syncproof/{batches,loads,inventory,reports,checksums}/<name>/`); `s3:GetObject` only on a
 * source dataset's extraction and schema documents (the watermark check); on the ledger `Query`
 * of its `byDataset` index, `GetItem` and `UpdateItem` (the `loaded → deleted` write); on the
 * runs table `Query` of its `byDatasetStarted` index; `GetItem` of the watermarks table.
 * Never `s3:DeleteObjectVersion`: a version is removed by the lifecycle rule, not by the clean.
 */
export class Retention extends Construct {
  /** The schedule rule of each dataset with `retention.schedule`, by dataset name. */
  readonly schedules: ReadonlyMap<string, events.Rule>;

  constructor(scope: Construct, id: string, props: RetentionProps) {
    super(scope, id);
    const { clean, bucket, datasets } = props;
    const role = clean.role;
    const names = datasets.map((d) => d.name);
    const removable = datasets.flatMap((d) => [
      d.prefix,
      ...Object.values(RUN_DOCUMENT_FOLDERS)
        .flat()
        .map((folder) => `${INTERNAL_PREFIX}${folder}/${d.name}/`),
    ]);
    const sources = datasets.filter((d) => d.source);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: removable.map((p) => bucket.arnForObjects(`${p}*`)) }));
    const readable = sources.flatMap((d) => [`${extractionDocumentPrefix(d.name)}*`, schemaDocumentKey(d.name)]);
    if (readable.length > 0) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: readable.map((k) => bucket.arnForObjects(k)) }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.ledgerTable.tableArn}/index/${LEDGER_DATASET_INDEX}`, `${props.runsTable.tableArn}/index/${RUNS_DATASET_INDEX}`] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.ledgerTable.tableArn] }));
    if (sources.length > 0) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [props.watermarksTable.tableArn] }));
    const bucketArn = nagAttribute(bucket, 'Arn');
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5',
      `Retention: s3:DeleteObject on the configured datasets' prefixes and their run-document folders only (${names.join(', ')}), s3:GetObject on source datasets' extraction documents; each a key prefix of this stack's data bucket.`,
      [...new Set([...removable.map((p) => `${p}*`), ...sources.map((d) => `${extractionDocumentPrefix(d.name)}*`)])].map((p) => `Resource::${bucketArn}/${p}`),
    );

    const schedules = new Map<string, events.Rule>();
    for (const d of datasets) {
      if (!d.retention?.schedule) continue;
      schedules.set(
        d.name,
        new events.Rule(this, `CleanSchedule-${d.name}`, {
          description: `syncproof: remove loaded and verified objects of dataset ${d.name} older than ${d.retention.olderThan}`,
          schedule: events.Schedule.expression(d.retention.schedule),
          targets: [new targets.LambdaFunction(clean.function, { event: events.RuleTargetInput.fromObject({ dataset: d.name }) })],
        }),
      );
    }
    this.schedules = schedules;
  }
}
