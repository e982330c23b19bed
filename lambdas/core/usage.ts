/**
 * What one run consumed, in the units AWS bills. Every figure is counted, never guessed, except
 * where a field's doc says "estimate"; a figure nobody can count is `null`, never a made-up number.
 *
 * How each is counted (lambdas/adapters/usage-meter.ts):
 * - at the SDK clients of the stage Lambdas (one middleware added where clients are built,
 *   lambdas/adapters/clients.ts), into the accumulator of the Lambda invocation that sent the call;
 * - each invocation adds its figures to the run's item with one DynamoDB `ADD` (atomic, so
 *   concurrent Lambda containers and retried invocations all add up) — see RunStore.addUsage;
 * - state transitions by the Record stage at the run's end (see {@link Usage.sfnTransitions}).
 */
export interface Usage {
  /**
   * Step Functions state transitions (states entered) of the run's execution up to and including
   * its Record state, counted from the execution history (GetExecutionHistory in AWS, the runner's
   * event log locally). The one or two states after Record (Succeed/Fail) are not in it. `null`
   * for runs whose Record input names no execution (a SyncDatasetsStateMachine parent, runs
   * started before this was counted).
   */
  readonly sfnTransitions: number | null;
  /** Lambda invocations of the run's stages (each billed as a request). */
  readonly lambdaRequests: number;
  /**
   * Σ (billed duration in ms, each invocation's handler time rounded up to 1 ms) × (the function's
   * configured memory in MB), for arm64 functions. The init phase of a cold start is not in it.
   */
  readonly lambdaArm64MbMs: number;
  /** As {@link lambdaArm64MbMs}, for x86_64 functions. */
  readonly lambdaX86MbMs: number;
  /**
   * DynamoDB read request units, as DynamoDB reported them (`ReturnConsumedCapacity: 'TOTAL'` on
   * every request; 1 RRU per 4 KB strongly consistent, ½ eventually consistent). Multiples of ½.
   */
  readonly dynamoReadUnits: number;
  /** DynamoDB write request units as DynamoDB reported them (1 WRU per 1 KB written). */
  readonly dynamoWriteUnits: number;
  /**
   * DynamoDB requests whose response reported no consumed capacity (a refused conditional write,
   * an error): each is counted as the on-demand minimum (1 WRU for a write, ½ or 1 RRU for a read,
   * included in the unit figures above) — an estimate, counted here so that it is visible.
   */
  readonly dynamoUnreported: number;
  /**
   * The run item's own usage writes (one UpdateItem ADD per invocation, after the invocation's
   * figures are closed): not measured; priced as 1 WRU each (an estimate: ≥ 1 WRU, more for a run
   * item over 1 KB).
   */
  readonly dynamoUsageWrites: number;
  /** S3 requests of the PUT/COPY/POST/LIST class (PutObject, CopyObject, multipart parts, ListObjectsV2, …). */
  readonly s3PutClass: number;
  /** S3 requests of the GET class (GetObject, HeadObject, GetObjectAttributes, …). */
  readonly s3GetClass: number;
  /** S3 requests S3 does not bill (DeleteObject(s), AbortMultipartUpload). */
  readonly s3Free: number;
  /** Redshift Data API statement submissions (ExecuteStatement, BatchExecuteStatement); the Data API itself is free. */
  readonly dataApiStatements: number;
  /**
   * Redshift Serverless RPU-seconds of the run's statements. The Data API does not report them
   * (DescribeStatement has no compute figure; SYS_SERVERLESS_USAGE is per workgroup, per minute,
   * not per statement), so this is `null` unless an adapter can measure it.
   */
  readonly redshiftRpuSeconds: number | null;
}

/** The numeric fields of {@link Usage}, in a fixed order (the run item stores each as `usage_<name>`). */
export const USAGE_FIELDS = [
  'sfnTransitions',
  'lambdaRequests',
  'lambdaArm64MbMs',
  'lambdaX86MbMs',
  'dynamoReadUnits',
  'dynamoWriteUnits',
  'dynamoUnreported',
  'dynamoUsageWrites',
  's3PutClass',
  's3GetClass',
  's3Free',
  'dataApiStatements',
  'redshiftRpuSeconds',
] as const satisfies readonly (keyof Usage)[];

export type UsageField = (typeof USAGE_FIELDS)[number];

/** Fields that stay `null` until something counted them. */
const NULLABLE: ReadonlySet<UsageField> = new Set(['sfnTransitions', 'redshiftRpuSeconds']);

/** A run that consumed nothing yet (the nullable figures null). */
export function emptyUsage(): Usage {
  const out: Record<string, number | null> = {};
  for (const f of USAGE_FIELDS) out[f] = NULLABLE.has(f) ? null : 0;
  return out as unknown as Usage;
}

/** Figures to add to a run: only the fields that are non-zero (what an `ADD` writes). */
export type UsageDelta = Partial<Record<UsageField, number>>;

/** The non-zero fields of `usage` (nulls dropped): what one invocation adds to its run. */
export function usageDelta(usage: Partial<Record<UsageField, number | null>>): UsageDelta {
  const out: UsageDelta = {};
  for (const f of USAGE_FIELDS) {
    const v = usage[f];
    if (typeof v === 'number' && v !== 0) out[f] = v;
  }
  return out;
}

/**
 * A run's usage from its stored figures (field → number, absent when nothing added it): absent
 * counters are 0, absent nullable figures stay null.
 */
export function usageOf(stored: Partial<Record<UsageField, number | null | undefined>>): Usage {
  const out: Record<string, number | null> = {};
  for (const f of USAGE_FIELDS) {
    const v = stored[f];
    out[f] = typeof v === 'number' ? v : NULLABLE.has(f) ? null : 0;
  }
  return out as unknown as Usage;
}

/** The sum of two usages; a nullable figure is null only when it is null in both. */
export function addUsage(a: Usage, b: Usage): Usage {
  const out: Record<string, number | null> = {};
  for (const f of USAGE_FIELDS) {
    const x = a[f];
    const y = b[f];
    out[f] = x === null && y === null ? null : (x ?? 0) + (y ?? 0);
  }
  return out as unknown as Usage;
}
