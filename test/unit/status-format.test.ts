import { sinceInstant } from '../../cli/runs-command';
import { evidenceLines, orderedStages } from '../../cli/runs-show-format';
import { parseFilters, valueProblem } from '../../cli/sample-command';
import { csvField, formatRows, readableValue } from '../../cli/sample-format';

describe('sample output', () => {
  it('quotes CSV fields as RFC 4180 says: commas, quotes and line breaks; NULL is an empty field', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', null, 42].map(csvField)).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '', '42']);
    expect(formatRows(['id', 'note'], [{ id: 1, note: 'x,y' }, { id: 2, note: null }], 'csv')).toBe('id,note\r\n1,"x,y"\r\n2,');
  });

  it('shows NULL, binary as 0x… and long text cut with its length in a table', () => {
    expect(readableValue('\\x00ff', true)).toBe('0x00ff');
    expect(readableValue('\\x00ff', false)).toBe('\\x00ff');
    const table = formatRows(['id', 'bytes', 'note'], [{ id: 1, bytes: readableValue('\\xdeadbeef', true), note: 'n'.repeat(100) }, { id: 2, bytes: null, note: 'a\nb' }], 'table').split('\n');
    expect(table[1]).toBe(`1   0xdeadbeef  ${'n'.repeat(59)}…(100 chars)`);
    expect(table[2]).toBe('2   NULL        a\\nb');
  });

  it('takes key filters only, and values only of the column type', () => {
    expect(parseFilters(['id=7', 'region=eu=west'], ['id', 'region'], 'orders')).toEqual([{ column: 'id', value: '7' }, { column: 'region', value: 'eu=west' }]);
    expect(() => parseFilters(['amount=3'], ['id'], 'orders')).toThrow("--where: column 'amount' is not a key column of dataset 'orders'; filter on its key columns: id");
    expect(() => parseFilters(['id'], ['id'], 'orders')).toThrow(/'id' is not key=value/);
    expect([valueProblem('12', 'bigint'), valueProblem('1.5', 'bigint'), valueProblem('2024-05-01', 'date'), valueProblem('x', 'timestamp without time zone'), valueProblem('0x0g', 'bytea')]).toEqual([
      undefined,
      'a whole number',
      undefined,
      "a date/time ('2024-05-01 12:00:00')",
      "0x and the bytes in hex ('0x00ff')",
    ]);
  });
});

describe('runs output', () => {
  it('orders stages as the pipeline runs them', () => {
    expect(orderedStages({ finish: 1, load_b: 1, commit: 1, extract: 1, verify_a: 1, load_a: 1, inventory: 1 })).toEqual(['extract', 'inventory', 'load_a', 'load_b', 'verify_a', 'commit', 'finish']);
  });

  it('prints evidence as indented name: value lines, nested objects indented, scalar lists joined', () => {
    expect(evidenceLines({ status: 'PASSED', zeroDates: {}, rows: 5, uris: ['s3://b/a', 's3://b/b'], counts: { loaded: 1, failed: 0 }, files: [{ key: 'a' }] }, '  ')).toEqual([
      '  status: PASSED',
      '  zeroDates: (none)',
      '  rows: 5',
      '  uris: s3://b/a, s3://b/b',
      '  counts:',
      '    loaded: 1',
      '    failed: 0',
      '  files:',
      '    [0]',
      '      key: a',
    ]);
  });

  it('reads --since as an instant or a duration back from now, and refuses anything else', () => {
    const now = new Date('2026-12-07T12:00:00.000Z');
    expect(sinceInstant('6h', now)).toBe('2026-12-07T06:00:00.000Z');
    expect(sinceInstant('2026-12-01T00:00:00Z', now)).toBe('2026-12-01T00:00:00.000Z');
    expect(() => sinceInstant('yesterday', now)).toThrow(/--since must be an ISO-8601 instant .* got 'yesterday'/);
  });
});
