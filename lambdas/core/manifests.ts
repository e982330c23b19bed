/**
 * Manifests: what a producer says it wrote, the expected side of inventory and checksum checks.
 *
 * Format (one or more JSON objects per dataset, any name ending in `.json`, under
 * `_syncproof/manifests/<dataset>/`; the extract stage writes one per extraction, tests and
 * external producers may write their own):
 *
 * ```json
 * { "dataset": "orders",
 *   "files": [ { "key": "orders/2024/part-0001.parquet", "size": 123456, "rows": 1000,
 *                "checksums": { "md5": "<hex>", "crc64nvme": "<base64>", "crc32c": "<base64>", "sha256": "<base64 or hex>" } } ] }
 * ```
 *
 * `key` is the full object key and must lie under the dataset's prefix; `size` is in bytes; `rows`
 * is optional; every checksum is optional and describes the whole file (MD5 as hex or base64, the
 * others as S3 reports them: base64 of the big-endian digest, or hex). When several manifests
 * list the same key, the manifest whose key sorts last wins.
 */
import { z } from 'zod';
import { INTERNAL_PREFIX, formatIssues, type DatasetConfig } from './config';
import { TerminalError } from './errors';
import type { ObjectChecksums, ObjectStore } from './ports';

const checksumValue = z.string().min(1);

export const manifestFileSchema = z.object({
  key: z.string().min(1),
  size: z.number().int().min(0),
  rows: z.number().int().min(0).optional(),
  checksums: z
    .object({
      md5: checksumValue.optional(),
      crc64nvme: checksumValue.optional(),
      crc32c: checksumValue.optional(),
      crc32: checksumValue.optional(),
      sha256: checksumValue.optional(),
      sha1: checksumValue.optional(),
    })
    .default({}),
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

export const manifestSchema = z.object({
  dataset: z.string().min(1),
  files: z.array(manifestFileSchema),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** Where a dataset's manifests live (the extract stage writes one per chunk). */
export function manifestPrefix(dataset: string): string {
  return `${INTERNAL_PREFIX}manifests/${dataset}/`;
}

/** A manifest is unreadable or does not match the format above. */
export class InvalidManifestError extends TerminalError {
  override readonly name = 'InvalidManifestError';
}

/**
 * Reads the dataset's manifests one at a time, in key order, validating each (InvalidManifestError
 * names the object and the bad field). Only one manifest is held in memory at a time.
 */
export async function* readManifests(objects: ObjectStore, dataset: DatasetConfig): AsyncIterable<{ key: string; manifest: Manifest; lastModified: string }> {
  for await (const o of objects.list(manifestPrefix(dataset.name))) {
    if (!o.key.endsWith('.json')) continue;
    const parsed = manifestSchema.safeParse(await objects.getJson(o.key));
    const where = `manifest s3://${objects.bucket}/${o.key}`;
    if (!parsed.success) throw new InvalidManifestError(`${where} is invalid: ${formatIssues(parsed.error)}; fix or remove it`);
    if (parsed.data.dataset !== dataset.name) {
      throw new InvalidManifestError(`${where} names dataset '${parsed.data.dataset}', but lies under the manifests of '${dataset.name}'; move it`);
    }
    const outside = parsed.data.files.find((f) => !f.key.startsWith(dataset.prefix));
    if (outside) throw new InvalidManifestError(`${where} lists '${outside.key}', which is not under the dataset prefix '${dataset.prefix}'`);
    yield { key: o.key, manifest: parsed.data, lastModified: o.lastModified };
  }
}

/** The manifest checksums of one file, as `ObjectChecksums` (the expected side of integrity checks). */
export function manifestChecksums(file: ManifestFile): ObjectChecksums {
  return Object.fromEntries(Object.entries(file.checksums).filter(([, v]) => v !== undefined)) as ObjectChecksums;
}
