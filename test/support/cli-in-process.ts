/** Runs `syncproof ARGS` in the test process, with source databases opened by the test. */
import { main } from '../../cli/main';
import type { SourceCommandDeps } from '../../cli/source-url';
import type { CliResult } from './cli';

/** `main` with stdout and stderr captured; resolves to the exit code main returns. */
export async function runCliInProcess(args: readonly string[], deps: SourceCommandDeps): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'syncproof', ...args], deps);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
