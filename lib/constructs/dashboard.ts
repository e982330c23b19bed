import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_DIMENSIONS, METRIC_NAMESPACE, METRICS, type MetricName } from '../../lambdas/core/metric-names';
import { syncproofMetric } from './observability';

/** One dataset on the dashboard: its name and its lag threshold (the line on its lag graph). */
export interface DashboardDataset {
  readonly name: string;
  /** `lagFail` in seconds. */
  readonly lagFailSeconds: number;
}

/** Properties of {@link SyncproofDashboard}. */
export interface SyncproofDashboardProps {
  readonly datasets: readonly DashboardDataset[];
  /** The state machines whose executions are graphed, by label (Sync, Verify, SyncDatasets). */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /** The trigger's dead-letter queue; none when no dataset is fed by uploads. */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Dashboard name. @default `<stack>-syncproof` (CloudFormation's generated name when omitted) */
  readonly dashboardName?: string;
}

const WIDTH = 12;
const HEIGHT = 6;

/**
 * The stack's CloudWatch dashboard: executions passed and failed per state machine; rows, files and
 * bytes loaded per dataset; each dataset's lag with its lagFail line; quarantines and dead letters;
 * Data API statements and retries; stage durations. Every syncproof metric it names comes from
 * `METRICS` (lambdas/core/metric-names.ts), the names the stages emit.
 */
export class SyncproofDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SyncproofDashboardProps) {
    super(scope, id);
    const datasets = props.datasets;
    const perDataset = (name: MetricName, statistic: string, period = Duration.hours(1)) =>
      datasets.map((d) => syncproofMetric(name, d.name, { statistic, period, label: d.name }));
    const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: WIDTH, height: HEIGHT, ...options });

    const executions = Object.entries(props.stateMachines).flatMap(([label, sm]) => [
      sm.metricSucceeded({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1), label: `${label} succeeded` }),
      sm.metricFailed({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1), label: `${label} failed` }),
      sm.metricTimedOut({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1), label: `${label} timed out` }),
    ]);
    const widgets: cloudwatch.IWidget[] = [
      new cloudwatch.TextWidget({ markdown: '# syncproof\nRuns, what they loaded, lag and alarms. Metrics: namespace `syncproof`, dimension `dataset` (README, "Metrics").', width: 24, height: 2 }),
      graph('Executions (runs passed / failed)', executions),
      graph('Rows loaded', perDataset(METRICS.rows, cloudwatch.Stats.SUM)),
      graph('Files loaded', perDataset(METRICS.files, cloudwatch.Stats.SUM)),
      graph('Bytes loaded', perDataset(METRICS.bytes, cloudwatch.Stats.SUM)),
      ...datasets.map((d) =>
        graph(`Lag: ${d.name}`, [syncproofMetric(METRICS.lagSeconds, d.name, { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.hours(1), label: 'lag (s)' })], {
          leftAnnotations: [{ value: d.lagFailSeconds, label: 'lagFail', color: cloudwatch.Color.RED }],
        }),
      ),
      graph('Quarantined files', perDataset(METRICS.quarantines, cloudwatch.Stats.SUM), {
        ...(props.deadLetterQueue
          ? { right: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(5), label: 'dead letters' })] }
          : {}),
      }),
      graph('Verifications (recorded / failed)', [...perDataset(METRICS.verifications, cloudwatch.Stats.SUM), ...perDataset(METRICS.verificationsFailed, cloudwatch.Stats.SUM).map((m) => m.with({ label: `${m.label} failed` }))]),
      graph('Data API statements', perDataset(METRICS.dataApiStatements, cloudwatch.Stats.SUM), { right: perDataset(METRICS.retries, cloudwatch.Stats.SUM).map((m) => m.with({ label: `${m.label} retries` })) }),
      graph('Stage durations (ms, p90)', [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRIC_NAMESPACE},${METRIC_DIMENSIONS.dataset},${METRIC_DIMENSIONS.service},${METRIC_DIMENSIONS.stage}} MetricName="${METRICS.durationMs}"', 'p90', 300)`,
          label: '',
          period: Duration.minutes(5),
        }),
      ]),
    ];
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}), widgets: rows(widgets) });
  }
}

/** Widgets two to a row (the text widget alone on the first). */
function rows(widgets: readonly cloudwatch.IWidget[]): cloudwatch.IWidget[][] {
  const [head, ...rest] = widgets;
  const out: cloudwatch.IWidget[][] = head ? [[head]] : [];
  for (let i = 0; i < rest.length; i += 2) out.push(rest.slice(i, i + 2));
  return out;
}
