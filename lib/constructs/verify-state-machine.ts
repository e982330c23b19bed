import { ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { scheduleExpressionSchema } from '../../lambdas/core/config';
import { VERIFY_TIERS, type VerifyTier } from '../../lambdas/core/verify-config';
import { failurePath, retryTransient } from './failure-path';
import { acknowledgeNag, nagAttribute, nagString } from './nag-acknowledgements';

/**
 * State names of the VerifyStateMachine (a contract with the local runtime and the tests, like
 * SYNC_STATES).
 */
export const VERIFY_STATES = {
  inventory: 'Inventory',
  checksumSample: 'ChecksumSample',
  countChain: 'CountChain',
  contentTier: 'ContentTier',
  contentCheck: 'ContentCheck',
  contentSkipped: 'ContentSkipped',
  deletesToPropagate: 'DeletesToPropagate',
  propagateDeletes: 'PropagateDeletes',
  contentCheckAfter: 'ContentCheckAfter',
  countChainAfter: 'CountChainAfter',
  repairsToRun: 'RepairsToRun',
  repairRun: 'RepairRun',
  contentCheckAfterRepair: 'ContentCheckAfterRepair',
  countChainAfterRepair: 'CountChainAfterRepair',
  record: 'Record',
  verdict: 'Verdict',
  verified: 'Verified',
  verificationFailed: 'VerificationFailed',
  recordFailure: 'RecordFailure',
  failed: 'VerifyFailed',
} as const;

/** One dataset the schedule verifies. */
export interface VerifySchedule {
  /** The dataset's name: the execution input is `{"dataset": name, "tier": tier}`. */
  readonly dataset: string;
  /** EventBridge schedule expression (`rate(1 day)`, `cron(0 3 * * ? *)`). */
  readonly expression: string;
  /** The dataset's `verifyTier`, passed in the execution input. */
  readonly tier: VerifyTier;
  /**
   * The dataset's `reconcileWindow`, passed in the execution input: the content check compares the
   * recent window (whatever the tier) and repairs the late rows it finds behind the watermark.
   */
  readonly reconcileWindow?: string | number;
}

/** Properties of {@link VerifyStateMachine}. */
export interface VerifyStateMachineProps {
  /** Inventories a dataset against its manifests and ledger (stage `inventory`). */
  readonly inventoryFunction: lambda.IFunction;
  /** Verifies a seeded sample of the dataset's files (stage `checksum`). */
  readonly checksumFunction: lambda.IFunction;
  /** Counts the dataset's rows at every hop: source, manifests, ledger, audit, target (stage `counts`). */
  readonly countsFunction: lambda.IFunction;
  /**
   * Applies the deletion a content check proved under `deletes: "propagate"` (stage `load`: its role
   * holds the ledger writes, the dataset's lock and the COPY role that path needs; the counts role does not).
   */
  readonly loadFunction: lambda.IFunction;
  /** Judges and records the run, or records its failure (stage `record`). */
  readonly recordFunction: lambda.IFunction;
  /**
   * The SyncStateMachine a reconciliation starts its repair run on (a child execution, which takes
   * the dataset's run lock like any sync). Required when a schedule sets `reconcileWindow`; the
   * repair branch, and the grant to start that machine, exist only then.
   */
  readonly syncStateMachine?: sfn.IStateMachine;
  /** One EventBridge schedule rule per entry; each starts an execution for its dataset. */
  readonly schedules: readonly VerifySchedule[];
  /**
   * Receives execution history at level ALL (with states' input and output only when {@link includeExecutionData}).
   * @default a new log group `/aws/vendedlogs/states/<stack>-verify`, kept three months
   */
  readonly logGroup?: logs.ILogGroup;
  /**
   * Whether the execution history also logs each state's input and output. They carry key values,
   * cursor values and watermarks, so they stay out of CloudWatch unless asked for (configuration
   * `logExecutionData`).
   * @default false
   */
  readonly includeExecutionData?: boolean;
  /**
   * Longest an execution may run before Step Functions stops it.
   * @default Duration.hours(1)
   */
  readonly timeout?: Duration;
}

/**
 * Scheduled verification of a dataset (DESIGN.md §2 "Scheduled"; Standard, JSONPath only, so the
 * local runner executes the synthesized definition unchanged):
 *
 * ```
 * Inventory ─► ChecksumSample ─► CountChain ─► ContentTier ─(tier content|sampled|all)─► ContentCheck ─► DeletesToPropagate ─┐
 *                                                   └─(otherwise)─► ContentSkipped ─┐      (a proved deletion) PropagateDeletes ◄┤
 *                                                                                   │   ContentCheckAfter ─► CountChainAfter ─┤
 *                                                                                   ▼                                        ▼
 *                                                                                 Record ─► Verdict ─(status FAILED)─► VerificationFailed (Error/Cause from Record)
 *                                                                                              └─(otherwise)────► Verified
 * any task ─(Catch States.ALL → $.error)─► RecordFailure ─► VerifyFailed (Error/Cause from $.error)
 *
 * With a schedule that sets reconcileWindow (only then):
 * ContentTier ─(reconcileWindow present, any tier)─► ContentCheck ─► RepairsToRun ─(a repair found)─► RepairRun ─► ContentCheckAfterRepair ─► CountChainAfterRepair ─► Record
 *                                                                                └─(otherwise)─► DeletesToPropagate …
 * ```
 *
 * Late-row reconciliation: the schedule input carries the dataset's `reconcileWindow`; ContentCheck
 * then compares the recent window (the watermark's cursor minus the window, up to the watermark)
 * and, when it finds real missing or changed rows behind the watermark, names a repair run of its
 * report. RepairRun starts it as a child SyncStateMachine execution (`startExecution.sync:2`, mode
 * `repair`, a deterministic name; it takes the dataset's run lock like any sync) and waits for it;
 * then the window and the counts are checked again and the verdict is about the state after.
 *
 * Inventory and ChecksumSample run in `verify` mode and CountChain returns its verdict: their
 * findings never fail the task; each result's `Payload` is trimmed by a ResultSelector to its
 * verdict, counts and URI and kept beside the execution input (`$.inventory`, `$.checksum`,
 * `$.counts`), so every state's data stays small whatever the prefix size. The count chain runs
 * whatever the input's `tier` (it is the cheapest tier below content). ContentCheck (the content
 * tier, lambdas/verify/content.ts) runs in the counts Lambda: it reads exactly what the count chain
 * reads. Under `deletes: "propagate"` a deletion it proved is applied by PropagateDeletes in the load
 * Lambda (whose role alone holds the ledger writes, the dataset's lock and the COPY role), then the
 * content and the counts are checked again, so the verdict is about the state after. Record judges them into the run record (PASSED, PASSED_WITH_WARNINGS, FAILED)
 * and a FAILED verdict fails the execution, which the failed-executions alarm reports. Every
 * task retries `TransientError` three times (2 s, backoff 2) on top of the Lambda service-error
 * retries and catches everything into RecordFailure.
 */
export class VerifyStateMachine extends Construct {
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** Its execution history. */
  readonly logGroup: logs.ILogGroup;
  /** The schedule rules, by dataset name. */
  readonly rules: Readonly<Record<string, events.Rule>>;
  /** Alarms when a verification execution fails (a FAILED verdict or an error). */
  readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: VerifyStateMachineProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.hours(1);
    const problems: string[] = [];
    if (timeout.toSeconds() < 60) problems.push(`timeout must be at least 1 minute, got ${timeout.toHumanString()}`);
    if (props.schedules.length === 0) problems.push('schedules must name at least one dataset');
    const seen = new Set<string>();
    props.schedules.forEach((s, i) => {
      if (seen.has(s.dataset)) problems.push(`schedules[${i}]: dataset '${s.dataset}' is scheduled twice`);
      seen.add(s.dataset);
      if (!scheduleExpressionSchema.safeParse(s.expression).success) problems.push(`schedules[${i}]: '${s.expression}' is not an EventBridge rate(...) or cron(...) expression`);
      if (!(VERIFY_TIERS as readonly string[]).includes(s.tier)) problems.push(`schedules[${i}]: tier '${s.tier}' is not one of ${VERIFY_TIERS.join(', ')}`);
    });
    const reconciles = props.schedules.some((s) => s.reconcileWindow !== undefined);
    if (reconciles && !props.syncStateMachine) problems.push('syncStateMachine is required: a schedule sets reconcileWindow, whose repair runs are SyncStateMachine executions');
    if (problems.length > 0) throw new Error(`VerifyStateMachine ${this.node.path}: ${problems.join('; ')}`);

    const recordFailure = failurePath(this, { record: VERIFY_STATES.recordFailure, failed: VERIFY_STATES.failed, workflow: 'verify' }, props.recordFunction);

    const task = (name: string, fn: lambda.IFunction, options: Omit<tasks.LambdaInvokeProps, 'lambdaFunction'>): tasks.LambdaInvoke => {
      const t = retryTransient(new tasks.LambdaInvoke(this, name, { lambdaFunction: fn, ...options }));
      t.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      return t;
    };
    const stageInput = sfn.TaskInput.fromObject({
      input: sfn.JsonPath.objectAt('$$.Execution.Input'),
      runId: sfn.JsonPath.executionName,
      mode: 'verify',
    });
    // The stage Lambdas' own timeout; without it the local runner stops a task after 60 s.
    const taskTimeout = sfn.Timeout.duration(Duration.minutes(15));
    const inventory = task(VERIFY_STATES.inventory, props.inventoryFunction, {
      payload: stageInput,
      taskTimeout,
      resultSelector: {
        'dataset.$': '$.Payload.dataset',
        'status.$': '$.Payload.status',
        'objects.$': '$.Payload.objects',
        'findings.$': '$.Payload.findings',
        'summaryUri.$': '$.Payload.summaryUri',
      },
      resultPath: '$.inventory',
    });
    const checksumSample = task(VERIFY_STATES.checksumSample, props.checksumFunction, {
      payload: stageInput,
      taskTimeout,
      resultSelector: {
        'status.$': '$.Payload.status',
        'sampled.$': '$.Payload.sampled',
        'bytesDownloaded.$': '$.Payload.bytesDownloaded',
        'reportUri.$': '$.Payload.reportUri',
      },
      resultPath: '$.checksum',
    });
    const countChainTask = (name: string, runId: string) =>
      task(name, props.countsFunction, {
        payload: sfn.TaskInput.fromObject({ input: sfn.JsonPath.objectAt('$$.Execution.Input'), runId }),
        taskTimeout,
        resultSelector: {
          'status.$': '$.Payload.status',
          'hops.$': '$.Payload.hops',
          'reportUri.$': '$.Payload.reportUri',
        },
        resultPath: '$.counts',
      });
    const countChain = countChainTask(VERIFY_STATES.countChain, sfn.JsonPath.executionName);
    // After a propagated deletion the chain is counted again: the verdict is about the state after.
    const countChainAfter = countChainTask(VERIFY_STATES.countChainAfter, sfn.JsonPath.format('{}-after', sfn.JsonPath.executionName));
    // The content tier runs in the counts Lambda (it reads exactly what the count chain reads:
    // source, warehouse, bucket, ledger); the input's tier chooses it.
    const contentSelector = {
      'status.$': '$.Payload.status',
      'tier.$': '$.Payload.tier',
      'summary.$': '$.Payload.summary',
      'reportUri.$': '$.Payload.reportUri',
      'deletion.$': '$.Payload.deletion',
      // The repair a reconciliation found (null: none); only where a schedule reconciles.
      ...(reconciles ? { 'repair.$': '$.Payload.repair' } : {}),
    };
    const contentPayload = (extra: Record<string, unknown>) =>
      sfn.TaskInput.fromObject({ input: sfn.JsonPath.objectAt('$$.Execution.Input'), runId: sfn.JsonPath.executionName, contentTier: true, tier: sfn.JsonPath.stringAt('$.tier'), ...extra });
    const contentCheck = task(VERIFY_STATES.contentCheck, props.countsFunction, { payload: contentPayload({}), taskTimeout, resultSelector: contentSelector, resultPath: '$.content' });
    const propagateDeletes = task(VERIFY_STATES.propagateDeletes, props.loadFunction, {
      payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.executionName, deletion: { requestKey: sfn.JsonPath.stringAt('$.content.deletion.requestKey') } }),
      taskTimeout,
      resultSelector: { 'keys.$': '$.Payload.keys', 'rowsDeleted.$': '$.Payload.rowsDeleted', 'appliedNow.$': '$.Payload.appliedNow', 'reportUri.$': '$.Payload.reportUri' },
      resultPath: '$.deletion',
    });
    const contentCheckAfter = task(VERIFY_STATES.contentCheckAfter, props.countsFunction, {
      payload: contentPayload({ runId: sfn.JsonPath.format('{}-after', sfn.JsonPath.executionName), propagated: sfn.JsonPath.objectAt('$.deletion') }),
      taskTimeout,
      resultSelector: contentSelector,
      resultPath: '$.content',
    });
    const contentSkipped = new sfn.Pass(this, VERIFY_STATES.contentSkipped, { result: sfn.Result.fromObject({ status: 'SKIPPED' }), resultPath: '$.content' });
    // Late-row reconciliation (schedules with reconcileWindow): the repair the check found, as a
    // child SyncStateMachine execution (mode repair of the check's report, waited for), then the
    // window and the counts checked again, so the verdict is about the state after.
    const repairBranch = (() => {
      if (!reconciles || !props.syncStateMachine) return undefined;
      const repairRun = new tasks.StepFunctionsStartExecution(this, VERIFY_STATES.repairRun, {
        stateMachine: props.syncStateMachine,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        input: sfn.TaskInput.fromJsonPathAt('$.content.repair.input'),
        name: sfn.JsonPath.stringAt('$.content.repair.name'),
        // The child's input is the strict execution input: no AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID key in it.
        associateWithParent: false,
        resultSelector: { 'ExecutionArn.$': '$.ExecutionArn', 'Status.$': '$.Status', 'Output.$': '$.Output' },
        resultPath: '$.repairRun',
        taskTimeout: sfn.Timeout.duration(Duration.hours(12)),
      });
      repairRun.addRetry({ errors: ['StepFunctions.ExecutionLimitExceeded'], interval: Duration.seconds(5), maxAttempts: 5, backoffRate: 2 });
      repairRun.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
      const contentCheckAfterRepair = task(VERIFY_STATES.contentCheckAfterRepair, props.countsFunction, {
        payload: contentPayload({
          runId: sfn.JsonPath.format('{}-repaired', sfn.JsonPath.executionName),
          repaired: { executionArn: sfn.JsonPath.stringAt('$.repairRun.ExecutionArn'), status: sfn.JsonPath.stringAt('$.repairRun.Status'), runStatus: sfn.JsonPath.stringAt('$.repairRun.Output.status'), reportUri: sfn.JsonPath.stringAt('$.content.reportUri') },
        }),
        taskTimeout,
        resultSelector: contentSelector,
        resultPath: '$.content',
      });
      const countChainAfterRepair = countChainTask(VERIFY_STATES.countChainAfterRepair, sfn.JsonPath.format('{}-repaired', sfn.JsonPath.executionName));
      return { repairRun, chain: repairRun.next(contentCheckAfterRepair).next(countChainAfterRepair) };
    })();
    const record = task(VERIFY_STATES.record, props.recordFunction, {
      payload: sfn.TaskInput.fromObject({
        outcome: 'verified',
        runId: sfn.JsonPath.executionName,
        executionArn: sfn.JsonPath.executionId,
        dataset: sfn.JsonPath.stringAt('$.inventory.dataset'),
        inventory: sfn.JsonPath.objectAt('$.inventory'),
        checksum: sfn.JsonPath.objectAt('$.checksum'),
        counts: sfn.JsonPath.objectAt('$.counts'),
        content: sfn.JsonPath.objectAt('$.content'),
      }),
      outputPath: '$.Payload',
    });
    const contentTiers = ['content', 'sampled', 'all'].map((t) => sfn.Condition.stringEquals('$.tier', t));
    const contentTier = new sfn.Choice(this, VERIFY_STATES.contentTier, { comment: "The input's tier: content, sampled and all compare by content; counts (or none) skips it" })
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.tier'), sfn.Condition.isString('$.tier'), sfn.Condition.or(...contentTiers)), contentCheck)
      .otherwise(contentSkipped);
    // A reconciling schedule compares its window by content whatever its tier.
    if (reconciles) contentTier.when(sfn.Condition.and(sfn.Condition.isPresent('$.reconcileWindow'), sfn.Condition.isPresent('$.tier'), sfn.Condition.isString('$.tier')), contentCheck);
    contentSkipped.next(record);
    const deletesToPropagate = new sfn.Choice(this, VERIFY_STATES.deletesToPropagate, { comment: 'deletes "propagate": the load stage applies the deletion the check proved, then the check runs again' })
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.content.deletion'), sfn.Condition.not(sfn.Condition.isNull('$.content.deletion'))), propagateDeletes.next(contentCheckAfter).next(countChainAfter).next(record))
      .otherwise(record);
    if (repairBranch) {
      repairBranch.chain.next(record);
      contentCheck.next(
        new sfn.Choice(this, VERIFY_STATES.repairsToRun, { comment: 'reconcileWindow: a repair run re-extracts the late rows the check found behind the watermark, then the check runs again' })
          .when(sfn.Condition.and(sfn.Condition.isPresent('$.content.repair'), sfn.Condition.not(sfn.Condition.isNull('$.content.repair'))), repairBranch.repairRun)
          .otherwise(deletesToPropagate),
      );
    } else {
      contentCheck.next(deletesToPropagate);
    }
    const verdict = new sfn.Choice(this, VERIFY_STATES.verdict)
      .when(
        sfn.Condition.stringEquals('$.status', 'FAILED'),
        new sfn.Fail(this, VERIFY_STATES.verificationFailed, {
          comment: "The dataset's verdict is FAILED; the run record holds the evidence",
          errorPath: '$.error',
          causePath: '$.cause',
        }),
      )
      .otherwise(new sfn.Succeed(this, VERIFY_STATES.verified));
    record.next(verdict);

    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, 'LogGroup', {
        // The vendedlogs prefix keeps Step Functions from growing the account's log resource policy.
        logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-verify`,
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      comment: 'syncproof: scheduled verification of one dataset (inventory, checksum sample, count chain), recorded as a run',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(inventory.next(checksumSample).next(countChain).next(contentTier)),
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: props.includeExecutionData ?? false },
    });

    const rules: Record<string, events.Rule> = {};
    for (const s of props.schedules) {
      rules[s.dataset] = new events.Rule(this, `Schedule-${s.dataset}`, {
        description: `syncproof: verify dataset ${s.dataset} (tier ${s.tier}) on ${s.expression}`,
        schedule: events.Schedule.expression(s.expression),
        targets: [
          new targets.SfnStateMachine(this.stateMachine, {
            input: events.RuleTargetInput.fromObject({ dataset: s.dataset, tier: s.tier, ...(s.reconcileWindow !== undefined ? { reconcileWindow: s.reconcileWindow } : {}) }),
          }),
        ],
      });
    }
    this.rules = rules;

    this.failedAlarm = new cloudwatch.Alarm(this, 'ExecutionsFailedAlarm', {
      alarmDescription: 'syncproof: a scheduled verification failed; its run record (stages inventory, checksum, counts and content, with the report URIs) holds the evidence.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated: X-Ray trace/sampling and CloudWatch Logs delivery actions support no resource-level permissions, so they are on *.',
      ['Resource::*'],
    );
    if (repairBranch && props.syncStateMachine) {
      // As CDK's StepFunctionsStartExecution writes it: the child state machine's name from its ARN.
      const childName = Fn.select(6, Fn.split(':', props.syncStateMachine.stateMachineArn));
      acknowledgeNag(
        this.stateMachine,
        'AwsSolutions-IAM5',
        "CDK-generated startExecution.sync grant for RepairRun: DescribeExecution and StopExecution on the SyncStateMachine's executions (execution:<name>*), whose names are chosen at run time.",
        [`Resource::${nagString(this, `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${childName}*`)}`],
      );
    }
    const functions = [props.inventoryFunction, props.checksumFunction, props.countsFunction, props.loadFunction, props.recordFunction];
    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5',
      'CDK-generated lambda:InvokeFunction grant on the stage functions also covers their versions and aliases (<function ARN>:*).',
      [...new Set(functions.map((fn) => `Resource::${nagAttribute(fn, 'Arn')}:*`))],
    );

    // Record counts the run's state transitions from its execution's history (lambdas/core/usage.ts).
    // A policy of its own on the record role, as the SyncStateMachine's DescribeExecution grant (no cycle).
    const recordRole = props.recordFunction.role;
    if (recordRole) {
      const executionArns = Stack.of(this).formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn))}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      const history = new iam.Policy(this, 'RecordExecutionHistory', {
        roles: [recordRole],
        statements: [new iam.PolicyStatement({ actions: ['states:GetExecutionHistory'], resources: [executionArns] })],
      });
      acknowledgeNag(history, 'AwsSolutions-IAM5', "Record reads the history of its own verification execution (names chosen at run time): this state machine's executions only.", [
        `Resource::${nagString(this, executionArns)}`,
      ]);
    }
  }
}
