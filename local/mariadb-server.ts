/**
 * A throwaway MariaDB server for local runs and tests (DESIGN.md §7): `mariadb-install-db` into a
 * temp dir, then `mariadbd` on a free 127.0.0.1 port. Needs the Debian/Ubuntu package
 * `mariadb-server`; no Docker.
 *
 * Start time *(measured, shared 2-core VM, MariaDB 10.11)*: ~0.7 s from nothing to accepting
 * connections (install-db ~0.5 s, then the server ~0.2 s; up to ~2.3 s when the disk is busy);
 * restarting on an existing `dataDir` ~0.2 s; a clean stop ~50 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { exec, freePort } from './postgres-server';

export interface MariadbServerOptions {
  /** Where the data lives; an existing one is reused and kept on stop. @default a new temp dir, removed on stop */
  readonly dataDir?: string;
  /** TCP port on 127.0.0.1. @default a free port chosen at start */
  readonly port?: number;
}

export interface MariadbServer {
  /** `mysql://root@127.0.0.1:<port>/` (root without a password, over TCP from 127.0.0.1 only). */
  readonly url: string;
  readonly port: number;
  /** Clean shutdown (SIGTERM, waits for the server to exit), then removes the temp dir (a given `dataDir` is kept). Idempotent. */
  stop(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin'];

function findExecutable(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** `mariadbd` (or `mysqld`) and `mariadb-install-db` (or `mysql_install_db`) from PATH, /usr/sbin or /usr/bin. */
export function findMariadbBinaries(): { server: string; installDb: string } | undefined {
  const server = findExecutable(['mariadbd', 'mysqld']);
  const installDb = findExecutable(['mariadb-install-db', 'mysql_install_db']);
  return server && installDb ? { server, installDb } : undefined;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no error log)';
  }
}

/**
 * Options shared by install-db's bootstrap and the server: no option files (/etc/mysql is never
 * read), utf8mb4 by default, and durability traded for speed (a test server's data is disposable).
 */
const ENGINE_OPTIONS = [
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_unicode_ci',
  '--innodb-log-file-size=8M',
  '--innodb-flush-method=nosync',
  '--innodb-flush-log-at-trx-commit=2',
  '--skip-innodb-doublewrite',
];

/** Resolves when a TCP client can log in as root; rejects when the server exits first or after `timeoutMs`. */
async function waitUntilReady(child: ChildProcess, port: number, logFile: string, timeoutMs: number): Promise<void> {
  let exited: string | undefined;
  const onExit = (code: number | null, signal: string | null) => (exited = `exited (${signal ?? code})`);
  child.once('exit', onExit);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exited) throw new Error(`mariadbd ${exited} before accepting connections:\n${tail(logFile)}`);
      try {
        const connection = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
        await connection.end();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms:\n${tail(logFile)}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    child.removeListener('exit', onExit);
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Starts a MariaDB server: `mariadb-install-db --no-defaults` (root authenticated normally, i.e.
 * without a password, no test database) into a temp dir (or `dataDir`, reusing data already
 * there), then `mariadbd --no-defaults` on 127.0.0.1 with its socket, pid file and error log in
 * the temp dir, `--skip-name-resolve`, running as the current OS user (`--user=root` when that is
 * root: mariadbd refuses root otherwise). Resolves once root can log in over TCP.
 * Throws when the binaries are missing (`apt-get install mariadb-server`).
 * The server is killed if the process exits without calling `stop()`.
 */
export async function startMariadbServer(options: MariadbServerOptions = {}): Promise<MariadbServer> {
  const binaries = findMariadbBinaries();
  if (!binaries) {
    throw new Error(
      'MariaDB server binaries (mariadbd or mysqld, and mariadb-install-db or mysql_install_db) not found in PATH, /usr/sbin or /usr/bin; ' +
        'install them (Debian/Ubuntu: apt-get install mariadb-server)',
    );
  }
  const user = userInfo().username;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const root = mkdtempSync(join(tmpdir(), 'syncproof-mariadb-'));
  const dataDir = options.dataDir ?? join(root, 'data');
  const logFile = join(root, 'error.log');
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  try {
    if (!existsSync(join(dataDir, 'mysql'))) {
      mkdirSync(dataDir, { recursive: true });
      await exec(binaries.installDb, [
        '--no-defaults',
        `--datadir=${dataDir}`,
        ...(isRoot ? [`--user=${user}`] : []),
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        // Its own temporary directory: bootstraps started at the same moment collided on /tmp/#sql-temptable-*.
        `--tmpdir=${root}`,
        ...ENGINE_OPTIONS,
      ]);
    }
    let port = options.port ?? (await freePort());
    let child: ChildProcess;
    for (let attempt = 0; ; attempt++) {
      child = spawn(
        binaries.server,
        [
          '--no-defaults',
          `--datadir=${dataDir}`,
          `--user=${user}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${join(root, 'mariadbd.sock')}`,
          `--pid-file=${join(root, 'mariadbd.pid')}`,
          `--log-error=${logFile}`,
          `--tmpdir=${root}`,
          '--skip-name-resolve',
          ...ENGINE_OPTIONS,
        ],
        { stdio: 'ignore' },
      );
      child.unref();
      try {
        await waitUntilReady(child, port, logFile, 60_000);
        break;
      } catch (error) {
        child.kill('SIGKILL');
        await waitForExit(child, 10_000);
        // Another process may have taken the free port between the probe and the start.
        if (options.port !== undefined || attempt >= 2) throw error;
        port = await freePort();
      }
    }
    const server = child;
    let stopped = false;
    const killSync = () => {
      if (stopped) return;
      stopped = true;
      server.kill('SIGKILL');
      cleanup();
    };
    process.once('exit', killSync);
    return {
      url: `mysql://root@127.0.0.1:${port}/`,
      port,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', killSync);
        try {
          server.kill('SIGTERM');
          await waitForExit(server, 60_000);
        } finally {
          cleanup();
        }
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
