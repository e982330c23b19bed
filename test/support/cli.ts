/** Runs the `syncproof` command as a separate process, the way a user does. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

const ENTRY = join(__dirname, '..', '..', 'bin', 'syncproof.cjs');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function launch(args: readonly string[]): ChildProcessWithoutNullStreams {
  // A fresh environment as a shell would give: no Jest-injected NODE_OPTIONS.
  const env = { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0' };
  // Its own process group, so kill() can end the re-exec'd child too.
  return spawn(process.execPath, [ENTRY, ...args], { env, stdio: 'pipe', detached: true });
}

/** Runs `syncproof ARGS` to completion. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  const child = launch(args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running `syncproof ARGS` whose output can be waited on. */
export class CliProcess {
  private out = '';
  private err = '';
  private readonly exited: Promise<number | null>;
  private readonly waiters: { pattern: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(args: readonly string[]) {
    const child = launch(args);
    this.child = child;
    child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      this.check();
    });
    child.stderr.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  private readonly child: ChildProcessWithoutNullStreams;

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Resolves with the first match of `pattern` in stdout at or after character `from`. */
  waitFor(pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} in syncproof's output within ${timeoutMs} ms:\n${this.out}\n${this.err}`)),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        from,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
      this.check();
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`syncproof exited before printing ${pattern}:\n${this.out}\n${this.err}`));
      });
    });
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      const re = new RegExp(w.pattern.source, w.pattern.flags.replace('g', ''));
      const m = re.exec(this.out.slice(w.from));
      if (m) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** Sends `signal` and resolves with the exit code. */
  stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  /**
   * SIGKILLs the whole process group (the CLI re-executes itself under the legacy OpenSSL
   * provider, so the runtime is a grandchild) and resolves once no process of it is left.
   */
  async crash(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      return;
    }
    await this.exited;
    for (;;) {
      try {
        process.kill(-pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves with the exit code once the process has exited by itself. */
  exit(): Promise<number | null> {
    return this.exited;
  }

  /** Kills the process if it still runs (for afterAll). */
  kill(): void {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The S3 endpoint of a running `syncproof local`, as it printed it. */
export interface LocalEndpoint {
  readonly client: S3Client;
  readonly bucket: string;
}

/** Reads the endpoint, bucket, region and credentials `syncproof local` prints, as a user would. */
export async function connectToLocal(proc: CliProcess): Promise<LocalEndpoint> {
  await proc.waitFor(/Press Ctrl-C to stop\./);
  const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(\\S+)`, 'm').exec(proc.stdout)?.[1];
  const creds = /AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)/.exec(proc.stdout);
  const endpoint = field('S3 endpoint');
  const bucket = field('bucket');
  const region = field('region');
  if (!endpoint || !bucket || !region || !creds) throw new Error(`syncproof local printed no endpoint:\n${proc.stdout}`);
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: creds[1]!, secretAccessKey: creds[2]! },
  });
  return { client, bucket };
}
