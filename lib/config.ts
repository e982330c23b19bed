import { readFileSync } from 'node:fs';
import { parseConfig, type SyncproofConfig } from '../lambdas/core/config';
import { ConfigurationError } from '../lambdas/core/errors';

export {
  INTERNAL_PREFIX,
  parseConfig,
  type DatasetConfig,
  type RedshiftConfig,
  type SyncproofConfig,
  type SyncproofConfigInput,
} from '../lambdas/core/config';

/**
 * ` at line L column C` for a JSON.parse error: Node 22 says it in the message; Node 20 gives only
 * `at position N` (0-based), converted here. Empty when neither is known (e.g. an empty file).
 */
function jsonErrorPlace(text: string, message: string): string {
  if (/\(line \d+ column \d+\)/.test(message)) return '';
  const at = /at position (\d+)/.exec(message);
  const position = at ? Number(at[1]) : /Unexpected end of JSON input/.test(message) ? text.length : undefined;
  if (position === undefined) return '';
  const before = text.slice(0, position).split('\n');
  return ` at line ${before.length} column ${before[before.length - 1]!.length + 1}`;
}

/**
 * Reads a syncproof configuration file (JSON) and validates it with the shared zod schema.
 *
 * @param path file path; relative paths resolve against the current working directory.
 * @throws ConfigurationError naming the file and every bad field (`datasets.0.keyColumns: …`),
 *   or saying why the file cannot be read or parsed.
 */
export function loadConfigFile(path: string): SyncproofConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const why = missing ? 'it does not exist; check the path (syncproof.config.example.json shows a configuration)' : (error as Error).message;
    throw new ConfigurationError(`cannot read configuration file ${path}: ${why}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`configuration file ${path} is not valid JSON${jsonErrorPlace(text, (error as Error).message)}: ${(error as Error).message}; fix it there`, { cause: error });
  }
  return parseConfig(raw, path);
}
