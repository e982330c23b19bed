import { exitCodeFor, judgeLoad, worstStatus, type LoadEvidence } from '../../lambdas/core/verification';

const clean: LoadEvidence = {
  loadId: 'ld_1',
  files: [
    { key: 'a', etag: '1', fileRows: 10, auditRows: 10, committedLoads: 1, loadIds: ['ld_1_a'] },
    { key: 'b', etag: '2', fileRows: 5, auditRows: 5, committedLoads: 1, loadIds: ['ld_1_a'] },
  ],
  quarantined: [],
  attempts: [{ loadId: 'ld_1_a', stagedRows: 15, declaredRows: 15 }],
  targetRows: 100,
  targetDistinctKeys: 100,
  auditedRows: undefined,
  leftToOtherLoads: [],
  retryable: 0,
};

describe('judgeLoad', () => {
  it('passes when files, audit and target agree', () => {
    expect(judgeLoad(clean)).toEqual({ status: 'PASSED', findings: [], duplicateKeys: 0 });
  });

  it('fails when the warehouse loaded fewer rows than a file holds', () => {
    const v = judgeLoad({ ...clean, files: [clean.files[0]!, { ...clean.files[1]!, auditRows: 4 }] });
    expect(v.status).toBe('FAILED');
    expect(v.findings.map((f) => f.message)).toContain("'b': the file holds 5 rows, the warehouse loaded 4");
  });

  it('fails when a loaded file has no committed audit row', () => {
    expect(judgeLoad({ ...clean, files: [{ ...clean.files[0]!, committedLoads: 0, loadIds: [] }] }).status).toBe('FAILED');
  });

  it('fails naming the object when one object version is committed under two loads', () => {
    const v = judgeLoad({ ...clean, files: [{ ...clean.files[0]!, committedLoads: 2, loadIds: ['ld_1_a', 'ld_2_b'] }] });
    expect(v.status).toBe('FAILED');
    expect(v.findings.map((f) => f.message)).toContain("'a' (ETag 1) is committed under 2 loads (ld_1_a, ld_2_b): its rows are in the target more than once");
  });

  it('fails when an append target holds other rows than its committed loads audited', () => {
    const v = judgeLoad({ ...clean, targetDistinctKeys: undefined, targetRows: 30, auditedRows: 15 });
    expect(v.status).toBe('FAILED');
    expect(v.findings.map((f) => f.check)).toContain('append-rows');
  });

  it('passes with warnings, naming each file and the load holding it, when files of the batch were left to another live load', () => {
    const v = judgeLoad({
      ...clean,
      leftToOtherLoads: [
        { key: 'orders/c.parquet', etag: '3', heldBy: 'ld_other_1a2b' },
        { key: 'orders/d.parquet', etag: '4', heldBy: undefined },
      ],
    });

    expect(v.status).toBe('PASSED_WITH_WARNINGS');
    expect(v.findings).toEqual([
      {
        level: 'warning',
        check: 'left-to-other-load',
        message: "'orders/c.parquet' (ETag 3) was left to load ld_other_1a2b, which held it (a duplicate or overlapping event started both): that load's own run proves it, this one did not",
      },
      {
        level: 'warning',
        check: 'left-to-other-load',
        message: "'orders/d.parquet' (ETag 4) was left to another load, which held it (a duplicate or overlapping event started both): that load's own run proves it, this one did not",
      },
    ]);
  });

  it('fails when files of the batch did not load and stay retryable', () => {
    expect(judgeLoad({ ...clean, retryable: 1 }).status).toBe('FAILED');
  });

  it('fails when an attempt staged other rows than its files declare', () => {
    expect(judgeLoad({ ...clean, attempts: [{ loadId: 'ld_1_a', stagedRows: 16, declaredRows: 15 }] }).status).toBe('FAILED');
  });

  it('fails and counts duplicate keys in the target', () => {
    const v = judgeLoad({ ...clean, targetRows: 103 });
    expect(v).toMatchObject({ status: 'FAILED', duplicateKeys: 3 });
  });

  it('passes with warnings when a file was quarantined', () => {
    const v = judgeLoad({ ...clean, quarantined: [{ key: 'c', etag: '3', reason: 'corrupt' }] });
    expect(v.status).toBe('PASSED_WITH_WARNINGS');
    expect(v.findings).toEqual([{ level: 'warning', check: 'quarantine', message: "'c' quarantined: corrupt" }]);
  });

  it('proves a load counted on its own keys: each held once, none missing', () => {
    const scoped = { ...clean, targetRows: 15, targetDistinctKeys: 15, loadedKeys: 15 };
    expect(judgeLoad(scoped).status).toBe('PASSED');
    expect(judgeLoad({ ...scoped, targetRows: 16 }).findings).toEqual([
      { level: 'error', check: 'duplicate-keys', message: 'of the 15 keys this load wrote, the target holds 1 rows more than keys (16 rows, 15 keys)' },
    ]);
    expect(judgeLoad({ ...scoped, targetRows: 13, targetDistinctKeys: 13 }).findings).toEqual([
      { level: 'error', check: 'loaded-keys', message: '2 of the 15 keys this load wrote are not in the target: rows are missing, or were deleted meanwhile by something else' },
    ]);
  });

  it('ignores duplicate keys for append datasets', () => {
    expect(judgeLoad({ ...clean, targetRows: 103, targetDistinctKeys: undefined }).status).toBe('PASSED');
  });
});

describe('statuses', () => {
  it.each([
    ['PASSED', 'PASSED_WITH_WARNINGS', 'PASSED_WITH_WARNINGS'],
    ['FAILED', 'PASSED', 'FAILED'],
    ['PASSED_PARTIAL', 'PASSED', 'PASSED_PARTIAL'],
  ] as const)('worst of %s and %s is %s', (a, b, w) => {
    expect(worstStatus(a, b)).toBe(w);
  });

  it.each([
    ['PASSED', 0],
    ['PASSED_PARTIAL', 0],
    ['PASSED_WITH_WARNINGS', 1],
    ['FAILED', 2],
  ] as const)('exit code of %s is %d', (s, code) => {
    expect(exitCodeFor(s)).toBe(code);
  });
});
