/**
 * The {@link OpenSourceUrl} the CLI uses: the same URL dispatch as the extract stage
 * (lambdas/adapters/sources.ts).
 */
export { openSourceUrl } from '../lambdas/adapters/sources';
