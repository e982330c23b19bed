/**
 * The {@link OpenSourceUrl} the CLI uses: the same URL dispatch as the extract stage
 * (lambdas/adapters/sources.ts).
 */
import type { OpenSourceUrl } from './source-url';

/** Loads the source drivers (mysql2, pg, PGlite) when a source opens, not at every CLI start. */
export const openSourceUrl: OpenSourceUrl = (...args) =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('../lambdas/adapters/sources') as typeof import('../lambdas/adapters/sources')).openSourceUrl(...args);
