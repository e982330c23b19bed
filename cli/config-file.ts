import { resolve } from 'node:path';
import { requireDataset, type SyncproofConfig } from '../lambdas/core/config';
import { loadConfigFile } from '../lib/config';
import { CliError } from './errors';

/**
 * The configuration `--config FILE` names, with each of `datasets` in it; a CliError (one line,
 * exit 3) naming what is wrong otherwise.
 */
export function loadCliConfig(file: string, datasets: readonly string[] = []): SyncproofConfig {
  try {
    const config = loadConfigFile(resolve(file));
    for (const d of datasets) requireDataset(config, d);
    return config;
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}
