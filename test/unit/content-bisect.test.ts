import { compareContent, contentPassed, splitSegment } from '../../lambdas/core/content/bisect';
import { memorySide } from '../../lambdas/core/content/memory-side';
import type { ComparisonPlan } from '../../lambdas/core/content/model';
import { canonicalRow, decimalText, floatText, normalizeValue, rowHash, timestampText } from '../../lambdas/core/content/normalize';

const plan = (over: Partial<ComparisonPlan> = {}): ComparisonPlan => ({
  key: [{ a: 'id', b: 'id', type: { kind: 'integer' } }],
  columns: [
    { a: 'name', b: 'name', type: { kind: 'text' } },
    { a: 'price', b: 'price', type: { kind: 'decimal', scale: 2 } },
    { a: 'ratio', b: 'ratio', type: { kind: 'float', digits: 9 } },
  ],
  segmentation: 'range',
  factor: 4,
  fetchRows: 16,
  floatTolerance: 1e-9,
  ...over,
});

function table(n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `row ${i + 1}`, price: `${i}.5`, ratio: i / 7 }));
}

describe('normalization', () => {
  it('keeps the canonical row injective: NULL ≠ empty text, split points matter, separators escaped', () => {
    expect(canonicalRow([null])).not.toBe(canonicalRow(['']));
    expect(canonicalRow(['a', 'bc'])).not.toBe(canonicalRow(['ab', 'c']));
    expect(canonicalRow(['a|b'])).not.toBe(canonicalRow(['a', 'b']));
    expect(canonicalRow(['~N'])).not.toBe(canonicalRow([null]));
    expect(rowHash(['x', null])).not.toEqual(rowHash(['x', '']));
  });

  it('normalizes decimals at their scale, floats to significant digits, -0 as 0', () => {
    expect(decimalText('12.3', 2)).toBe('12.30');
    expect(decimalText('-0.001', 2)).toBe('0.00');
    expect(decimalText('2.345', 2)).toBe('2.35');
    expect(decimalText('-2.345', 2)).toBe('-2.35');
    expect(decimalText('1e-7', 8)).toBe('0.00000010');
    expect(normalizeValue(-0, { kind: 'decimal', scale: 1 })).toBe('0.0');
    expect(floatText(-0, 9)).toBe('0');
    expect(floatText(123.456, 4)).toBe('1235e2');
    expect(floatText(1 / 3, 9)).toBe(floatText(1 / 3 + 1e-15, 9));
  });

  it('truncates timestamps to a precision, in UTC', () => {
    expect(timestampText('2024-01-02 03:04:05.123456', 3)).toBe('2024-01-02 03:04:05.123');
    expect(timestampText('2024-01-02T03:04:05.9+02:00', 0)).toBe('2024-01-02 01:04:05');
    expect(timestampText(new Date('2024-01-02T03:04:05.120Z'), 6)).toBe('2024-01-02 03:04:05.120000');
    expect(timestampText(1_704_164_645_123_456n, 6)).toBe('2024-01-02 03:04:05.123456');
  });
});

describe('compareContent', () => {
  it.each(['range', 'hash'] as const)('passes equal tables (%s)', async (segmentation) => {
    const result = await compareContent(memorySide('a', table(500)), memorySide('b', table(500)), plan({ segmentation }));
    expect(contentPassed(result)).toBe(true);
    expect(result.compared.rowsA).toBe(500);
    expect(result.compared.rowsB).toBe(500);
  });

  it.each(['range', 'hash'] as const)('finds k differences in O(k log n) segment queries (%s)', async (segmentation) => {
    const n = 20_000;
    const p = plan({ segmentation });
    const b = table(n);
    const k = 5;
    for (const i of [17, 4_000, 9_999, 12_345, 19_990]) b[i] = { ...b[i]!, name: `${b[i]!.name}!` };
    const result = await compareContent(memorySide('a', table(n)), memorySide('b', b), p);
    expect(result.changedCount).toBe(k);
    expect(result.changed.map((c) => c.key[0])).toEqual(['18', '4001', '10000', '12346', '19991']);
    const depth = Math.ceil(Math.log(n / p.fetchRows) / Math.log(p.factor)) + 1;
    const bound = k * p.factor * depth;
    // Scanning every leaf segment would cost 2 · n / fetchRows queries: the bound must be far below it.
    expect(bound).toBeLessThan((2 * n) / p.fetchRows / 4);
    expect(result.compared.segmentQueries).toBeLessThanOrEqual(bound);
  });

  it('reports missing, extra and changed rows, and NULL vs empty text as a change', async () => {
    const a = table(100);
    const b = table(100).filter((r) => r.id !== 10);
    b.push({ id: 101, name: 'new', price: '1', ratio: 0 });
    const at = (rows: typeof a, id: number) => rows.findIndex((r) => r.id === id);
    b[at(b, 22)] = { ...b[at(b, 22)]!, name: null as unknown as string };
    a[at(a, 23)] = { ...a[at(a, 23)]!, name: '' };
    b[at(b, 23)] = { ...b[at(b, 23)]!, name: null as unknown as string };
    const result = await compareContent(memorySide('a', a), memorySide('b', b), plan());
    expect(result.missing).toEqual([['10']]);
    expect(result.extra).toEqual([['101']]);
    expect(result.changed.map((c) => c.key[0])).toEqual(['22', '23']);
    expect(result.changed[1]!.columns).toEqual([{ column: 'name', a: '', b: null }]);
  });

  it('compares rows whose key is NULL under range segmentation too', async () => {
    const b = [...table(100), { id: null as unknown as number, name: 'no key', price: '1', ratio: 0 }];
    const result = await compareContent(memorySide('a', table(100)), memorySide('b', b), plan());
    expect(result.extra).toEqual([[null]]);
    expect(result.compared.rowsB).toBe(101);
  });

  it('reports a duplicated row with how many times its key is held', async () => {
    const b = [...table(100), table(100)[41]!];
    const result = await compareContent(memorySide('a', table(100)), memorySide('b', b), plan({ segmentation: 'hash' }));
    expect(result.duplicates).toEqual([{ side: 'b', key: ['42'], times: 2 }]);
    expect(contentPassed(result)).toBe(false);
  });

  it('does not report floats within the tolerance, and reports those beyond it', async () => {
    const b = table(100);
    b[5] = { ...b[5]!, ratio: b[5]!.ratio * (1 + 1e-12) };
    b[6] = { ...b[6]!, ratio: b[6]!.ratio * (1 + 1e-6) };
    const result = await compareContent(memorySide('a', table(100)), memorySide('b', b), plan());
    expect(result.changed.map((c) => c.key[0])).toEqual(['7']);
  });

  it('compares only the filtered rows on both sides', async () => {
    const b = table(100);
    b[90] = { ...b[90]!, name: 'changed' };
    const filter = { a: 'id', b: 'id', type: { kind: 'integer' } as const, from: '1', to: '50' };
    const result = await compareContent(memorySide('a', table(100)), memorySide('b', b), plan(), { filter });
    expect(contentPassed(result)).toBe(true);
    expect(result.compared.rowsA).toBe(50);
  });

  it('splits hash segments into residues of a larger modulus, and ranges into ≤ factor parts', () => {
    expect(splitSegment({ kind: 'hash', modulus: 4, residue: 1 }, 2)).toEqual([
      { kind: 'hash', modulus: 8, residue: 1 },
      { kind: 'hash', modulus: 8, residue: 5 },
    ]);
    expect(splitSegment({ kind: 'range', lo: '0', hi: '3' }, 4)).toHaveLength(3);
    expect(splitSegment({ kind: 'range', lo: '5', hi: '6' }, 4)).toEqual([]);
  });
});
