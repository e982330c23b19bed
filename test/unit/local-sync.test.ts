import {
  CappedList,
  DEFAULT_THRESHOLDS,
  SyncDiff,
  classifyFile,
  decideStatus,
  exitCodeOf,
  formatBytes,
  formatSection,
  isFolderMarker,
  keyFor,
  parseS3Target,
  parseThreshold,
  relativePathOf,
  summaryLine,
  variancePercent,
  type StatusInput,
} from '../../lambdas/core/local-sync';

const clean: StatusInput = { missing: 0, extra: 0, sizeMismatches: 0, issues: 0, detailed: true, checksumMismatches: 0, sampleMissing: 0, sampleUnchecked: 0 };

describe('classifyFile', () => {
  it.each([
    ['data/part-0.parquet', 'compressed'],
    ['a.CSV.GZ', 'compressed'],
    ['x.zst', 'compressed'],
    ['events.jsonl', 'text'],
    ['dir.csv/readme.md', 'text'],
    ['image.bin', 'uncompressed'],
    ['no-extension', 'uncompressed'],
    ['.csv', 'uncompressed'],
  ])('classifies %s as %s', (path, type) => {
    expect(classifyFile(path)).toBe(type);
  });
});

describe('parseThreshold', () => {
  it('reads one value as the fail threshold and warns above half of it', () => {
    expect(parseThreshold('0.5', '--t')).toEqual({ warnPercent: 0.25, failPercent: 0.5 });
  });

  it('reads WARN,FAIL with an optional % sign', () => {
    expect(parseThreshold('1%,2%', '--t')).toEqual({ warnPercent: 1, failPercent: 2 });
  });

  it.each(['abc', '-1', '2,1', '101', '1,2,3'])('rejects %s naming the option', (text) => {
    expect(() => parseThreshold(text, '--threshold-text')).toThrow(/--threshold-text/);
  });

  it('defaults: compressed warn 1 / fail 2, uncompressed 0.25 / 0.5, text 0.05 / 0.1', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({
      compressed: { warnPercent: 1, failPercent: 2 },
      uncompressed: { warnPercent: 0.25, failPercent: 0.5 },
      text: { warnPercent: 0.05, failPercent: 0.1 },
    });
  });
});

describe('S3 path mapping', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/data', { bucket: 'bucket', prefix: 'data/' }],
    ['s3://bucket/a b/c+d%20/', { bucket: 'bucket', prefix: 'a b/c+d%20/' }],
  ])('parses %s', (uri, target) => {
    expect(parseS3Target(uri)).toEqual(target);
  });

  it.each(['http://bucket/x', 's3:/bucket', 's3://', 's3://bucket//x', '/local/path'])('rejects %s', (uri) => {
    expect(() => parseS3Target(uri)).toThrow(/s3:\/\/BUCKET\/PREFIX|extra '\/'/);
  });

  it('maps keys and relative paths without decoding anything', () => {
    for (const rel of ['a b.csv', 'c+d.txt', 'ü/ñ.json', 'x%2F%20y.txt']) {
      expect(relativePathOf('p/', keyFor('p/', rel))).toBe(rel);
    }
  });

  it('leaves out keys outside the prefix and the prefix itself', () => {
    expect(relativePathOf('p/', 'q/a')).toBeUndefined();
    expect(relativePathOf('p/', 'p/')).toBeUndefined();
  });

  it('treats only 0-byte keys ending in / as folder markers', () => {
    expect(isFolderMarker('p/dir/', 0)).toBe(true);
    expect(isFolderMarker('p/dir/', 3)).toBe(false);
    expect(isFolderMarker('p/file', 0)).toBe(false);
  });
});

describe('variancePercent', () => {
  it.each([
    [100, 101, 1],
    [100, 99, 1],
    [0, 0, 0],
    [0, 5, null],
    [200, 200, 0],
  ])('local %d, S3 %d → %p', (local, s3, expected) => {
    expect(variancePercent(local, s3)).toBe(expected);
  });
});

describe('SyncDiff', () => {
  it('finds missing, extra and size mismatches, counts totals both sides', () => {
    const diff = new SyncDiff();
    diff.addLocal('same.csv', 10);
    diff.addLocal('local-only.csv', 5);
    diff.addLocal('grown.parquet', 1000);
    diff.addS3('same.csv', 10);
    diff.addS3('s3-only.csv', 7);
    diff.addS3('grown.parquet', 1010);
    diff.finish();

    expect(diff.missing.items).toEqual([{ path: 'local-only.csv', size: 5 }]);
    expect(diff.extra.items).toEqual([{ path: 's3-only.csv', size: 7 }]);
    expect(diff.sizeMismatch.items).toEqual([{ path: 'grown.parquet', key: 'grown.parquet', type: 'compressed', localSize: 1000, s3Size: 1010, variancePercent: 1 }]);
    expect(diff.localTotals).toEqual({ files: 3, bytes: 1015 });
    expect(diff.s3Totals).toEqual({ files: 3, bytes: 1027 });
    expect([...diff.matched()]).toEqual([{ key: 'same.csv', size: 10 }]);
  });

  it('judges each type by Σ|Δ| / Σ local bytes against its own thresholds', () => {
    const diff = new SyncDiff();
    diff.addLocal('a.parquet', 1000);
    diff.addLocal('b.parquet', 1000);
    diff.addLocal('t.csv', 1000);
    diff.addS3('a.parquet', 1030);
    diff.addS3('b.parquet', 1000);
    diff.addS3('t.csv', 1002);
    diff.finish();

    const v = diff.variances(DEFAULT_THRESHOLDS);

    expect(v.map((t) => [t.type, t.variancePercent, t.verdict])).toEqual([
      ['compressed', 1.5, 'warn'],
      ['text', 0.2, 'fail'],
    ]);
  });

  it('does not let a larger and a smaller file cancel out', () => {
    const diff = new SyncDiff();
    diff.addLocal('a.bin', 1000);
    diff.addLocal('b.bin', 1000);
    diff.addS3('a.bin', 1010);
    diff.addS3('b.bin', 990);

    expect(diff.variances(DEFAULT_THRESHOLDS)[0]).toEqual(expect.objectContaining({ variancePercent: 1, verdict: 'fail' }));
  });

  it('does not call S3 objects under an unreadable local path extra', () => {
    const diff = new SyncDiff();
    diff.addIssue({ path: 'locked', kind: 'unreadable', code: 'EACCES', message: 'cannot open directory' });
    diff.addS3('locked/a.csv', 1);
    diff.addS3('lockedness.csv', 1);
    diff.finish();

    expect(diff.notCompared.items.map((f) => f.path)).toEqual(['locked/a.csv']);
    expect(diff.extra.items.map((f) => f.path)).toEqual(['lockedness.csv']);
  });

  it('keeps the first N items per category and counts all', () => {
    const diff = new SyncDiff(2);
    for (let i = 0; i < 5; i++) diff.addS3(`x${i}`, 1);

    expect(diff.extra.toJSON()).toEqual({ count: 5, items: [{ path: 'x0', size: 1 }, { path: 'x1', size: 1 }], truncated: true });
  });
});

describe('decideStatus', () => {
  it.each<[string, Partial<StatusInput>, string]>([
    ['nothing wrong, content checked', {}, 'PASSED'],
    ['nothing wrong, content not checked', { detailed: false }, 'PASSED_PARTIAL'],
    ['a missing file', { missing: 1 }, 'FAILED'],
    ['an extra object', { extra: 1 }, 'FAILED'],
    ['a file whose size differs, without --detailed', { sizeMismatches: 1, detailed: false }, 'FAILED'],
    ['a checksum mismatch', { checksumMismatches: 1 }, 'FAILED'],
    ['a sampled object gone', { sampleMissing: 1 }, 'FAILED'],
    ['an unreadable path', { issues: 1, detailed: false }, 'PASSED_WITH_WARNINGS'],
    ['an unverifiable sample', { sampleUnchecked: 1 }, 'PASSED_WITH_WARNINGS'],
    ['a failure and a warning', { missing: 1, issues: 1 }, 'FAILED'],
  ])('%s → %s', (_name, input, status) => {
    expect(decideStatus({ ...clean, ...input }).status).toBe(status);
  });

  it('says to use --detailed when content was not checked', () => {
    expect(decideStatus({ ...clean, detailed: false }).reasons).toEqual(['content not checked; use --detailed']);
  });

  it.each([
    ['PASSED', 0],
    ['PASSED_PARTIAL', 0],
    ['PASSED_WITH_WARNINGS', 1],
    ['FAILED', 2],
  ] as const)('exit code of %s is %d', (status, code) => {
    expect(exitCodeOf(status)).toBe(code);
  });
});

describe('summary format', () => {
  it('prints the verdict line with decimal units and the variance', () => {
    expect(summaryLine('PASSED', { files: 96, bytes: 531_200_000 }, { files: 96, bytes: 531_518_720 })).toBe(
      'syncproof local ↔ S3: SYNCED — 96 files (531.2 MB) local, 96 files (531.5 MB) S3, variance 0.06%',
    );
  });

  it.each([
    ['FAILED', 'NOT SYNCED'],
    ['PASSED_WITH_WARNINGS', 'SYNCED WITH WARNINGS'],
    ['PASSED_PARTIAL', 'SYNCED'],
  ] as const)('labels %s as %s', (status, label) => {
    expect(summaryLine(status, { files: 1, bytes: 0 }, { files: 0, bytes: 0 })).toMatch(new RegExp(`^syncproof local ↔ S3: ${label} — 1 file \\(0 B\\) local, 0 files`));
  });

  it('says n/a for the variance when nothing is local but something is in S3', () => {
    expect(summaryLine('FAILED', { files: 0, bytes: 0 }, { files: 1, bytes: 5 })).toMatch(/variance n\/a$/);
  });

  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.5 kB'],
    [999_960, '1.0 MB'],
    [2_500_000_000, '2.5 GB'],
  ])('formats %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('lists the first 10 and says how many more', () => {
    const list = new CappedList<string>(1000);
    for (let i = 0; i < 12; i++) list.add(`f${i}`);

    const lines = formatSection('missing', list, (s) => s);

    expect(lines[0]).toBe('missing (12):');
    expect(lines).toHaveLength(12);
    expect(lines[11]).toMatch(/… and 2 more/);
  });
});
