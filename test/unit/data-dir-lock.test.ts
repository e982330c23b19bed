/** The data dir's lock (local/data-dir-lock.ts): one live holder; a gone holder's lock is taken over. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, LOCK_FILE, lockDataDir, type DataDirHolder } from '../../local/data-dir-lock';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('the data dir lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncproof-lock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const holder = async (): Promise<DataDirHolder> => JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as DataDirHolder;

  it('refuses a second taker while the holder lives, naming it; free again once released', async () => {
    const lock = await lockDataDir(dir, 'syncproof local');
    const held = await holder();
    expect(held).toMatchObject({ pid: process.pid, command: 'syncproof local' });
    const refused = await lockDataDir(dir, 'syncproof sync orders').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as DataDirInUseError).holder).toEqual(held);
    expect((refused as Error).message).toBe(
      `the data dir ${dir} is in use by process ${process.pid} (syncproof local) since ${held.since}; wait for it to end (or stop it with Ctrl-C), or use another --data-dir`,
    );
    await lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const next = await lockDataDir(dir, 'syncproof sync orders');
    expect((await holder()).command).toBe('syncproof sync orders');
    next.releaseSync();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('takes over the lock of a process that is gone, and of a pid reused by another process', async () => {
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), command: 'syncproof local', since: '2026-01-01T00:00:00.000Z' }));
    const lock = await lockDataDir(dir, 'syncproof sync orders');
    expect(await holder()).toMatchObject({ pid: process.pid, command: 'syncproof sync orders' });
    await lock.release();
    if (existsSync(`/proc/${process.pid}/stat`)) {
      // A live pid whose process started at another time is another process: the holder is gone.
      await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, command: 'syncproof local', since: '2026-01-01T00:00:00.000Z', startTicks: '1' }));
      const again = await lockDataDir(dir, 'syncproof sync orders');
      expect(await holder()).toMatchObject({ pid: process.pid, command: 'syncproof sync orders' });
      await again.release();
    }
  });

  it('lets one of several takers of a stale lock have it', async () => {
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), command: 'syncproof local', since: '2026-01-01T00:00:00.000Z' }));
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => lockDataDir(dir, `taker ${i}`)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof DataDirInUseError)).toBe(true);
  });

  it('does not remove a lock another process holds when releasing', async () => {
    const lock = await lockDataDir(dir, 'syncproof local');
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, command: 'someone else', since: '2026-01-01T00:00:00.000Z' }));
    await lock.release();
    lock.releaseSync();
    expect((await holder()).command).toBe('someone else');
  });
});
