import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlertsConfig } from '../../lambdas/core/alerts-config';
import { METRIC_DIMENSIONS, METRIC_NAMESPACE, METRIC_SERVICE, METRIC_UNITS, type MetricName } from '../../lambdas/core/metric-names';

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  /**
   * How long the state machine's execution history stays in CloudWatch Logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Period over which each count alarm's metric is summed.
   * @default Duration.minutes(5)
   */
  readonly alarmPeriod?: Duration;
  /** Where every alarm notifies (config `alerts`). @default none: alarms without actions */
  readonly alerts?: AlertsConfig;
}

/** Margin added to a verification schedule's period before a missing verification alarms. */
export const VERIFICATION_MARGIN = Duration.hours(1);
/** CloudWatch's longest alarm evaluation range (period × evaluation periods). */
const MAX_ALARM_RANGE_SECONDS = 7 * 86_400;

/**
 * A syncproof metric of one dataset (namespace `syncproof`, dimensions `service` and `dataset`,
 * as the stages' Powertools Metrics write them); `stage` adds that dimension (DurationMs).
 */
export function syncproofMetric(name: MetricName, dataset: string, options: cloudwatch.MetricOptions & { readonly stage?: string } = {}): cloudwatch.Metric {
  const { stage, ...rest } = options;
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: METRIC_SERVICE, [METRIC_DIMENSIONS.dataset]: dataset, ...(stage ? { [METRIC_DIMENSIONS.stage]: stage } : {}) },
    unit: cloudwatch.Unit[METRIC_UNITS[name].toUpperCase() as keyof typeof cloudwatch.Unit],
    ...rest,
  });
}

/**
 * Logs, alarms and the alert topic. Created before the state machines, because they log into
 * {@link stateMachineLogGroup}; the alarms are added once their subjects exist (the dashboard is
 * ./dashboard.ts). With `alerts`, every alarm notifies {@link alertTopic} on ALARM and on OK.
 */
export class Observability extends Construct {
  /** The state machine's execution history (`/aws/vendedlogs/states/<stack>-sync`). */
  readonly stateMachineLogGroup: logs.LogGroup;
  /** Where the alarms notify: the topic of `alerts.topicArn`, or the one this construct created; none without `alerts`. */
  readonly alertTopic: sns.ITopic | undefined;
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
    this.alertTopic = props.alerts ? this.createAlertTopic(props.alerts) : undefined;
  }

  /** Every alarm added so far. */
  get alarms(): readonly cloudwatch.Alarm[] {
    return this.alarmList;
  }

  /** Alarms when at least one execution of `stateMachine` fails in a period (`label`: Sync, Verify, SyncDatasets). */
  alarmOnFailedExecutions(stateMachine: sfn.IStateMachine, label = 'Sync'): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, label === 'Sync' ? 'ExecutionsFailedAlarm' : `${label}ExecutionsFailedAlarm`, {
        alarmDescription: `syncproof: a ${label} execution failed; its run record and its error say why.`,
        metric: stateMachine.metricFailed({ period: this.alarmPeriod, statistic: cloudwatch.Stats.SUM }),
        ...this.atLeastOnce(),
      }),
    );
  }

  /** Alarms when at least one execution of `stateMachine` times out in a period. */
  alarmOnTimedOutExecutions(stateMachine: sfn.IStateMachine, label = 'Sync'): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, `${label}ExecutionsTimedOutAlarm`, {
        alarmDescription: `syncproof: a ${label} execution timed out; it recorded nothing, so look at its execution history.`,
        metric: stateMachine.metricTimedOut({ period: this.alarmPeriod, statistic: cloudwatch.Stats.SUM }),
        ...this.atLeastOnce(),
      }),
    );
  }

  /** Alarms while `queue` (a dead-letter queue) holds any message. */
  alarmOnDeadLetters(queue: sqs.IQueue): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
        alarmDescription: 'syncproof: S3 events the trigger could not process are in the dead-letter queue; those files are not loaded.',
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: this.alarmPeriod, statistic: cloudwatch.Stats.MAXIMUM }),
        ...this.atLeastOnce(),
      }),
    );
  }

  /**
   * Alarms when `dataset`'s lag (LagSeconds, reported by the record stage when a run or a
   * verification ends) reaches `failSeconds` (its `lagFail`) within an hour. A dataset that stops
   * running reports no lag: the missed-verification alarm covers that.
   */
  alarmOnLag(dataset: string, failSeconds: number): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, `LagAlarm-${dataset}`, {
        alarmDescription: `syncproof: dataset ${dataset} is ${failSeconds} s or more behind (lagFail); \`syncproof status\` shows what is proven.`,
        metric: syncproofMetric('LagSeconds', dataset, { period: Duration.hours(1), statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: failSeconds,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /** Alarms when a load of `dataset` quarantines a file (`syncproof ledger` lists them with the reason). */
  alarmOnQuarantines(dataset: string): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, `QuarantinesAlarm-${dataset}`, {
        alarmDescription: `syncproof: a load of dataset ${dataset} quarantined files; \`syncproof ledger ${dataset} --status quarantined\` says why.`,
        metric: syncproofMetric('Quarantines', dataset, { period: this.alarmPeriod, statistic: cloudwatch.Stats.SUM }),
        ...this.atLeastOnce(),
      }),
    );
  }

  /**
   * Alarms when no verification of `dataset` was recorded within its schedule's period plus
   * {@link VERIFICATION_MARGIN} (whole hours, at most CloudWatch's 7 days); missing data breaches,
   * so a schedule that never fires alarms too.
   */
  alarmOnMissedVerification(dataset: string, schedulePeriodSeconds: number): cloudwatch.Alarm {
    const hours = Math.ceil((schedulePeriodSeconds + VERIFICATION_MARGIN.toSeconds()) / 3600);
    const period = Duration.seconds(Math.min(hours * 3600, MAX_ALARM_RANGE_SECONDS));
    return this.add(
      new cloudwatch.Alarm(this, `VerificationMissedAlarm-${dataset}`, {
        alarmDescription: `syncproof: no verification of dataset ${dataset} was recorded in the last ${period.toHumanString()}; its VerifyStateMachine schedule did not run or did not finish.`,
        metric: syncproofMetric('Verifications', dataset, { period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
  }

  private atLeastOnce(): Pick<cloudwatch.AlarmProps, 'threshold' | 'evaluationPeriods' | 'comparisonOperator' | 'treatMissingData'> {
    return { threshold: 1, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING };
  }

  /** Makes an alarm created elsewhere one of {@link alarms}: it notifies the alerts topic too. */
  notifyOn(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    return this.add(alarm);
  }

  private add(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    if (this.alertTopic) {
      alarm.addAlarmAction(new actions.SnsAction(this.alertTopic));
      alarm.addOkAction(new actions.SnsAction(this.alertTopic));
    }
    this.alarmList.push(alarm);
    return alarm;
  }

  /** The alerts topic: `topicArn`'s, or a new one (own KMS key CloudWatch may use, TLS only); `emails` subscribed. */
  private createAlertTopic(alerts: AlertsConfig): sns.ITopic {
    let topic: sns.ITopic;
    if (alerts.topicArn) {
      topic = sns.Topic.fromTopicArn(this, 'AlertTopic', alerts.topicArn);
    } else {
      const key = new kms.Key(this, 'AlertTopicKey', { description: 'syncproof alert topic', enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
      // CloudWatch publishes alarm notifications to an encrypted topic only with use of its key.
      key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
      topic = new sns.Topic(this, 'AlertTopic', { displayName: 'syncproof alerts', masterKey: key, enforceSSL: true });
      new CfnOutput(Stack.of(this), 'AlertsTopicArn', { value: topic.topicArn, description: 'syncproof alerts topic: subscribe to be told when an alarm fires' });
    }
    for (const email of alerts.emails ?? []) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
