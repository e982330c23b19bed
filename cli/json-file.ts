import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './errors';

/** Writes a command's `--json FILE` report (pretty-printed); a failure is one line naming the file. */
export async function writeJsonReport(file: string, value: unknown): Promise<void> {
  try {
    await writeFile(resolve(file), `${JSON.stringify(value, null, 2)}\n`);
  } catch (error) {
    throw new CliError(`cannot write --json to '${file}' (${(error as { code?: string }).code ?? 'error'}); check the path`);
  }
}

/**
 * Replaces `file` with `text` atomically: written to a temporary file beside it, then renamed over
 * it, so a reader (or a crash) sees the old file or the new one, never half of one.
 */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const path = resolve(file);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new CliError(`cannot write '${file}' (${(error as { code?: string }).code ?? 'error'}); check the path and its permissions`);
  }
}
