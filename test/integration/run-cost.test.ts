import { runUsageAndCost } from '../../lambdas/core/cost';
import { DEFAULT_PRICES } from '../../lambdas/core/prices';
import type { RunRecord } from '../../lambdas/core/ports';
import type { Usage } from '../../lambdas/core/usage';
import { s3RequestClass } from '../../lambdas/adapters/usage-meter';
import type { AwsCall } from '../../local/call-observer';
import type { ExecutionSummary, LocalRuntime } from '../../local/runtime';
import { ordersFile, ordersState, range, startRuntime } from './support';

const FILES = 6;

/** What the stages did during one run, counted by means other than the usage meter. */
interface Observed {
  readonly summary: ExecutionSummary;
  readonly run: RunRecord;
  /** S3 calls of the stage clients by class (the runtime's call observer, a middleware of its own). */
  readonly s3: { put: number; get: number };
  /** Submissions the local Data API server received (its own counter). */
  readonly submissions: number;
  /** Stage invocations (the runtime's per-invocation usage hook). */
  readonly invocations: number;
}

/**
 * A run's metered usage, read back from its run item in DynamoDB, against what the run really
 * did: the S3 requests the stage clients sent, the statements the local Data API server
 * received, the Lambda invocations, the states the runner entered.
 */
describe('run usage and cost on the local runtime', () => {
  let runtime: LocalRuntime;
  const calls: AwsCall[] = [];
  const invocations: { stage: string; usage: Usage }[] = [];

  async function reconcileRun(): Promise<Observed> {
    calls.length = 0;
    invocations.length = 0;
    const before = runtime.dataApi()?.stats().submissions ?? 0;
    const summary = await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' });
    const run = await runtime.deps.runs.get(summary.name);
    if (!run) throw new Error(`no run record for ${summary.name}`);
    const s3 = { put: 0, get: 0 };
    for (const c of calls) {
      if (c.service !== 's3') continue;
      const kind = s3RequestClass(c.operation);
      if (kind === 'put') s3.put += 1;
      if (kind === 'get') s3.get += 1;
    }
    return { summary, run, s3, submissions: (runtime.dataApi()?.stats().submissions ?? 0) - before, invocations: invocations.length };
  }

  let first: Observed;
  let second: Observed;

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false, observeAwsCalls: (c) => calls.push(c), onInvocationUsage: (stage, usage) => invocations.push({ stage, usage }) });
    for (let i = 0; i < FILES; i++) await runtime.deps.objects.put(`orders/cost/f-${i}.parquet`, ordersFile(range(i * 100 + 1, 100), 0, 'new'));
    first = await reconcileRun();
    second = await reconcileRun();
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('loads the files, and the run item carries what the run consumed', async () => {
    expect(await ordersState(runtime)).toEqual({ rows: FILES * 100, keys: FILES * 100 });
    expect(first.run.status).toBe('PASSED');
    expect(first.run.usage).toBeDefined();
  });

  it('counts the S3 requests the stages sent, by class', () => {
    expect(first.run.usage?.s3PutClass).toBe(first.s3.put);
    expect(first.run.usage?.s3GetClass).toBe(first.s3.get);
    // Each file's footer is read (ranged GETs) before its load; the run writes its batch and documents.
    expect(first.run.usage?.s3GetClass).toBeGreaterThanOrEqual(FILES);
    expect(first.run.usage?.s3PutClass).toBeGreaterThanOrEqual(2);
  });

  it('counts the Data API statements the local Data API server received', () => {
    expect(first.submissions).toBeGreaterThan(0);
    expect(first.run.usage?.dataApiStatements).toBe(first.submissions);
  });

  it('counts each stage invocation as a Lambda request with arm64 compute at its memory', () => {
    expect(first.run.usage?.lambdaRequests).toBe(first.invocations);
    // The stack's stage Lambdas are arm64, 1,024 MB or more: at least 1 ms each.
    expect(first.run.usage?.lambdaArm64MbMs).toBeGreaterThanOrEqual(first.invocations * 1024);
    expect(first.run.usage?.lambdaX86MbMs).toBe(0);
    expect(first.run.usage?.dynamoUsageWrites).toBe(first.invocations);
  });

  it('records DynamoDB request units as DynamoDB reported them', () => {
    expect(first.run.usage?.dynamoReadUnits).toBeGreaterThan(0);
    // Each file's ledger entry is written at least once (discovered, claimed, settled).
    expect(first.run.usage?.dynamoWriteUnits).toBeGreaterThanOrEqual(FILES);
    // A refused conditional write (the second start of the run) reports no capacity: counted at the minimum.
    expect(first.run.usage?.dynamoUnreported).toBe(1);
  });

  it('counts the state transitions up to Record, and leaves RPU-seconds unmeasured', () => {
    const counted = first.run.usage?.sfnTransitions ?? 0;
    expect(counted).toBeGreaterThan(0);
    // The states after Record (Succeed) are not in the count: the runner saw them.
    expect(first.summary.transitions - counted).toBeGreaterThanOrEqual(0);
    expect(first.summary.transitions - counted).toBeLessThanOrEqual(2);
    expect(first.run.usage?.redshiftRpuSeconds).toBeNull();
  });

  it('counts the state transitions and every stage invocation of a verification run too', async () => {
    invocations.length = 0;
    const verification = await runtime.startVerification('orders');
    const run = await runtime.deps.runs.get(verification.name);
    // Every stage of the VerifyStateMachine may add to the run item (its role allows the ADD).
    expect(run?.usage?.lambdaRequests).toBe(invocations.length);
    expect(run?.usage?.sfnTransitions).toBeGreaterThan(0);
    expect(verification.transitions - (run?.usage?.sfnTransitions ?? 0)).toBeLessThanOrEqual(2);
    expect(run?.usage?.s3GetClass).toBeGreaterThan(0);
  });

  it('prices the run from its record, and a second run with no new data consumes and costs less', () => {
    const a = runUsageAndCost(first.run, DEFAULT_PRICES);
    const b = runUsageAndCost(second.run, DEFAULT_PRICES);
    expect(second.run.status).toBe('NO_WORK');
    expect(b.usage.s3PutClass + b.usage.s3GetClass).toBeLessThan(a.usage.s3PutClass + a.usage.s3GetClass);
    expect(b.usage.dataApiStatements).toBeLessThan(a.usage.dataApiStatements);
    expect(b.usage.lambdaRequests).toBeLessThan(a.usage.lambdaRequests);
    expect(b.cost.totalMicroUsd).toBeLessThan(a.cost.totalMicroUsd);
    expect(a.cost.totalMicroUsd).toBeGreaterThan(0);
  });
});
