/**
 * Every command that runs the local runtime ends, and says why (issue #14 items 1 and 4), run as a
 * user runs them (separate processes):
 * - a warehouse that refuses the connection (wrong password, closed port, missing database) ends
 *   `sync`, `local` and `demo` with exit code 3 and a masked message — they used to hang for good
 *   (s3rver and dynalite were left open); a liveness bound kills a process that has not exited;
 * - a data dir another live process holds is refused with who holds it (pid, command, since when),
 *   exit 3 — it used to crash with an uncaught "Database is closed"; the lock of a killed process
 *   is taken over;
 * - an `--s3-port` in use is one sentence, exit 3 — it used to be an unhandled EADDRINUSE;
 * - Ctrl-C during `sync` exits 130 saying which execution it left running and how the next run
 *   resumes it; the next `sync` does exactly that (it attaches to the restarted run), and the
 *   warehouse holds every source row once.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { ordersFile } from '../../local/demo';
import { LOCK_FILE, type DataDirHolder } from '../../local/data-dir-lock';
import { freePort, startPostgresServer, type PostgresServer } from '../../local/postgres-server';
import { CliProcess, connectToLocal, type CliResult } from '../support/cli';
import { useTestDatabase, withDatabase } from '../support/postgres';
import { range } from './support';

jest.setTimeout(600_000);

const EXAMPLE_CONFIG = join(__dirname, '..', '..', 'syncproof.config.example.json');
/**
 * How long a command may take to end after a connection error: a liveness bound, not a timing
 * assertion (starting the runtime takes ~30 s on a loaded 2-core machine; the defect was a process
 * that never exits).
 */
const LIVENESS_MS = 180_000;

/** Runs `syncproof ARGS`; fails (after killing it) when it has not exited within {@link LIVENESS_MS}. */
async function runBounded(args: readonly string[]): Promise<CliResult> {
  const proc = new CliProcess(args);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), LIVENESS_MS)));
  try {
    const code = await Promise.race([proc.exit(), bound]);
    if (code === 'hung') {
      proc.kill();
      throw new Error(`syncproof ${args[0]} did not exit within ${LIVENESS_MS} ms:\n${proc.stdout}\n${proc.stderr}`);
    }
    return { code, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    clearTimeout(timer);
  }
}

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** stderr without Node's warning about the AWS SDK's Node version support (issue #14 item 10, not this test's). */
function withoutNodeWarning(stderr: string): string {
  return stderr.replace(/^\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/, '');
}

function holderOf(dataDir: string): Promise<DataDirHolder> {
  return readFile(join(dataDir, LOCK_FILE), 'utf8').then((t) => JSON.parse(t) as DataDirHolder);
}

describe('syncproof ends on every error path', () => {
  const databaseUrl = useTestDatabase();
  let work: string;
  let passwordServer: PostgresServer;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-lifecycle-'));
    passwordServer = await startPostgresServer({ passwordAuth: true });
  });

  afterAll(async () => {
    for (const p of running) p.kill();
    await passwordServer?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const SECRET = 'Wr0ng-secret-not-printed';
  function wrongPassword(): string {
    const u = new URL(passwordServer.url);
    u.password = SECRET;
    return u.toString();
  }
  async function closedPort(): Promise<string> {
    const u = new URL(databaseUrl());
    u.password = SECRET;
    u.port = String(await freePort());
    return u.toString();
  }
  function missingDatabase(): string {
    const u = new URL(withDatabase(databaseUrl(), 'syncproof_no_such_database'));
    u.password = SECRET;
    return u.toString();
  }

  it.each([
    ['sync', 'a wrong password', () => Promise.resolve(wrongPassword()), /password authentication failed/],
    ['sync', 'a closed port', closedPort, /ECONNREFUSED/],
    ['sync', 'a missing database', () => Promise.resolve(missingDatabase()), /syncproof_no_such_database" does not exist/],
    ['local', 'a wrong password', () => Promise.resolve(wrongPassword()), /password authentication failed/],
    ['demo', 'a missing database', () => Promise.resolve(missingDatabase()), /syncproof_no_such_database" does not exist/],
  ])('%s with %s as --warehouse exits 3 with the masked reason', async (command, _kind, url, reason) => {
    const warehouse = await url();
    const dataDir = join(work, `refused-${command}-${Math.random().toString(36).slice(2)}`);
    const args =
      command === 'sync'
        ? ['sync', 'orders', '--config', EXAMPLE_CONFIG, '--warehouse', warehouse, '--data-dir', dataDir]
        : command === 'local'
          ? ['local', '--config', EXAMPLE_CONFIG, '--warehouse', warehouse, '--data-dir', dataDir]
          : ['demo', '--rows', '10', '--files', '1', '--warehouse', warehouse, '--keep', dataDir];
    const result = await runBounded(args);
    expect(result.code).toBe(3);
    // One sentence: no class name before it (`TransientError: …` told the user nothing).
    expect(result.stderr).toMatch(/^syncproof: cannot connect to the PostgreSQL warehouse at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//m);
    expect(result.stderr).toMatch(reason);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    // The data dir is free again: nothing holds it.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('local with an --s3-port in use says so in one sentence and exits 3', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const dataDir = join(work, 'port');
      const result = await runBounded(['local', '--config', EXAMPLE_CONFIG, '--data-dir', dataDir, '--s3-port', String(port)]);
      expect(result.code).toBe(3);
      expect(withoutNodeWarning(result.stderr)).toBe(
        `syncproof: --s3-port ${port} is already in use by another process: stop it, choose another port, or leave --s3-port out to use a free one\n`,
      );
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('a data dir that local holds is refused to sync and local, naming the holder; a killed holder does not block the next run', async () => {
    const dataDir = join(work, 'held');
    const localArgs = ['local', '--config', EXAMPLE_CONFIG, '--warehouse', databaseUrl(), '--data-dir', dataDir];
    const syncArgs = ['sync', 'orders', '--config', EXAMPLE_CONFIG, '--warehouse', databaseUrl(), '--data-dir', dataDir];
    const holder = new CliProcess(localArgs);
    running.push(holder);
    const s3 = await connectToLocal(holder);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'orders/a.parquet', Body: ordersFile(range(1, 300), 0, 'new') }));
    await holder.waitFor(/ orders \S+ PASSED: \d+ files loaded/);
    const lock = await holderOf(dataDir);
    expect(lock.command).toBe('syncproof local');

    for (const args of [syncArgs, localArgs]) {
      const refused = await runBounded(args);
      expect(refused.code).toBe(3);
      const said = /the data dir (\S+) is in use by process (\d+) \(syncproof local\) since (\S+); wait for it to end/.exec(refused.stderr);
      expect(said?.slice(1)).toEqual([dataDir, String(lock.pid), lock.since]);
      expect(refused.stderr).not.toMatch(/Database is closed|\n\s+at /);
    }
    // The holder was not disturbed: it still serves, and stops cleanly.
    expect(await holder.stop('SIGINT')).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    expect(await query(databaseUrl(), 'SELECT COUNT(*)::int AS n FROM public.orders')).toEqual([{ n: 300 }]);

    // A holder killed with SIGKILL leaves its lock; the next run finds its pid gone and takes over.
    const killed = new CliProcess(localArgs);
    running.push(killed);
    await connectToLocal(killed);
    const stale = await holderOf(dataDir);
    await killed.crash();
    expect(await holderOf(dataDir)).toEqual(stale);
    const next = await runBounded(syncArgs);
    expect({ code: next.code, stderr: withoutNodeWarning(next.stderr) }).toEqual({ code: 0, stderr: '' });
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    expect(await query(databaseUrl(), 'SELECT COUNT(*)::int AS n, COUNT(DISTINCT order_id)::int AS k FROM public.orders')).toEqual([{ n: 300, k: 300 }]);
  });

  it('Ctrl-C during sync exits 130 naming the execution it left running; a second sync meanwhile is refused; the next sync resumes it', async () => {
    const ROWS = 2_000;
    await query(
      databaseUrl(),
      'CREATE TABLE public.src_orders (id BIGINT PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at TIMESTAMP(6) NOT NULL); ' +
        `INSERT INTO public.src_orders SELECT i, 'c' || i, TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL '1 second' FROM generate_series(1, ${ROWS}) AS i`,
    );
    const config = join(work, 'source-config.json');
    await writeFile(
      config,
      JSON.stringify({
        datasets: [{ name: 'orders', target: { schema: 'public', table: 'orders_copy' }, source: { engine: 'postgres', url: databaseUrl(), table: 'public.src_orders', cursorColumn: 'updated_at', limit: 500 } }],
      }),
    );
    const dataDir = join(work, 'interrupted');
    const args = ['sync', 'orders', '--config', config, '--warehouse', databaseUrl(), '--data-dir', dataDir];

    // The source table is locked, so the run blocks reading it: interrupted mid-run, deterministically.
    const blocker = new Client({ connectionString: databaseUrl() });
    await blocker.connect();
    try {
      await blocker.query('BEGIN; LOCK TABLE public.src_orders IN ACCESS EXCLUSIVE MODE');
      const first = new CliProcess(args);
      running.push(first);
      for (let waiting = 0; waiting === 0; ) {
        await new Promise((r) => setTimeout(r, 200));
        const [row] = await query<{ n: number }>(databaseUrl(), "SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        waiting = row?.n ?? 0;
        if (first.stderr.includes('syncproof:')) throw new Error(`the first sync ended:\n${first.stdout}\n${first.stderr}`);
      }

      const second = await runBounded(args);
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(new RegExp(`the data dir ${dataDir} is in use by process \\d+ \\(syncproof sync orders\\) since \\S+;`));

      expect(await first.stop('SIGINT')).toBe(130);
      const said = /interrupted; left running in (\S+): execution (sync-orders-\d+) \(dataset orders\)\. Run `syncproof sync orders` again with the same options \(--data-dir (\S+)\): it restarts that execution where it stopped, attaches to the dataset's live run/.exec(first.stderr);
      expect(said?.[1]).toBe(dataDir);
      expect(said?.[3]).toBe(dataDir);
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
      const leftRunning = said![2]!;

      await blocker.query('COMMIT');
      const report = join(work, 'report.json');
      const again = await runBounded([...args, '--json', report]);
      expect(again.code).toBe(0);
      const r = JSON.parse(await readFile(report, 'utf8')) as { attachedTo?: string; status: string };
      expect(r).toMatchObject({ attachedTo: leftRunning, status: 'PASSED' });
      expect(await query(databaseUrl(), 'SELECT COUNT(*)::int AS n, COUNT(DISTINCT id)::int AS k FROM public.orders_copy')).toEqual([{ n: ROWS, k: ROWS }]);
    } finally {
      await blocker.end().catch(() => undefined);
    }
  });
});
