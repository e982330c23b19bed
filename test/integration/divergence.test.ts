/**
 * The divergence suite of issue #15 (acceptance), database datasets: a real MariaDB and a real
 * PostgreSQL source, each synced once through the SyncStateMachine into the local runtime
 * (its warehouse compares text in C). Each divergence is injected — at the source, or in the
 * warehouse, as the case says — and the VerifyStateMachine runs with `tier: 'content'` in its
 * input, as the schedule starts it; the verdict is asserted from the run record and the named keys
 * and columns from the content report on S3. Then the injection is undone and the same check
 * PASSES again, so each case proves its own detection. Once per engine, `syncproof verify
 * --tier all` runs as a user does (a CLI-synced state, a PostgreSQL warehouse).
 *
 * The count chain naming the hop of a mismatch (rows removed between audit and target) is
 * test/integration/count-chain.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryUrl } from './support';
import { runCli } from '../support/cli';
import { NOTHING, namedIn, startDivergence, ts, type Divergence, type Named } from '../support/divergence';
import { useTestDatabase } from '../support/postgres';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(300_000);

const warehouseUrl = useTestDatabase();

/** One divergence: where it is injected, and what the report must name. */
interface Case {
  readonly name: string;
  readonly dataset?: 'ints' | 'texts';
  /** Statements at the source (`source`) or in the warehouse target (`warehouse`; `$T` is the target table). */
  readonly source?: string;
  readonly warehouse?: string;
  readonly named: Partial<Named>;
  /** Only on this source engine. */
  readonly engine?: Engine;
}

const CASES: readonly Case[] = [
  { name: 'missing rows', warehouse: 'DELETE FROM $T WHERE id IN (5, 6)', named: { missing: ['5', '6'] } },
  { name: 'a duplicated row in a large upsert target (more rows than fetchRows)', warehouse: 'INSERT INTO $T SELECT * FROM $T WHERE id = 7', named: { duplicates: ['7'] } },
  { name: 'one changed value (at the source, its cursor unchanged)', source: "UPDATE ints SET name = 'changed' WHERE id = 9", named: { changedColumns: ['9: name'] } },
  { name: 'a decimal changed in its last digit', warehouse: 'UPDATE $T SET amount = amount + 0.0001 WHERE id = 11', named: { changedColumns: ['11: amount'] } },
  { name: 'a trailing space', warehouse: "UPDATE $T SET name = name || ' ' WHERE id = 13", named: { changedColumns: ['13: name'] } },
  { name: "'' → NULL", warehouse: 'UPDATE $T SET note = NULL WHERE id = 20', named: { changedColumns: ['20: note'] } },
  { name: 'a one-hour shift of one timestamp', warehouse: "UPDATE $T SET at = at + INTERVAL '1 hour' WHERE id = 15", named: { changedColumns: ['15: at'] } },
  { name: 'a one-hour shift of one timestamptz', engine: 'postgres', warehouse: "UPDATE $T SET at_tz = at_tz + INTERVAL '1 hour' WHERE id = 16", named: { changedColumns: ['16: at_tz'] } },
  { name: 'a float drifting beyond the tolerance', warehouse: 'UPDATE $T SET score = score * (1 + 1e-6) WHERE id = 17', named: { changedColumns: ['17: score'] } },
  { name: 'a row deleted at the source (deletes: report)', source: 'DELETE FROM ints WHERE id = 19', named: { deleted: ['19'] } },
  { name: 'a row changed only in the warehouse', warehouse: "UPDATE $T SET name = 'tampered', amount = 0 WHERE id = 23", named: { changedColumns: ['23: name, amount'] } },
  {
    name: 'a row inserted at the source behind the watermark, outside lag',
    source: `INSERT INTO ints (id, name, note, amount, score, at, at_ms, at_s, updated_at) VALUES (1000, 'late', 'x', 1.0000, 1, '${ts(3)}', '${ts(3)}', '${ts(3)}', '${ts(3)}')`,
    named: { missing: ['1000'] },
  },
  { name: 'a changed value under a text key (hash segments)', dataset: 'texts', warehouse: "UPDATE $T SET label = 'changed' WHERE code = 'Banana-1'", named: { changedColumns: ['Banana-1: label'] } },
  { name: 'a missing row under a text key', dataset: 'texts', warehouse: "DELETE FROM $T WHERE code IN ('éclair_2', 'a b')", named: { missing: ['a b', 'éclair_2'] } },
];

describe.each<Engine>(['mysql', 'postgres'])('divergences between a %s source and the warehouse', (engine) => {
  let db: TestSourceDb;
  let d: Divergence;

  beforeAll(async () => {
    db = await startTestSource(engine);
    d = await startDivergence(engine, db);
  });

  afterAll(async () => {
    await d?.stop();
    await db?.stop();
  });

  const sorted = (named: Named): Named => Object.fromEntries(Object.entries(named).map(([k, v]) => [k, [...(v as string[])].sort()])) as unknown as Named;

  async function expectPassed(dataset: string): Promise<void> {
    const v = await d.verify(dataset);
    expect([v.execution.status, v.status, v.execution.error]).toEqual(['SUCCEEDED', 'PASSED', undefined]);
    expect(v.named).toEqual(NOTHING);
  }

  it.each(CASES.filter((c) => (c.engine ?? engine) === engine))('$name: FAILED, naming the key; PASSED once undone', async (c) => {
    const dataset = c.dataset ?? 'ints';
    if (c.source) await db.exec(c.source);
    if (c.warehouse) await d.warehouse(c.warehouse.replace(/\$T/g, d.target(dataset)));
    try {
      const v = await d.verify(dataset);

      expect([v.execution.status, v.status, v.execution.error]).toEqual(['FAILED', 'FAILED', 'VerificationFailedError']);
      const changed = (c.named.changedColumns ?? []).map((line) => line.split(':')[0]!);
      expect(sorted(v.named)).toEqual(sorted({ ...NOTHING, changed, ...c.named }));
    } finally {
      await d.restore();
    }
    await expectPassed(dataset);
  });

  it('does not report a float inside the tolerance', async () => {
    await d.warehouse(`UPDATE ${d.target('ints')} SET score = score * (1 + 1e-12) WHERE id = 25`);
    const [row] = await d.warehouse(`SELECT t.score AS now, s.score AS was FROM ${d.target('ints')} t JOIN ${d.target('ints')}_as_synced s ON s.id = t.id WHERE t.id = 25`);
    expect(Number(row?.now)).not.toBe(Number(row?.was));
    try {
      await expectPassed('ints');
    } finally {
      await d.restore();
    }
  });

  for (const t of [
    { column: 'at_ms', precision: 3, shift: '400 microseconds', id: 27, now: ts(27, 123_400) },
    { column: 'at_s', precision: 0, shift: '0.4 seconds', id: 29, now: ts(29, 400_000) },
  ]) {
    it(`does not report a timestamp equal after normalization to the coarser precision (${t.column}, source precision ${t.precision})`, async () => {
      await d.warehouse(`UPDATE ${d.target('ints')} SET ${t.column} = ${t.column} + INTERVAL '${t.shift}' WHERE id = ${t.id}`);
      const [row] = await d.warehouse(`SELECT CAST(${t.column} AS VARCHAR) AS now FROM ${d.target('ints')} WHERE id = ${t.id}`);
      expect(String(row?.now)).toBe(t.now.replace(/0+$/, ''));
      try {
        await expectPassed('ints');
      } finally {
        await d.restore();
      }
    });
  }

  it('does not report text keys that sort differently under the source collation and C; 20 repeated verifications of untouched datasets all PASS', async () => {
    if (engine === 'mysql') {
      const [t] = await db.rows("SELECT TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'texts'");
      expect(t?.c).toBe('utf8mb4_unicode_ci');
      // The two orders differ: the source sorts 'apple' before 'Banana', C the other way round.
      const source = (await db.rows('SELECT code FROM texts ORDER BY code')).map((r) => String(r.code));
      const c = (await d.warehouse(`SELECT code FROM ${d.target('texts')} ORDER BY code COLLATE "C"`)).map((r) => String(r.code));
      expect(source).not.toEqual(c);
    }
    const verdicts: string[] = [];
    for (let i = 0; i < 20; i++) {
      const v = await d.verify(i % 2 === 0 ? 'ints' : 'texts');
      verdicts.push(`${v.status} ${JSON.stringify(v.named) === JSON.stringify(NOTHING) ? 'nothing named' : JSON.stringify(v.named)}`);
    }
    expect(verdicts).toEqual(Array.from({ length: 20 }, () => 'PASSED nothing named'));
  });

  it(`syncproof verify DATASET --tier all: exit 2 naming the changed key, exit 0 once undone (${engine})`, async () => {
    const work = await mkdtemp(join(tmpdir(), `syncproof-divergence-${engine}-`));
    // Its own dataset name: the audit tables of the CLI warehouse are shared by both engines' runs.
    const table = `div_cli_${engine}`;
    const name = `cli-${engine}`;
    try {
      const config = join(work, 'config.json');
      const dataDir = join(work, 'data');
      await writeFile(
        config,
        JSON.stringify({ datasets: [{ name, target: { schema: 'public', table }, source: { engine, url: db.url, table: `${db.schema}.ints`, cursorColumn: 'updated_at' }, content: { fetchRows: 16, factor: 4 } }] }),
      );
      const sync = await runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl()]);
      expect([sync.code, sync.stderr]).toEqual([0, '']);
      const verify = async () => {
        const json = join(work, `report-${Date.now()}.json`);
        const r = await runCli(['verify', name, '--config', config, '--data-dir', dataDir, '--warehouse', warehouseUrl(), '--tier', 'all', '--json', json]);
        const report = r.code === 0 || r.code === 2 ? (JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown>) : {};
        return { ...r, content: contentSection(report) };
      };

      await cliWarehouse(`UPDATE public.${table} SET amount = amount + 0.0001 WHERE id = 31`);
      const failed = await verify();
      expect([failed.code, failed.stderr]).toEqual([2, '']);
      expect(failed.stdout).toMatch(/FAILED/);
      expect(failed.stdout).toMatch(/\b31\b/);
      expect(namedIn(failed.content ?? {}).changedColumns).toEqual(['31: amount']);

      await cliWarehouse(`UPDATE public.${table} SET amount = amount - 0.0001 WHERE id = 31`);
      const passed = await verify();
      expect([passed.code, passed.stderr, passed.code === 0 ? '' : passed.stdout]).toEqual([0, '', '']);
      expect(passed.stdout).toMatch(/PASSED/);
      expect(namedIn(passed.content ?? {})).toEqual(NOTHING);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

async function cliWarehouse(sql: string): Promise<void> {
  await queryUrl(warehouseUrl(), sql);
}

/** The content tier's part of a `--tier all` JSON report (`{dataset, tier, status, counts, content}`). */
function contentSection(report: Record<string, unknown>): Record<string, unknown> | undefined {
  return report.content as Record<string, unknown> | undefined;
}
