import { verifyFileContent, type ContentFileColumn, type FileContentDeps } from '../../lambdas/core/content/file-content';
import { parquetPlanColumn } from '../../lambdas/core/content/expected-rows';
import { memorySide } from '../../lambdas/core/content/memory-side';
import type { PlanColumn } from '../../lambdas/core/content/plan';
import { parseConfig, type DatasetConfig } from '../../lambdas/core/config';
import { MemoryLedgerStore } from '../fixtures/memory-ledger-store';
import { MemoryObjectStore } from '../fixtures/memory-object-store';

/**
 * verifyFileContent over in-memory ports: which loaded version of a key the target should hold
 * (version column, NULLs, S3 order, position in file), which ledger states count, and a dataset
 * with no loaded file. The local runtime end to end is test/integration/file-content.test.ts.
 */
type Row = Record<string, unknown>;

const CATALOG: PlanColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'label', type: 'character varying' },
  { name: 'v', type: 'numeric', scale: 2 },
];
const FILE_COLUMNS: ContentFileColumn[] = [
  { name: 'id', type: 'INT64' },
  { name: 'label', type: 'BYTE_ARRAY/STRING' },
  { name: 'v', type: 'DECIMAL(10,2)' },
];

function dataset(overrides: Partial<{ versionColumn: string; loadMode: 'upsert' | 'append' }> = {}): DatasetConfig {
  return parseConfig({
    datasets: [{ name: 'things', prefix: 'things/', target: { schema: 'public', table: 'things' }, keyColumns: ['id'], loadMode: 'upsert', ...overrides }],
  }).datasets[0]!;
}

/** A ledger with these versions (S3 order = `lastModified`), a reader over their rows, and a target over `target`. */
async function deps(files: { key: string; at: string; status?: 'loaded' | 'quarantined' | 'discovered'; rows: Row[] }[], target: Row[]): Promise<FileContentDeps> {
  const ledger = new MemoryLedgerStore();
  for (const f of files) {
    await ledger.discover({ dataset: 'things', key: f.key, etag: `e-${f.key}`, size: 100, lastModified: f.at }, f.at);
    if ((f.status ?? 'loaded') === 'loaded') await ledger.markLoaded({ key: f.key, etag: `e-${f.key}`, fence: 0 }, 'load-1', f.rows.length, f.at);
    else if (f.status === 'quarantined') await ledger.setAside(f.key, `e-${f.key}`, 0, 'quarantined', 'test', 'test', f.at);
  }
  const byKey = new Map(files.map((f) => [f.key, f.rows]));
  return {
    objects: new MemoryObjectStore(),
    ledger,
    clock: { now: () => new Date('2026-12-07T12:00:00Z') },
    reader: {
      columns: async () => FILE_COLUMNS,
      read: async (key, _etag, columns) => {
        const rows = byKey.get(key)!;
        return { rowCount: rows.length, data: columns.map((c) => rows.map((r) => (r[c] ?? null) as never)) };
      },
    },
    openTarget: async () => ({ catalog: CATALOG, side: () => memorySide('warehouse', target), close: async () => undefined }),
  };
}

const T1 = '2026-01-01T00:00:01Z';
const T2 = '2026-01-01T00:00:02Z';

describe('verifyFileContent', () => {
  it('expects the larger version, a NULL version older than any value, whatever the S3 order', async () => {
    const d = await deps(
      [
        { key: 'things/1', at: T1, rows: [{ id: 1n, label: 'ten', v: '10.00' }, { id: 2n, label: 'valued', v: '0.01' }] },
        { key: 'things/2', at: T2, rows: [{ id: 1n, label: 'nine-fifty', v: '9.50' }, { id: 2n, label: 'null', v: null }] },
      ],
      [{ id: 1, label: 'nine-fifty', v: '9.50' }, { id: 2, label: 'valued', v: '0.01' }],
    );
    const out = await verifyFileContent(dataset({ versionColumn: 'v' }), d);
    expect(out.result.changed).toEqual([{ key: ['1'], columns: [{ column: 'label', a: 'ten', b: 'nine-fifty' }, { column: 'v', a: '10.00', b: '9.50' }] }]);
  });

  it.each(['first row', 'last row'])('breaks a version tie by S3 order; a tie within one file is ambiguous, and the target holding either row (%s) passes with a warning', async (held) => {
    const d = await deps(
      [
        { key: 'things/b', at: T1, rows: [{ id: 1n, label: 'older file', v: '1.00' }] },
        { key: 'things/a', at: T2, rows: [{ id: 1n, label: 'newer file', v: '1.00' }, { id: 2n, label: 'first row', v: '1.00' }, { id: 2n, label: 'last row', v: '1.00' }] },
      ],
      [{ id: 1, label: 'newer file', v: '1.00' }, { id: 2, label: held, v: '1.00' }],
    );
    const out = await verifyFileContent(dataset({ versionColumn: 'v' }), d);
    expect([out.status, out.compared.expectedRows, out.compared.fileRows]).toEqual(['PASSED_WITH_WARNINGS', 2, 4]);
    expect(out.ambiguous).toEqual({ count: 1, keys: [['2']], files: ['things/a'] });
  });

  it('fails a tie within one file when the target holds neither row, and a key across files is never ambiguous', async () => {
    const d = await deps(
      [
        { key: 'things/b', at: T1, rows: [{ id: 1n, label: 'older file', v: '1.00' }] },
        { key: 'things/a', at: T2, rows: [{ id: 1n, label: 'newer file', v: '1.00' }, { id: 2n, label: 'first row', v: '1.00' }, { id: 2n, label: 'last row', v: '1.00' }] },
      ],
      [{ id: 1, label: 'older file', v: '1.00' }, { id: 2, label: 'neither', v: '1.00' }],
    );
    const out = await verifyFileContent(dataset({ versionColumn: 'v' }), d);
    expect(out.status).toBe('FAILED');
    expect(out.result.changed.map((c) => c.key)).toEqual([['1'], ['2']]);
    expect(out.ambiguous.count).toBe(0);
  });

  it('expects nothing of quarantined or not yet loaded versions', async () => {
    const d = await deps(
      [
        { key: 'things/ok', at: T1, rows: [{ id: 1n, label: 'a', v: '1.00' }] },
        { key: 'things/bad', at: T2, status: 'quarantined', rows: [{ id: 2n, label: 'b', v: '1.00' }] },
        { key: 'things/new', at: T2, status: 'discovered', rows: [{ id: 3n, label: 'c', v: '1.00' }] },
      ],
      [{ id: 1, label: 'a', v: '1.00' }],
    );
    const out = await verifyFileContent(dataset(), d);
    expect([out.status, out.compared.files]).toEqual(['PASSED', 1]);
  });

  it('expects the rows of a version whose object retention removed, read from its pinned copy; once that is gone too, names the clean', async () => {
    const d = await deps([{ key: 'things/old', at: T1, rows: [{ id: 1n, label: 'a', v: '1.00' }] }], [{ id: 1, label: 'a', v: '1.00' }]);
    expect(await d.ledger.markDeleted('things/old', 'e-things/old', 'clean-1', T2)).toBe(true);
    const read = d.reader.read;
    // The key is gone; its pinned copy (another key) still holds the version.
    const pinnedOnly = {
      ...d,
      reader: { ...d.reader, read: (key: string, etag: string, columns: readonly string[], binary: readonly string[]) => (key === 'things/old' ? Promise.reject(new Error('NoSuchKey')) : read('things/old', etag, columns, binary)) },
    };
    const out = await verifyFileContent(dataset(), pinnedOnly);
    expect([out.status, out.compared.files]).toEqual(['PASSED', 1]);
    const gone = { ...d, reader: { ...d.reader, read: () => Promise.reject(new Error('NoSuchKey')) } };
    await expect(verifyFileContent(dataset(), gone)).rejects.toThrow(/'things\/old' .* was loaded, then removed by retention \(`syncproof clean`, 2026-01-01T00:00:02Z\) and its pinned copy has expired/);
  });

  it('reports every target row as extra when no file is loaded, and passes an empty target', async () => {
    const out = await verifyFileContent(dataset(), await deps([], [{ id: 7, label: 'x', v: '1.00' }]));
    expect([out.status, out.result.extra]).toEqual(['FAILED', [['7']]]);
    expect((await verifyFileContent(dataset(), await deps([], []))).status).toBe('PASSED');
  });

  it('writes the report under _syncproof/reports/<dataset>/content-<time>.json', async () => {
    const d = await deps([{ key: 'things/1', at: T1, rows: [{ id: 1n, label: 'a', v: '1.00' }] }], []);
    const out = await verifyFileContent(dataset(), d);
    expect(out.reportUri).toBe('s3://test-bucket/_syncproof/reports/things/content-2026-12-07T12-00-00-000Z.json');
    const report = (await d.objects.getJson('_syncproof/reports/things/content-2026-12-07T12-00-00-000Z.json')) as Record<string, unknown>;
    expect(report).toMatchObject({ status: 'FAILED', missing: { count: 1, keys: [['1']] }, extra: { count: 0 }, changed: { count: 0 } });
  });
});

describe('parquetPlanColumn', () => {
  it.each([
    ['INT64', undefined, { type: 'bigint' }],
    ['INT32/INT_16', undefined, { type: 'bigint' }],
    ['DECIMAL(12,2)', undefined, { type: 'numeric(12,2)', scale: 2 }],
    ['TIMESTAMP_MILLIS', undefined, { type: 'timestamp without time zone', datetimePrecision: 3 }],
    ['TIMESTAMP_NANOS', undefined, { type: 'timestamp without time zone', datetimePrecision: 6 }],
    ['BYTE_ARRAY', { name: 'c', type: 'bytea' }, { type: 'bytea' }],
    ['BYTE_ARRAY', { name: 'c', type: 'character varying' }, { type: 'character varying' }],
    ['DOUBLE', undefined, { type: 'double precision' }],
    ['DATE', undefined, { type: 'date' }],
  ] as const)('reads %s (target %j) as %j', (type, target, expected) => {
    expect(parquetPlanColumn({ name: 'c', type }, target)).toMatchObject(expected);
  });
});
