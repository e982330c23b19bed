/**
 * One process at a time on a `--data-dir`: a lock file `<dataDir>/lock.json` naming its holder
 * (pid, command, since when). The emulators' own files are not safe to share (dynalite's LevelDB
 * fails a second opener only on its first request, as an uncaught "Database is closed"; PGlite has
 * no lock at all), so the runtime takes this lock before it opens anything in the directory.
 *
 * A pid file rather than a library: the kept lock libraries (proper-lockfile) detect a dead holder
 * by an mtime that the holder must refresh on a timer, so a killed process blocks the next run for
 * the staleness period; a pid is checked at once. The file is created complete and atomically
 * (written to a temporary name, then `link`ed, which fails when the lock exists). A holder that is
 * gone (its pid is not alive, or — on Linux — it is another process that reused the pid, told by the
 * process start time in /proc) is stale: it is taken over. The takeover of one stale lock is
 * serialized by an exclusive token named after it, and the lock is checked again under the token,
 * so two processes that both found it stale cannot both take it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The lock file's name in the data dir. */
export const LOCK_FILE = 'lock.json';

/** Who holds a data dir. */
export interface DataDirHolder {
  readonly pid: number;
  /** What runs there, e.g. `syncproof sync orders` (never its options: they may hold secrets). */
  readonly command: string;
  /** ISO time the holder took the lock. */
  readonly since: string;
  /** The holder's process start time (Linux, /proc/<pid>/stat field 22), to tell a reused pid. */
  readonly startTicks?: string;
}

/** Another live process holds the data dir. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder,
  ) {
    super(
      `the data dir ${dataDir} is in use by process ${holder.pid} (${holder.command}) since ${holder.since}; ` +
        'wait for it to end (or stop it with Ctrl-C), or use another --data-dir',
    );
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file (when it is still this process's). */
  release(): Promise<void>;
  /** The same, synchronously: for a process that is about to exit (a signal handler). */
  releaseSync(): void;
}

/** This process's start time on Linux (/proc), else undefined. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is parenthesized and may hold spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the holder of a lock still runs (the same process, not a reuse of its pid). */
export function holderAlive(holder: DataDirHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a process of another user has the pid; it runs.
  }
  if (holder.startTicks === undefined) return true;
  const now = startTicks(holder.pid);
  return now === undefined || now === holder.startTicks;
}

async function readHolder(path: string): Promise<DataDirHolder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DataDirHolder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function sameHolder(a: DataDirHolder | undefined, b: DataDirHolder): boolean {
  return a !== undefined && a.pid === b.pid && a.since === b.since && a.startTicks === b.startTicks;
}

/**
 * Takes the lock of `dataDir` (which must exist) for this process, taking over a stale one.
 * Throws {@link DataDirInUseError} while a live process holds it.
 */
export async function lockDataDir(dataDir: string, command: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  const ticks = startTicks(process.pid);
  const mine: DataDirHolder = { pid: process.pid, command, since: new Date().toISOString(), ...(ticks ? { startTicks: ticks } : {}) };
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(mine)}\n`);
  try {
    for (;;) {
      try {
        await link(temporary, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readHolder(path);
      if (holder === undefined) continue; // released meanwhile
      if (holderAlive(holder)) throw new DataDirInUseError(dataDir, holder);
      await takeOver(path, holder);
    }
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const ours = () => sameHolder(readHolderSync(path), mine);
  return {
    path,
    release: async () => {
      if (sameHolder(await readHolder(path).catch(() => undefined), mine)) await unlink(path).catch(() => undefined);
    },
    releaseSync: () => {
      if (!ours()) return;
      try {
        unlinkSync(path);
      } catch {
        // gone already
      }
    },
  };
}

function readHolderSync(path: string): DataDirHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DataDirHolder;
  } catch {
    return undefined;
  }
}

/**
 * Removes the stale lock of `stale`, unless another process is doing so: only the creator of the
 * token named after it may, and it checks under the token that the lock is still that one (a lock
 * is only removed by its holder or by the token's creator, so it cannot change in between).
 */
async function takeOver(path: string, stale: DataDirHolder): Promise<void> {
  const token = `${path}.takeover-${stale.pid}-${stale.startTicks ?? ''}-${stale.since.replace(/[^0-9]/g, '')}`;
  try {
    await writeFile(token, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process is taking it over: let it, then look again.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const owner = Number(await readFile(token, 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !holderAlive({ pid: owner, command: '', since: '' })) await unlink(token).catch(() => undefined);
    return;
  }
  try {
    if (sameHolder(await readHolder(path), stale)) await unlink(path);
  } finally {
    await unlink(token).catch(() => undefined);
  }
}
