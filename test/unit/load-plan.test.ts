import { parseConfig } from '../../lambdas/core/config';
import { AUDIT_FILES_TABLE, REFUSED_NULLS, batchValuesBytes, lockTableName, maxFilesPerTransaction, planLoad, requiredColumns, usesManifest } from '../../lambdas/core/load-plan';
import { parseCopyFromS3 } from '../../lambdas/core/sql';

const base = {
  name: 'orders',
  prefix: 'orders/',
  target: { schema: 'sales', table: 'orders' },
  keyColumns: ['order_id'],
};

function dataset(loadMode: 'upsert' | 'append', versionColumn?: string) {
  return parseConfig({
    datasets: [{ ...base, loadMode, keyColumns: loadMode === 'upsert' ? ['order_id'] : [], ...(versionColumn ? { versionColumn } : {}) }],
  }).datasets[0]!;
}

const files = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: i === 1 ? "orders/it's b.parquet" : `orders/f${i}.parquet`, etag: `e${i}`, size: 1000 + i, fileRows: 10 + i }));

function planInput(ds: ReturnType<typeof dataset>, n = 2) {
  return {
    dataset: ds,
    runId: 'run-1',
    loadId: 'ld_abc_1',
    bucket: 'data',
    iamRole: 'arn:aws:iam::1:role/copy',
    files: files(n),
    manifestKey: '_syncproof/copy-manifests/orders/ld_abc_1.json',
    targetColumns: ['order_id', 'amount'],
  };
}

function plan(ds: ReturnType<typeof dataset>, n = 2) {
  return planLoad(planInput(ds, n));
}

describe('planLoad', () => {
  it('takes the same number of statements for 2 files as for 500 when one COPY reads a manifest', () => {
    expect(plan(dataset('append'), 500).statements.length).toBe(plan(dataset('append'), 2).statements.length);
    expect(plan(dataset('upsert', 'amount'), 500).statements.length).toBe(plan(dataset('upsert', 'amount'), 2).statements.length);
  });

  it('writes a manifest whose entries are mandatory and carry each file content_length', () => {
    expect(plan(dataset('append')).manifest).toEqual({
      entries: [
        { url: 's3://data/orders/f0.parquet', mandatory: true, meta: { content_length: 1000 } },
        { url: "s3://data/orders/it's b.parquet", mandatory: true, meta: { content_length: 1001 } },
      ],
    });
  });

  it("locks its dataset's lock table first (before the snapshot), so concurrent loads of the dataset cannot both pass the guard", () => {
    const { statements } = plan(dataset('append'));
    expect(statements[0]).toBe(`LOCK "public"."${lockTableName(dataset('append').name)}"`);
  });

  it('locks no table another dataset or a reader of the audit uses', () => {
    const locks = plan(dataset('upsert')).statements.filter((s) => /^LOCK\b/i.test(s));
    expect(locks).toEqual([`LOCK "public"."${lockTableName(dataset('upsert').name)}"`]);
    expect(locks.join()).not.toContain(AUDIT_FILES_TABLE);
  });

  it('names one lock table per dataset, distinct for distinct names', () => {
    expect(lockTableName('orders')).toBe('syncproof_lock_orders');
    expect(lockTableName('web-events')).not.toBe(lockTableName('web-events2'));
    expect(Buffer.byteLength(lockTableName('a'.repeat(40)))).toBeLessThanOrEqual(63);
  });

  it('gates every write to the target on the guard', () => {
    const writes = plan(dataset('upsert', 'amount')).statements.filter((s) => /^(INSERT INTO|DELETE FROM) "sales"/.test(s));
    expect(writes).toHaveLength(2);
    for (const w of writes) expect(w).toContain('(SELECT ok FROM "syncproof_verdict_ld_abc_1")');
  });

  it('copies each file into its own staging table for an upsert without a version column (rows keep their S3 order)', () => {
    const { statements, copyStatements, manifest } = plan(dataset('upsert'), 3);
    expect(manifest).toBeUndefined();
    expect([...copyStatements.values()].map((f) => (f === 'batch' ? f : f.etag))).toEqual(['e0', 'e1', 'e2']);
    expect(statements.find((s) => s.includes('ROW_NUMBER()'))).toContain('ORDER BY syncproof_ord DESC');
  });

  it('replaces the target in the same transaction, gated on the guard, with no TRUNCATE (Redshift commits it)', () => {
    const { statements } = planLoad({ ...planInput(dataset('upsert', 'amount')), replace: true });
    const writes = statements.filter((s) => /^(INSERT INTO|DELETE FROM|TRUNCATE) "sales"/.test(s));
    expect(writes).toEqual([
      'DELETE FROM "sales"."orders" WHERE (SELECT ok FROM "syncproof_verdict_ld_abc_1")',
      expect.stringMatching(/^INSERT INTO "sales"\."orders" \("order_id", "amount"\) SELECT n\."order_id", n\."amount" FROM "syncproof_newest_ld_abc_1" n WHERE \(SELECT ok FROM/),
    ]);
    expect(statements.some((s) => /TRUNCATE/i.test(s))).toBe(false);
    // The audit rows are written in the same transaction as the replace.
    expect(statements.findIndex((s) => s.startsWith('INSERT INTO "public"."syncproof_load_files"'))).toBeGreaterThan(statements.indexOf(writes[0] as string));
  });

  it('ranks by the version column, nulls oldest', () => {
    expect(plan(dataset('upsert', 'amount')).statements.find((s) => s.includes('ROW_NUMBER()'))).toContain('ORDER BY "amount" DESC NULLS LAST');
  });

  describe('with a SUPER column', () => {
    const withSuper = (loadMode: 'upsert' | 'append', versionColumn?: string) => ({
      ...dataset(loadMode, versionColumn),
      columns: [
        { name: 'order_id', type: 'BIGINT' },
        { name: 'doc', type: 'SUPER' },
        { name: 'amount', type: 'DECIMAL(12,2)' },
      ],
    });
    const superPlan = (ds: ReturnType<typeof withSuper>, n = 2, replace = false) => planLoad({ ...planInput(ds, n), replace, targetColumns: ['order_id', 'doc', 'amount'] });
    const stagingDdl = 'CREATE TEMP TABLE "syncproof_stage_ld_abc_1" AS SELECT "order_id", CAST(NULL AS VARCHAR(65535)) AS "doc", "amount" FROM "sales"."orders" WHERE 1 = 0';

    it.each([
      ['an upsert with a version column', withSuper('upsert', 'amount')],
      ['an append', withSuper('append')],
    ])('stages the SUPER column as VARCHAR(65535) text, in target order, for %s', (_name, ds) => {
      const { statements } = superPlan(ds);
      expect(statements).toContain(stagingDdl);
      expect(statements.some((s) => s.includes('(LIKE "sales"."orders")'))).toBe(false);
    });

    it.each([
      ['an upsert with a version column', withSuper('upsert', 'amount'), 'SELECT n."order_id", JSON_PARSE(n."doc"), n."amount" FROM'],
      ['an upsert without a version column', withSuper('upsert'), 'SELECT n."order_id", JSON_PARSE(n."doc"), n."amount" FROM'],
      ['an append', withSuper('append'), 'SELECT "order_id", JSON_PARSE("doc"), "amount" FROM "syncproof_stage_ld_abc_1"'],
    ])('inserts the parsed document, JSON_PARSE of the staged text, for %s', (_name, ds, select) => {
      const inserts = superPlan(ds).statements.filter((s) => s.startsWith('INSERT INTO "sales"."orders"'));
      expect(inserts).toHaveLength(1);
      expect(inserts[0]).toContain(select);
    });

    it('inserts the parsed document when a full run replaces the target', () => {
      const inserts = superPlan(withSuper('upsert', 'amount'), 2, true).statements.filter((s) => s.startsWith('INSERT INTO "sales"."orders"'));
      expect(inserts).toHaveLength(1);
      expect(inserts[0]).toContain('SELECT n."order_id", JSON_PARSE(n."doc"), n."amount" FROM "syncproof_newest_ld_abc_1" n');
    });

    it('stages each file of an upsert without a version column with the SUPER column as text', () => {
      const { statements } = superPlan(withSuper('upsert'), 2);
      expect(statements.filter((s) => /^CREATE TEMP TABLE "syncproof_stage\d_ld_abc_1" AS SELECT "order_id", CAST\(NULL AS VARCHAR\(65535\)\) AS "doc", "amount" FROM "sales"\."orders" WHERE 1 = 0$/.test(s))).toHaveLength(2);
    });

    it('stages the proven columns as the target types them and inserts the staged values as they are without one', () => {
      const { statements } = plan(dataset('upsert', 'amount'));
      expect(statements).toContain('CREATE TEMP TABLE "syncproof_stage_ld_abc_1" AS SELECT "order_id", "amount" FROM "sales"."orders" WHERE 1 = 0');
      expect(statements.join(';')).not.toContain('JSON_PARSE');
    });
  });

  describe('Parquet COPY by position', () => {
    const copies = (ds: ReturnType<typeof dataset>) => {
      const { statements, copyStatements } = plan(ds);
      return [...copyStatements.keys()].map((i) => statements[i]!);
    };

    it.each([
      ['one COPY with a manifest (append)', dataset('append')],
      ['one COPY with a manifest (upsert with a version column)', dataset('upsert', 'amount')],
      ['one COPY per file (upsert without a version column)', dataset('upsert')],
    ])('sends no column list in %s', (_name, ds) => {
      for (const copy of copies(ds)) expect(copy).toMatch(/^COPY "syncproof_stage\d*_ld_abc_1" FROM 's3:\/\/data\/(?:[^']|'')+' IAM_ROLE 'arn:aws:iam::1:role\/copy' (MANIFEST )?FORMAT AS PARQUET$/);
    });

    it('COPYs one file as COPY t FROM the object, IAM_ROLE, FORMAT AS PARQUET', () => {
      expect(copies(dataset('upsert'))[0]).toBe(`COPY "syncproof_stage1_ld_abc_1" FROM 's3://data/orders/f0.parquet' IAM_ROLE 'arn:aws:iam::1:role/copy' FORMAT AS PARQUET`);
    });

    it.each([
      ['a manifest COPY', dataset('append'), /^CREATE TEMP TABLE "syncproof_stage_ld_abc_1"/],
      ['per-file COPYs', dataset('upsert'), /^CREATE TEMP TABLE "syncproof_stage\d_ld_abc_1"/],
    ])('creates the staging table of %s in the proven file order, whatever order the target has now', (_name, ds, staging) => {
      const { statements } = planLoad({ ...planInput(ds), targetColumns: ['amount', 'order_id'] });
      const ddl = statements.filter((s) => staging.test(s));
      expect(ddl.length).toBeGreaterThan(0);
      for (const s of ddl) expect(s).toMatch(/ AS SELECT "amount", "order_id" FROM "sales"\."orders" WHERE 1 = 0$/);
    });
  });

  it('builds COPY statements the Postgres-family adapters parse back, role included', () => {
    const { statements, copyStatements } = plan(dataset('append'));
    const [index] = [...copyStatements.keys()];
    expect(parseCopyFromS3(statements[index!]!)).toEqual({
      table: '"syncproof_stage_ld_abc_1"',
      bucket: 'data',
      key: '_syncproof/copy-manifests/orders/ld_abc_1.json',
      iamRole: 'arn:aws:iam::1:role/copy',
      manifest: true,
    });
  });
});

describe('maxFilesPerTransaction', () => {
  it('fits a per-file batch into the Redshift Data API limit of 40 statements per transaction', () => {
    const n = maxFilesPerTransaction(dataset('upsert'), 40);
    expect(plan(dataset('upsert'), n).statements.length).toBeLessThanOrEqual(40);
    expect(plan(dataset('upsert'), n + 1).statements.length).toBeGreaterThan(40);
  });

  it('sets no file cap when one COPY reads a manifest, or without a statement limit', () => {
    expect(usesManifest(dataset('append'))).toBe(true);
    expect(maxFilesPerTransaction(dataset('append'), 40)).toBe(Number.POSITIVE_INFINITY);
    expect(maxFilesPerTransaction(dataset('upsert'), undefined)).toBe(Number.POSITIVE_INFINITY);
  });

  it('measures the batch VALUES statement, which the 100 KB statement limit bounds', () => {
    const statement = plan(dataset('append'), 300).statements[2]!;
    expect(batchValuesBytes(files(300))).toBeGreaterThanOrEqual(Buffer.byteLength(statement));
  });
});

describe('requiredColumns', () => {
  const upsert = parseConfig({ datasets: [{ name: 'items', prefix: 'items/', target: { schema: 'public', table: 'items' }, keyColumns: ['id'] }] }).datasets[0]!;
  const append = parseConfig({ datasets: [{ name: 'ev', prefix: 'ev/', target: { schema: 'public', table: 'ev' }, loadMode: 'append' }] }).datasets[0]!;
  const target = [
    { name: 'id', type: 'bigint', nullable: true },
    { name: 'name', type: 'character varying', nullable: false },
    { name: 'note', type: 'character varying' },
  ];

  it('holds an upsert key, nullable or not, and every NOT NULL column, each once', () => {
    expect(requiredColumns(upsert, target)).toEqual(['id', 'name']);
    expect(requiredColumns(upsert, [{ name: 'id', nullable: false }])).toEqual(['id']);
  });

  it('holds only NOT NULL columns for an append', () => {
    expect(requiredColumns(append, target)).toEqual(['name']);
  });

  it('makes the guard count staged NULLs in them, and the audit say refused_nulls', () => {
    const plan = planLoad({
      dataset: upsert,
      runId: 'r',
      loadId: 'l',
      bucket: 'b',
      iamRole: 'arn:aws:iam::1:role/c',
      files: [{ key: 'items/a.parquet', etag: 'e', size: 10, fileRows: 1, s3Order: '1' }],
      manifestKey: 'm.json',
      targetColumns: ['id', 'name', 'note'],
      requiredColumns: ['id', 'name'],
    });
    const verdict = plan.statements.find((s) => s.includes('null_rows'))!;
    expect(verdict).toContain('WHERE "id" IS NULL OR "name" IS NULL');
    expect(verdict).toContain('n.null_rows = 0) AS ok');
    expect(plan.statements.some((s) => s.includes(`'${REFUSED_NULLS}'`))).toBe(true);
  });
});
