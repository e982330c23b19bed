/**
 * `watermark set` checks the cursor and key against the dataset's column types (issue #14 item 6),
 * through the CLI on a real local state: an impossible date or a non-numeric BIGINT key is refused
 * with exit 3 before anything is written (the watermark read back unchanged); the ISO forms are
 * accepted and kept as the source compares them, and the next sync starts after that position.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbWatermarkStore } from '../../lambdas/adapters/dynamodb-watermark-store';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import type { ObjectStore } from '../../lambdas/core/ports';
import type { WatermarkRecord } from '../../lambdas/core/watermark';
import { LOCAL_TABLES } from '../../local/runtime';
import { runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';

jest.setTimeout(300_000);

/**
 * stderr without the AWS SDK's NodeVersionSupportWarning on Node 20 (issue #14 item 10, handled
 * apart): every other line of stderr still counts.
 */
const quiet = (stderr: string) => stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/, '');

const ROWS = 5;

describe('syncproof watermark set on a dataset that has run', () => {
  let work: string;
  let state: string;
  let config: string;

  const read = (dataset: string): Promise<WatermarkRecord | undefined> =>
    withLocalDynamoDb(state, (client) => new DynamoDbWatermarkStore(client, LOCAL_TABLES.watermarks).get(dataset));

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-wmtypes-'));
    state = join(work, 'state');
    const source = await createPglite(join(work, 'source'));
    await source.exec(
      'CREATE SCHEMA shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, note VARCHAR(20), updated_at TIMESTAMP(6) NOT NULL); ' +
        `INSERT INTO shop.orders SELECT i, 'n' || i, TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) AS i`,
    );
    await source.close();
    config = join(work, 'config.json');
    const dataset = (name: string) => ({ name, target: { schema: 'public', table: name }, source: { engine: 'postgres', url: `pglite:${join(work, 'source')}`, table: 'shop.orders', cursorColumn: 'updated_at' } });
    await writeFile(config, JSON.stringify({ datasets: [dataset('orders'), dataset('fresh')] }));
    const first = await runCli(['sync', 'orders', '--config', config, '--data-dir', state]);
    expect({ code: first.code, stderr: quiet(first.stderr) }).toEqual({ code: 0, stderr: '' });
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ['a date that is not in the calendar', ['--cursor', '2026-02-30 12:00:00', '--key', '3'], /--cursor '2026-02-30 12:00:00' is not a calendar date \(2026-02 has 28 days\)/],
    ['an hour past 23', ['--cursor', '2026-02-28 24:00:00', '--key', '3'], /--cursor '2026-02-28 24:00:00' is not a time of day/],
    ['a form it does not know', ['--cursor', '28/02/2026', '--key', '3'], /--cursor '28\/02\/2026' is not a date\/time in an accepted form: 'YYYY-MM-DD HH:MM:SS\[\.ffffff\]' \(UTC\), 'YYYY-MM-DD', or ISO 8601/],
    ['a whole number for a TIMESTAMP cursor', ['--cursor', '41999', '--key', '3'], /--cursor '41999' is not a date\/time in an accepted form: .*: the cursor column updated_at is TIMESTAMP/],
    ['a key that is not a number for a BIGINT key', ['--cursor', '2024-03-01 10:00:03', '--key', 'abc'], /--key 'abc' is not a whole number: key column 1 \(id\) is BIGINT/],
    ['a key out of the BIGINT range', ['--cursor', '2024-03-01 10:00:03', '--key', '9223372036854775808'], /--key '9223372036854775808' is out of the range of BIGINT/],
  ])('refuses %s with exit 3, and leaves the watermark as it was', async (_what, args, message) => {
    const before = await read('orders');
    const r = await runCli(['watermark', 'set', 'orders', ...args, '--data-dir', state]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: '' });
    expect(r.stderr).toMatch(message);
    expect(await read('orders')).toEqual(before);
  });

  it.each([
    ['with Z', '2024-03-01T10:00:03Z'],
    ['with an offset', '2024-03-01T12:00:03+02:00'],
    ['as YYYY-MM-DD HH:MM:SS', '2024-03-01 10:00:03'],
  ])('accepts the cursor %s, keeps it as the source compares it (UTC), and the next sync reads only the rows after it', async (_what, cursor) => {
    const set = await runCli(['watermark', 'set', 'orders', '--cursor', cursor, '--key', '3', '--data-dir', state]);
    expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await read('orders'))?.position).toEqual({ cursor: '2024-03-01 10:00:03', key: ['3'] });

    const json = join(work, 'sync.json');
    const again = await runCli(['sync', 'orders', '--config', config, '--data-dir', state, '--json', json]);
    expect({ code: again.code, stderr: quiet(again.stderr) }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(await readFile(json, 'utf8')) as { status: string; extract?: { rows?: number } };
    expect([report.status, report.extract?.rows]).toEqual(['PASSED', ROWS - 3]);
    const warehouse = await openPostgresWarehouse(`pglite:${join(state, 'warehouse')}`, { objects: undefined as unknown as ObjectStore });
    try {
      const [row] = await warehouse.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM public.orders');
      expect([Number(row?.n), Number(row?.k)]).toEqual([ROWS, ROWS]);
    } finally {
      await warehouse.close();
    }
  });

  it('refuses, without --force, a dataset whose column types it cannot read (never extracted), saying so; with --force it checks the form only', async () => {
    const refused = await runCli(['watermark', 'set', 'fresh', '--cursor', '2024-03-01 10:00:03', '--key', '3', '--create', '--data-dir', state]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/cannot check --cursor and --key against the column types of dataset 'fresh': there is no schema document .*; run the dataset once .*, or pass --force/);
    expect(await read('fresh')).toBeUndefined();

    const impossible = await runCli(['watermark', 'set', 'fresh', '--cursor', '2026-02-30 12:00:00', '--key', '3', '--create', '--force', '--data-dir', state]);
    expect(impossible.code).toBe(3);
    expect(impossible.stderr).toContain('is not a calendar date');
    expect(await read('fresh')).toBeUndefined();

    const forced = await runCli(['watermark', 'set', 'fresh', '--cursor', '2024-03-01T10:00:03Z', '--key', '3', '--create', '--force', '--data-dir', state]);
    expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await read('fresh'))?.position).toEqual({ cursor: '2024-03-01 10:00:03', key: ['3'] });
  });
});
