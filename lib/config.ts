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
    throw new ConfigurationError(`cannot read configuration file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`configuration file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseConfig(raw, path);
}
