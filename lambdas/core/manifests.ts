import { INTERNAL_PREFIX } from './config';

/** Where a dataset's manifests live (format: lambdas/inventory/manifest.ts; the extract stage writes one per chunk). */
export function manifestPrefix(dataset: string): string {
  return `${INTERNAL_PREFIX}manifests/${dataset}/`;
}
