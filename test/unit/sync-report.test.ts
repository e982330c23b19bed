import type { RunRecord } from '../../lambdas/core/ports';
import { failureText, runWarnings } from '../../cli/sync-report';

const lambdaCause = (type: string, message: string) => JSON.stringify({ errorType: type, errorMessage: message, trace: [] });

describe('failureText', () => {
  it.each<[string, string | undefined, string | undefined, string]>([
    ["a Lambda's JSON cause", 'SourceValueError', lambdaCause('SourceValueError', 'public.big.t is too long; shorten it'), 'SourceValueError: public.big.t is too long; shorten it'],
    ['a run record error that already names the error', 'TerminalError', 'TerminalError: column x missing; change the table', 'TerminalError: column x missing; change the table'],
    ["a child execution's DescribeExecution cause", 'States.TaskFailed', JSON.stringify({ Error: 'SourceTableMissingError', Cause: lambdaCause('SourceTableMissingError', 'no table shop.beta') }), 'SourceTableMissingError: no table shop.beta'],
    ['a plain Step Functions cause', 'States.Timeout', 'the execution timed out', 'States.Timeout: the execution timed out'],
    ['no cause', 'States.Runtime', undefined, 'States.Runtime (no cause recorded)'],
    ['a run record error alone', undefined, 'VerificationFailedError: 2 rows missing', 'VerificationFailedError: 2 rows missing'],
  ])('%s', (_name, error, cause, expected) => {
    expect(failureText(error, cause)).toBe(expected);
  });
});

describe('runWarnings', () => {
  const run = (stages: Record<string, unknown>): RunRecord => ({ runId: 'r', dataset: 'd', status: 'PASSED_WITH_WARNINGS', startedAt: '', updatedAt: '', stages });

  it('collects the warnings of every stage once, with the dataset', () => {
    const warnings = runWarnings('orders', run({
      extract: { warnings: ['public.t.amount is NUMERIC without a precision; declare NUMERIC(p,s)'], nullCursorRows: 2, zeroDates: { created_at: 1 } },
      inventory: { warnings: ['1 object under orders/ is not a .parquet file and was skipped (orders/a.csv)'] },
      verify_l1: { status: 'PASSED_WITH_WARNINGS', warnings: ["'orders/x.parquet' quarantined: truncated; fix the file"] },
      verify_l2: { status: 'PASSED_WITH_WARNINGS', warnings: ["'orders/x.parquet' quarantined: truncated; fix the file"] },
    }));

    expect(warnings.map((w) => w.dataset)).toEqual(['orders', 'orders', 'orders', 'orders', 'orders']);
    expect(warnings.map((w) => w.message)).toEqual([
      'public.t.amount is NUMERIC without a precision; declare NUMERIC(p,s)',
      expect.stringMatching(/^2 source rows whose cursor is NULL were not extracted.*--mode full/),
      expect.stringMatching(/^1 zero dates in created_at were loaded as NULL/),
      '1 object under orders/ is not a .parquet file and was skipped (orders/a.csv)',
      "'orders/x.parquet' quarantined: truncated; fix the file",
    ]);
  });

  it('names the report when a run passed with warnings that no stage recorded', () => {
    const warned = { ...run({}), reportUri: 's3://b/_syncproof/reports/d/r/l.json' };
    expect(runWarnings('d', warned)).toEqual([{ dataset: 'd', message: expect.stringContaining('s3://b/_syncproof/reports/d/r/l.json') }]);
  });

  it('is empty for a run without warnings or without a record', () => {
    expect(runWarnings('orders', { ...run({ extract: { rows: 3, nullCursorRows: 0, zeroDates: {} } }), status: 'PASSED' })).toEqual([]);
    expect(runWarnings('orders', undefined)).toEqual([]);
  });
});
