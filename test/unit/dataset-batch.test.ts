import { parseConfig } from '../../lambdas/core/config';
import { DATASETS_FAILED, MAX_EXECUTION_NAME, childExecutionName, planDatasets, summarizeDatasets } from '../../lambdas/core/dataset-batch';
import { InvalidInputError } from '../../lambdas/core/errors';
import { ChildExecutionRefused, childTaskResult, describeExecution, startExecutionRequest } from '../../local/child-execution';

const config = parseConfig({
  datasets: ['orders', 'customers'].map((name) => ({ name, prefix: `${name}/`, keyColumns: ['id'], target: { schema: 'public', table: name } })),
});

describe('childExecutionName', () => {
  it('is the same for the same parent and dataset, and differs across datasets and parents', () => {
    expect(childExecutionName('nightly', 'orders')).toBe(childExecutionName('nightly', 'orders'));
    expect(childExecutionName('nightly', 'orders')).not.toBe(childExecutionName('nightly', 'customers'));
    expect(childExecutionName('nightly', 'orders')).not.toBe(childExecutionName('weekly', 'orders'));
    expect(childExecutionName('nightly', 'orders')).toMatch(/^nightly-orders-[0-9a-f]{8}$/);
  });

  it('fits 80 characters for the longest parent and dataset names, and keeps cut parents apart', () => {
    const parent = 'p'.repeat(80);
    const dataset = `d${'x'.repeat(39)}`;
    const name = childExecutionName(parent, dataset);
    expect(name.length).toBe(MAX_EXECUTION_NAME);
    expect(name.endsWith(`-${dataset}-${name.slice(-8)}`)).toBe(true);
    expect(childExecutionName(`${parent}a`, dataset)).not.toBe(childExecutionName(`${parent}b`, dataset));
  });

  it('never splits a surrogate pair when it cuts the parent name', () => {
    const name = childExecutionName('😀'.repeat(80), 'orders');
    expect(Array.from(name).every((c) => c !== '\ud83d' && c !== '\ude00')).toBe(true);
    expect(Array.from(name).length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
  });
});

describe('planDatasets', () => {
  it('names one child per dataset and gives it the shared options', () => {
    expect(planDatasets({ datasets: ['orders', 'customers'], mode: 'reconcile', limit: 10 }, config, 'run1')).toEqual([
      { dataset: 'orders', name: childExecutionName('run1', 'orders'), input: { dataset: 'orders', mode: 'reconcile', limit: 10 } },
      { dataset: 'customers', name: childExecutionName('run1', 'customers'), input: { dataset: 'customers', mode: 'reconcile', limit: 10 } },
    ]);
  });

  it.each([
    [{ datasets: [] }, 'datasets: name at least one dataset'],
    [{ datasets: ['orders'], dataset: 'orders' }, "dataset: unknown key; did you mean 'datasets'?"],
    [{ datasets: ['orders'], limit: 0 }, 'limit'],
    [{ datasets: ['orders', 'orders'] }, "dataset 'orders' is named twice"],
    [{ datasets: ['orderz'] }, "unknown dataset 'orderz'"],
  ])('refuses %j', (input, message) => {
    expect(() => planDatasets(input, config, 'run1')).toThrow(InvalidInputError);
    expect(() => planDatasets(input, config, 'run1')).toThrow(message);
  });
});

describe('summarizeDatasets', () => {
  const succeeded = (dataset: string, status: string) => ({ dataset, name: `n-${dataset}`, input: { dataset }, execution: { Status: 'SUCCEEDED', Output: { runId: `n-${dataset}`, dataset, status } } });

  it('reports the worst status and no failure when every child succeeded', () => {
    expect(summarizeDatasets([succeeded('orders', 'PASSED'), succeeded('customers', 'PASSED_WITH_WARNINGS')])).toEqual({
      status: 'PASSED_WITH_WARNINGS',
      datasets: [
        { dataset: 'orders', execution: 'n-orders', executionStatus: 'SUCCEEDED', status: 'PASSED' },
        { dataset: 'customers', execution: 'n-customers', executionStatus: 'SUCCEEDED', status: 'PASSED_WITH_WARNINGS' },
      ],
      failed: [],
      failedCount: 0,
    });
  });

  it("names a failed child with the child's own error, read from the States.TaskFailed cause", () => {
    const childCause = JSON.stringify({ errorType: 'SourceTableMissingError', errorMessage: 'source table public.orders does not exist' });
    const description = { Cause: childCause, Error: 'SourceTableMissingError', ExecutionArn: 'arn:x', Status: 'FAILED' };
    const summary = summarizeDatasets([
      { dataset: 'orders', name: 'n-orders', input: { dataset: 'orders' }, error: { Error: 'States.TaskFailed', Cause: JSON.stringify(description) } },
      succeeded('customers', 'PASSED'),
    ]);
    expect(summary).toMatchObject({ status: 'FAILED', failed: ['orders'], failedCount: 1, error: DATASETS_FAILED });
    expect(summary.datasets[0]).toEqual({ dataset: 'orders', execution: 'n-orders', executionStatus: 'FAILED', status: 'FAILED', error: 'SourceTableMissingError: source table public.orders does not exist' });
    expect(summary.cause).toBe('1 of 2 datasets failed (the others went on): orders (SourceTableMissingError: source table public.orders does not exist)');
  });

  it('names a refused start by its error', () => {
    const summary = summarizeDatasets([{ dataset: 'orders', name: 'n', error: { Error: 'StepFunctions.ExecutionAlreadyExistsException', Cause: 'Execution Already Exists' } }]);
    expect(summary.datasets[0]?.error).toBe('StepFunctions.ExecutionAlreadyExistsException: Execution Already Exists');
  });
});

describe('the local startExecution.sync:2 result', () => {
  const arns = { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:SyncStateMachine:c1', stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:SyncStateMachine' };

  it('is the DescribeExecution in PascalCase, keys sorted, dates in epoch ms, Input and Output as JSON', () => {
    const d = describeExecution({ name: 'c1', status: 'SUCCEEDED', input: { dataset: 'orders' }, output: { status: 'PASSED' }, startDate: '2024-01-01T00:00:00.000Z', stopDate: '2024-01-01T00:00:01.000Z' }, arns);
    expect(Object.keys(d)).toEqual(['ExecutionArn', 'Input', 'InputDetails', 'Name', 'Output', 'OutputDetails', 'RedriveCount', 'RedriveStatus', 'RedriveStatusReason', 'StartDate', 'StateMachineArn', 'Status', 'StopDate']);
    expect(d).toMatchObject({ Input: { dataset: 'orders' }, Output: { status: 'PASSED' }, StartDate: 1704067200000, StopDate: 1704067201000, Status: 'SUCCEEDED' });
    expect(childTaskResult(d)).toBe(d);
  });

  it("fails a failed child's task with States.TaskFailed, its Cause the child's description", () => {
    const d = describeExecution({ name: 'c1', status: 'FAILED', input: {}, error: 'SourceTableMissingError', cause: 'gone' }, arns);
    expect(d).not.toHaveProperty('Output');
    let thrown: Error | undefined;
    try {
      childTaskResult(d);
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.name).toBe('States.TaskFailed');
    expect(JSON.parse(thrown!.message)).toMatchObject({ Status: 'FAILED', Error: 'SourceTableMissingError', Cause: 'gone', ExecutionArn: arns.executionArn });
  });

  it.each(['', 'a b', 'a:b', 'x'.repeat(81)])('refuses the name %j as StepFunctions.InvalidNameException', (name) => {
    expect(() => startExecutionRequest({ Name: name, Input: {} })).toThrow(ChildExecutionRefused);
    expect(() => startExecutionRequest({ Name: name })).toThrow(expect.objectContaining({ name: 'StepFunctions.InvalidNameException' }));
  });
});
