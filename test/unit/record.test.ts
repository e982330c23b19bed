import { causeMessage } from '../../lambdas/record/record';
import { executionInputSchema } from '../../lambdas/discover/discover';

describe('causeMessage', () => {
  it('takes errorMessage out of a Lambda error cause, dropping the trace', () => {
    expect(causeMessage(JSON.stringify({ errorType: 'InvalidInputError', errorMessage: 'dataset: required', trace: ['at x'] }))).toBe(
      'dataset: required',
    );
  });

  it('keeps a plain-text cause as it is', () => {
    expect(causeMessage('States.Timeout')).toBe('States.Timeout');
  });
});

describe('executionInputSchema', () => {
  it('rejects unknown fields so a typo is reported, not ignored', () => {
    const r = executionInputSchema.safeParse({ datset: 'orders' });
    expect(r.success).toBe(false);
  });
});
