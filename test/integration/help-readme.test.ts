/**
 * Issue #14 item 11: every command's `--help` (run as a user runs it) and the README's synopses
 * (the `syncproof …` lines of its code blocks) name the same options.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The section after `title:` of a commander help text, one entry's first word(s) a line. */
function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(`${title}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    if (/^ {2}\S/.test(line)) out.push(line.trim());
  }
  return out;
}

/** The long options a help text lists, without --help. */
function helpOptions(help: string): Set<string> {
  return new Set(section(help, 'Options').flatMap((l) => /--[a-z][a-z0-9-]*/.exec(l)?.[0] ?? []).filter((o) => o !== '--help'));
}

/** Every leaf command (`['ledger', 'list']` …) with its help text, found from `syncproof --help` down. */
async function leafCommands(path: string[] = []): Promise<{ path: string[]; help: string }[]> {
  const r = await runCli([...path, '--help']);
  expect({ path, code: r.code, stderr: r.stderr }).toEqual({ path, code: 0, stderr: '' });
  const subs = section(r.stdout, 'Commands')
    .map((l) => l.split(/\s/)[0])
    .filter((name) => name !== 'help');
  if (subs.length === 0) return [{ path, help: r.stdout }];
  const out: { path: string[]; help: string }[] = [];
  for (const group of await Promise.all(subs.map((s) => leafCommands([...path, s])))) out.push(...group);
  return out;
}

/** The options the README's synopsis lines give `path`: code-block lines `syncproof PATH …` (or `npm run demo -- …`) and their `[…]` continuation lines. */
function readmeOptions(path: string[]): Set<string> {
  const options = new Set<string>();
  const blocks = README.split('```').filter((_, i) => i % 2 === 1);
  const head = new RegExp(`^(?:npx )?syncproof ${path.join(' ')}(?:\\s|$)`);
  const demo = path.length === 1 && path[0] === 'demo' ? /^npm run demo(?:\s|$)/ : undefined;
  for (const block of blocks) {
    let inSynopsis = false;
    for (const raw of block.split('\n')) {
      const line = raw.replace(/\s#\s.*$/, '');
      const starts = head.test(line) || (demo?.test(line) ?? false);
      if (starts) inSynopsis = true;
      else if (!(inSynopsis && /^\s+\[/.test(line))) {
        inSynopsis = false;
        continue;
      }
      for (const m of line.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) if (m[0] !== '--help') options.add(m[0]);
    }
  }
  return options;
}

describe('--help and the README', () => {
  it('name the same options for every command', async () => {
    const commands = await leafCommands();
    expect(commands.length).toBeGreaterThanOrEqual(10);
    const problems: string[] = [];
    for (const { path, help } of commands) {
      const inHelp = helpOptions(help);
      const inReadme = readmeOptions(path);
      const name = `syncproof ${path.join(' ')}`;
      if (inReadme.size === 0) {
        problems.push(`${name}: no synopsis in the README`);
        continue;
      }
      for (const o of inHelp) if (!inReadme.has(o)) problems.push(`${name}: ${o} is in --help but not in the README's synopsis`);
      for (const o of inReadme) if (!inHelp.has(o)) problems.push(`${name}: ${o} is in the README's synopsis but not in --help`);
    }
    expect(problems).toEqual([]);
  });

  it("sync's description, argument help and the README all say several datasets are one execution", async () => {
    const r = await runCli(['sync', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/each its own run/);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/several.{0,40}one execution/);
    expect(README).toMatch(/several datasets, one execution/);
  });

  it("the README's modes table lists every mode `sync --mode` accepts", async () => {
    const r = await runCli(['sync', 'orders', '--config', 'x.json', '--mode', 'no-such-mode']);
    expect(r.code).toBe(3);
    const modes = /--mode must be one of ([a-z, -]+?), got/.exec(r.stderr)?.[1]?.split(', ') ?? [];
    expect(modes).toContain('reconcile');
    const table = README.slice(README.indexOf('### Run modes'), README.indexOf('## Deploy'));
    for (const m of modes) expect({ mode: m, inTable: table.includes(`| \`${m}\``) }).toEqual({ mode: m, inTable: true });
  });
});

describe('--config on the state commands', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncproof-state-config-'));
    copyFileSync(join(__dirname, '..', '..', 'syncproof.config.example.json'), join(dir, 'config.json'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['watermark', 'get', 'ordrs']],
    [['watermark', 'set', 'ordrs', '--cursor', '5', '--create']],
    [['watermark', 'reset', 'ordrs']],
    [['ledger', 'list', 'ordrs']],
    [['ledger', 'retry', 'ordrs', 'orders/a.parquet']],
  ])('%j refuses a dataset the configuration does not hold, naming the nearest, and writes nothing', async (args) => {
    const dataDir = join(dir, 'state');
    const r = await runCli([...args, '--config', join(dir, 'config.json'), '--data-dir', dataDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/unknown dataset 'ordrs'; did you mean 'orders'\?/);
    expect(r.stderr).toContain('config.json');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Refused before any state was opened: the data dir was not even created.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a configured dataset passes the check and reaches the state', async () => {
    const r = await runCli(['watermark', 'get', 'orders', '--config', join(dir, 'config.json'), '--data-dir', join(dir, 'no-state')]);
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(/unknown dataset/);
    expect(r.stderr).toMatch(/--data-dir '.*no-state' does not exist/);
  });
});
