import { createHash } from 'node:crypto';

/** Hex SHA-256 of the joined parts (order matters). */
export function digest(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('hex');
}

/**
 * Deterministic execution name for a set of object versions of one dataset: the same set of
 * (key, ETag) pairs always yields the same name, so a duplicate trigger is answered
 * ExecutionAlreadyExists. At most 80 characters, Step Functions' limit.
 */
export function executionName(dataset: string, objects: readonly { key: string; etag: string }[]): string {
  const ids = objects.map((o) => `${o.key}@${o.etag}`).sort();
  return `${dataset}-${digest(dataset, ...ids).slice(0, 32)}`;
}

/** Load id of one batch of one run: stable across retries of the same batch. */
export function loadIdFor(runId: string, batchUri: string): string {
  return `ld_${digest(runId, batchUri).slice(0, 24)}`;
}
