import { z } from 'zod';
import { checksumSampleSchema, formatIssues, requireDataset, type DatasetConfig, type SyncproofConfig } from './config';
import { InvalidInputError } from './errors';
import { VERIFY_TIERS, reconcileWindowSchema } from './verify-config';
import { executionInputSchema, type ExecutionInput } from './execution-input';

/**
 * Which workflow runs a verification stage: `sync` (SyncStateMachine, before the loads: files
 * arrive over time, so only contradictions with a manifest count) or `verify` (the scheduled
 * VerifyStateMachine: the whole dataset is judged).
 */
export const verificationModeSchema = z.enum(['sync', 'verify']);
export type VerificationMode = z.infer<typeof verificationModeSchema>;

/** What the schedule, console or CLI passes to the VerifyStateMachine. */
export const verifyExecutionInputSchema = z
  .object({
    dataset: z.string({ error: 'required: the name of a configured dataset' }).min(1),
    /** Overrides the dataset's `checksumSample` for this execution. */
    checksumSample: checksumSampleSchema.optional(),
    /** The tier the schedule asks for (the dataset's `verifyTier`); the count chain runs for every tier. */
    tier: z.enum(VERIFY_TIERS).optional(),
    /** Count chain and content tier: only rows and runs at or after this cursor value (file datasets: loads since this time). */
    since: z.string().min(1).optional(),
    /** `tier: "sampled"`: the seed drawing the segments (default: the execution name). */
    seed: z.string().min(1).optional(),
    /** The dataset's `reconcileWindow` (the schedule passes it): the content check compares that recent window and repairs late rows. */
    reconcileWindow: reconcileWindowSchema.optional(),
  })
  .strict();

/** The dataset an execution input names, and its checksum-sample override if any. */
export interface ParsedExecution {
  readonly dataset: DatasetConfig;
  readonly checksumSample?: string;
  /** The SyncStateMachine's execution input (`sync` mode only): which batch the run is about. */
  readonly execution?: ExecutionInput;
}

/**
 * Validates an execution input as the given workflow accepts it (the sync workflow's is the
 * Discover stage's schema, so both stages report a bad input the same way).
 */
export function parseExecutionInput(input: unknown, mode: VerificationMode, config: SyncproofConfig): ParsedExecution {
  if (mode === 'sync') {
    const parsed = executionInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new InvalidInputError(
        `invalid execution input: ${formatIssues(parsed.error)}; start the execution with {"dataset": "<name>"} and optionally "checksumSample": "10%" | "<count>" | "all"`,
      );
    }
    return { dataset: requireDataset(config, parsed.data.dataset), checksumSample: parsed.data.checksumSample, execution: parsed.data };
  }
  const parsed = verifyExecutionInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError(
      `invalid execution input: ${formatIssues(parsed.error)}; start the execution with {"dataset": "<name>"} and optionally "checksumSample": "10%" | "<count>" | "all"`,
    );
  }
  return { dataset: requireDataset(config, parsed.data.dataset), checksumSample: parsed.data.checksumSample };
}

/** Same test as Discover: objects of the dataset's format are the ones the pipeline loads. */
export function isDataFile(key: string, format: 'parquet' | 'csv'): boolean {
  return !key.endsWith('/') && key.toLowerCase().endsWith(format === 'parquet' ? '.parquet' : '.csv');
}
