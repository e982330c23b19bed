import { parseConfig } from '../../lambdas/core/config';
import type { RunRecord, RunStore } from '../../lambdas/core/ports';
import type { ExecutionStatus, ExecutionStatusReader, RunLock, RunLockStore } from '../../lambdas/core/run-lock';
import type { StageDeps } from '../../lambdas/core/stage-deps';
import { acquireRun, releaseRun } from '../../lambdas/record/run-lock';

const ARN = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:${name}`;

/** The run lock store as DynamoDB's conditional writes behave. */
class MemoryLocks implements RunLockStore {
  readonly locks = new Map<string, RunLock>();
  get(dataset: string): Promise<RunLock | undefined> {
    return Promise.resolve(this.locks.get(dataset));
  }
  acquire(lock: RunLock, replacing?: string): Promise<boolean> {
    const held = this.locks.get(lock.dataset);
    const ok = replacing === undefined ? !held || held.holderArn === lock.holderArn : held !== undefined && (held.holderArn === lock.holderArn || held.holderArn === replacing);
    if (ok) this.locks.set(lock.dataset, lock);
    return Promise.resolve(ok);
  }
  release(dataset: string, holderArn: string): Promise<boolean> {
    if (this.locks.get(dataset)?.holderArn !== holderArn) return Promise.resolve(false);
    this.locks.delete(dataset);
    return Promise.resolve(true);
  }
}

class MemoryRuns implements RunStore {
  readonly records = new Map<string, RunRecord>();
  get(runId: string): Promise<RunRecord | undefined> {
    return Promise.resolve(this.records.get(runId));
  }
  start(run: RunRecord): Promise<boolean> {
    if (this.records.has(run.runId)) return Promise.resolve(false);
    this.records.set(run.runId, run);
    return Promise.resolve(true);
  }
  async *listByDataset(dataset: string): AsyncIterable<RunRecord> {
    yield* [...this.records.values()].filter((r) => r.dataset === dataset);
  }
  update(runId: string, patch: { stage?: string; output?: unknown; status?: RunRecord['status']; error?: string; dataset?: string }): Promise<void> {
    const r = this.records.get(runId) ?? { runId, dataset: patch.dataset ?? '', status: 'RUNNING' as const, startedAt: '', updatedAt: '', stages: {} };
    this.records.set(runId, { ...r, ...(patch.status ? { status: patch.status } : {}), ...(patch.error ? { error: patch.error } : {}), stages: { ...r.stages, ...(patch.stage ? { [patch.stage]: patch.output } : {}) } });
    return Promise.resolve();
  }
}

function setup(statuses: Record<string, ExecutionStatus> = {}) {
  const locks = new MemoryLocks();
  const runs = new MemoryRuns();
  const executions: ExecutionStatusReader = { describe: (arn) => Promise.resolve({ status: statuses[arn] ?? 'UNKNOWN' }) };
  const config = parseConfig({
    datasets: [
      { name: 'orders', target: { schema: 'public', table: 'orders' }, source: { engine: 'postgres', url: 'pglite:/x', table: 'shop.orders', cursorColumn: 'updated_at' } },
      { name: 'files', prefix: 'files/', target: { schema: 'public', table: 'files' }, keyColumns: ['id'], loadMode: 'upsert', format: 'parquet' },
    ],
  });
  const deps = { config, runLocks: locks, executions, runs, clock: { now: () => new Date('2024-06-01T00:00:00Z') }, log: { info: () => undefined, warn: () => undefined } } as unknown as StageDeps;
  const acquire = (name: string, input: Record<string, unknown> = { dataset: 'orders' }, state?: unknown) =>
    acquireRun({ outcome: 'acquire', runId: name, executionArn: ARN(name), input, ...(state ? { state: state as Record<string, unknown> } : {}) }, deps);
  return { locks, runs, deps, statuses, acquire };
}

describe('AcquireRun: one run per dataset at a time', () => {
  it('acquires a free dataset, and again for the same execution (a retried or restarted AcquireRun)', async () => {
    const { acquire, locks } = setup();
    expect(await acquire('a')).toEqual({ lock: 'ACQUIRED', locked: true });
    expect(await acquire('a')).toEqual({ lock: 'ACQUIRED', locked: true });
    expect(locks.locks.get('orders')).toMatchObject({ holder: 'a', holderArn: ARN('a'), mode: 'incremental' });
  });

  it('attaches to a live run of the same mode', async () => {
    const { acquire } = setup({ [ARN('a')]: 'RUNNING' });
    await acquire('a');
    expect(await acquire('b')).toEqual({ lock: 'ATTACHED', dataset: 'orders', attachedTo: 'a', attachedToArn: ARN('a') });
  });

  it('waits for a live run of another mode, and for a load-only run after another position', async () => {
    const { acquire } = setup({ [ARN('a')]: 'RUNNING', [ARN('c')]: 'RUNNING' });
    await acquire('a');
    expect(await acquire('b', { dataset: 'orders', mode: 'full' })).toMatchObject({ lock: 'WAIT', holder: 'a', holderMode: 'incremental' });
    const other = setup({ [ARN('c')]: 'RUNNING' });
    await other.acquire('c', { dataset: 'orders', mode: 'load-only', after: { cursor: '1', key: ['1'] } });
    expect(await other.acquire('d', { dataset: 'orders', mode: 'load-only', after: { cursor: '2', key: ['2'] } })).toMatchObject({ lock: 'WAIT' });
    expect(await other.acquire('e', { dataset: 'orders', mode: 'load-only', after: { cursor: '1', key: ['1'] } })).toMatchObject({ lock: 'ATTACHED', attachedTo: 'c' });
  });

  it.each<ExecutionStatus>(['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'UNKNOWN'])('takes over the lock of a holder Step Functions reports %s', async (status) => {
    const { acquire, locks, statuses } = setup({ [ARN('a')]: 'RUNNING' });
    await acquire('a');
    statuses[ARN('a')] = status;
    expect(await acquire('b')).toEqual({ lock: 'ACQUIRED', locked: true });
    expect(locks.locks.get('orders')?.holder).toBe('b');
  });

  it('once the run it attached to ended, records its outcome as its own and names it', async () => {
    const { acquire, runs, statuses } = setup({ [ARN('a')]: 'RUNNING' });
    await acquire('a');
    const attached = await acquire('b');
    expect(await acquire('b', { dataset: 'orders' }, { dataset: 'orders', runLock: attached })).toEqual(attached);
    statuses[ARN('a')] = 'SUCCEEDED';
    await runs.start({ runId: 'a', dataset: 'orders', status: 'PASSED', startedAt: '', updatedAt: '', stages: {} });
    expect(await acquire('b', { dataset: 'orders' }, { dataset: 'orders', runLock: attached })).toEqual({
      lock: 'ATTACHED_ENDED', dataset: 'orders', attachedTo: 'a', attachedToArn: ARN('a'), runId: 'a', status: 'PASSED', executionStatus: 'SUCCEEDED',
    });
    expect(runs.records.get('b')).toMatchObject({ status: 'PASSED', stages: { attached: { execution: 'a', executionArn: ARN('a'), executionStatus: 'SUCCEEDED' } } });
  });

  it('fails with AttachedRunFailedError when the run it attached to failed', async () => {
    const { acquire, runs, statuses } = setup({ [ARN('a')]: 'RUNNING' });
    await acquire('a');
    const attached = await acquire('b');
    statuses[ARN('a')] = 'FAILED';
    const ended = await acquire('b', { dataset: 'orders' }, { dataset: 'orders', runLock: attached });
    expect(ended).toMatchObject({ lock: 'ATTACHED_ENDED', status: 'FAILED', executionStatus: 'FAILED', error: 'AttachedRunFailedError' });
    expect(runs.records.get('b')?.status).toBe('FAILED');
  });

  it('takes no lock for a dataset fed by uploads, nor for an S3 event run', async () => {
    const { acquire, locks } = setup();
    expect(await acquire('a', { dataset: 'files' })).toEqual({ lock: 'ACQUIRED', locked: false });
    expect(locks.locks.size).toBe(0);
  });

  it('is released only by its holder', async () => {
    const { acquire, locks, deps } = setup();
    await acquire('a');
    await releaseRun(deps, { dataset: 'orders' }, ARN('b'));
    expect(locks.locks.get('orders')?.holder).toBe('a');
    await releaseRun(deps, { dataset: 'orders' }, ARN('a'));
    expect(locks.locks.has('orders')).toBe(false);
  });
});
