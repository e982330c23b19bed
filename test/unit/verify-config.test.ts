import { ConfigurationError } from '../../lambdas/core/errors';
import { parseConfig } from '../../lambdas/core/config';
import { contentSettingsOf, deletesOf, verifyTierOf } from '../../lambdas/core/verify-config';

const files = { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['order_id'] };
const source = { name: 'crm', target: { schema: 'public', table: 'crm' }, source: { engine: 'postgres', url: 'postgres://h/db', table: 'public.crm', cursorColumn: 'updated_at' } };

function problem(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('parsed');
}

describe('verification settings of a dataset', () => {
  it('defaults to the counts tier, reporting deletes, and reladiff’s content settings', () => {
    const [d] = parseConfig({ datasets: [files] }).datasets;
    expect([verifyTierOf(d!), deletesOf(d!), contentSettingsOf(d!)]).toEqual(['counts', 'report', { factor: 32, fetchRows: 16_384, floatTolerance: 1e-9, sampleSegments: 16 }]);
  });

  it('takes every setting as given, content settings one by one over the defaults', () => {
    const [d] = parseConfig({ datasets: [{ ...source, verifyTier: 'sampled', reconcileWindow: '24h', deletes: 'propagate', content: { factor: 8, floatTolerance: 1e-6 } }] }).datasets;
    expect([verifyTierOf(d!), d!.reconcileWindow, deletesOf(d!), contentSettingsOf(d!)]).toEqual(['sampled', '24h', 'propagate', { factor: 8, fetchRows: 16_384, floatTolerance: 1e-6, sampleSegments: 16 }]);
  });

  it.each<[string, unknown, string]>([
    ['a misspelt tier, naming the nearest', { ...files, verifyTier: 'count' }, "datasets.0.verifyTier: Invalid option: expected one of \"counts\"|\"content\"|\"sampled\"; did you mean 'counts'?"],
    ['a misspelt key, naming the nearest', { ...files, verifyTeir: 'counts' }, "datasets.0.verifyTeir: unknown key; did you mean 'verifyTier'?"],
    ['a misspelt content key, naming the nearest', { ...files, content: { fetchRow: 10 } }, "datasets.0.content.fetchRow: unknown key; did you mean 'fetchRows'?"],
    ['a reconcile window that is no duration', { ...source, reconcileWindow: '24 hours' }, "datasets.0.reconcileWindow: must be a duration such as '24h', '30m' or '7d' (time cursors), or a whole number of ids (integer cursors)"],
    ['a reconcile window of nothing', { ...source, reconcileWindow: '0h' }, 'datasets.0.reconcileWindow: must be a duration'],
    ['a reconcile window on a dataset without a source', { ...files, reconcileWindow: '24h' }, "datasets.0.reconcileWindow: remove it: it re-examines a source's recent cursor, and this dataset has no source"],
    ['a split factor below 2', { ...files, content: { factor: 1 } }, 'datasets.0.content.factor'],
    ['a misspelt delete policy', { ...files, deletes: 'propagte' }, "did you mean 'propagate'?"],
  ])('refuses %s', (_what, dataset, expected) => {
    expect(problem({ datasets: [dataset] })).toContain(expected);
  });
});
