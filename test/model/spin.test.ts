/**
 * The load protocol's Promela models, checked exhaustively by spin (DESIGN.md §5 invariants):
 * load-protocol.pml (the protocol of lambdas/core/load-protocol.ts) keeps I1-I4 and R in every
 * reachable state, with one file and with a batch of two; load-protocol-old.pml (the protocol
 * before it: no fence, no write-ahead, no guard) loads a file twice. Each mechanism the model
 * credits is removed by a `-D` flag in a test that expects spin to find the violation.
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

/** pan's memory bound in MB; the largest configuration below needs ~200 MB. */
const PAN_MEMLIM_MB = 1024;
/** pan's depth bound; the deepest configuration reaches ~370 steps. */
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
  it('the load protocol keeps I1-I4 and R in every reachable state, for one file and for a batch of two', () => {
    // Four configurations of one model: see the header of load-protocol.pml.
    const configurations = [
      ['-DNLOADERS=3', '-DATTEMPTS=1'],
      ['-DNLOADERS=2', '-DATTEMPTS=2'],
      ['-DWITH_G', '-DNLOADERS=3', '-DATTEMPTS=1'],
      ['-DBATCH', '-DNLOADERS=2', '-DATTEMPTS=2'],
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

  it('spin finds the double load of a batch file when the transaction has no guard (the mechanism I1 credits)', () => {
    const result = checkModel('load-protocol.pml', ['-DNO_GUARD', '-DBATCH', '-DNLOADERS=2', '-DATTEMPTS=2'], { shortest: true });

    expect(result.errors).toBeGreaterThanOrEqual(1);
    expect(result.trail).toMatch(/TXN (\d+) commits 0[\s\S]*TXN (?!\1)\d+ commits 0[\s\S]*I1 VIOLATED: object version 0 committed 2 times/);
  }, 600_000);

  it('spin finds a live holder\'s lease expired when holders do not renew it (the mechanism R credits)', () => {
    // Without renewal a holder polling a long statement looks gone: its lease expires under it.
    // I1-I3 still hold (a take-over waits for the statement to end); R is what breaks.
    const result = checkModel('load-protocol.pml', ['-DNO_RENEWAL', '-DNLOADERS=2', '-DATTEMPTS=1'], { shortest: true });

    expect(result.errors).toBeGreaterThanOrEqual(1);
    expect(result.trail).toMatch(/STEP 6 submit: attempt (\d+)[\s\S]*R VIOLATED: a lease expired while its holder polls its statement/);
    expect(result.trail).not.toMatch(/I[123] VIOLATED/);
  }, 600_000);

  it('the batch reaches refused → one by one → quarantined (BATCH does not pass vacuously)', () => {
    const result = checkModel('load-protocol.pml', ['-DREACH_ONE_BY_ONE', '-DBATCH', '-DNLOADERS=2', '-DATTEMPTS=2'], { shortest: true });

    expect(result.errors).toBeGreaterThanOrEqual(1);
    // A transaction holding A and B refused; then B alone, refused again, quarantined.
    expect(result.trail).toMatch(/holding A 1, B 1\n[\s\S]*TXN (\d+) refused: content mismatch[\s\S]*STEP 6 submit: attempt (\d+) holding A 0, B 1\n[\s\S]*TXN \2 refused: content mismatch[\s\S]*attempt \2 quarantines 1 \(one by one: 1\)/);
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
