import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ordersFile } from '../../local/demo';
import { CliProcess, connectToLocal, type LocalEndpoint } from '../support/cli';
import { useTestDatabase } from '../support/postgres';
import { range } from './support';

/** The README's example configuration, as a user would pass it. */
const EXAMPLE_CONFIG = join(__dirname, '..', '..', 'syncproof.config.example.json');


async function upload(e: LocalEndpoint, key: string, body: Uint8Array): Promise<void> {
  await e.client.send(new PutObjectCommand({ Bucket: e.bucket, Key: key, Body: body }));
}

describe('syncproof local, as a separate process', () => {
  const databaseUrl = useTestDatabase();
  let work: string;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-local-test-'));
  });

  afterAll(async () => {
    for (const p of running) p.kill();
    await rm(work, { recursive: true, force: true });
  });

  /** The database URL with a password in it (the test server trusts loopback, so it is not checked). */
  const SECRET = 'hunter2-not-printed';
  function urlWithPassword(): string {
    const u = new URL(databaseUrl());
    u.password = SECRET;
    return u.toString();
  }

  function start(): CliProcess {
    const proc = new CliProcess([
      'local',
      '--config',
      EXAMPLE_CONFIG,
      '--warehouse',
      urlWithPassword(),
      '--data-dir',
      join(work, 'state'),
    ]);
    running.push(proc);
    return proc;
  }

  async function warehouseState(): Promise<{ rows: number; keys: number; updated: number; audited: number }> {
    const client = new Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT (SELECT COUNT(*) FROM public.orders) AS n, (SELECT COUNT(DISTINCT order_id) FROM public.orders) AS k, " +
          "(SELECT COUNT(*) FROM public.orders WHERE status = 'updated') AS u, (SELECT COUNT(*) FROM public.syncproof_load_files) AS f",
      );
      const r = rows[0] as Record<string, string>;
      return { rows: Number(r.n), keys: Number(r.k), updated: Number(r.u), audited: Number(r.f) };
    } finally {
      await client.end();
    }
  }

  it('loads files uploaded with the AWS SDK, prints a status line per run, stops on Ctrl-C, and resumes from --data-dir', async () => {
    const first = start();
    const s3 = await connectToLocal(first);
    expect(first.stdout).toContain(new URL(databaseUrl()).pathname); // which database, yes
    expect(first.stdout + first.stderr).not.toContain(SECRET); // its password, never
    await upload(s3, 'orders/a.parquet', ordersFile(range(1, 500), 0, 'new'));
    await upload(s3, 'orders/b.parquet', ordersFile(range(501, 500), 0, 'new'));
    await first.waitFor(/ orders \S+ PASSED: \d+ files loaded/);
    // Both files may arrive in one trigger batch or two; wait until the warehouse holds both.
    for (let i = 0; i < 100 && (await warehouseState()).audited < 2; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await warehouseState()).toEqual({ rows: 1000, keys: 1000, updated: 0, audited: 2 });
    s3.client.destroy();
    // The status page it serves on 127.0.0.1 says what the ledger holds.
    const pageUrl = /^\s+status page:\s+(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(first.stdout)?.[1];
    expect(pageUrl).toBeDefined();
    expect(await (await fetch(pageUrl!)).text()).toContain('<script src="/app.js">');
    const state = (await (await fetch(`${pageUrl}api/status`)).json()) as { status: { datasets: { dataset: string; ledger: Record<string, number> }[] } };
    expect(state.status.datasets.find((d) => d.dataset === 'orders')?.ledger).toEqual({ loaded: 2 });

    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.stdout).toContain('stopped');

    // A restart on the same data dir keeps the ledger: only the new object loads.
    const second = start();
    const s3again = await connectToLocal(second);
    const mark = second.stdout.length;
    await upload(s3again, 'orders/c.parquet', ordersFile(range(1, 100), 1, 'updated'));
    // Events arrive at least once: a copy of an earlier event may still start a run that finds no
    // work (NO_WORK); the run that loads the new object is the one with files loaded.
    const line = await second.waitFor(/ orders \S+ (\S+): ([1-9]\d*) files loaded, (\d+) quarantined, (\d+) rows/, mark);
    expect(line.slice(1)).toEqual(['PASSED', '1', '0', '100']);
    expect(await warehouseState()).toEqual({ rows: 1000, keys: 1000, updated: 100, audited: 3 });
    s3again.client.destroy();
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(second.stdout + second.stderr).not.toContain(SECRET);
  });
});
