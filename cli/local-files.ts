/**
 * The local side of `syncproof verify-local`: a streamed directory walk (fs.opendir, one open
 * directory per level of the current path) that yields regular files with '/'-separated relative
 * paths and their sizes, and reports every path it cannot compare instead of stopping.
 */
import type { Dir, Dirent, Stats } from 'node:fs';
import { constants } from 'node:fs';
import { access, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathIssue } from '../lambdas/core/local-sync';

/** One regular file (or symlink to one) under the walked root. */
export interface LocalFile {
  /** Relative to the root, '/'-separated, never starting with '/'. */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
  /** False when the file exists but this process may not read it (reported as an issue too). */
  readonly readable: boolean;
}

export interface WalkOptions {
  /** Called for each path that is not compared: unreadable, a symlink loop, not a regular file. */
  readonly onIssue: (issue: PathIssue) => void;
  /** Entries stat'ed concurrently per directory batch (default 64). */
  readonly batch?: number;
}

function errnoOf(error: unknown): string {
  return (error as { code?: string }).code ?? 'EIO';
}

function messageOf(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.message ?? String(error);
}

interface Resolved {
  readonly dirent: Dirent;
  readonly path: string;
  readonly absolutePath: string;
  readonly stats?: Stats;
  readonly error?: unknown;
  readonly readable: boolean;
}

async function resolveEntry(dirent: Dirent, relDir: string, absDir: string): Promise<Resolved> {
  const path = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
  const absolutePath = join(absDir, dirent.name);
  try {
    // stat follows symlinks: a symlink to a file is a file, to a directory a directory.
    const stats = await stat(absolutePath);
    let readable = true;
    // World-readable files are readable by anyone: access(2) only for the others (saves a syscall per file).
    if (stats.isFile() && (stats.mode & constants.S_IROTH) === 0) {
      try {
        await access(absolutePath, constants.R_OK);
      } catch (error) {
        return { dirent, path, absolutePath, stats, error, readable: false };
      }
    }
    return { dirent, path, absolutePath, stats, readable };
  } catch (error) {
    return { dirent, path, absolutePath, error, readable: false };
  }
}

/**
 * Walks `root` depth first and yields its regular files, following symlinks. A directory whose
 * device + inode is already on the current path (a symlink loop) is reported as `symlink-loop` and
 * not entered, so the walk always ends. Unreadable directories and files, dangling symlinks and
 * special files (FIFOs, sockets, devices: never opened) are reported through `onIssue` with their
 * errno; an unreadable file whose size is known is still yielded (`readable: false`) so the diff
 * does not call it missing. Zero-byte files are files. Order is the directory order.
 */
export async function* walkLocalFiles(root: string, options: WalkOptions): AsyncGenerator<LocalFile> {
  const rootStats = await stat(root);
  yield* walkDirectory(root, '', new Set([`${rootStats.dev}:${rootStats.ino}`]), options);
}

async function* walkDirectory(absDir: string, relDir: string, onPath: Set<string>, options: WalkOptions): AsyncGenerator<LocalFile> {
  let dir: Dir;
  try {
    dir = await opendir(absDir, { bufferSize: 256 });
  } catch (error) {
    options.onIssue({ path: relDir || '.', kind: 'unreadable', code: errnoOf(error), message: `cannot open directory: ${messageOf(error)}` });
    return;
  }
  const batchSize = options.batch ?? 64;
  let pending: Dirent[] = [];
  const subdirectories: Resolved[] = [];
  try {
    for (;;) {
      let dirent: Dirent | null;
      try {
        dirent = await dir.read();
      } catch (error) {
        options.onIssue({ path: relDir || '.', kind: 'unreadable', code: errnoOf(error), message: `cannot read directory: ${messageOf(error)}` });
        dirent = null;
      }
      if (dirent) pending.push(dirent);
      if (pending.length >= batchSize || (dirent === null && pending.length > 0)) {
        const resolved = await Promise.all(pending.map((d) => resolveEntry(d, relDir, absDir)));
        pending = [];
        for (const r of resolved) {
          const file = classify(r, options);
          if (file) yield file;
          else if (r.stats?.isDirectory()) subdirectories.push(r);
        }
      }
      if (dirent === null) break;
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
  // Subdirectories after the files of this one: at most one directory handle open per level.
  for (const sub of subdirectories) {
    const id = `${sub.stats!.dev}:${sub.stats!.ino}`;
    if (onPath.has(id)) {
      options.onIssue({ path: sub.path, kind: 'symlink-loop', code: 'ELOOP', message: 'symlink loop: this directory is one of its own parents; not followed' });
      continue;
    }
    onPath.add(id);
    yield* walkDirectory(sub.absolutePath, sub.path, onPath, options);
    onPath.delete(id);
  }
}

function classify(r: Resolved, options: WalkOptions): LocalFile | undefined {
  if (!r.stats) {
    const code = errnoOf(r.error);
    const what = r.dirent.isSymbolicLink() ? (code === 'ENOENT' ? 'dangling symlink' : code === 'ELOOP' ? 'symlink loop' : 'unreadable symlink') : 'cannot stat';
    options.onIssue({ path: r.path, kind: code === 'ELOOP' ? 'symlink-loop' : 'unreadable', code, message: `${what}: ${messageOf(r.error)}` });
    return undefined;
  }
  if (r.stats.isFile()) {
    if (!r.readable) {
      options.onIssue({ path: r.path, kind: 'unreadable', code: errnoOf(r.error), message: `cannot read file: ${messageOf(r.error)}` });
    }
    return { path: r.path, absolutePath: r.absolutePath, size: r.stats.size, readable: r.readable };
  }
  if (r.stats.isDirectory()) return undefined;
  const kind = r.stats.isFIFO() ? 'FIFO' : r.stats.isSocket() ? 'socket' : r.stats.isCharacterDevice() || r.stats.isBlockDevice() ? 'device' : 'special file';
  options.onIssue({ path: r.path, kind: 'not-a-file', code: kind, message: `${kind}, not a regular file: skipped` });
  return undefined;
}
