import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { verifyTierOf } from '../lambdas/core/verify-config';
import { INTERNAL_PREFIX, logExecutionDataOf, maxConcurrentDatasetsOf, parseConfig, reconcileScheduleOf, verifyScheduleOf, type SyncproofConfig } from '../lambdas/core/config';
import { ENV } from '../lambdas/core/env';
import { ConfigurationError } from '../lambdas/core/errors';
import { EVENTS_PREFIX } from '../lambdas/core/execution-input';
import { STACK_OUTPUTS } from '../lambdas/core/stack-outputs';
import { EVENT_BUS_NAME } from '../lambdas/core/run-events';
import { lagThresholdsOf } from '../lambdas/core/lag';
import { SyncproofDashboard } from './constructs/dashboard';
import { schedulePeriodSeconds } from './constructs/schedule-period';
import { EventTriggers } from './constructs/event-triggers';
import { Observability } from './constructs/observability';
import { STAGE_NAMES, StageFunction, type StageName } from './constructs/stage-function';
import { acknowledgeNag, nagAttribute } from './constructs/nag-acknowledgements';
import { Retention } from './constructs/retention';
import { SourceNetworkEndpoints } from './constructs/source-network-endpoints';
import { Storage } from './constructs/storage';
import { SyncDatasetsStateMachine } from './constructs/sync-datasets-state-machine';
import { SyncStateMachine } from './constructs/sync-state-machine';
import { VerifyStateMachine } from './constructs/verify-state-machine';
import { RedshiftDataAccess } from './constructs/warehouse-access';

/** Properties of {@link SyncproofStack}. */
export interface SyncproofStackProps extends StackProps {
  /**
   * The datasets and the Redshift connection (`lambdas/core/config.ts`). Validated again here, so
   * a bad value fails synthesis with every bad field named. Every stage Lambda carries it in its
   * code bundle (StageFunction `config`), not in its 4 KB environment, so its size is not limited
   * by Lambda; without a `redshift` block the stack synthesizes (the local
   * runtime needs no Redshift) but the deployed load and verify stages cannot reach a warehouse.
   */
  readonly config: SyncproofConfig;
  /**
   * Accept a dataset `source.url` that carries a password. A deployed stack refuses one: the
   * configuration travels in every Lambda's code bundle (and the CDK asset bucket), so the
   * password would be readable there; use `source.secretArn`. The local runtime sets this (nothing is
   * deployed there). @default false
   */
  readonly allowSourcePasswords?: boolean;
}

/**
 * `usage`: only `dynamodb:UpdateItem` of the run item's `usage_*` numbers (and its key), for a
 * stage that otherwise touches no run record: every invocation adds its usage to its run
 * (lambdas/adapters/usage-meter.ts). The local IAM evaluation does not model `dynamodb:Attributes`.
 */
type TableAccess = 'read' | 'readWrite' | 'usage';

/** What each stage may touch. Everything else is denied (DESIGN.md: least privilege). */
interface StageAccess {
  /** Read the data bucket and write under `_syncproof/`. */
  readonly bucket: boolean;
  /** Write events documents under `_syncproof/events/` (and read nothing). */
  readonly eventDocuments?: boolean;
  readonly ledger?: TableAccess;
  readonly runs?: TableAccess;
  readonly watermarks?: TableAccess;
  /** Run SQL through the Redshift Data API. */
  readonly warehouse: boolean;
}

const STAGE_ACCESS: Readonly<Record<StageName, StageAccess>> = {
  // Starts executions (granted by EventTriggers); writes the events of large batches for Discover.
  trigger: { bucket: false, eventDocuments: true, warehouse: false },
  // Reads the watermark, writes chunks, manifests and its documents under _syncproof/, reads its source's secret, starts the run record.
  extract: { bucket: true, runs: 'readWrite', watermarks: 'read', warehouse: false },
  // Reads the run's extraction document and ledger entries, counts rows behind the watermark in the
  // source and the warehouse, moves the watermark, records its stage.
  commit: { bucket: true, ledger: 'read', runs: 'readWrite', watermarks: 'readWrite', warehouse: true },
  // Lists the prefix, writes the batch object, registers files in the ledger, starts the run.
  discover: { bucket: true, ledger: 'readWrite', runs: 'readWrite', warehouse: false },
  // Reads the batch and the files, claims and settles ledger entries, loads.
  load: { bucket: true, ledger: 'readWrite', runs: 'readWrite', warehouse: true },
  // Reads the batch back from the warehouse, writes the report.
  verify: { bucket: true, runs: 'readWrite', warehouse: true },
  // Closes the run (CommitWatermark, not record, moves a dataset's watermark); reads the watermark
  // or the ledger's loaded entries for the lag its metric and event report.
  record: { bucket: false, ledger: 'read', runs: 'readWrite', watermarks: 'read', warehouse: false },
  // Lists the prefix and reads manifests, writes findings under _syncproof/, reads the ledger, records its stage.
  inventory: { bucket: true, ledger: 'read', runs: 'readWrite', warehouse: false },
  // Reads sampled objects and manifests, writes its report under _syncproof/, reads the ledger, records its stage.
  checksum: { bucket: true, ledger: 'read', runs: 'readWrite', warehouse: false },
  // The count chain: reads manifests, extraction and schema documents, the ledger, the watermark,
  // counts in its source and the warehouse, writes its report under _syncproof/ (Record records it).
  // Adds its usage to the run item and nothing else.
  counts: { bucket: true, ledger: 'read', runs: 'usage', watermarks: 'read', warehouse: true },
  // Retention: granted by the Retention construct, prefix by prefix (no bucket-wide read or write).
  clean: { bucket: false, warehouse: false },
};

/**
 * The syncproof pipeline: storage, one Lambda per stage, the SyncStateMachine, S3 event
 * triggers, the scheduled VerifyStateMachine and alarms. cdk-nag AwsSolutions passes; each suppression says why.
 */
export class SyncproofStack extends Stack {
  /** The data bucket (dataset prefixes; syncproof's own objects under `_syncproof/`). */
  readonly bucket: s3.Bucket;
  /** File ledger: PK `objectKey`, SK `etag`, GSI `byDataset`. */
  readonly ledgerTable: dynamodb.Table;
  /** Run records: PK `runId`. */
  readonly runsTable: dynamodb.Table;
  /** Watermarks: PK `dataset`. */
  readonly watermarksTable: dynamodb.Table;
  /** The sync workflow (state names in `SYNC_STATES`). */
  readonly syncStateMachine: sfn.StateMachine;
  /** Several datasets in one execution, each a child execution of {@link syncStateMachine} (state names in `SYNC_DATASETS_STATES`). */
  readonly syncDatasetsStateMachine: sfn.StateMachine;
  /** The scheduled verification workflow (state names in `VERIFY_STATES`) and its schedule rules. */
  readonly verifyStateMachine: VerifyStateMachine;
  /** The stage Lambdas, by stage name. */
  readonly functions: Readonly<Record<StageName, lambda.Function>>;
  /**
   * EventBridge rule, queue and dead-letter queue that feed the trigger; none when every dataset
   * has a source (no upload starts a run then, and an event pattern cannot match an empty prefix list).
   */
  readonly eventTriggers: EventTriggers | undefined;
  /** Log group, alarms and the alerts topic. */
  readonly observability: Observability;
  /** The CloudWatch dashboard (lib/constructs/dashboard.ts). */
  readonly dashboard: cloudwatch.Dashboard;
  /** The clean Lambda's grants and the datasets' retention schedules (`retention.schedule`). */
  readonly retention: Retention;
  /** VPC endpoints for the source stages (`sourceNetwork.endpoints`); none without that setting. */
  readonly sourceNetworkEndpoints: SourceNetworkEndpoints | undefined;

  constructor(scope: Construct, id: string, props: SyncproofStackProps) {
    super(scope, id, props);
    const config = validateProps(props);
    if (!config.redshift) {
      Annotations.of(this).addWarningV2(
        'syncproof:noRedshift',
        'config has no redshift block: the stack synthesizes, but the deployed load and verify stages have no warehouse to load into.',
      );
    }

    const storage = new Storage(this, 'Storage');
    this.bucket = storage.bucket;
    this.ledgerTable = storage.ledgerTable;
    this.runsTable = storage.runsTable;
    this.watermarksTable = storage.watermarksTable;
    // Stable keys (STACK_OUTPUTS): `syncproof ledger|watermark --stack` finds the tables through them.
    new CfnOutput(this, STACK_OUTPUTS.ledgerTable, { value: this.ledgerTable.tableName, description: 'syncproof file ledger table' });
    new CfnOutput(this, STACK_OUTPUTS.watermarksTable, { value: this.watermarksTable.tableName, description: 'syncproof watermarks table' });
    new CfnOutput(this, STACK_OUTPUTS.runsTable, { value: this.runsTable.tableName, description: 'syncproof run records table' });
    new CfnOutput(this, STACK_OUTPUTS.bucket, { value: this.bucket.bucketName, description: 'syncproof data bucket' });

    const environment: Record<string, string> = {
      [ENV.bucket]: this.bucket.bucketName,
      [ENV.ledgerTable]: this.ledgerTable.tableName,
      [ENV.runsTable]: this.runsTable.tableName,
      [ENV.watermarksTable]: this.watermarksTable.tableName,
      [ENV.warehouse]: 'redshift-data',
    };
    // The stages that open source databases run in the sources' network and may read their secrets.
    const sourceStages: readonly StageName[] = ['extract', 'commit', 'counts'];
    const stages = Object.fromEntries(
      STAGE_NAMES.map((stage) => [
        stage,
        new StageFunction(this, `${pascal(stage)}Stage`, { stage, config, environment, ...(config.sourceNetwork && sourceStages.includes(stage) ? { network: config.sourceNetwork } : {}) }),
      ]),
    ) as Record<StageName, StageFunction>;
    // Without a NAT gateway, a VPC reaches the services the source stages use only through endpoints.
    const endpoints = config.sourceNetwork?.endpoints;
    this.sourceNetworkEndpoints = config.sourceNetwork && endpoints
      ? new SourceNetworkEndpoints(this, 'SourceNetworkEndpoints', {
          vpcId: endpoints.vpcId,
          subnetIds: config.sourceNetwork.subnetIds,
          routeTableIds: endpoints.routeTableIds,
          clientSecurityGroupIds: config.sourceNetwork.securityGroupIds,
        })
      : undefined;
    const secretArns = [...new Set(config.datasets.flatMap((d) => (d.source?.secretArn ? [d.source.secretArn] : [])))];
    if (secretArns.length > 0) {
      for (const stage of sourceStages) {
        stages[stage].role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretArns }));
      }
    }
    this.functions = Object.fromEntries(STAGE_NAMES.map((s) => [s, stages[s].function])) as Record<StageName, lambda.Function>;
    for (const stage of STAGE_NAMES) this.grantStageAccess(stages[stage], STAGE_ACCESS[stage]);
    if (config.redshift) {
      new RedshiftDataAccess(this, 'RedshiftDataAccess', {
        redshift: config.redshift,
        roles: STAGE_NAMES.filter((s) => STAGE_ACCESS[s].warehouse).map((s) => stages[s].role),
        bucket: storage.bucket,
      });
    }

    this.retention = new Retention(this, 'Retention', {
      clean: stages.clean,
      datasets: config.datasets,
      bucket: this.bucket,
      ledgerTable: this.ledgerTable,
      runsTable: this.runsTable,
      watermarksTable: this.watermarksTable,
    });

    this.observability = new Observability(this, 'Observability', { ...(config.alerts ? { alerts: config.alerts } : {}) });
    // The record stage puts syncproof.run / syncproof.verification on the default bus, and nowhere else.
    events.EventBus.fromEventBusName(this, 'DefaultEventBus', EVENT_BUS_NAME).grantPutEventsTo(stages.record.function);
    const includeExecutionData = logExecutionDataOf(config);
    this.syncStateMachine = new SyncStateMachine(this, 'SyncStateMachine', {
      extractFunction: stages.extract.function,
      commitFunction: stages.commit.function,
      inventoryFunction: stages.inventory.function,
      checksumFunction: stages.checksum.function,
      discoverFunction: stages.discover.function,
      loadFunction: stages.load.function,
      verifyFunction: stages.verify.function,
      recordFunction: stages.record.function,
      logGroup: this.observability.stateMachineLogGroup,
      includeExecutionData,
    }).stateMachine;

    // Datasets with a source and a schedule: an incremental run on every tick. A tick while a run of
    // the dataset is live attaches to it (AcquireRun: one run per dataset at a time).
    for (const d of config.datasets) {
      if (!d.source?.schedule) continue;
      new events.Rule(this, `SyncSchedule-${d.name}`, {
        description: `syncproof: incremental sync of dataset ${d.name}`,
        schedule: events.Schedule.expression(d.source.schedule),
        targets: [new targets.SfnStateMachine(this.syncStateMachine, { input: events.RuleTargetInput.fromObject({ dataset: d.name }) })],
      });
    }

    // Datasets fed by uploads: a reconcile run on every tick lists the prefix against the ledger and
    // loads what lost its event (event runs look at their own files only).
    for (const d of config.datasets) {
      if (d.source) continue;
      new events.Rule(this, `ReconcileSchedule-${d.name}`, {
        description: `syncproof: reconcile dataset ${d.name} (files whose S3 events were lost)`,
        schedule: events.Schedule.expression(reconcileScheduleOf(d)),
        targets: [new targets.SfnStateMachine(this.syncStateMachine, { input: events.RuleTargetInput.fromObject({ dataset: d.name, mode: 'reconcile' }) })],
      });
    }

    new CfnOutput(this, STACK_OUTPUTS.syncStateMachine, { value: this.syncStateMachine.stateMachineArn, description: 'syncproof sync state machine' });

    this.syncDatasetsStateMachine = new SyncDatasetsStateMachine(this, 'SyncDatasetsStateMachine', {
      syncStateMachine: this.syncStateMachine,
      recordFunction: stages.record.function,
      maxConcurrency: maxConcurrentDatasetsOf(config),
      logGroup: this.observability.stateMachineLogGroup,
      includeExecutionData,
    }).stateMachine;
    new CfnOutput(this, STACK_OUTPUTS.syncDatasetsStateMachine, { value: this.syncDatasetsStateMachine.stateMachineArn, description: 'syncproof state machine that syncs several datasets' });

    this.verifyStateMachine = new VerifyStateMachine(this, 'VerifyStateMachine', {
      inventoryFunction: stages.inventory.function,
      checksumFunction: stages.checksum.function,
      countsFunction: stages.counts.function,
      loadFunction: stages.load.function,
      recordFunction: stages.record.function,
      syncStateMachine: this.syncStateMachine,
      schedules: config.datasets.map((d) => ({ dataset: d.name, expression: verifyScheduleOf(d), tier: verifyTierOf(d), ...(d.source && d.reconcileWindow !== undefined ? { reconcileWindow: d.reconcileWindow } : {}) })),
      includeExecutionData,
    });

    new CfnOutput(this, STACK_OUTPUTS.verifyStateMachine, { value: this.verifyStateMachine.stateMachine.stateMachineArn, description: 'syncproof scheduled verification state machine' });

    // A dataset with a source writes under _syncproof/: its files never start another run.
    const uploadPrefixes = config.datasets.filter((d) => !d.source).map((d) => d.prefix);
    this.eventTriggers =
      uploadPrefixes.length > 0
        ? new EventTriggers(this, 'EventTriggers', {
            bucket: this.bucket,
            prefixes: uploadPrefixes,
            trigger: stages.trigger,
            syncStateMachine: this.syncStateMachine,
          })
        : undefined;

    const machines = { Sync: this.syncStateMachine, Verify: this.verifyStateMachine.stateMachine, SyncDatasets: this.syncDatasetsStateMachine };
    for (const [label, machine] of Object.entries(machines)) {
      // The VerifyStateMachine construct has its failed-executions alarm already.
      if (label === 'Verify') this.observability.notifyOn(this.verifyStateMachine.failedAlarm);
      else this.observability.alarmOnFailedExecutions(machine, label);
      this.observability.alarmOnTimedOutExecutions(machine, label);
    }
    if (this.eventTriggers) this.observability.alarmOnDeadLetters(this.eventTriggers.deadLetterQueue);
    if (this.eventTriggers) new CfnOutput(this, STACK_OUTPUTS.deadLetterQueueUrl, { value: this.eventTriggers.deadLetterQueue.queueUrl, description: 'syncproof dead-letter queue of S3 events (`syncproof status --stack`)' });
    for (const d of config.datasets) {
      this.observability.alarmOnLag(d.name, lagThresholdsOf(d).failSeconds);
      this.observability.alarmOnQuarantines(d.name);
      const period = schedulePeriodSeconds(verifyScheduleOf(d));
      if (period !== undefined) this.observability.alarmOnMissedVerification(d.name, period);
      else Annotations.of(this).addWarningV2(`syncproof:verifyScheduleAlarm:${d.name}`, `dataset ${d.name}: no missed-verification alarm; its verifySchedule '${verifyScheduleOf(d)}' runs on days of the month or year, which one CloudWatch alarm (7 days at most) cannot watch.`);
    }
    this.dashboard = new SyncproofDashboard(this, 'Dashboard', {
      datasets: config.datasets.map((d) => ({ name: d.name, lagFailSeconds: lagThresholdsOf(d).failSeconds })),
      stateMachines: machines,
      ...(this.eventTriggers ? { deadLetterQueue: this.eventTriggers.deadLetterQueue } : {}),
    }).dashboard;
  }

  private grantStageAccess(stage: StageFunction, access: StageAccess): void {
    const fn = stage.function;
    const wildcards: string[] = [];
    if (access.bucket) {
      this.bucket.grantRead(fn);
      this.bucket.grantPut(fn, `${INTERNAL_PREFIX}*`);
      const bucketArn = nagAttribute(this.bucket, 'Arn');
      wildcards.push(
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:Abort*',
        `Resource::${bucketArn}/*`,
        `Resource::${bucketArn}/${INTERNAL_PREFIX}*`,
      );
    }
    if (access.eventDocuments && !access.bucket) {
      this.bucket.grantPut(fn, `${EVENTS_PREFIX}*`);
      wildcards.push('Action::s3:Abort*', `Resource::${nagAttribute(this.bucket, 'Arn')}/${EVENTS_PREFIX}*`);
    }
    const tables: [dynamodb.Table, TableAccess | undefined][] = [
      [this.ledgerTable, access.ledger],
      [this.runsTable, access.runs],
      [this.watermarksTable, access.watermarks],
    ];
    for (const [table, level] of tables) {
      if (level === 'read') table.grantReadData(fn);
      if (level === 'readWrite') table.grantReadWriteData(fn);
      if (level === 'usage') {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['dynamodb:UpdateItem'],
            resources: [table.tableArn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['runId', 'usage_*'] } },
          }),
        );
      }
      if ((level === 'read' || level === 'readWrite') && table !== this.watermarksTable) wildcards.push(`Resource::${nagAttribute(table, 'Arn')}/index/*`);
    }
    if (wildcards.length === 0) return;
    acknowledgeNag(
      stage.role,
      'AwsSolutions-IAM5',
      "CDK grant* wildcards on this stack's own resources: the S3 read action groups (GetObject*, GetBucket*, List*) and multipart Abort*, the data bucket's objects (read) and only its _syncproof/ prefix (write; the trigger only _syncproof/events/), the ledger and runs tables' indexes.",
      wildcards,
    );
  }
}

/**
 * Validates the stack's props and returns the parsed configuration; throws one
 * ConfigurationError that lists every problem, each with its field path.
 */
function validateProps(props: SyncproofStackProps): SyncproofConfig {
  const config = parseConfig(props.config, 'SyncproofStack props.config');
  const problems: string[] = [];
  const r = config.redshift;
  if (r?.dbUser && r.workgroupName) problems.push('redshift.dbUser: the Data API takes a database user for provisioned clusters only; remove it for Serverless');
  if (r?.dbUser && r.secretArn) problems.push('redshift.dbUser: set either dbUser or secretArn, not both');
  if (!props.allowSourcePasswords) {
    config.datasets.forEach((d, i) => {
      const url = d.source?.url;
      if (url && /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^@/]+@/i.test(url)) {
        problems.push(`datasets.${i}.source.url: carries a password, which a deployed stack would ship in every Lambda's code bundle; store the credentials in Secrets Manager and set source.secretArn instead`);
      }
    });
  }
  if (problems.length > 0) throw new ConfigurationError(`SyncproofStack props.config is invalid: ${problems.join('; ')}`);
  return config;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
