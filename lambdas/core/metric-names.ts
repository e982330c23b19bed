/**
 * The CloudWatch metrics syncproof emits (Embedded Metric Format, through the stages' MetricSink)
 * and the names the stack's dashboard and alarms read. One constant object, used by both sides,
 * so the dashboard can never name a metric the code does not emit.
 */

/** CloudWatch namespace of every syncproof metric. */
export const METRIC_NAMESPACE = 'syncproof';

/**
 * The `service` dimension Powertools Metrics adds to every metric it writes (its serviceName);
 * the stack's metrics name it too, since CloudWatch matches a metric by all its dimensions.
 */
export const METRIC_SERVICE = 'syncproof';

/** Dimension names. Every metric has `service` and `dataset`; DurationMs also `stage`. */
export const METRIC_DIMENSIONS = { service: 'service', dataset: 'dataset', stage: 'stage' } as const;

/** Metric names, with the unit each is emitted in. */
export const METRICS = {
  /** Rows a load committed into the warehouse (load stage, once per batch). */
  rows: 'Rows',
  /** Files (object versions) a load committed. */
  files: 'Files',
  /** Bytes of the files a load committed (their S3 sizes). */
  bytes: 'Bytes',
  /** Files a load set aside as quarantined (their ledger entries say why). */
  quarantines: 'Quarantines',
  /** A dataset's sync lag when a run completed or a verification was recorded (record stage). */
  lagSeconds: 'LagSeconds',
  /** Wall time of one stage invocation, dimension `stage` (every stage). */
  durationMs: 'DurationMs',
  /** SQL statements one stage invocation sent to the warehouse (a transaction counts each of its statements). */
  dataApiStatements: 'DataApiStatements',
  /** Transient errors retried inside a stage invocation (a warehouse transaction submitted again). */
  retries: 'Retries',
  /** Sync runs that ended FAILED (record stage). */
  runsFailed: 'RunsFailed',
  /** Verifications recorded, whatever their verdict (record stage): the schedule alarm counts them. */
  verifications: 'Verifications',
  /** Verifications recorded FAILED (record stage). */
  verificationsFailed: 'VerificationsFailed',
  /** Run events the record stage could not put on the event bus (the run's status is unaffected). */
  eventsFailed: 'EventsFailed',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** CloudWatch units syncproof uses (a subset of Powertools' MetricUnit values, which are CloudWatch's). */
export type MetricUnitName = 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds';

/** The unit each metric is emitted in. */
export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnitName>> = {
  Rows: 'Count',
  Files: 'Count',
  Bytes: 'Bytes',
  Quarantines: 'Count',
  LagSeconds: 'Seconds',
  DurationMs: 'Milliseconds',
  DataApiStatements: 'Count',
  Retries: 'Count',
  RunsFailed: 'Count',
  Verifications: 'Count',
  VerificationsFailed: 'Count',
  EventsFailed: 'Count',
};
