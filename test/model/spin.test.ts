/**
 * The load protocol's Promela models, checked exhaustively by spin (DESIGN.md §5 invariants):
 * load-protocol.pml (the fixed protocol, lambdas/core/load-protocol.ts) keeps I1-I4 in every
 * reachable state; load-protocol-old.pml (today's lambdas/load/load.ts) loads a file twice.
 *
 * Each check copies the model into a temporary folder, generates the verifier (`spin -a`),
 * compiles it (`gcc -DSAFETY`: assertions and end states, no LTL; never -DBITSTATE, so the search
 * is exhaustive) and runs it. A counterexample is replayed with `spin -t`, which prints the
 * model's printf trail (step names of the protocol and an "I<n> VIOLATED" line).
 * Needs the Debian package `spin` and gcc.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** pan's memory bound in MB; the largest configuration below needs ~260 MB. */
const PAN_MEMLIM_MB = 1024;
/** pan's depth bound; the deepest configuration reaches ~220 steps. */
const PAN_MAX_DEPTH = 10000;

interface ModelCheck {
  /** pan's report. */
  readonly pan: string;
  /** `spin -t` replay of the trail; empty when pan found no error. */
  readonly trail: string;
  readonly errors: number;
  readonly statesStored: number;
}

function run(cmd: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${String(e.status)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

function requireTools(): void {
  for (const [tool, args] of [['spin', ['-V']], ['gcc', ['--version']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      throw new Error(
        tool === 'spin'
          ? 'spin is not installed: install the Debian package `spin` (apt-get install -y spin; .ci/run does it when missing)'
          : 'gcc is not installed: spin compiles its verifier with gcc (Debian package `gcc`)',
      );
    }
  }
}

/**
 * Checks `model` (a file next to this test) with the given `-D` defines. `shortest` makes pan
 * look for the shortest counterexample (-i, with -DREACH), for a readable trail.
 */
function checkModel(model: string, defines: readonly string[], options: { shortest?: boolean } = {}): ModelCheck {
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), 'syncproof-spin-'));
  try {
    copyFileSync(join(__dirname, model), join(dir, model));
    run('spin', [...defines, '-a', model], dir);
    const flags = ['-O2', '-w', '-DSAFETY', '-DCOLLAPSE', `-DMEMLIM=${PAN_MEMLIM_MB}`, '-DVECTORSZ=2048'];
    run('gcc', [...flags, ...(options.shortest ? ['-DREACH'] : []), '-o', 'pan', 'pan.c'], dir);
    const pan = run(join(dir, 'pan'), [`-m${PAN_MAX_DEPTH}`, ...(options.shortest ? ['-i'] : [])], dir);
    const errors = Number(/errors: (\d+)/.exec(pan)?.[1] ?? NaN);
    const statesStored = Number(/(\d+) states, stored/.exec(pan)?.[1] ?? NaN);
    const trail = errors > 0 ? run('spin', [...defines, '-t', model], dir) : '';
    return { pan, trail, errors, statesStored };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('spin model of the load protocol', () => {
  it('the fixed load protocol keeps I1-I4 in every reachable state', () => {
    // Three configurations of one model: see the header of load-protocol.pml.
    const configurations = [
      ['-DNLOADERS=3', '-DATTEMPTS=1'],
      ['-DNLOADERS=2', '-DATTEMPTS=2'],
      ['-DWITH_G', '-DNLOADERS=3', '-DATTEMPTS=1'],
    ];
    for (const defines of configurations) {
      const result = checkModel('load-protocol.pml', defines);
      const report = `${defines.join(' ')}\n${result.pan}`;
      expect(report).toContain('Full statespace search');
      expect(report).toMatch(/errors: 0\n/);
      expect(report).not.toContain('max search depth too small');
      expect(report).not.toContain('out of memory');
      expect(result.statesStored).toBeGreaterThan(0);
    }
  }, 600_000);

  it('spin finds the double load in the old protocol (a failed file reclaimable while its statement may still commit)', () => {
    // TIMEOUT_ONLY: no crash and no lease expiry, so a poll timing out is the only fault.
    const result = checkModel('load-protocol-old.pml', ['-DTIMEOUT_ONLY'], { shortest: true });

    expect(result.errors).toBeGreaterThanOrEqual(1);
    expect(result.trail).toContain('I1 VIOLATED: object version F committed 2 times');
    expect(result.trail).toContain('text of failed assertion: assert((rows<=1))');
    // A load marked failed, the file claimed again by another load; and the load released after
    // its poll timed out has its statement commit after that release.
    expect(result.trail).toMatch(
      /OLD STEP 4 markFailed: load (\d+) releases F[\s\S]*OLD STEP 2 claim: load (?!\1)\d+ claims F \(was failed\)[\s\S]*I1 VIOLATED/,
    );
    expect(result.trail).toMatch(
      /OLD STEP 4 poll: load (\d+) timed out[^\n]*\n\s*OLD STEP 4 markFailed: load \1 releases F[\s\S]*OLD STEP 3 commit: load \1 inserts F/,
    );
  }, 600_000);

  it('a write-ahead whose statement the warehouse never received would keep the file leased forever if STEP 3 waited for it', () => {
    // Why STEP 3 takes over when DescribeStatement knows no statement: the holder crashed
    // between the write-ahead and the submit, and nothing will ever end.
    const result = checkModel('load-protocol.pml', ['-DUNKNOWN_IS_RUNNING', '-DNLOADERS=2', '-DATTEMPTS=1'], { shortest: true });

    expect(result.errors).toBeGreaterThanOrEqual(1);
    expect(result.trail).toMatch(/STEP 3 describe: attempt \d+ finds no statement \d+/);
    expect(result.trail).toContain('I2 VIOLATED: F ends loading');
  }, 600_000);
});
