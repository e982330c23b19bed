import { ArnFormat, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { failurePath, retrySourceUnavailable, retryTransient } from './failure-path';
import { acknowledgeNag, nagAttribute, nagString } from './nag-acknowledgements';

/**
 * State names of the SyncStateMachine. Handlers, the local runtime and tests refer to them, so
 * they are part of the contract: rename only together with them.
 */
export const SYNC_STATES = {
  eventRun: 'EventRun',
  acquireRun: 'AcquireRun',
  runLockAnswer: 'RunLockAnswer',
  runAcquired: 'RunAcquired',
  runWait: 'RunWait',
  attachedRunEnded: 'AttachedRunEnded',
  attachedRunFailed: 'AttachedRunFailed',
  extract: 'Extract',
  extractMore: 'ExtractMore',
  extractNext: 'ExtractNext',
  inventory: 'Inventory',
  checksumSample: 'ChecksumSample',
  extractOnly: 'ExtractOnly',
  discover: 'Discover',
  hasWork: 'HasWork',
  load: 'Load',
  loadRunning: 'LoadRunning',
  loadWait: 'LoadWait',
  verify: 'Verify',
  moreBatches: 'MoreBatches',
  nextBatch: 'NextBatch',
  commit: 'CommitWatermark',
  finish: 'Finish',
  succeeded: 'Succeeded',
  recordFailure: 'RecordFailure',
  failed: 'SyncFailed',
} as const;

/** Properties of {@link SyncStateMachine}. */
export interface SyncStateMachineProps {
  /** Extracts a dataset's source into Parquet chunks (stage `extract`); a dataset without a source skips it. */
  readonly extractFunction: lambda.IFunction;
  /** Moves a dataset's watermark once its run is proven (stage `commit`). */
  readonly commitFunction: lambda.IFunction;
  /** Inventories the dataset against its manifests and ledger, once per execution (stage `inventory`). */
  readonly inventoryFunction: lambda.IFunction;
  /** Verifies a seeded sample of the files about to be loaded (stage `checksum`). */
  readonly checksumFunction: lambda.IFunction;
  /** Lists the next batch of new files of a dataset (stage `discover`). */
  readonly discoverFunction: lambda.IFunction;
  /** Loads one batch in one warehouse transaction (stage `load`). */
  readonly loadFunction: lambda.IFunction;
  /** Reads the batch back and compares (stage `verify`); throws when verification fails. */
  readonly verifyFunction: lambda.IFunction;
  /**
   * Writes the run's final record, completed or failed, and holds the dataset's run lock (stage
   * `record`: AcquireRun, released by Finish and RecordFailure). Its role is granted
   * `states:DescribeExecution` on this state machine's executions, to tell a live lock holder
   * from one that ended, and `states:GetExecutionHistory`, to count the run's state transitions.
   */
  readonly recordFunction: lambda.IFunction;
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
   * Longest an execution may run before Step Functions stops it.
   * @default Duration.hours(12)
   */
  readonly timeout?: Duration;
}

/**
 * The sync workflow (Standard, JSONPath only, no JSONata, `Assign`, `ItemReader` or distributed
 * Map, so the local runner executes the synthesized definition unchanged; DESIGN.md §6):
 *
 * ```
 * EventRun ─(S3 event run)──────────────────────────────────────────────► Extract
 *          └► AcquireRun ─► RunLockAnswer ─► RunAcquired ─(ACQUIRED)────────────────────► Extract
 *                                       ├(ATTACHED | WAIT)─► RunWait ─► AcquireRun
 *                                       ├(ATTACHED_ENDED, it succeeded)─► AttachedRunEnded (Succeed)
 *                                       └(ATTACHED_ENDED, it failed)──► AttachedRunFailed (Fail)
 * Extract ─► ExtractMore ─(MORE)─► ExtractNext ─► ExtractMore
 *                        └────────► Inventory ─► ChecksumSample ─► ExtractOnly ─► Discover ─► HasWork ─(files > 0)─► Load ─► LoadRunning ─► Verify ─► MoreBatches ─(hasMore)─► NextBatch ─► Discover
 *                                                                                                           └(RUNNING)─► LoadWait ─► Load
 *                                                                                  └────(no files)──► CommitWatermark ◄──────────────┘ (done)
 * ExtractOnly ─(extract-only run)─► CommitWatermark
 * CommitWatermark ─► Finish ─► Succeeded
 * any task ─(Catch States.ALL → $.error)─► RecordFailure ─► SyncFailed (Error/Cause from $.error)
 * ```
 *
 * One run per dataset at a time (DESIGN.md §5): every start that is not an S3 event run (CLI,
 * console, schedule, SyncDatasetsStateMachine child) first takes the dataset's run lock in
 * AcquireRun (the record Lambda; `lambdas/record/run-lock.ts`). While a live execution holds it,
 * a start asking for the same mode attaches — it waits in RunWait/AcquireRun until that execution
 * ends, then ends with its outcome (its output, or AttachedRunFailedError) without extracting or
 * loading anything — and a start of another mode waits and then runs. Finish and RecordFailure
 * release the lock; a holder that ended without releasing it is taken over once DescribeExecution
 * says it no longer runs. S3 event runs carry their own objects and take no lock.
 *
 * Extract (a dataset with a source; the others return `SKIPPED` at once) writes the run's chunks,
 * looping through ExtractNext while an invocation's budget runs out before the run is done; its
 * result stays in `$.extract`. CommitWatermark moves the watermark of a dataset with a source once
 * every batch was verified (it proves the run's files loaded; the others return `SKIPPED`).
 *
 * Inventory and ChecksumSample run once per execution, before anything is loaded (the loop goes
 * back to Discover only), in `sync` mode: they store their findings and report in S3 and their
 * counts in the run record, keep the state as it was (`ResultPath: null`, so Discover still gets
 * the execution input), and fail the execution — nothing loaded — only when a file's size or
 * sampled checksum contradicts its manifest (`IntegrityCheckFailedError`).
 *
 * Discover takes the execution input from the context (`$$.Execution.Input`) on every pass of the
 * loop, so the later batches of an event-triggered run still look at the trigger's objects only.
 *
 * Every other task is a `lambda:invoke` whose result's `Payload` becomes the state (except
 * Extract, ExtractNext and CommitWatermark, whose results go beside it to `$.extract` and
 * `$.commit`, and RecordFailure, which keeps its input so that `$.error` reaches SyncFailed). Every task retries
 * `TransientError` three times (2 s, backoff 2) on top of the Lambda service-error retries, and
 * catches everything into RecordFailure; Extract and ExtractNext, the only tasks that read a
 * source, also retry `SourceUnavailableError`, with the same policy.
 */
export class SyncStateMachine extends Construct {
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SyncStateMachineProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.hours(12);
    if (timeout.toSeconds() < 60) throw new Error(`SyncStateMachine ${this.node.path}: timeout must be at least 1 minute, got ${timeout.toHumanString()}`);

    const recordFailure = failurePath(this, { record: SYNC_STATES.recordFailure, failed: SYNC_STATES.failed }, props.recordFunction);

    const stage = (name: string, fn: lambda.IFunction, payload: sfn.TaskInput): tasks.LambdaInvoke => {
      const task = retryTransient(
        new tasks.LambdaInvoke(this, name, {
          lambdaFunction: fn,
          payload,
          outputPath: '$.Payload',
          // The stage Lambdas' own timeout, so Step Functions never stops a task before its Lambda's budget.
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
      );
      task.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return task;
    };

    const verification = (name: string, fn: lambda.IFunction): tasks.LambdaInvoke => {
      const task = retryTransient(
        new tasks.LambdaInvoke(this, name, {
          lambdaFunction: fn,
          payload: sfn.TaskInput.fromObject({ input: sfn.JsonPath.objectAt('$$.Execution.Input'), runId: sfn.JsonPath.executionName, mode: 'sync' }),
          // The outputs are in the run record; the state stays the execution input for Discover.
          resultPath: sfn.JsonPath.DISCARD,
          // The stage Lambdas' own timeout; without it the local runner stops a task after 60 s.
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
      );
      task.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return task;
    };
    const extractTask = (name: string, continuation: boolean): tasks.LambdaInvoke => {
      const task = retryTransient(
        new tasks.LambdaInvoke(this, name, {
          lambdaFunction: props.extractFunction,
          payload: sfn.TaskInput.fromObject({
            input: sfn.JsonPath.objectAt('$$.Execution.Input'),
            runId: sfn.JsonPath.executionName,
            ...(continuation ? { continuation: sfn.JsonPath.objectAt('$.extract.result.continuation') } : {}),
          }),
          resultSelector: { 'status.$': '$.Payload.status', 'result.$': '$.Payload' },
          resultPath: '$.extract',
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
      );
      retrySourceUnavailable(task);
      task.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return task;
    };
    const extract = extractTask(SYNC_STATES.extract, false);
    const extractNext = extractTask(SYNC_STATES.extractNext, true);
    const inventory = verification(SYNC_STATES.inventory, props.inventoryFunction);
    const checksumSample = verification(SYNC_STATES.checksumSample, props.checksumFunction);
    // Every Discover of the loop gets the execution input itself: an event run stays an event run
    // on its later batches (the trigger's objects or eventsUri), instead of reconciling the prefix.
    const discover = stage(
      SYNC_STATES.discover,
      props.discoverFunction,
      sfn.TaskInput.fromObject({ input: sfn.JsonPath.objectAt('$$.Execution.Input'), runId: sfn.JsonPath.executionName }),
    );
    const load = stage(SYNC_STATES.load, props.loadFunction, sfn.TaskInput.fromJsonPathAt('$'));
    const verify = stage(SYNC_STATES.verify, props.verifyFunction, sfn.TaskInput.fromJsonPathAt('$'));
    const finish = stage(
      SYNC_STATES.finish,
      props.recordFunction,
      sfn.TaskInput.fromObject({ outcome: 'completed', runId: sfn.JsonPath.executionName, executionArn: sfn.JsonPath.executionId, dataset: sfn.JsonPath.stringAt('$.dataset'), input: sfn.JsonPath.objectAt('$$.Execution.Input') }),
    );
    const nextBatch = new sfn.Pass(this, SYNC_STATES.nextBatch, {
      comment: 'Start the next batch of the same dataset',
      parameters: { dataset: sfn.JsonPath.stringAt('$.dataset') },
    });

    const commit = retryTransient(
      new tasks.LambdaInvoke(this, SYNC_STATES.commit, {
        lambdaFunction: props.commitFunction,
        payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.executionName, dataset: sfn.JsonPath.stringAt('$$.Execution.Input.dataset') }),
        resultSelector: { 'status.$': '$.Payload.status' },
        resultPath: '$.commit',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
      }),
    );
    commit.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    finish.next(new sfn.Succeed(this, SYNC_STATES.succeeded));
    commit.next(finish);
    nextBatch.next(discover);
    const moreBatches = new sfn.Choice(this, SYNC_STATES.moreBatches)
      .when(sfn.Condition.booleanEquals('$.hasMore', true), nextBatch)
      .otherwise(commit);
    // A load whose statement outlives the Lambda's budget returns RUNNING: wait, then ask again
    // (the load stage re-reads the ledger and the warehouse; it never submits twice).
    const loadWait = new sfn.Wait(this, SYNC_STATES.loadWait, {
      comment: 'A warehouse statement of the load is still running',
      time: sfn.WaitTime.duration(Duration.seconds(10)),
    });
    loadWait.next(load);
    const loadRunning = new sfn.Choice(this, SYNC_STATES.loadRunning)
      .when(sfn.Condition.stringEquals('$.status', 'RUNNING'), loadWait)
      .otherwise(verify.next(moreBatches));
    const hasWork = new sfn.Choice(this, SYNC_STATES.hasWork)
      .when(sfn.Condition.numberGreaterThan('$.files', 0), load.next(loadRunning))
      .otherwise(commit);
    // An extract-only run stops at S3: its files inventoried and sampled, the commit proves them there.
    const extractOnly = new sfn.Choice(this, SYNC_STATES.extractOnly)
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.extract.result.extractOnly'), sfn.Condition.booleanEquals('$.extract.result.extractOnly', true)), commit)
      .otherwise(discover);
    inventory.next(checksumSample).next(extractOnly);
    discover.next(hasWork);
    const extractMore = new sfn.Choice(this, SYNC_STATES.extractMore)
      .when(sfn.Condition.stringEquals('$.extract.status', 'MORE'), extractNext)
      .otherwise(inventory);
    extractNext.next(extractMore);
    extract.next(extractMore);

    // One run per dataset at a time: AcquireRun's answer ends up at $.runLock; every later stage
    // reads the execution input from $$.Execution.Input.
    const acquireRun = retryTransient(
      new tasks.LambdaInvoke(this, SYNC_STATES.acquireRun, {
        lambdaFunction: props.recordFunction,
        payload: sfn.TaskInput.fromObject({
          outcome: 'acquire',
          runId: sfn.JsonPath.executionName,
          executionArn: sfn.JsonPath.executionId,
          input: sfn.JsonPath.objectAt('$$.Execution.Input'),
          state: sfn.JsonPath.objectAt('$'),
        }),
        resultSelector: { 'Payload.$': '$.Payload' },
        resultPath: '$.runLockResult',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
      }),
    );
    acquireRun.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    // The dataset (Finish reads $.dataset) and the newest answer only, so the loop's state never grows.
    const keepAnswer = new sfn.Pass(this, SYNC_STATES.runLockAnswer, {
      comment: 'The dataset and AcquireRun\'s answer at $.runLock',
      parameters: { 'dataset.$': '$$.Execution.Input.dataset', 'runLock.$': '$.runLockResult.Payload' },
    });
    const runWait = new sfn.Wait(this, SYNC_STATES.runWait, {
      comment: 'Another execution holds the dataset: attached to it, or waiting for it to end',
      time: sfn.WaitTime.duration(Duration.seconds(10)),
    });
    runWait.next(acquireRun);
    const attachedRunEnded = new sfn.Succeed(this, SYNC_STATES.attachedRunEnded, {
      comment: 'The execution this one attached to succeeded: its outcome is this one\'s',
      outputPath: '$.runLock',
    });
    const attachedRunFailed = new sfn.Fail(this, SYNC_STATES.attachedRunFailed, {
      comment: 'The execution this one attached to did not succeed',
      errorPath: '$.runLock.error',
      causePath: '$.runLock.cause',
    });
    const runAcquired = new sfn.Choice(this, SYNC_STATES.runAcquired)
      .when(sfn.Condition.stringEquals('$.runLock.lock', 'ACQUIRED'), extract)
      .when(sfn.Condition.or(sfn.Condition.stringEquals('$.runLock.lock', 'ATTACHED'), sfn.Condition.stringEquals('$.runLock.lock', 'WAIT')), runWait)
      .when(
        sfn.Condition.and(sfn.Condition.stringEquals('$.runLock.lock', 'ATTACHED_ENDED'), sfn.Condition.stringEquals('$.runLock.executionStatus', 'SUCCEEDED')),
        attachedRunEnded,
      )
      .otherwise(attachedRunFailed);
    acquireRun.next(keepAnswer).next(runAcquired);
    const definition = new sfn.Choice(this, SYNC_STATES.eventRun, { comment: 'An S3 event run carries its own objects and takes no run lock' })
      .when(sfn.Condition.isPresent('$.trigger'), extract)
      .otherwise(acquireRun);

    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      comment: 'syncproof: inventory and checksum-sample one dataset, discover, load and verify batches of its new files, then record the run',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: props.includeExecutionData ?? false },
    });

    // AcquireRun asks whether a run lock's holder still runs. Not a grant* on the record role's
    // default policy: the record function is in this definition, and a Lambda depends on its role's
    // default policy, so that policy naming this state machine would make a dependency cycle. A
    // policy of its own attached to the role depends on the state machine and nothing on it.
    const recordRole = props.recordFunction.role;
    if (!recordRole) throw new Error(`SyncStateMachine ${this.node.path}: recordFunction needs a role (AcquireRun's DescribeExecution is granted to it)`);
    const executionArns = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn))}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const describePolicy = new iam.Policy(this, 'RunLockDescribeExecution', {
      roles: [recordRole],
      statements: [new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:GetExecutionHistory'], resources: [executionArns] })],
    });
    acknowledgeNag(describePolicy, 'AwsSolutions-IAM5', "AcquireRun describes the lock holder, any execution of this state machine (whose names are not known at synth): the machine's own executions only.", [
      `Resource::${nagString(this, executionArns)}`,
    ]);

    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated: X-Ray trace/sampling and CloudWatch Logs delivery actions support no resource-level permissions, so they are on *.',
      ['Resource::*'],
    );
    const functions = [props.extractFunction, props.commitFunction, props.inventoryFunction, props.checksumFunction, props.discoverFunction, props.loadFunction, props.verifyFunction, props.recordFunction];
    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated lambda:InvokeFunction grant on the stage functions also covers their versions and aliases (<function ARN>:*).',
      [...new Set(functions.map((fn) => `Resource::${nagAttribute(fn, 'Arn')}:*`))],
    );
  }
}
