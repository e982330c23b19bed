import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionJournal } from '../../local/execution-journal';
import { LAMBDA_TIMEOUT_ERROR, invokeLambda, type LocalHandler } from '../../local/lambda-sandbox';

describe('local Lambda invocation', () => {
  it('counts getRemainingTimeInMillis down from the timeout, from the moment of the call', async () => {
    const seen: number[] = [];
    const handler: LocalHandler = async (_event, context) => {
      const c = context as { getRemainingTimeInMillis(): number };
      seen.push(c.getRemainingTimeInMillis());
      await new Promise((r) => setTimeout(r, 30));
      seen.push(c.getRemainingTimeInMillis());
      return 'done';
    };
    expect(await invokeLambda(handler, {}, { functionName: 'f', timeoutMs: 5000 })).toBe('done');
    expect(seen[0]).toBeLessThanOrEqual(5000);
    expect(seen[1]).toBeLessThan(seen[0]!);
  });

  it('fails an invocation that outlives its timeout with Sandbox.Timedout and the Lambda message', async () => {
    let late = false;
    const handler: LocalHandler = async () => {
      await new Promise((r) => setTimeout(r, 200));
      late = true;
      return 'too late';
    };
    const failure = invokeLambda(handler, {}, { functionName: 'f', timeoutMs: 20 });
    await expect(failure).rejects.toMatchObject({ name: LAMBDA_TIMEOUT_ERROR });
    const cause = JSON.parse(((await failure.catch((e: Error) => e)) as Error).message) as { errorType: string; errorMessage: string };
    expect(cause.errorType).toBe('Sandbox.Timedout');
    expect(cause.errorMessage).toMatch(/^RequestId: \S+ Error: Task timed out after 0\.02 seconds$/);
    expect(late).toBe(false); // abandoned, not awaited
    await new Promise((r) => setTimeout(r, 250));
    expect(late).toBe(true); // and it went on running, as a zombie may
  });

  it("reports a handler's error as Lambda does: its name as Error, the errorType/errorMessage JSON as Cause", async () => {
    const handler: LocalHandler = async () => {
      throw Object.assign(new Error('bad input'), { name: 'InvalidInputError' });
    };
    const error = (await invokeLambda(handler, {}, { functionName: 'f', timeoutMs: 1000 }).catch((e: Error) => e)) as Error;
    expect(error.name).toBe('InvalidInputError');
    expect(JSON.parse(error.message)).toMatchObject({ errorType: 'InvalidInputError', errorMessage: 'bad input' });
  });
});

describe('execution journal', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncproof-journal-test-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a later process the running executions with their last state, and the ended names', async () => {
    const { journal } = await ExecutionJournal.open(dir);
    const a = { name: 'run-a', machine: 'sync' as const, input: { dataset: 'orders' } };
    await journal.begin(a);
    await journal.enter(a, 'Discover', { dataset: 'orders' });
    await journal.enter(a, 'Load', { batchUri: 's3://b/k' });
    const b = { name: 'run-b', machine: 'verify' as const, input: { dataset: 'orders' } };
    await journal.begin(b);
    await journal.end('run-b', 'SUCCEEDED');

    const later = await ExecutionJournal.open(dir);
    expect(later.running).toEqual([{ ...a, state: { name: 'Load', input: { batchUri: 's3://b/k' } } }]);
    expect([...later.finished]).toEqual(['run-b']);
  });

  it('ignores a half-written line of the ended names and a leftover temporary file', async () => {
    const { journal } = await ExecutionJournal.open(dir);
    await journal.end('done', 'FAILED');
    const { appendFile, writeFile } = await import('node:fs/promises');
    await appendFile(join(dir, 'finished.jsonl'), '{"name":"cut');
    await writeFile(join(dir, 'running', 'x.json.partial'), '{"na');
    const later = await ExecutionJournal.open(dir);
    expect([...later.finished]).toEqual(['done']);
    expect(later.running).toEqual([]);
  });
});
