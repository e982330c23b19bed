/**
 * A throwaway PostgreSQL server for local runs and tests: `initdb` into a temp dir and `pg_ctl`
 * start on a free 127.0.0.1 port (DESIGN.md §7: ~0.86M rows/s COPY). Needs the PostgreSQL server
 * binaries (Debian/Ubuntu: `apt-get install postgresql`); no Docker.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';

export interface PostgresServerOptions {
  /** Where the cluster lives; kept on stop. @default a new temp dir, removed on stop */
  readonly dataDir?: string;
  /** TCP port on 127.0.0.1. @default a free port chosen at start */
  readonly port?: number;
  /**
   * TCP connections must authenticate with a password (`scram-sha-256` in pg_hba.conf, which is
   * rewritten, also in a reused `dataDir`); the Unix socket stays trusted. The `postgres`
   * superuser gets a new random password, returned in `password` and in `url`. Lets tests check
   * that wrong credentials are refused, which trust auth never does.
   * @default false (trust auth, no password)
   */
  readonly passwordAuth?: boolean;
}

export interface PostgresServer {
  /**
   * `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, no password), or
   * `postgres://postgres:<password>@127.0.0.1:<port>/postgres` with `passwordAuth`.
   */
  readonly url: string;
  readonly port: number;
  /** The `postgres` user's password with `passwordAuth`; undefined under trust auth. */
  readonly password?: string;
  /** `pg_ctl stop -m fast`, then removes the temp dir (a given `dataDir` is kept). Idempotent. */
  stop(): Promise<void>;
}

/** Directories searched for initdb/pg_ctl: /usr/lib/postgresql/<newest>/bin first, then PATH. */
export function findPostgresBinDir(): string | undefined {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(root, v, 'bin'));
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** Resolves a free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Runner {
  readonly asUser?: string;
  run(file: string, args: readonly string[]): Promise<string>;
  runSync(file: string, args: readonly string[]): void;
}

/**
 * PostgreSQL refuses to run as root: as root, commands run as the `postgres` OS user through
 * `runuser -u postgres --` (util-linux), or `su postgres -s /bin/sh -c` when runuser is missing.
 */
function runner(): Runner {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    return {
      run: (file, args) => exec(file, args),
      runSync: (file, args) => void execFileSync(file, args, { stdio: 'ignore', timeout: 30_000 }),
    };
  }
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    throw new Error('PostgreSQL refuses to run as root and there is no `postgres` OS user; run as another user or create it (apt-get install postgresql does)');
  }
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
  if (runuser) {
    return {
      asUser: 'postgres',
      run: (file, args) => exec(runuser, ['-u', 'postgres', '--', file, ...args]),
      runSync: (file, args) => void execFileSync(runuser, ['-u', 'postgres', '--', file, ...args], { stdio: 'ignore', timeout: 30_000 }),
    };
  }
  const shell = (file: string, args: readonly string[]) => [file, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return {
    asUser: 'postgres',
    run: (file, args) => exec('su', ['postgres', '-s', '/bin/sh', '-c', shell(file, args)]),
    runSync: (file, args) => void execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', shell(file, args)], { stdio: 'ignore', timeout: 30_000 }),
  };
}

/** Runs a tool to completion (2 min at most) and resolves its stdout; rejects with its stderr. Shared with local/mariadb-server.ts. */
export function exec(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${String(stderr || stdout || error.message).trim()}`, { cause: error }));
      else resolve(String(stdout));
    });
  });
}

function chownTree(path: string, user: string): void {
  execFileSync('chown', ['-R', `${user}:`, path], { stdio: 'ignore' });
}

/** Password over TCP, trust on the Unix socket (how {@link setPostgresPassword} gets in). */
const PASSWORD_HBA = [
  '# written by syncproof local/postgres-server.ts (passwordAuth)',
  'local all all trust',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
  '',
].join('\n');

/** Sets the `postgres` user's password through the trusted Unix socket; returns it. */
async function setPostgresPassword(socketDir: string, port: number): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  const client = new Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query(`ALTER ROLE postgres PASSWORD '${password}'`);
  } finally {
    await client.end();
  }
  return password;
}

/**
 * Starts a PostgreSQL server: `initdb` (trust auth, `-U postgres`, `--no-sync`, UTF8) into a temp
 * dir (or `dataDir`, reusing an existing cluster there), then `pg_ctl -w start` listening on
 * 127.0.0.1 only, with its Unix socket in the temp dir, `fsync=off`. Creates nothing else.
 * With `passwordAuth`, TCP connections need the `postgres` password it sets (see the option).
 * Throws when initdb/pg_ctl are not installed (`apt-get install postgresql`).
 * The server is stopped (`-m immediate`) if the process exits without calling `stop()`.
 */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBinDir();
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH; ' +
        'install them (Debian/Ubuntu: apt-get install postgresql) or use the embedded PGlite warehouse',
    );
  }
  const run = runner();
  const root = mkdtempSync(join(tmpdir(), 'syncproof-pg-'));
  const dataDir = options.dataDir ?? join(root, 'data');
  const socketDir = join(root, 'socket');
  mkdirSync(socketDir);
  const logFile = join(root, 'server.log');
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  try {
    if (run.asUser) {
      if (options.dataDir) mkdirSync(dataDir, { recursive: true });
      chownTree(root, run.asUser);
      if (options.dataDir) chownTree(dataDir, run.asUser);
    }
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      await run.run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    }
    // An existing pg_hba.conf belongs to the postgres OS user; overwriting it keeps its owner.
    if (options.passwordAuth) writeFileSync(join(dataDir, 'pg_hba.conf'), PASSWORD_HBA);
    let port = options.port ?? (await freePort());
    for (let attempt = 0; ; attempt++) {
      const serverOptions = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
      try {
        await run.run(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
        break;
      } catch (error) {
        // Another process may have taken the free port between the probe and the start.
        if (options.port !== undefined || attempt >= 2) throw error;
        port = await freePort();
      }
    }
    let stopped = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      try {
        run.runSync(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already down
      }
      cleanup();
    };
    process.once('exit', stopSync);
    let password: string | undefined;
    try {
      if (options.passwordAuth) password = await setPostgresPassword(socketDir, port);
    } catch (error) {
      stopSync();
      process.removeListener('exit', stopSync);
      throw error;
    }
    return {
      url: password === undefined ? `postgres://postgres@127.0.0.1:${port}/postgres` : `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      ...(password === undefined ? {} : { password }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', stopSync);
        try {
          await run.run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
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
