/**
 * Several datasets in one execution (issue #8): the SyncDatasetsStateMachine's input, the child
 * SyncStateMachine executions it starts (their names and inputs), and the summary of their
 * outcomes. Pure: the record stage and the CLI call it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatIssues, requireDataset, type SyncproofConfig } from './config';
import { InvalidInputError } from './errors';
import { executionInputSchema } from './execution-input';
import type { RunStatus } from './ports';

/** Step Functions' longest execution name. */
export const MAX_EXECUTION_NAME = 80;

/** The error name a SyncDatasetsStateMachine execution fails with when one of its datasets failed. */
export const DATASETS_FAILED = 'DatasetsFailedError';

/**
 * What an operator passes to the SyncDatasetsStateMachine: the datasets, and what every child
 * run shares. `mode` is passed through as it is; each child's own input schema validates it.
 */
export const datasetsInputSchema = z.strictObject({
  datasets: z.array(z.string({ error: 'each entry must be the name of a configured dataset' }).min(1)).min(1, 'name at least one dataset'),
  mode: z.string().min(1).optional(),
  limit: executionInputSchema.shape.limit,
  maxChunks: executionInputSchema.shape.maxChunks,
});
export type DatasetsInput = z.infer<typeof datasetsInputSchema>;

/** One child execution to start: its deterministic name and its SyncStateMachine input. */
export interface DatasetItem {
  readonly dataset: string;
  readonly name: string;
  readonly input: { readonly dataset: string } & Omit<DatasetsInput, 'datasets'>;
}

/**
 * The child execution name of `dataset` in the parent execution `parent`: the parent's name (cut
 * to fit), the dataset, and 8 hex digits of SHA-256 over both, at most 80 characters. The same
 * parent and dataset always give the same name, so a restarted parent meets its own child again
 * (Step Functions answers a second StartExecution of a name with ExecutionAlreadyExists, or the
 * running execution for the same input) instead of starting a second run of the dataset. The
 * digest keeps names apart when the cut makes two parents' prefixes equal. Only characters of the
 * parent name, the dataset name (`a-z0-9-`) and hex digits: a valid name when the parent's is.
 */
export function childExecutionName(parent: string, dataset: string): string {
  const digest = createHash('sha256').update(`${parent}\n${dataset}`).digest('hex').slice(0, 8);
  const tail = `-${dataset}-${digest}`;
  // By code points, so a cut never splits a surrogate pair.
  const head = Array.from(parent).slice(0, MAX_EXECUTION_NAME - tail.length).join('');
  return `${head}${tail}`;
}

/**
 * Validates a SyncDatasetsStateMachine input against the configuration and returns the child
 * executions in the order given. InvalidInputError names every bad field, unknown datasets (with
 * the configured ones) and datasets named twice.
 */
export function planDatasets(raw: unknown, config: SyncproofConfig, parent: string): DatasetItem[] {
  const parsed = datasetsInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(`SyncDatasetsStateMachine input is invalid: ${formatIssues(parsed.error, datasetsInputSchema)}`);
  }
  const { datasets, ...shared } = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of datasets) {
    if (seen.has(name)) problems.push(`dataset '${name}' is named twice`);
    seen.add(name);
    try {
      requireDataset(config, name);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new InvalidInputError(`SyncDatasetsStateMachine input is invalid: ${[...new Set(problems)].join('; ')}`);
  return datasets.map((dataset) => ({ dataset, name: childExecutionName(parent, dataset), input: { dataset, ...shared } }));
}

/** A Map iteration's state: the item, and either the child's `.sync:2` result (trimmed) or the caught error. */
export const datasetResultSchema = z.object({
  dataset: z.string().min(1),
  name: z.string().min(1),
  execution: z
    .object({
      ExecutionArn: z.string().optional(),
      Status: z.string(),
      Output: z.unknown().optional(),
      StartDate: z.unknown().optional(),
      StopDate: z.unknown().optional(),
    })
    .optional(),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});
export type DatasetResult = z.input<typeof datasetResultSchema>;

/** How one dataset of the execution ended. */
export interface DatasetOutcome {
  readonly dataset: string;
  /** The child execution's name (its run id). */
  readonly execution: string;
  readonly executionStatus: 'SUCCEEDED' | 'FAILED';
  /** The child run's status (its Finish output), FAILED when the child failed. */
  readonly status: RunStatus;
  /** `Error: cause` of a failed child. */
  readonly error?: string;
}

/** The SyncDatasetsStateMachine's output (and, when some dataset failed, its Fail state's input). */
export interface DatasetsSummary {
  /** The worst of the datasets' statuses. */
  readonly status: RunStatus;
  readonly datasets: readonly DatasetOutcome[];
  /** Names of the datasets whose execution failed. */
  readonly failed: readonly string[];
  readonly failedCount: number;
  /** Set when some dataset failed: the Fail state's Error and Cause. */
  readonly error?: string;
  readonly cause?: string;
}

const SEVERITY: Record<RunStatus, number> = { NO_WORK: 0, PASSED: 1, PASSED_PARTIAL: 2, PASSED_WITH_WARNINGS: 3, RUNNING: 4, FAILED: 5 };
const RUN_STATUSES = new Set(Object.keys(SEVERITY));
/** A Fail state's Cause holds 32,768 characters; one dataset's share of it stays short. */
const MAX_ERROR_CHARS = 400;

/**
 * Folds the Map's results into the summary: a child that succeeded reports its run's status (from
 * its output), one that failed FAILED with its error. A failed `.sync:2` task reports
 * `States.TaskFailed` whose Cause is the child's DescribeExecution (JSON): its Error and Cause
 * name what went wrong in the child.
 */
export function summarizeDatasets(raw: readonly unknown[]): DatasetsSummary {
  const outcomes = raw.map((r): DatasetOutcome => {
    const result = datasetResultSchema.parse(r);
    const status = (result.execution?.Output as { status?: unknown } | undefined)?.status;
    if (result.execution?.Status === 'SUCCEEDED' && !result.error) {
      return { dataset: result.dataset, execution: result.name, executionStatus: 'SUCCEEDED', status: typeof status === 'string' && RUN_STATUSES.has(status) ? (status as RunStatus) : 'NO_WORK' };
    }
    return { dataset: result.dataset, execution: result.name, executionStatus: 'FAILED', status: 'FAILED', error: shorten(failureText(result.error ?? {})) };
  });
  const failed = outcomes.filter((o) => o.executionStatus === 'FAILED');
  const status = outcomes.reduce<RunStatus>((worst, o) => (SEVERITY[o.status] > SEVERITY[worst] ? o.status : worst), 'NO_WORK');
  const base = { status, datasets: outcomes, failed: failed.map((o) => o.dataset), failedCount: failed.length };
  if (failed.length === 0) return base;
  return {
    ...base,
    error: DATASETS_FAILED,
    cause: `${failed.length} of ${outcomes.length} datasets failed (the others went on): ${failed.map((o) => `${o.dataset} (${o.error})`).join('; ')}`,
  };
}

/** `Error: cause` of a caught error; for a failed child, the child's own Error and Cause. */
function failureText(error: { Error?: string; Cause?: string }): string {
  const name = error.Error ?? 'UnknownError';
  const child = parseJson(error.Cause) as { Status?: unknown; Error?: unknown; Cause?: unknown } | undefined;
  if (name === 'States.TaskFailed' && child && typeof child.Status === 'string') {
    return `${typeof child.Error === 'string' ? child.Error : child.Status}: ${errorMessageOf(typeof child.Cause === 'string' ? child.Cause : undefined)}`;
  }
  return `${name}: ${errorMessageOf(error.Cause)}`;
}

/** A Lambda error's Cause is JSON with `errorMessage`; Step Functions' own are plain text. */
function errorMessageOf(cause: string | undefined): string {
  if (!cause) return 'no cause recorded';
  const parsed = parseJson(cause) as { errorMessage?: unknown } | undefined;
  return typeof parsed?.errorMessage === 'string' ? parsed.errorMessage : cause;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function shorten(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS - 1)}…`;
}
