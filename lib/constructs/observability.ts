import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  /**
   * How long the state machine's execution history stays in CloudWatch Logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Period over which each alarm's metric is summed.
   * @default Duration.minutes(5)
   */
  readonly alarmPeriod?: Duration;
}

/**
 * Logs and alarms. Created before the state machine, because the state machine logs into
 * {@link stateMachineLogGroup}; the alarms are added once their subjects exist. The alarms have no
 * actions: subscribe an SNS topic (`alarm.addAlarmAction`) to be told.
 */
export class Observability extends Construct {
  /** The state machine's execution history (`/aws/vendedlogs/states/<stack>-sync`). */
  readonly stateMachineLogGroup: logs.LogGroup;
  private readonly alarmPeriod: Duration;
  private readonly alarmList: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps = {}) {
    super(scope, id);
    this.alarmPeriod = props.alarmPeriod ?? Duration.minutes(5);
    if (this.alarmPeriod.toSeconds() < 60 || this.alarmPeriod.toSeconds() % 60 !== 0) {
      throw new Error(`Observability ${this.node.path}: alarmPeriod must be a whole number of minutes, got ${this.alarmPeriod.toHumanString()}`);
    }
    // The vendedlogs prefix keeps Step Functions from growing the account's log resource policy.
    this.stateMachineLogGroup = new logs.LogGroup(this, 'StateMachineLogGroup', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-sync`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Every alarm added so far. */
  get alarms(): readonly cloudwatch.Alarm[] {
    return this.alarmList;
  }

  /** Alarms when at least one execution of `stateMachine` fails in a period. */
  alarmOnFailedExecutions(stateMachine: sfn.IStateMachine): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, 'ExecutionsFailedAlarm', {
        alarmDescription: 'syncproof: a sync execution failed; its run record and the SyncFailed error say why.',
        metric: stateMachine.metricFailed({ period: this.alarmPeriod, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /** Alarms while `queue` (a dead-letter queue) holds any message. */
  alarmOnDeadLetters(queue: sqs.IQueue): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
        alarmDescription: 'syncproof: S3 events the trigger could not process are in the dead-letter queue; those files are not loaded.',
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: this.alarmPeriod, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  private add(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    this.alarmList.push(alarm);
    return alarm;
  }
}
