import { StateMachine } from 'aws-local-stepfunctions';
import { syncDefinition, templateOf, type Definition } from './support';

/**
 * Runs the synthesized SyncStateMachine definition (tokens replaced by placeholder ARNs) on
 * aws-local-stepfunctions with fake stage handlers, to check the data flow between states:
 * what each Lambda receives, and what a failed execution reports.
 */
type Handler = (payload: Record<string, unknown>) => unknown;

/** The Task states, whose retry intervals the runs set to 0. */
const TASKS = ['AcquireRun', 'Extract', 'ExtractNext', 'Inventory', 'ChecksumSample', 'Discover', 'Load', 'Verify', 'CommitWatermark', 'Finish', 'RecordFailure'];

class StageError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

describe('SyncStateMachine flow', () => {
  let definition: Definition;
  beforeAll(() => {
    const raw = syncDefinition(templateOf()).raw.replace(/#\{([A-Za-z0-9:]+)(?:\.Arn)?\}/g, (_m, id: string) =>
      id === 'AWS::Partition' ? 'aws' : `arn:aws:lambda:us-east-1:000000000000:function:${id}`,
    );
    definition = JSON.parse(raw) as Definition;
  });

  const EXECUTION_ARN = 'arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:run-1';
  // No other run of the dataset is live.
  const acquired: Handler = () => ({ lock: 'ACQUIRED', locked: true });
  // An S3-fed dataset: nothing to extract, no watermark to move.
  const extract: Handler = () => ({ status: 'SKIPPED' });
  const inventory: Handler = (p) => ({ runId: p.runId, dataset: 'orders', mode: p.mode, status: 'PASSED', findings: 0 });
  const checksum: Handler = (p) => ({ runId: p.runId, dataset: 'orders', mode: p.mode, status: 'PASSED', sampled: 1 });
  const commit: Handler = () => ({ status: 'SKIPPED' });

  async function run(handlers: Record<string, Handler>, input: unknown = { dataset: 'orders' }) {
    const calls: [string, Record<string, unknown>][] = [];
    // AcquireRun's calls are kept apart: the stage sequences below start after the run lock.
    const acquires: Record<string, unknown>[] = [];
    const byState: Record<string, Handler> = { AcquireRun: acquired, Extract: extract, Inventory: inventory, ChecksumSample: checksum, CommitWatermark: commit, ...handlers };
    // Extract and ExtractNext invoke the same Lambda.
    byState.ExtractNext ??= byState.Extract!;
    const local = Object.fromEntries(
      Object.entries(byState).map(([state, handler]) => [
        state,
        async (effective: Record<string, unknown>) => {
          const payload = effective.Payload as Record<string, unknown>;
          if (state === 'AcquireRun') acquires.push(payload);
          else calls.push([state, payload]);
          return { Payload: await handler(payload), StatusCode: 200 };
        },
      ]),
    );
    const execution = new StateMachine(definition as never, { validationOptions: { checkArn: false } }).run(input as never, {
      overrides: {
        taskResourceLocalHandlers: local as never,
        retryIntervalOverrides: Object.fromEntries(TASKS.map((task) => [task, 0])),
        waitTimeOverrides: { LoadWait: 0, RunWait: 0 },
      },
      context: { Execution: { Id: EXECUTION_ARN, Name: 'run-1', Input: input } } as never,
    });
    try {
      return { calls, acquires, output: await execution.result, error: undefined };
    } catch (error) {
      // The runner wraps the Fail state's error: cause.name is its Error, cause.message its Cause.
      return { calls, acquires, output: undefined, error: (error as { cause: { name: string; message: string } }).cause };
    }
  }

  const record: Handler = (p) => ({ runId: p.runId, dataset: p.dataset ?? 'orders', status: p.outcome === 'failed' ? 'FAILED' : 'PASSED' });
  const statesOf = (calls: [string, unknown][]): string[] => calls.map(([state]) => state);

  it('finishes without loading when Discover finds no files', async () => {
    const { calls, output } = await run({
      Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 0, batchUri: null, hasMore: false }),
      Finish: record,
    });
    expect(calls).toEqual([
      ['Extract', { input: { dataset: 'orders' }, runId: 'run-1' }],
      ['Inventory', { input: { dataset: 'orders' }, runId: 'run-1', mode: 'sync' }],
      ['ChecksumSample', { input: { dataset: 'orders' }, runId: 'run-1', mode: 'sync' }],
      ['Discover', { input: { dataset: 'orders' }, runId: 'run-1' }],
      ['CommitWatermark', { runId: 'run-1', dataset: 'orders' }],
      ['Finish', { outcome: 'completed', runId: 'run-1', executionArn: EXECUTION_ARN, dataset: 'orders', input: { dataset: 'orders' } }],
    ]);
    expect(output).toEqual({ runId: 'run-1', dataset: 'orders', status: 'PASSED' });
  });

  it('loads and verifies batch after batch until none is left', async () => {
    let batch = 0;
    const { calls } = await run({
      Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 2, batchUri: `s3://b/_syncproof/batch-${++batch}.json`, hasMore: batch < 2 }),
      Load: (p) => ({ ...p, loadId: `load-${batch}`, status: 'DONE' }),
      Verify: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'PASSED', reportUri: 's3://b/r.json', hasMore: p.hasMore }),
      Finish: record,
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'Load', 'Verify', 'Discover', 'Load', 'Verify', 'CommitWatermark', 'Finish']);
    expect(calls[6]).toEqual(['Discover', { input: { dataset: 'orders' }, runId: 'run-1' }]);
    expect(calls[4]?.[1]).toMatchObject({ batchUri: 's3://b/_syncproof/batch-1.json', files: 2 });
  });

  it("gives every Discover of the loop the trigger's objects, so later batches stay event runs", async () => {
    const input = { dataset: 'orders', trigger: { source: 's3', objects: 1, events: [{ key: 'orders/a.parquet', etag: 'e', size: 1 }] } };
    let batch = 0;
    const { calls } = await run(
      {
        Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 1, batchUri: `s3://b/_syncproof/batch-${++batch}.json`, hasMore: batch < 3 }),
        Load: (p) => ({ ...p, loadId: `load-${batch}`, status: 'DONE' }),
        Verify: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'PASSED', reportUri: 's3://b/r.json', hasMore: p.hasMore }),
        Finish: record,
      },
      input,
    );
    const discovers = calls.filter(([state]) => state === 'Discover').map(([, payload]) => payload);
    expect(discovers).toEqual([1, 2, 3].map(() => ({ input, runId: 'run-1' })));
  });

  it('waits and calls Load again with its own output while a warehouse statement is still running', async () => {
    let loads = 0;
    const { calls } = await run({
      Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 1, batchUri: 's3://b/_syncproof/b.json', hasMore: false }),
      Load: (p) => ({ ...p, loadId: 'load-1', status: ++loads < 3 ? 'RUNNING' : 'DONE' }),
      Verify: (p) => ({ runId: p.runId, dataset: p.dataset, status: 'PASSED', reportUri: 's3://b/r.json', hasMore: false }),
      Finish: record,
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'Load', 'Load', 'Load', 'Verify', 'CommitWatermark', 'Finish']);
    expect(calls[5]?.[1]).toMatchObject({ batchUri: 's3://b/_syncproof/b.json', status: 'RUNNING', loadId: 'load-1' });
  });

  it('retries a TransientError and carries on', async () => {
    let attempts = 0;
    const { calls, output } = await run({
      Discover: () => {
        attempts += 1;
        if (attempts < 3) throw new StageError('TransientError', 'throttled');
        return { runId: 'run-1', dataset: 'orders', files: 0, batchUri: null, hasMore: false };
      },
      Finish: record,
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'Discover', 'Discover', 'CommitWatermark', 'Finish']);
    expect(output).toMatchObject({ status: 'PASSED' });
  });

  it('records a failed verification and fails the execution with its error', async () => {
    const { calls, error } = await run({
      Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 1, batchUri: 's3://b/_syncproof/b.json', hasMore: false }),
      Load: (p) => ({ ...p, loadId: 'load-1', status: 'DONE' }),
      Verify: () => {
        throw new StageError('TerminalError', 'row counts differ: 10 in files, 9 in the warehouse');
      },
      RecordFailure: record,
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'Load', 'Verify', 'RecordFailure']);
    expect(calls[6]?.[1]).toEqual({
      outcome: 'failed',
      runId: 'run-1',
      executionArn: EXECUTION_ARN,
      input: { dataset: 'orders' },
      error: { Error: 'TerminalError', Cause: 'row counts differ: 10 in files, 9 in the warehouse' },
    });
    expect(error).toMatchObject({ name: 'TerminalError', message: 'row counts differ: 10 in files, 9 in the warehouse' });
  });

  it('still fails with the original error when recording the failure fails too', async () => {
    const { calls, error } = await run({
      Discover: () => {
        throw new StageError('ConfigurationError', "unknown dataset 'nope'");
      },
      RecordFailure: () => {
        throw new StageError('TerminalError', 'runs table unreachable');
      },
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'RecordFailure']);
    expect(error).toMatchObject({ name: 'ConfigurationError', message: "unknown dataset 'nope'" });
  });

  it('loads nothing when the checksum sample finds a file that contradicts its manifest', async () => {
    const { calls, error } = await run({
      ChecksumSample: () => {
        throw new StageError('IntegrityCheckFailedError', 'orders: 1 of 2 sampled files differ from their expected checksum or size');
      },
      RecordFailure: record,
    });
    expect(calls.map(([state]) => state)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'RecordFailure']);
    expect(error).toMatchObject({ name: 'IntegrityCheckFailedError' });
  });

  describe('database path', () => {
    const discoverNothing: Handler = () => ({ runId: 'run-1', dataset: 'orders', files: 0, batchUri: null, hasMore: false });
    const discoverOneBatch: Handler = () => ({ runId: 'run-1', dataset: 'orders', files: 1, batchUri: 's3://b/_syncproof/b.json', hasMore: false });
    const loadDone: Handler = (p) => ({ ...p, loadId: 'load-1', status: 'DONE' });
    const verifyPassed: Handler = (p) => ({ runId: p.runId, dataset: p.dataset, status: 'PASSED', reportUri: 's3://b/r.json', hasMore: p.hasMore });
    const extracted: Handler = () => ({ status: 'DONE', documentKey: '_syncproof/extractions/orders/run-1.json', rows: 10, files: 1, hasMore: false });
    const moved: Handler = () => ({ status: 'MOVED', version: 2, position: { cursor: '2026-01-02', key: ['10'] }, rows: 10, loadedRows: 10 });
    const fail = (name: string, message: string): Handler => () => {
      throw new StageError(name, message);
    };

    it('goes from Extract straight to Inventory when the extract returns SKIPPED', async () => {
      const { calls } = await run({ Extract: () => ({ status: 'SKIPPED' }), Discover: discoverNothing, Finish: record });
      expect(statesOf(calls).slice(0, 2)).toEqual(['Extract', 'Inventory']);
      expect(statesOf(calls)).not.toContain('ExtractNext');
    });

    it("calls the extract again with the previous invocation's continuation and the execution input while it returns MORE", async () => {
      const input = { dataset: 'orders', mode: 'incremental', limit: 1000 };
      const continuation = (n: number) => ({ documentKey: '_syncproof/extractions/orders/run-1.json', next: { kind: 'after', position: { cursor: `2026-01-0${n}`, key: [String(n)] } } });
      let invocations = 0;
      const { calls } = await run(
        {
          Extract: () => (++invocations < 3 ? { status: 'MORE', continuation: continuation(invocations), rows: 1000 * invocations, files: invocations } : extracted({})),
          Discover: discoverNothing,
          Finish: record,
        },
        input,
      );
      expect(calls.filter(([state]) => state.startsWith('Extract'))).toEqual([
        ['Extract', { input, runId: 'run-1' }],
        ['ExtractNext', { input, runId: 'run-1', continuation: continuation(1) }],
        ['ExtractNext', { input, runId: 'run-1', continuation: continuation(2) }],
      ]);
      expect(statesOf(calls)[3]).toBe('Inventory');
    });

    it('retries the extract while the source is unavailable, then carries on', async () => {
      let attempts = 0;
      const { calls, output } = await run({
        Extract: () => (++attempts < 3 ? fail('SourceUnavailableError', 'connect ECONNREFUSED 10.0.0.5:3306')({}) : extracted({})),
        Discover: discoverNothing,
        Finish: record,
      });
      expect(statesOf(calls).slice(0, 4)).toEqual(['Extract', 'Extract', 'Extract', 'Inventory']);
      expect(output).toMatchObject({ status: 'PASSED' });
    });

    it("commits the watermark with the run id and the execution's dataset after the last batch's Verify", async () => {
      let batch = 0;
      const { calls } = await run({
        Extract: extracted,
        Discover: () => ({ runId: 'run-1', dataset: 'orders', files: 1, batchUri: `s3://b/_syncproof/batch-${++batch}.json`, hasMore: batch < 2 }),
        Load: loadDone,
        Verify: verifyPassed,
        CommitWatermark: moved,
        Finish: record,
      });
      expect(statesOf(calls).slice(-4)).toEqual(['Load', 'Verify', 'CommitWatermark', 'Finish']);
      expect(calls.filter(([state]) => state === 'CommitWatermark')).toEqual([['CommitWatermark', { runId: 'run-1', dataset: 'orders' }]]);
      expect(statesOf(calls).filter((state) => state === 'Verify')).toHaveLength(2);
    });

    it('commits the watermark with the run id and the dataset when Discover finds no files', async () => {
      const { calls } = await run({ Extract: extracted, Discover: discoverNothing, CommitWatermark: moved, Finish: record });
      expect(calls.slice(-3)).toEqual([
        ['Discover', { input: { dataset: 'orders' }, runId: 'run-1' }],
        ['CommitWatermark', { runId: 'run-1', dataset: 'orders' }],
        ['Finish', { outcome: 'completed', runId: 'run-1', executionArn: EXECUTION_ARN, dataset: 'orders', input: { dataset: 'orders' } }],
      ]);
    });

    it.each([
      ['Verify', 'VerificationFailedError', { Load: loadDone, Verify: fail('VerificationFailedError', 'orders: 10 rows in the files, 9 in the warehouse') }],
      ['Load', 'WarehouseStatementError', { Load: fail('WarehouseStatementError', 'COPY failed: column count mismatch') }],
    ])('never commits the watermark when %s fails: the execution fails through RecordFailure with its %s', async (failing, errorName, handlers) => {
      const { calls, error } = await run({ Extract: extracted, Discover: discoverOneBatch, CommitWatermark: moved, RecordFailure: record, ...handlers });
      expect(statesOf(calls).slice(-2)).toEqual([failing, 'RecordFailure']);
      expect(statesOf(calls)).not.toContain('CommitWatermark');
      expect(error?.name).toBe(errorName);
    });

    it('fails the execution through RecordFailure, without reaching Finish, when CommitWatermark cannot prove the run loaded', async () => {
      const cause = "dataset 'orders': the watermark was not moved, because 1 of the run's 1 files are not proven loaded";
      const { calls, error } = await run({
        Extract: extracted,
        Discover: discoverOneBatch,
        Load: loadDone,
        Verify: verifyPassed,
        CommitWatermark: fail('VerificationFailedError', cause),
        RecordFailure: record,
        Finish: record,
      });
      expect(statesOf(calls).slice(-2)).toEqual(['CommitWatermark', 'RecordFailure']);
      expect(calls.at(-1)?.[1]).toMatchObject({ outcome: 'failed', runId: 'run-1', error: { Error: 'VerificationFailedError', Cause: cause } });
      expect(statesOf(calls)).not.toContain('Finish');
      expect(error).toMatchObject({ name: 'VerificationFailedError', message: cause });
    });
  });

  describe('one run per dataset at a time', () => {
    const discoverNothing: Handler = () => ({ runId: 'run-1', dataset: 'orders', files: 0, batchUri: null, hasMore: false });
    const holder = { lock: 'ATTACHED', dataset: 'orders', attachedTo: 'run-0', attachedToArn: 'arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:run-0' };

    it('asks for the run lock with the execution, its input and its state before anything else', async () => {
      const { calls, acquires } = await run({ Discover: discoverNothing, Finish: record });
      expect(acquires).toEqual([{ outcome: 'acquire', runId: 'run-1', executionArn: EXECUTION_ARN, input: { dataset: 'orders' }, state: { dataset: 'orders' } }]);
      expect(statesOf(calls)[0]).toBe('Extract');
    });

    it('takes no run lock in an S3 event run', async () => {
      const input = { dataset: 'orders', trigger: { source: 's3', objects: 1, events: [{ key: 'orders/a.parquet', etag: 'e', size: 1 }] } };
      const { calls, acquires } = await run({ Discover: discoverNothing, Finish: record }, input);
      expect(acquires).toEqual([]);
      expect(statesOf(calls)[0]).toBe('Extract');
    });

    it('while attached, asks again with its last answer until the live run ended, then ends with its outcome without extracting or loading', async () => {
      let asked = 0;
      const ended = { ...holder, lock: 'ATTACHED_ENDED', runId: 'run-0', status: 'PASSED', executionStatus: 'SUCCEEDED' };
      const { calls, acquires, output } = await run({ AcquireRun: () => (++asked < 3 ? holder : ended) });
      expect(calls).toEqual([]);
      expect(acquires.map((a) => a.state)).toEqual([{ dataset: 'orders' }, { dataset: 'orders', runLock: holder }, { dataset: 'orders', runLock: holder }]);
      expect(output).toEqual(ended);
    });

    it('fails with AttachedRunFailedError when the run it attached to failed', async () => {
      const ended = { ...holder, lock: 'ATTACHED_ENDED', runId: 'run-0', status: 'FAILED', executionStatus: 'FAILED', error: 'AttachedRunFailedError', cause: 'attached to execution run-0, which ended FAILED' };
      const { calls, error } = await run({ AcquireRun: () => ended });
      expect(calls).toEqual([]);
      expect(error).toMatchObject({ name: 'AttachedRunFailedError', message: 'attached to execution run-0, which ended FAILED' });
    });

    it('waits while a run of another mode is live, then runs', async () => {
      let asked = 0;
      const wait = { lock: 'WAIT', dataset: 'orders', holder: 'run-0', holderArn: holder.attachedToArn, holderMode: 'incremental' };
      const { calls, acquires } = await run({ AcquireRun: () => (++asked < 3 ? wait : { lock: 'ACQUIRED', locked: true }), Discover: discoverNothing, Finish: record }, { dataset: 'orders', mode: 'full' });
      expect(acquires).toHaveLength(3);
      expect(statesOf(calls)).toEqual(['Extract', 'Inventory', 'ChecksumSample', 'Discover', 'CommitWatermark', 'Finish']);
    });

    it('records the failure when the run lock cannot be taken', async () => {
      const { calls, error } = await run({ AcquireRun: () => { throw new StageError('InvalidInputError', 'invalid execution input: dataset: required'); }, Finish: record, RecordFailure: record });
      expect(statesOf(calls)).toEqual(['RecordFailure']);
      expect(error).toMatchObject({ name: 'InvalidInputError' });
    });
  });
});
