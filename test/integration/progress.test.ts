/**
 * Progress on a terminal (issue #16 item 7), through the CLI: `sync` draws its stages on stderr only
 * when stderr is a TTY (a pseudo-terminal from util-linux `script`); piped, its stdout is exactly
 * the report and its stderr stays empty.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { formatSyncReport, type SyncReport } from '../../cli/sync-command';
import { runCli } from '../support/cli';

jest.setTimeout(300_000);

const ENTRY = join(__dirname, '..', '..', 'bin', 'syncproof.cjs');
/** stderr without the AWS SDK's NodeVersionSupportWarning on Node 20 (issue #14 item 10, handled apart). */
const quiet = (stderr: string) => stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/, '');
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `syncproof ARGS` under a pseudo-terminal (`script -qfec`): what the terminal showed, stdout and stderr together. */
function runOnTerminal(args: readonly string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, ENTRY, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0', TERM: 'xterm', COLUMNS: '160' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe('progress of sync', () => {
  let work: string;
  let config: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-progress-'));
    const db = await createPglite(join(work, 'source'));
    await db.exec(
      'CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20), updated_at TIMESTAMP(6) NOT NULL); ' +
        "INSERT INTO items SELECT i, 'n' || i, TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL '1 second' FROM generate_series(1, 50) AS i",
    );
    await db.close();
    config = join(work, 'config.json');
    const added = await runCli(['datasets', 'add', 'items', '--source', `pglite:${join(work, 'source')}`, '--table', 'public.items', '--config', config]);
    if (added.code !== 0) throw new Error(`datasets add failed: ${added.stderr}`);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('prints exactly the report on stdout and nothing on stderr when not on a terminal', async () => {
    const json = join(work, 'piped.json');
    const r = await runCli(['sync', 'items', '--config', config, '--data-dir', join(work, 'piped'), '--json', json]);
    const report = JSON.parse(await readFile(json, 'utf8')) as SyncReport;
    expect({ code: r.code, stderr: quiet(r.stderr) }).toEqual({ code: 0, stderr: '' });
    expect(report.status).toBe('PASSED');
    expect(r.stdout).toBe(`${formatSyncReport(report)}\n`);
  });

  it('draws the stages, files and rows on a terminal, then the same report', async () => {
    const r = await runOnTerminal(['sync', 'items', '--config', config, '--data-dir', join(work, 'terminal')]);
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(/sync items Extract \| files \d+ \| rows \d+ \| \d+s/);
    for (const stage of ['AcquireRun', 'Discover', 'Load', 'Verify', 'CommitWatermark']) expect(r.screen).toContain(`sync items ${stage} |`);
    expect(r.screen).toMatch(/sync items: PASSED \(execution sync-items-\d+ SUCCEEDED\)/);
  });
});
