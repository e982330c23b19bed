/**
 * Issue #14 item 10: on the Node the README names (and on Node 20, which this machine runs), a command
 * prints none of the AWS SDK's Node-version notice; package.json, the README and the Lambda runtime agree.
 */
import { mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

const ROOT = join(__dirname, '..', '..');

describe('Node version', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncproof-node-'));
    copyFileSync(join(ROOT, 'syncproof.config.example.json'), join(dir, 'config.json'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a sync on the local runtime prints no NodeVersionSupportWarning, and its run is recorded', async () => {
    const dataDir = join(dir, 'state');
    const r = await runCli(['sync', 'orders', '--config', join(dir, 'config.json'), '--data-dir', dataDir]);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|upgrade to node/);
    expect(r.stdout).not.toMatch(/NodeVersionSupportWarning/);
    expect(r.code).toBe(0);
    // The run really happened: its state is read back through the CLI.
    const wm = await runCli(['watermark', 'list', '--data-dir', dataDir]);
    expect(wm.code).toBe(0);
    expect(wm.stderr).not.toMatch(/NodeVersionSupportWarning/);
  });

  it('package.json engines, the README and the Lambda runtime name the same Node major', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const stage = readFileSync(join(ROOT, 'lib', 'constructs', 'stage-function.ts'), 'utf8');
    const lambdaMajor = /Runtime\.NODEJS_(\d+)_X/.exec(stage)?.[1];
    const engineMajor = /^>=\s*(\d+)/.exec(pkg.engines.node)?.[1];
    const readmeMajor = /Needs Node\.js ≥ (\d+)/.exec(readme)?.[1];
    expect({ engines: engineMajor, readme: readmeMajor }).toEqual({ engines: lambdaMajor, readme: lambdaMajor });
    // Every dependency installed accepts the engines range's lowest major (no EBADENGINE on npm ci).
    const lsf = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aws-local-stepfunctions', 'package.json'), 'utf8')) as { engines?: { node?: string } };
    const needs = /^>=\s*(\d+)/.exec(lsf.engines?.node ?? '>=0')?.[1];
    expect(Number(engineMajor)).toBeGreaterThanOrEqual(Number(needs));
  });
});
