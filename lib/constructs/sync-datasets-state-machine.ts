import { Aws, Duration, Fn } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { failurePath, retryTransient } from './failure-path';
import { acknowledgeNag, nagAttribute, nagString } from './nag-acknowledgements';

/**
 * State names of the SyncDatasetsStateMachine. The local runtime and tests refer to them, so they
 * are part of the contract: rename only together with them.
 */
export const SYNC_DATASETS_STATES = {
  plan: 'PlanDatasets',
  map: 'SyncDatasets',
  syncDataset: 'SyncDataset',
  datasetFailed: 'DatasetFailed',
  finish: 'FinishDatasets',
  anyFailed: 'AnyDatasetFailed',
  succeeded: 'DatasetsSucceeded',
  someFailed: 'SomeDatasetsFailed',
  recordFailure: 'RecordDatasetsFailure',
  failed: 'DatasetsRunFailed',
} as const;

/** Properties of {@link SyncDatasetsStateMachine}. */
export interface SyncDatasetsStateMachineProps {
  /** The one-dataset workflow each dataset runs as a child execution of. */
  readonly syncStateMachine: sfn.IStateMachine;
  /** Plans the children, folds their outcomes and records failures (stage `record`). */
  readonly recordFunction: lambda.IFunction;
  /** How many children run at once (the Map's MaxConcurrency), 1–40. */
  readonly maxConcurrency: number;
  /** Receives execution history at level ALL (with states' input and output only when {@link includeExecutionData}). */
  readonly logGroup: logs.ILogGroup;
  /**
   * Whether the execution history also logs each state's input and output. They carry key values,
   * cursor values and watermarks, so they stay out of CloudWatch unless asked for (configuration
   * `logExecutionData`).
   * @default false
   */
  readonly includeExecutionData?: boolean;
  /**
   * Longest a child may run before its parent's task stops waiting (and stops it), and longest the
   * parent may run. @default Duration.hours(12) per child (the SyncStateMachine's own timeout), and
   * as many children after another as the concurrency makes of them is not known at synth: the
   * parent gets 7 days
   */
  readonly childTimeout?: Duration;
  /** @default Duration.days(7) */
  readonly timeout?: Duration;
}

/**
 * Several datasets in one execution (Standard, JSONPath only, inline Map; DESIGN.md §6):
 *
 * ```
 * PlanDatasets ─► SyncDatasets (Map over $.items, MaxConcurrency) ─► FinishDatasets ─► AnyDatasetFailed ─(failedCount > 0)─► SomeDatasetsFailed
 *                   └ SyncDataset (startExecution.sync:2 of the SyncStateMachine)          └──────────► DatasetsSucceeded
 *                       └(Catch States.ALL → $.error)─► DatasetFailed
 * PlanDatasets, SyncDatasets, FinishDatasets ─(Catch States.ALL → $.error)─► RecordDatasetsFailure ─► DatasetsRunFailed
 * ```
 *
 * Input `{datasets: [...], mode?, limit?, maxChunks?}`. PlanDatasets (the record stage) validates it
 * against the configuration and names one child per dataset, deterministically from this
 * execution's name and the dataset (`childExecutionName`), with the child input `{dataset, mode?,
 * limit?, maxChunks?}`. Each Map iteration starts its child and waits for it; a failed child is
 * caught in its own iteration (its error beside the item, in `$.error`), so the rest of the batch
 * goes on. FinishDatasets folds the outcomes (the worst status, each dataset's) into the output
 * and the run record; when any child failed, SomeDatasetsFailed fails the execution with
 * `DatasetsFailedError` and a Cause naming the failed datasets.
 */
export class SyncDatasetsStateMachine extends Construct {
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SyncDatasetsStateMachineProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.days(7);
    const childTimeout = props.childTimeout ?? Duration.hours(12);
    const problems: string[] = [];
    if (!Number.isInteger(props.maxConcurrency) || props.maxConcurrency < 1 || props.maxConcurrency > 40) problems.push(`maxConcurrency must be an integer from 1 to 40, got ${props.maxConcurrency}`);
    if (childTimeout.toSeconds() < 60) problems.push(`childTimeout must be at least 1 minute, got ${childTimeout.toHumanString()}`);
    if (timeout.toSeconds() < childTimeout.toSeconds()) problems.push(`timeout (${timeout.toHumanString()}) must be at least childTimeout (${childTimeout.toHumanString()})`);
    if (problems.length > 0) throw new Error(`SyncDatasetsStateMachine ${this.node.path}: ${problems.join('; ')}`);

    const recordFailure = failurePath(this, { record: SYNC_DATASETS_STATES.recordFailure, failed: SYNC_DATASETS_STATES.failed, workflow: 'datasets' }, props.recordFunction);
    const record = (name: string, payload: Record<string, unknown>): tasks.LambdaInvoke => {
      const task = retryTransient(
        new tasks.LambdaInvoke(this, name, {
          lambdaFunction: props.recordFunction,
          payload: sfn.TaskInput.fromObject(payload),
          outputPath: '$.Payload',
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
      );
      task.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return task;
    };

    const plan = record(SYNC_DATASETS_STATES.plan, { outcome: 'datasets-started', runId: sfn.JsonPath.executionName, input: sfn.JsonPath.objectAt('$$.Execution.Input') });

    const syncDataset = new tasks.StepFunctionsStartExecution(this, SYNC_DATASETS_STATES.syncDataset, {
      stateMachine: props.syncStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      input: sfn.TaskInput.fromJsonPathAt('$.input'),
      name: sfn.JsonPath.stringAt('$.name'),
      // The child's input is the strict execution input: no AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID key in it.
      associateWithParent: false,
      resultSelector: {
        'ExecutionArn.$': '$.ExecutionArn',
        'Status.$': '$.Status',
        'StartDate.$': '$.StartDate',
        'StopDate.$': '$.StopDate',
        'Output.$': '$.Output',
      },
      resultPath: '$.execution',
      // Without it a Task waits up to 99999999 s (and the local runner stops it after 60 s).
      taskTimeout: sfn.Timeout.duration(childTimeout),
    });
    syncDataset.addRetry({ errors: ['StepFunctions.ExecutionLimitExceeded'], interval: Duration.seconds(5), maxAttempts: 5, backoffRate: 2 });
    const datasetFailed = new sfn.Pass(this, SYNC_DATASETS_STATES.datasetFailed, { comment: "This dataset's child failed; the error is in $.error and the others go on" });
    syncDataset.addCatch(datasetFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const map = new sfn.Map(this, SYNC_DATASETS_STATES.map, {
      comment: 'One child SyncStateMachine execution per dataset',
      itemsPath: '$.items',
      maxConcurrency: props.maxConcurrency,
      resultPath: '$.results',
    });
    map.itemProcessor(syncDataset);
    map.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const finish = record(SYNC_DATASETS_STATES.finish, { outcome: 'datasets-finished', runId: sfn.JsonPath.executionName, results: sfn.JsonPath.objectAt('$.results') });
    const someFailed = new sfn.Fail(this, SYNC_DATASETS_STATES.someFailed, {
      comment: 'Some datasets failed (the others were synced); the Cause names them',
      errorPath: '$.error',
      causePath: '$.cause',
    });
    const anyFailed = new sfn.Choice(this, SYNC_DATASETS_STATES.anyFailed)
      .when(sfn.Condition.numberGreaterThan('$.failedCount', 0), someFailed)
      .otherwise(new sfn.Succeed(this, SYNC_DATASETS_STATES.succeeded));
    const definition = plan.next(map).next(finish).next(anyFailed);

    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      comment: 'syncproof: sync several datasets, each as a child SyncStateMachine execution, at most maxConcurrentDatasets at once',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: props.includeExecutionData ?? false },
    });

    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated: X-Ray trace/sampling and CloudWatch Logs delivery actions support no resource-level permissions, so they are on *.',
      ['Resource::*'],
    );
    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated lambda:InvokeFunction grant on the record function also covers its versions and aliases (<function ARN>:*).',
      [`Resource::${nagAttribute(props.recordFunction, 'Arn')}:*`],
    );
    // As CDK's StepFunctionsStartExecution writes it: the child state machine's name from its ARN.
    const childName = Fn.select(6, Fn.split(':', props.syncStateMachine.stateMachineArn));
    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      "CDK-generated startExecution.sync grant: DescribeExecution and StopExecution on the SyncStateMachine's executions (execution:<name>*), whose names are chosen at run time.",
      [`Resource::${nagString(this, `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${childName}*`)}`],
    );
  }
}

