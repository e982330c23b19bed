import { repairExecutionName, reconcileSince } from '../../lambdas/verify/content';
import { RepairReportError, leftAloneText, readRepairRequest } from '../../lambdas/core/repair';
import { MemoryObjectStore } from '../fixtures/memory-object-store';

/** A window report as lambdas/core/content/window-check.ts writes it (the parts a repair reads, and some it does not). */
function windowReport(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataset: 'orders',
    runId: 'verify-1',
    status: 'FAILED',
    checkedAt: '2026-01-01T00:00:00.000Z',
    window: { whole: false, from: { cursor: '2024-03-01 09:00:00', key: [] }, to: { cursor: '2024-03-01 10:00:00', key: ['40'] }, cursorColumn: 'updated_at', filter: null },
    notCompared: [],
    compared: {},
    missing: { count: 2, keys: [['7'], ['8']] },
    extra: { count: 1, keys: [['9']] },
    changed: { count: 1, rows: [{ key: ['8'], columns: [{ column: 'amount', source: '1', warehouse: '2' }] }] },
    deleted: { count: 1, keys: [['10']], policy: 'report' },
    duplicates: [],
    notDivergences: { count: 0, keys: [] },
    zeroDatesAsNull: 0,
    proof: { status: 'PARTIAL', allKeysListed: true },
    ...over,
  };
}

describe('readRepairRequest', () => {
  const uri = (key: string) => `s3://test-bucket/${key}`;

  it('takes the missing and changed keys of a window report, once each, and counts what it leaves to deletes', async () => {
    const objects = new MemoryObjectStore();
    await objects.putJson('_syncproof/reports/orders/r/content.json', windowReport());
    const r = await readRepairRequest(objects, uri('_syncproof/reports/orders/r/content.json'), 'orders');
    expect([r.keys, r.missing, r.changed, r.extra, r.deleted, r.allKeysListed, r.notListed, r.window]).toEqual([[['7'], ['8']], 2, 1, 1, 1, true, 0, { whole: false, from: { cursor: '2024-03-01 09:00:00', key: [] } }]);
    expect(leftAloneText(r)).toMatch(/1 extra, 1 deleted at the source keys are not repaired .*"deletes": "propagate"/);
  });

  it("reads a content-tier report's comparison", async () => {
    const objects = new MemoryObjectStore();
    await objects.putJson('_syncproof/reports/orders/v/content-tier.json', { tier: 'content', mode: 'database', dataset: 'orders', runId: 'v', comparison: windowReport({ changed: { count: 0, rows: [] } }) });
    expect((await readRepairRequest(objects, uri('_syncproof/reports/orders/v/content-tier.json'), 'orders')).keys).toEqual([['7'], ['8']]);
  });

  it('counts the keys a report found but did not list (the first 1,000 of more): repaired as listed, the rest named', async () => {
    const objects = new MemoryObjectStore();
    await objects.putJson('r.json', windowReport({ missing: { count: 1500, keys: [['7'], ['8']] }, proof: { status: 'PARTIAL', allKeysListed: false } }));
    const r = await readRepairRequest(objects, uri('r.json'), 'orders');
    expect([r.keys.length, r.allKeysListed, r.notListed]).toEqual([2, false, 1498]);
  });

  it.each([
    ['a missing report', undefined, uri('nope.json'), /does not exist/],
    ['another bucket', windowReport(), 's3://other/r.json', /not in this deployment's bucket 'test-bucket'/],
    ['no URI', windowReport(), 'r.json', /is not an s3:\/\/bucket\/key URI/],
    ['another dataset', windowReport({ dataset: 'invoices' }), uri('r.json'), /is a report of dataset 'invoices', not 'orders'/],
    ['a file dataset', { tier: 'content', mode: 'file', dataset: 'orders', runId: 'v' }, uri('r.json'), /file dataset 'orders': a repair re-extracts rows from a source/],
    ['not a content report', { hello: 1 }, uri('r.json'), /is not a content report \(/],
  ])('refuses %s, naming it and what to give', async (_name, body, reportUri, message) => {
    const objects = new MemoryObjectStore();
    if (body) await objects.putJson('r.json', body);
    await expect(readRepairRequest(objects, reportUri, 'orders')).rejects.toThrow(RepairReportError);
    await expect(readRepairRequest(objects, reportUri, 'orders')).rejects.toThrow(message);
  });
});

describe('reconcile window', () => {
  it('starts the window at the watermark cursor minus a duration (time cursors) or a number of ids (integer cursors)', () => {
    expect(reconcileSince('2024-03-01 10:00:40', 'time', '1h')).toBe('2024-03-01 09:00:40.000000');
    expect(reconcileSince('2024-03-01 10:00:40.123456', 'time', '2d')).toBe('2024-02-28 10:00:40.123456');
    expect(reconcileSince('5000', 'integer', 1000)).toBe('4000');
    expect(() => reconcileSince('5000', 'integer', '24h')).toThrow(/a duration, but the cursor is an integer column/);
  });

  it('names the repair run after the verification, within Step Functions\' 80 characters', () => {
    expect(repairExecutionName('verify-orders-1')).toBe('verify-orders-1-repair');
    const long = repairExecutionName(`verify-${'x'.repeat(70)}`);
    expect([long.length <= 80, long.startsWith('repair-'), long === repairExecutionName(`verify-${'x'.repeat(70)}`)]).toEqual([true, true, true]);
  });
});
