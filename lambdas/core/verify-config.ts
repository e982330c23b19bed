/**
 * A dataset's verification settings (issue #15): which tier its scheduled check runs, how much
 * recent cursor it re-examines, what it does with deleted keys, and the content tier's settings.
 * Part of the dataset schema in ./config.ts; read each with its `…Of` function for the default.
 */
import { z } from 'zod';
import type { DatasetConfig } from './config';

/** Which tier the scheduled VerifyStateMachine runs for a dataset (see `verifyTier`). */
export const VERIFY_TIERS = ['counts', 'content', 'sampled'] as const;
export type VerifyTier = (typeof VERIFY_TIERS)[number];

/** What the verification does with keys the warehouse holds and the source no longer has (see `deletes`). */
export const DELETE_POLICIES = ['report', 'propagate'] as const;
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

/** Content comparison defaults (reladiff's): children per split, rows fetched and diffed, relative float tolerance, segments a `sampled` check draws. */
export const DEFAULT_CONTENT = { factor: 32, fetchRows: 16_384, floatTolerance: 1e-9, sampleSegments: 16 } as const;

/** Settings of the content tier (issue #15 item 2). Unknown keys are refused. */
export const contentSettingsSchema = z.strictObject({
  /** Children per split of a mismatching segment. @default 32 */
  factor: z.number().int().min(2).max(1024).optional(),
  /** A segment of at most this many rows is fetched from both sides and diffed row by row. @default 16384 */
  fetchRows: z.number().int().min(1).max(1_000_000).optional(),
  /** Relative tolerance within which two float values are equal. @default 1e-9 */
  floatTolerance: z.number().min(0).max(1).optional(),
  /** `verifyTier: 'sampled'`: how many top-level segments a check draws (seeded by the run id). @default 16 */
  sampleSegments: z.number().int().min(1).max(1_000_000).optional(),
});
export type ContentSettings = Required<z.infer<typeof contentSettingsSchema>>;

/**
 * How much recent cursor a scheduled check re-examines for rows committed late behind the
 * watermark: a duration (`'24h'`, `'30m'`, `'7d'`) for a date/time cursor, or a whole number of
 * ids for an integer cursor.
 */
export const reconcileWindowSchema = z.union([
  z.number().int().positive(),
  z.string().regex(/^[1-9]\d*(ms|s|m|h|d)?$/, "must be a duration such as '24h', '30m' or '7d' (time cursors), or a whole number of ids (integer cursors)"),
]);

/** The dataset's verification tier, or the default ('counts'). */
export function verifyTierOf(dataset: Pick<DatasetConfig, 'verifyTier'>): VerifyTier {
  return dataset.verifyTier ?? 'counts';
}

/** The dataset's delete policy, or the default ('report'). */
export function deletesOf(dataset: Pick<DatasetConfig, 'deletes'>): DeletePolicy {
  return dataset.deletes ?? 'report';
}

/** The dataset's content settings, each defaulted (see {@link DEFAULT_CONTENT}). */
export function contentSettingsOf(dataset: Pick<DatasetConfig, 'content'>): ContentSettings {
  return { ...DEFAULT_CONTENT, ...Object.fromEntries(Object.entries(dataset.content ?? {}).filter(([, v]) => v !== undefined)) };
}
