import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { RunStore } from '../core/ports';
import type { StageLog } from '../core/stage-deps';
import { USAGE_FIELDS, usageDelta, usageOf, type Usage, type UsageField } from '../core/usage';

/** One invocation's figures while it runs (see lambdas/core/usage.ts for each field's meaning). */
type Accumulator = Record<UsageField, number>;

/** The accumulator of the Lambda invocation whose async context a call runs in (none outside a stage). */
const current = new AsyncLocalStorage<Accumulator>();

/** DynamoDB operations that take `ReturnConsumedCapacity`, by what they consume. */
const DYNAMO_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const DYNAMO_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** DynamoDB errors that are still billed (a refused condition consumes the write). */
const BILLED_DYNAMO_ERRORS = new Set(['ConditionalCheckFailedException', 'TransactionCanceledException']);
/** S3 requests S3 does not bill. */
const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);
/** S3 operations billed in the PUT, COPY, POST, LIST class (the rest: GET, SELECT and other). */
const S3_PUT_CLASS = /^(Put|Copy|Post|List|Create|Upload|Complete|Restore)/;
/** Redshift Data API submissions (DescribeStatement, GetStatementResult are polls). */
const DATA_API_SUBMISSIONS = new Set(['ExecuteStatement', 'BatchExecuteStatement']);

/** The S3 request class of an operation: `put`, `get` or `free` (aws.amazon.com/s3/pricing, "Requests & data retrievals"). */
export function s3RequestClass(operation: string): 'put' | 'get' | 'free' {
  if (S3_FREE.has(operation)) return 'free';
  return S3_PUT_CLASS.test(operation) ? 'put' : 'get';
}

interface ConsumedCapacity {
  readonly CapacityUnits?: number;
}

function capacityUnits(consumed: unknown): number | undefined {
  if (consumed === undefined || consumed === null) return undefined;
  const list = (Array.isArray(consumed) ? consumed : [consumed]) as ConsumedCapacity[];
  return list.reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
}

interface MeteredClient {
  readonly config: { readonly defaultSigningName?: string; readonly serviceId?: string };
  readonly middlewareStack: {
    add(middleware: never, options: { step: 'initialize'; name: string; override?: boolean }): void;
    add(middleware: never, options: { step: 'deserialize'; name: string; override?: boolean }): void;
  };
}

type Next = (args: { input: Record<string, unknown> }) => Promise<{ output?: Record<string, unknown> }>;
type Context = { commandName?: string };

/** The SDK's `add` is overloaded per step; one call site for all three meters. */
function addMiddleware(client: MeteredClient, middleware: unknown, options: { step: 'initialize' | 'deserialize'; name: string; override: boolean }): void {
  (client.middlewareStack as unknown as { add(m: unknown, o: typeof options): void }).add(middleware, options);
}

const operationOf = (context: Context): string => (context.commandName ?? '').replace(/Command$/, '');

/**
 * Adds the usage meter to an SDK client (S3, DynamoDB, Redshift Data API); other clients are
 * returned unchanged. Outside a metered invocation ({@link meterInvocation}) it counts nothing.
 * - DynamoDB: asks every read and write for `ReturnConsumedCapacity: 'TOTAL'` (unless the caller
 *   asked for more) and adds what DynamoDB reports (dynalite reports it too, by the same rules);
 *   a billed response without it counts as the on-demand minimum, in `dynamoUnreported`.
 * - S3: each HTTP attempt by class (S3 bills retried requests; the counter sits inside the SDK's
 *   retry loop).
 * - Data API: each ExecuteStatement / BatchExecuteStatement.
 */
export function meterClient<C extends MeteredClient>(client: C): C {
  const service = client.config.defaultSigningName ?? '';
  if (service === 's3') {
    addMiddleware(client,
      (next: Next, context: Context) => async (args: { input: Record<string, unknown> }) => {
        const acc = current.getStore();
        if (acc) {
          const kind = s3RequestClass(operationOf(context));
          if (kind === 'put') acc.s3PutClass += 1;
          else if (kind === 'get') acc.s3GetClass += 1;
          else acc.s3Free += 1;
        }
        return next(args);
      },
      { step: 'deserialize', name: 'syncproofUsageMeter', override: true } as const,
    );
  } else if (service === 'dynamodb') {
    addMiddleware(client,
      (next: Next, context: Context) => async (args: { input: Record<string, unknown> }) => {
        const acc = current.getStore();
        const operation = operationOf(context);
        const read = DYNAMO_READS.has(operation);
        if (!acc || (!read && !DYNAMO_WRITES.has(operation))) return next(args);
        const input = args.input.ReturnConsumedCapacity === undefined ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' } : args.input;
        const minimum = read ? (input.ConsistentRead === true ? 1 : 0.5) : 1;
        const add = (units: number | undefined): void => {
          if (units === undefined) acc.dynamoUnreported += 1;
          if (read) acc.dynamoReadUnits += units ?? minimum;
          else acc.dynamoWriteUnits += units ?? minimum;
        };
        try {
          const result = await next({ ...args, input });
          add(capacityUnits(result.output?.ConsumedCapacity));
          return result;
        } catch (error) {
          if (BILLED_DYNAMO_ERRORS.has((error as { name?: string }).name ?? '')) add(undefined);
          throw error;
        }
      },
      { step: 'initialize', name: 'syncproofUsageMeter', override: true },
    );
  } else if (service === 'redshift-data') {
    addMiddleware(client,
      (next: Next, context: Context) => async (args: { input: Record<string, unknown> }) => {
        const acc = current.getStore();
        if (acc && DATA_API_SUBMISSIONS.has(operationOf(context))) acc.dataApiStatements += 1;
        return next(args);
      },
      { step: 'initialize', name: 'syncproofUsageMeter', override: true },
    );
  }
  return client;
}

/** What a Lambda invocation is billed by, besides its requests. */
export interface InvocationBilling {
  /** The function's configured memory, MB (Lambda context `memoryLimitInMB`); 0 when unknown (then no compute is counted). */
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
}

/** Where an invocation's figures go when it ends. */
export interface UsageSink {
  /** The run the invocation worked for (its input's `runId`); none: the figures reach only `observe`. */
  readonly runId?: string;
  readonly runs: RunStore;
  readonly log: StageLog;
  /** Told of every invocation's figures (the local runtime's hook; tests and the bench). */
  readonly observe?: (usage: Usage) => void;
}

/**
 * Runs one Lambda invocation's work with a fresh usage accumulator in its async context (so
 * concurrent invocations in one process never mix), then, whether it succeeded or threw, counts
 * the request and its compute (handler time rounded up to 1 ms, at least 1 ms, × `memoryMb`) and
 * adds the figures to the run (RunStore.addUsage: one DynamoDB `ADD`, counted as
 * `dynamoUsageWrites`). A failed usage write is logged and never fails the invocation.
 */
export async function meterInvocation<T>(billing: InvocationBilling, sink: UsageSink, work: () => Promise<T>): Promise<T> {
  const acc = Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as Accumulator;
  const started = performance.now();
  try {
    return await current.run(acc, work);
  } finally {
    const billedMs = Math.max(1, Math.ceil(performance.now() - started));
    acc.lambdaRequests += 1;
    if (billing.architecture === 'arm64') acc.lambdaArm64MbMs += billedMs * billing.memoryMb;
    else acc.lambdaX86MbMs += billedMs * billing.memoryMb;
    if (sink.runId && sink.runs.addUsage) acc.dynamoUsageWrites += 1;
    sink.observe?.(usageOf({ ...acc, sfnTransitions: null, redshiftRpuSeconds: null }));
    if (sink.runId && sink.runs.addUsage) {
      try {
        await sink.runs.addUsage(sink.runId, usageDelta(acc));
      } catch (error) {
        sink.log.warn('could not add this invocation\'s usage to its run; the run\'s usage misses it', { error: String(error) });
      }
    }
  }
}

/**
 * The local runtime puts the function's billing facts in the Lambda context under this key (in
 * AWS, `memoryLimitInMB` is in the context and the architecture is the process's own).
 */
export const LOCAL_BILLING = Symbol.for('syncproof.localBilling');

/** What the local runtime tells a stage about the function it runs as. */
export interface LocalBilling {
  readonly architecture: 'arm64' | 'x86_64';
  /** Told of every invocation's figures, with its stage. */
  readonly observe?: (stage: string, usage: Usage) => void;
}

/**
 * {@link meterInvocation} for a stage handler (createStageHandler): the run is the event's
 * `runId`; memory and architecture from the Lambda context (locally from {@link LOCAL_BILLING}).
 */
export function meterStage<T>(stage: string, event: unknown, context: unknown, deps: { readonly runs: RunStore; readonly log: StageLog }, work: () => Promise<T>): Promise<T> {
  const c = context as { memoryLimitInMB?: string | number; [LOCAL_BILLING]?: LocalBilling } | undefined;
  const local = c?.[LOCAL_BILLING];
  const memoryMb = Number(c?.memoryLimitInMB ?? process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 0) || 0;
  const architecture = local?.architecture ?? (process.arch === 'arm64' ? 'arm64' : 'x86_64');
  const runId = (event as { runId?: unknown } | null)?.runId;
  const observe = local?.observe;
  return meterInvocation(
    { memoryMb, architecture },
    { runId: typeof runId === 'string' && runId.length > 0 ? runId : undefined, runs: deps.runs, log: deps.log, ...(observe ? { observe: (u: Usage) => observe(stage, u) } : {}) },
    work,
  );
}
