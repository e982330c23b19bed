import type { AwsCallObserver } from './call-observer';
import type { CfnTemplate } from './template';
import type { DatasetConfig, SyncproofConfig } from '../lambdas/core/config';
import type { SourceDatabase } from '../lambdas/core/source';
import type { Clock, RunRecord, RunStore } from '../lambdas/core/ports';
import type { StageLog } from '../lambdas/core/stage-deps';
import type { EventDeliveryOptions } from './event-delivery';
import type { MachineKind } from './execution-journal';
import type { LocalHandler } from './lambda-sandbox';
import type { WarehouseApi } from './local-warehouse';
import type { Usage } from '../lambdas/core/usage';

/** The DynamoDB tables of the local runtime (the CLI's state commands open them without the runtime). */
export const LOCAL_TABLES = { ledger: 'syncproof-ledger', runs: 'syncproof-runs', watermarks: 'syncproof-watermarks' } as const;

/** Options of `LocalRuntime.start`. */
export interface LocalRuntimeOptions {
  readonly config: SyncproofConfig;
  /** `postgres://…` for a PostgreSQL server; @default embedded PGlite (in dataDir when given) */
  readonly warehouse?: string;
  /**
   * `data-api`: the stages reach the warehouse through the local Redshift Data API with the
   * production RedshiftDataWarehouse adapter; `direct`: through the Postgres-family adapter.
   * @default 'data-api'
   */
  readonly warehouseApi?: WarehouseApi;
  /**
   * IAM role the stages name in COPY. The local Data API's cluster may assume only the
   * configuration's `redshift.copyRoleArn` (LOCAL_COPY_ROLE without a redshift block; see
   * localStackConfig in local/runtime.ts), so another role fails the COPY as Redshift does (for
   * tests of a misconfigured deployment). @default the cluster's role
   */
  readonly copyRoleArn?: string;
  /**
   * IAM as AWS enforces it (DESIGN.md §6): every S3, DynamoDB and Data API call of a stage is
   * evaluated against the role policy CDK synthesized for its Lambda, COPY's reads against the
   * bucket policy for the COPY role, Lambda invocations and child executions against the state
   * machines' roles. `false` only for tests that are about something else and measure it.
   * @default true
   */
  readonly iam?: boolean;
  /**
   * Changes the synthesized template before the runtime reads it (tests remove a grant to show
   * the run failing with the action named). @default none
   */
  readonly editTemplate?: (template: CfnTemplate) => void;
  /** The stages' clock (tests move it to expire leases). @default the system clock */
  readonly clock?: Clock;
  /**
   * Keeps S3, DynamoDB, PGlite data, the event queue (`queue/`) and the running executions
   * (`executions/`) here; a restart resumes from it (see {@link LocalRuntime.start}).
   * @default a temp dir, removed on stop
   */
  readonly dataDir?: string;
  /**
   * Who holds `dataDir` while this runtime runs, as its lock names it to a second process (e.g.
   * `syncproof sync orders`; no options, which may hold secrets). @default `node <script>`
   */
  readonly owner?: string;
  /** @default a free port chosen at run time */
  readonly s3Port?: number;
  /** @default 'syncproof-local' */
  readonly bucket?: string;
  /**
   * Route S3 "Object Created" events to the trigger (false: uploads start nothing; executions
   * start only by hand — for scheduled-verification runs and tests that stage objects).
   * @default true
   */
  readonly s3Events?: boolean;
  /**
   * Run the S3 emulator in a child process (uses the second core; keeps the emulator's memory out
   * of this process's measurements). S3 events cannot cross the process boundary: requires
   * `s3Events: false`.
   * @default false
   */
  readonly s3InChildProcess?: boolean;
  /**
   * How S3 events reach the trigger: at least once, possibly duplicated, reordered and late, as
   * in AWS (see {@link EventDeliveryOptions} for the default and the fault hooks).
   * @default the AWS-like policy with a random seed ({@link LocalRuntime.eventDeliverySeed})
   */
  readonly eventDelivery?: EventDeliveryOptions;
  /**
   * How long the local queue gathers visible messages before invoking the trigger (the event
   * source's MaximumBatchingWindow). The stack's window (20 s) would make every test wait; the
   * shortened default cuts a burst into more, smaller batches, which is harsher, never kinder.
   * Benchmarks pass the stack's window to see its batches. Batch sizes are always the stack's.
   * @default 200
   */
  readonly eventBatchingWindowMs?: number;
  /**
   * Told of every S3 and DynamoDB call a stage Lambda makes, at the SDK client (before it is sent):
   * tests and the bench count listings and ledger reads with it. @default none
   */
  readonly observeAwsCalls?: AwsCallObserver;
  /**
   * Executions running at once; more wait for a slot (Step Functions has no such limit that
   * matters here: this bounds the memory of one process, not the concurrency tests see).
   * @default 16
   */
  readonly maxConcurrentExecutions?: number;
  /**
   * Multiplies every Lambda's configured timeout (the template's `Timeout`) to give stages a
   * shorter budget in tests: `getRemainingTimeInMillis()` counts down from timeout × scale, and
   * an invocation that outlives it fails with `Sandbox.Timedout`.
   * @default 1
   */
  readonly timeBudgetScale?: number;
  /**
   * Replaces the handler of a stage (by SYNCPROOF_STAGE name: `load`, `discover`, …) for tests:
   * hooks, stalls, fault injection. The replacement gets the same event and Lambda context, and
   * may call the real handler module. @default the stages' handler modules
   */
  readonly stageHandlers?: Readonly<Partial<Record<string, LocalHandler>>>;
  /**
   * Opens the source database of a dataset with a `source` (tests and the demo pass an embedded
   * PGlite source here). @default the dataset's `source.url` (lambdas/adapters/sources.ts)
   */
  readonly sources?: (dataset: DatasetConfig) => Promise<SourceDatabase>;
  /** Called when an execution ends. */
  readonly onExecution?: (execution: ExecutionSummary) => void;
  /**
   * Called when an execution enters a state (nested states too), with the runtime's run store to
   * read the run's record (its id is the execution name): progress on a terminal. @default none
   */
  readonly onStateEntered?: (entered: { readonly name: string; readonly machine: MachineKind; readonly state: string; readonly runs: RunStore }) => void;
  /**
   * Told of every stage Lambda invocation's usage as it ends (lambdas/adapters/usage-meter.ts),
   * also the trigger's, which belongs to no run. @default none
   */
  readonly onInvocationUsage?: (stage: string, usage: Usage) => void;
  /** @default silent */
  readonly log?: StageLog;
}

export interface ExecutionSummary {
  readonly name: string;
  readonly input: unknown;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  /** The execution's error name and cause when it failed. */
  readonly error?: string;
  readonly cause?: string;
  /** The run record the pipeline wrote, read back from DynamoDB. */
  readonly run?: RunRecord;
  /** Which workflow ran. */
  readonly machine: MachineKind;
  /**
   * Largest output of each state, in bytes of JSON, over the execution (a looping state counts
   * its largest pass). Step Functions caps state data at 256 KiB; syncproof keeps it small.
   */
  readonly stateOutputBytes: Readonly<Record<string, number>>;
  /** State transitions (states entered) over the execution, as Step Functions bills them. */
  readonly transitions: number;
  /** Set when the execution was restarted from the journal: the state it re-entered. */
  readonly restartedAt?: string;
  /** When this process began running the execution and when it ended (ISO-8601). */
  readonly startDate?: string;
  readonly stopDate?: string;
}
