import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { DynamoDbRunLockStore } from '../lambdas/adapters/dynamodb-run-lock-store';
import { DynamoDbWatermarkStore } from '../lambdas/adapters/dynamodb-watermark-store';
import { translateDescribeError } from '../lambdas/adapters/sfn-execution-reader';
import type { ExecutionStatus, ExecutionStatusReader } from '../lambdas/core/run-lock';
import { openSource } from '../lambdas/adapters/sources';
import { ParquetInspector } from '../lambdas/adapters/parquet-inspector';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { LOCAL_BINDINGS, logger, type LocalBindings } from '../lambdas/adapters/stage-handler';
import { LOCAL_BILLING, type LocalBilling } from '../lambdas/adapters/usage-meter';
import { decodeBundledConfig } from '../lambdas/core/bundled-config';
import { InvalidInputError, TransientError } from '../lambdas/core/errors';
import { systemClock, type Warehouse } from '../lambdas/core/ports';
import { LOCAL_REDSHIFT, openLocalWarehouse, type LocalWarehouse } from './local-warehouse';
import { lockDataDir, type DataDirLock } from './data-dir-lock';
import { observeCalls } from './call-observer';
import { enforceIam } from './iam/client-middleware';
import { dataApiAuthorizer } from './iam/data-api-authorizer';
import { LocalAccessDenied, LocalIam, sessionOf, type LocalPrincipal } from './iam/local-iam';
import { localRoleArn, stackIam } from './iam/stack-iam';
import type { SyncproofConfig } from '../lambdas/core/config';
import type { LocalRedshiftDataApi } from './redshift-data-api/server';
import type { StageDeps } from '../lambdas/core/stage-deps';
import type { WatermarkStore } from '../lambdas/core/watermark';
import * as checksumHandler from '../lambdas/checksum/handler';
import * as commitHandler from '../lambdas/commit/handler';
import * as extractHandler from '../lambdas/extract/handler';
import * as discoverHandler from '../lambdas/discover/handler';
import * as inventoryHandler from '../lambdas/inventory/handler';
import * as countsHandler from '../lambdas/verify/counts-handler';
import * as cleanHandler from '../lambdas/clean/handler';
import * as loadHandler from '../lambdas/load/handler';
import * as recordHandler from '../lambdas/record/handler';
import * as triggerHandler from '../lambdas/trigger/handler';
import * as verifyHandler from '../lambdas/verify/handler';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  ensureTables,
  startLocalDynamoDb,
  startLocalS3,
  startLocalS3Process,
  type LocalDynamoDb,
  type LocalS3,
  type S3NotificationEvent,
} from './emulators';
import { EventBridgeSink } from '../lambdas/adapters/eventbridge-sink';
import { eventDeliveryPolicy } from './event-delivery';
import { LocalEventBus, type BusEvent } from './local-event-bus';
import { LocalMetrics } from './local-metrics';
import { matchesPattern } from './event-pattern';
import { EventQueue, type QueueMessage } from './event-queue';
import { ExecutionJournal, type EndedExecution, type JournaledExecution, type MachineKind } from './execution-journal';
import { invokeLambda, type LocalHandler } from './lambda-sandbox';
import { bindMachine, runMachine, type BoundMachine } from './machine-runner';
import { ChildExecutionRefused, childTaskResult, describeExecution, startExecutionRequest, type ChildOutcome } from './child-execution';
import { reconcileExecutionName, unannouncedObjects } from './reconcile';
import { objectCreatedEvents, sqsEvent } from './s3-events';
import { LOCAL_TABLES, type ExecutionSummary, type LocalRuntimeOptions } from './runtime-options';
import {
  LOCAL_ACCOUNT,
  localFunctionArn,
  eventRules,
  functionBilling,
  functionStages,
  functionTimeouts,
  stateMachines,
  synthesizeStack,
  type Json,
  type LocalRule,
  eventSourceBatching,
  scheduleInputs,
} from './template';

/** Stage name (SYNCPROOF_STAGE in the template) → the handler module a Lambda of that stage runs. */
const STAGE_HANDLERS: Record<string, LocalHandler> = {
  extract: extractHandler.handler as LocalHandler,
  commit: commitHandler.handler as LocalHandler,
  discover: discoverHandler.handler as LocalHandler,
  load: loadHandler.handler as LocalHandler,
  verify: verifyHandler.handler as LocalHandler,
  record: recordHandler.handler as LocalHandler,
  trigger: triggerHandler.handler as LocalHandler,
  inventory: inventoryHandler.handler as LocalHandler,
  checksum: checksumHandler.handler as LocalHandler,
  counts: countsHandler.handler as LocalHandler,
  clean: cleanHandler.handler as LocalHandler,
};

export type { ExecutionSummary, LocalRuntimeOptions, MachineKind };

const MACHINE_NAMES: Record<MachineKind, string> = { sync: 'SyncStateMachine', verify: 'VerifyStateMachine', datasets: 'SyncDatasetsStateMachine' };

/** The IAM role the local Redshift cluster may assume for COPY (of a configuration without a redshift block). */
export const LOCAL_COPY_ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/syncproof-local-copy`;

/**
 * The operator's principal (the credentials `runtime.deps` and the CLI's local commands use): an
 * administrator, as a developer's own credentials in the console would be.
 */
const OPERATOR: LocalPrincipal = sessionOf(localRoleArn('syncproof-local-operator'), 'operator', [
  { name: 'AdministratorAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
]);

/**
 * The configuration the local runtime synthesizes: without a `redshift` block, the local
 * Serverless workgroup and LOCAL_COPY_ROLE, so that the stack grants the stages the Data API and
 * the COPY role the bucket as a deployed stack would. A COPY role of another account is taken as
 * the same role name in the local account: the local runtime stands for the stack's account and
 * cannot see a foreign role's own policies.
 */
export function localStackConfig(config: SyncproofConfig): SyncproofConfig {
  if (!config.redshift) return { ...config, redshift: { ...LOCAL_REDSHIFT, copyRoleArn: LOCAL_COPY_ROLE } };
  const [arn, aws, service, region, account, ...rest] = config.redshift.copyRoleArn.split(':');
  if (account === LOCAL_ACCOUNT || service !== 'iam') return config;
  return { ...config, redshift: { ...config.redshift, copyRoleArn: [arn, aws, service, region, LOCAL_ACCOUNT, ...rest].join(':') } };
}

/** The local runtime's DynamoDB table names (in dynalite, under `<dataDir>/dynamodb`). */
export { LOCAL_TABLES } from './runtime-options';
const TABLES = LOCAL_TABLES;
/** The trigger's batching window locally, unless `eventBatchingWindowMs` says otherwise (AWS's, shortened). */
const TRIGGER_WINDOW_MS = 200;
/** `<dataDir>/runtime.json`: whether the last process on the data dir stopped cleanly. */
const STATE_FILE = 'runtime.json';

/**
 * The pipeline on one machine: S3 (s3rver) and DynamoDB (dynalite) emulators on 127.0.0.1, the
 * embedded warehouse or a PostgreSQL server, and the SyncStateMachine, SyncDatasetsStateMachine
 * and VerifyStateMachine that CDK synthesizes, run by aws-local-stepfunctions with each Lambda
 * task bound to its handler module and each `startExecution.sync:2` task to a child execution of
 * this runtime. S3 writes are routed through the template's own EventBridge rule patterns to a queue
 * that feeds the trigger handler.
 *
 * Where correctness depends on it, it behaves like AWS, never more kindly (DESIGN.md §6):
 * - executions run concurrently, like Step Functions' (bounded only by `maxConcurrentExecutions`);
 *   names are unique across running and ended executions, also across restarts on one data dir;
 * - S3 events are delivered at least once, possibly duplicated, reordered and late
 *   ({@link EventDeliveryOptions}), in batches of the stack's SQS `BatchSize` gathered for a
 *   (shortened) batching window, with partial-batch failures and five receives;
 * - each Lambda invocation has its function's configured timeout as its budget (`Sandbox.Timedout`
 *   past it; the handler is abandoned, not killed);
 * - it is as durable as SQS and Step Functions: a killed process loses no accepted upload and no
 *   running execution (see {@link LocalRuntime.start}).
 */
export class LocalRuntime {
  readonly region = LOCAL_REGION;
  readonly credentials = LOCAL_CREDENTIALS;
  /** Taken names: an execution of this process (running or its summary), or one that ended earlier. */
  private readonly names = new Map<string, ExecutionSummary | 'running' | 'ended'>();
  /** The journal records of the executions running in this process (their inputs), by name. */
  private readonly records = new Map<string, JournaledExecution>();
  /** How the executions that ended in earlier processes ended, by name. */
  private ended: ReadonlyMap<string, EndedExecution> = new Map();
  /** The VerifyStateMachine's schedule inputs, by dataset (the template's rules). */
  private verifySchedules: ReadonlyMap<string, unknown> = new Map();
  private readonly running = new Map<string, Promise<ExecutionSummary>>();
  private readonly finished: ExecutionSummary[] = [];
  private readonly slotWaiters: (() => void)[] = [];
  private active = 0;
  private queue: EventQueue | undefined;
  /** The data dir's lock (see ./data-dir-lock.ts); none on a temporary directory. */
  private lock: DataDirLock | undefined;
  private stopped = false;
  /** The account's event buses: what the record stage put (see {@link events}). */
  private bus!: LocalEventBus;
  /** The stages' EMF output, as CloudWatch reads it (see {@link metrics}). */
  private metricLog!: LocalMetrics;
  /** Each Lambda function's memory and architecture (the template's), by logical id. */
  private billing: ReadonlyMap<string, { readonly memoryMb: number; readonly architecture: 'arm64' | 'x86_64' }> = new Map();
  /** Billed transitions so far of the executions running in this process, by name. */
  private readonly liveTransitions = new Map<string, number>();

  private constructor(
    private readonly options: LocalRuntimeOptions,
    private readonly root: string,
    private readonly s3: LocalS3,
    private readonly dynamo: LocalDynamoDb,
    private readonly localWarehouse: LocalWarehouse,
    readonly deps: StageDeps,
    private readonly machines: Readonly<Record<MachineKind, BoundMachine>>,
    private readonly rules: readonly LocalRule[],
    /** Lambda logical id → its budget per invocation, ms. */
    private readonly budgets: ReadonlyMap<string, number>,
    private readonly triggerFunction: string,
    private readonly journal: ExecutionJournal,
    /** The seed of the event delivery policy (replay a failure with it). */
    readonly eventDeliverySeed: number,
    private readonly ownedDir: string | undefined,
    /** IAM of the synthesized stack; undefined when `iam: false`. */
    private readonly iam: LocalIam | undefined,
    /** State machine logical id by kind (their roles are looked up by it). */
    private readonly machineIds: Readonly<Record<MachineKind, string>>,
    /** Lambda logical id → its stage (SYNCPROOF_STAGE). */
    private readonly functionStages: ReadonlyMap<string, string>,
  ) {}

  /** Each Lambda function's deps: the same stores over clients that call AWS as its role. */
  private readonly stageDepsByFunction = new Map<string, StageDeps>();
  private readonly stageClients: { destroy(): void }[] = [];

  get s3Endpoint(): string {
    return this.s3.endpoint;
  }

  get bucket(): string {
    return this.s3.bucket;
  }

  /**
   * Starts everything; resolves when the runtime accepts uploads. On a `dataDir` an earlier
   * process left (stopped or killed):
   * - queue messages not yet processed are delivered again (at least once);
   * - executions that were running start again under the same name and input, and re-enter the
   *   top-level state they were in with that state's input (the task it ran is invoked again, as a
   *   Retry would); states they completed are not run again. In AWS the execution would simply go
   *   on; re-entering its last state is the local approximation, and it needs the stages to be
   *   idempotent, which is what the load protocol is for. An execution journaled before it entered
   *   any state starts from the top;
   * - when the last process did not stop cleanly (or the data dir predates the queue), objects
   *   under a dataset prefix with no ledger entry and no queued message (the event of a PUT cut by
   *   the crash between storing the object and queueing its event) start one reconcile execution
   *   `{dataset}` per dataset, named by {@link reconcileExecutionName}.
   */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    logger.setLogLevel('WARN');
    const ownedDir = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'syncproof-local-'));
    const root = options.dataDir ?? (ownedDir as string);
    await mkdir(root, { recursive: true });
    // What this start has opened, undone in reverse order when a later step fails: a server or a
    // pool left open would keep the process alive after the error is reported.
    const opened: (() => Promise<void>)[] = [];
    if (ownedDir) opened.push(() => rm(ownedDir, { recursive: true, force: true }));
    try {
      // Before anything in the directory is opened: one process at a time on a data dir.
      const lock = options.dataDir ? await lockDataDir(root, options.owner ?? `node ${basename(process.argv[1] ?? '')}`.trim()) : undefined;
      if (lock) opened.push(() => lock.release());
      const runtime = await LocalRuntime.open(options, root, ownedDir, opened);
      runtime.lock = lock;
      return runtime;
    } catch (error) {
      for (const undo of opened.reverse()) await undo().catch(() => undefined);
      throw error;
    }
  }

  /** {@link start} once the data dir is this process's: each thing it opens is pushed on `opened`. */
  private static async open(options: LocalRuntimeOptions, root: string, ownedDir: string | undefined, opened: (() => Promise<void>)[]): Promise<LocalRuntime> {
    const bucket = options.bucket ?? 'syncproof-local';
    const stackConfig = localStackConfig(options.config);
    const { template, bundledConfig } = synthesizeStack(stackConfig);
    options.editTemplate?.(template);
    const redshift = stackConfig.redshift!;
    const scale = options.timeBudgetScale ?? 1;
    if (!(scale > 0)) throw new InvalidInputError(`timeBudgetScale must be above 0, got ${scale}`);
    if (options.s3InChildProcess && options.s3Events !== false) {
      throw new InvalidInputError('s3InChildProcess needs s3Events: false: the S3 emulator\'s events cannot reach the trigger from a child process');
    }
    const s3: LocalS3 = options.s3InChildProcess
      ? await startLocalS3Process({ bucket, directory: join(root, 's3'), port: options.s3Port })
      : await startLocalS3({ bucket, directory: join(root, 's3'), port: options.s3Port });
    opened.push(() => s3.stop());
    const dynamo = await startLocalDynamoDb({ path: join(root, 'dynamodb') });
    opened.push(() => dynamo.stop());
    await ensureTables(dynamo.endpoint, TABLES);

    const overrides = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const objects = new S3ObjectStore(createS3Client({ ...overrides, s3: s3.endpoint }), bucket);
    const ddb = createDocumentClient({ ...overrides, dynamodb: dynamo.endpoint });
    const warehouseUrl = options.warehouse ?? `pglite:${join(root, 'warehouse')}`;
    // The role the local cluster may assume; the stages name `options.copyRoleArn` in their COPYs.
    const copyRoleArn = options.copyRoleArn ?? redshift.copyRoleArn;

    const machines = stateMachines(template);
    const find = (kind: MachineKind) => machines.find((m) => m.logicalId.startsWith(MACHINE_NAMES[kind]));
    const sync = find('sync') ?? machines[0];
    const verify = find('verify');
    const datasets = find('datasets');
    if (!sync) throw new Error('the synthesized template has no state machine');
    if (!verify) throw new Error('the synthesized template has no VerifyStateMachine');
    if (!datasets) throw new Error('the synthesized template has no SyncDatasetsStateMachine');
    const machineIds: Record<MachineKind, string> = { sync: sync.logicalId, verify: verify.logicalId, datasets: datasets.logicalId };
    const stages = functionStages(template);

    const iam =
      options.iam === false
        ? undefined
        : new LocalIam(
            stackIam(template, {
              bucket,
              tablesByPartitionKey: { objectKey: TABLES.ledger, runId: TABLES.runs, dataset: TABLES.watermarks },
              stateMachineArns: Object.fromEntries((Object.keys(machineIds) as MachineKind[]).map((k) => [machineIds[k], localStateMachineArn(k)])),
            }),
          );
    // Each stage Lambda signs with its logical id as access key; the operator with LOCAL_CREDENTIALS.
    const principals = new Map<string, LocalPrincipal>(iam ? [...stages.keys()].map((id) => [id, iam.functionPrincipal(id)]) : []);
    principals.set(LOCAL_CREDENTIALS.accessKeyId, OPERATOR);
    // Redshift reads what COPY names as the cluster's role: its reads are checked against the bucket policy.
    const copyObjects = iam
      ? new S3ObjectStore(enforceIam(createS3Client({ ...overrides, s3: s3.endpoint }), iam, sessionOf(redshift.copyRoleArn, 'RedshiftIamRoleSession')), bucket)
      : objects;
    const localWarehouse = await openLocalWarehouse({
      url: warehouseUrl,
      objects: copyObjects,
      api: options.warehouseApi ?? 'data-api',
      redshift,
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      credentials: LOCAL_CREDENTIALS,
      ...(iam ? { authorize: dataApiAuthorizer(iam, principals) } : {}),
    });
    opened.push(() => localWarehouse.close());
    const bus = new LocalEventBus(LOCAL_REGION, LOCAL_ACCOUNT, join(root, 'events.jsonl'));
    const deps: StageDeps = {
      // What the stack bundles into each stage Lambda, decoded as a deployed handler decodes it.
      config: decodeBundledConfig(bundledConfig),
      objects,
      ledger: new DynamoDbLedgerStore(ddb, TABLES.ledger),
      runs: new DynamoDbRunStore(ddb, TABLES.runs),
      watermarks: new DynamoDbWatermarkStore(ddb, TABLES.watermarks),
      runLocks: new DynamoDbRunLockStore(ddb, TABLES.runs),
      // Replaced below, once the runtime exists to answer for its executions.
      executions: { describe: () => Promise.resolve({ status: 'UNKNOWN' as const }) },
      sources: options.sources ?? ((dataset) => openSource(dataset)),
      files: new ParquetInspector(objects),
      clock: options.clock ?? systemClock,
      copyRoleArn,
      // As depsFromEnv: the Data API's limit is known without connecting.
      maxStatementsPerTransaction: localWarehouse.maxStatementsPerTransaction,
      log: options.log ?? { info: () => undefined, warn: () => undefined },
      events: new EventBridgeSink(bus.client(LOCAL_CREDENTIALS)),
      warehouse: () => Promise.resolve(localWarehouse.stages),
    };

    const budgets = new Map([...functionTimeouts(template)].map(([id, seconds]) => [id, seconds * 1000 * scale]));
    const triggerFunction = [...stages].find(([, stage]) => stage === 'trigger')?.[0];
    if (!triggerFunction) throw new Error('the synthesized template has no trigger Lambda');
    // startExecution tasks name a state machine by its logical id (the template's Ref).
    const kinds = new Map<string, MachineKind>([[sync.logicalId, 'sync'], [verify.logicalId, 'verify'], [datasets.logicalId, 'datasets']]);
    const bind = (definition: Record<string, Json>): BoundMachine => bindMachine(definition, stages, (stage) => stage in STAGE_HANDLERS, kinds);

    const queueDir = join(root, 'queue');
    const queueExisted = existsSync(queueDir);
    const stateFile = join(root, STATE_FILE);
    const previous = await readFile(stateFile, 'utf8').then((t) => (JSON.parse(t) as { state?: string }).state, () => undefined);
    await writeFile(stateFile, JSON.stringify({ state: 'running', pid: process.pid, startedAt: new Date().toISOString() }));
    const { journal, running, finished, ended } = await ExecutionJournal.open(join(root, 'executions'));
    const policy = eventDeliveryPolicy(options.eventDelivery);
    let describe: ExecutionStatusReader['describe'] = () => Promise.resolve({ status: 'UNKNOWN' });
    let transitions: NonNullable<ExecutionStatusReader['transitions']> = () => Promise.resolve(0);
    const runtime = new LocalRuntime(
      options,
      root,
      s3,
      dynamo,
      localWarehouse,
      { ...deps, executions: { describe: (arn) => describe(arn), transitions: (arn) => transitions(arn) } },
      { sync: bind(sync.definition), verify: bind(verify.definition), datasets: bind(datasets.definition) },
      eventRules(template, bucket),
      budgets,
      triggerFunction,
      journal,
      policy.seed,
      ownedDir,
      iam,
      machineIds,
      stages,
    );
    describe = (arn) => Promise.resolve(runtime.describeExecution(arn));
    runtime.bus = bus;
    runtime.metricLog = new LocalMetrics(join(root, 'metrics.jsonl'));
    transitions = (arn) => Promise.resolve(runtime.transitionsOf(arn));
    runtime.billing = functionBilling(template);
    for (const name of finished) runtime.names.set(name, 'ended');
    runtime.ended = ended;
    runtime.verifySchedules = scheduleInputs(template, verify.logicalId);
    for (const e of running) runtime.names.set(e.name, 'running');
    runtime.queue = EventQueue.open({
      dir: queueDir,
      policy,
      deliver: (batch) => runtime.deliver(batch),
      // The stack's BatchSize; its batching window shortened unless asked for (`eventBatchingWindowMs`).
      batchSize: eventSourceBatching(template, triggerFunction).batchSize,
      windowMs: options.eventBatchingWindowMs ?? TRIGGER_WINDOW_MS,
      onError: (error) => deps.log.warn('the local event queue could not update a message', { error: String(error) }),
    }).queue;
    opened.push(async () => runtime.queue?.stop());
    if (!options.s3InChildProcess) s3.onEvent((event) => runtime.route(event));
    for (const e of running) runtime.restart(e);
    if (options.dataDir && options.s3Events !== false && (previous !== 'stopped' || !queueExisted)) await runtime.reconcile();
    return runtime;
  }

  /**
   * Starts an execution (of the SyncStateMachine unless `kind` says otherwise) and waits for it,
   * like the console's "Start execution".
   */
  async startExecution(input: unknown, name: string = randomUUID(), kind: MachineKind = 'sync'): Promise<ExecutionSummary> {
    if (this.names.has(name)) throw Object.assign(new Error(`Execution Already Exists: '${name}'`), { name: 'ExecutionAlreadyExists' });
    return this.launch(name, input, kind).done;
  }

  /**
   * Starts a VerifyStateMachine execution for `dataset` (what its EventBridge schedule does) and
   * waits for it. `checksumSample` overrides the dataset's sample for this run.
   */
  async startVerification(dataset: string, options: { checksumSample?: string; name?: string } = {}): Promise<ExecutionSummary> {
    const input = options.checksumSample === undefined ? { dataset } : { dataset, checksumSample: options.checksumSample };
    return this.startExecution(input, options.name ?? `verify-${dataset}-${randomUUID()}`, 'verify');
  }

  /**
   * Starts a VerifyStateMachine execution for `dataset` with the input its EventBridge schedule in
   * the synthesized template passes (tier, reconcileWindow), and waits for it.
   */
  async startScheduledVerification(dataset: string, options: { name?: string } = {}): Promise<ExecutionSummary> {
    const input = this.verifySchedules.get(dataset);
    if (input === undefined) throw new InvalidInputError(`the synthesized template has no verification schedule of dataset '${dataset}'`);
    return this.startExecution(input, options.name ?? `verify-${dataset}-${randomUUID()}`, 'verify');
  }

  /**
   * The deps a stage's Lambda gets (`load`, `discover`, …): with IAM on, its stores call AWS as its
   * role. Tests that drive a stage core directly (the fault suite) use it so IAM applies to them too.
   */
  depsOf(stage: string): StageDeps {
    const functionId = [...this.functionStages].find(([, s]) => s === stage)?.[0];
    if (functionId === undefined) throw new InvalidInputError(`the synthesized template has no Lambda of stage '${stage}'`);
    return this.stageDeps(functionId);
  }

  /** The watermarks of datasets with a source (the local DynamoDB table). */
  watermarks(): WatermarkStore {
    return this.deps.watermarks!;
  }

  /** Executions that have ended in this process, in the order they ended. */
  executions(): readonly ExecutionSummary[] {
    return this.finished;
  }

  /** Makes the events held by the `hold` fault hook visible to the trigger. */
  releaseHeldEvents(): void {
    this.queue?.release();
  }

  /**
   * The events put on the account's buses by this process (the record stage's `syncproof.run` and
   * `syncproof.verification`), oldest first, as EventBridge delivers them to a target; with
   * `pattern`, only those an EventBridge rule with that event pattern would match. Every event is
   * also appended to `<dataDir>/events.jsonl`. At least once: dedupe by `detail.id`.
   */
  events(pattern?: Json): readonly BusEvent[] {
    return this.bus.matching(pattern);
  }

  /**
   * The metrics the stages emitted in this process, read from their EMF output as CloudWatch
   * reads it (also appended to `<dataDir>/metrics.jsonl`).
   */
  metrics(): LocalMetrics {
    return this.metricLog;
  }

  /** Messages that failed five receives (the dead-letter queue). */
  deadLetters(): readonly QueueMessage[] {
    return this.queue?.deadLetters() ?? [];
  }

  /**
   * Resolves when no execution runs and the queue has nothing left to deliver but held events
   * (release them with {@link releaseHeldEvents}).
   */
  async waitForIdle(): Promise<void> {
    for (;;) {
      if (this.running.size > 0) {
        await Promise.allSettled([...this.running.values()]);
        continue;
      }
      if (this.queue && !this.queue.idle()) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      return;
    }
  }

  /**
   * The warehouse this runtime loads into, directly (for read-back): the backing PGlite or
   * PostgreSQL warehouse, also when the stages reach it through the local Data API.
   */
  warehouse(): Promise<Warehouse> {
    return Promise.resolve(this.localWarehouse.backing);
  }

  /** The local Redshift Data API the stages use (its endpoint and faults); undefined for `warehouseApi: 'direct'`. */
  dataApi(): LocalRedshiftDataApi | undefined {
    return this.localWarehouse.dataApi;
  }

  /** The DynamoDB emulator's endpoint (`syncproof ledger --endpoint` reaches a running runtime through it). */
  get dynamoDbEndpoint(): string {
    return this.dynamo.endpoint;
  }

  /**
   * Stops delivering events (undelivered messages stay in the queue for the next start), lets the
   * triggers in flight and every running execution finish, then stops the emulators.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.queue?.stop();
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
    // Every step runs even when one before it failed (an open server would keep the process
    // alive); the first failure is thrown at the end. The lock goes last.
    let failure: { error: unknown } | undefined;
    const step = async (fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (error) {
        failure ??= { error };
      }
    };
    await step(() => this.s3.stop().catch(() => undefined));
    await step(() => this.dynamo.stop());
    await step(() => this.localWarehouse.close());
    for (const client of this.stageClients) await step(() => client.destroy());
    this.bus.close();
    this.metricLog.close();
    if (this.ownedDir) await step(() => rm(this.ownedDir!, { recursive: true, force: true }));
    else if (!failure) await step(() => writeFile(join(this.root, STATE_FILE), JSON.stringify({ state: 'stopped', stoppedAt: new Date().toISOString() })));
    await step(() => this.lock?.release());
    if (failure) throw failure.error;
  }

  /**
   * For a process about to exit on an interrupt without stopping (its executions stay journaled
   * in the data dir, as a killed process leaves them, and the next start restarts them): releases
   * the data dir's lock, or removes the temporary directory, synchronously. Returns the executions
   * that were running, by name, with their inputs.
   */
  abandon(): readonly { readonly name: string; readonly machine: MachineKind; readonly input: unknown }[] {
    this.stopped = true;
    const left = [...this.records.values()].map(({ name, machine, input }) => ({ name, machine, input }));
    this.bus.close();
    this.metricLog.close();
    if (this.ownedDir) rmSync(this.ownedDir, { recursive: true, force: true });
    this.lock?.releaseSync();
    return left;
  }

  /** The data dir, or undefined when the runtime's state is temporary (removed on stop). */
  get dataDir(): string | undefined {
    return this.ownedDir ? undefined : this.root;
  }

  /** Registers and journals an execution, then runs it when a slot is free. */
  private launch(
    name: string,
    input: unknown,
    kind: MachineKind,
    restart?: { readonly state?: JournaledExecution['state'] },
  ): { journaled: Promise<void>; done: Promise<ExecutionSummary> } {
    this.names.set(name, 'running');
    const record: JournaledExecution = { name, machine: kind, input };
    this.records.set(name, record);
    const journaled = restart ? Promise.resolve() : this.journal.begin(record);
    const done = journaled.then(
      () => this.execute(record, restart),
      (error: unknown) => {
        this.names.delete(name);
        throw error;
      },
    );
    this.running.set(name, done);
    const forget = () => {
      this.running.delete(name);
      this.records.delete(name);
    };
    done.then(forget, forget);
    return { journaled, done };
  }

  /** Starts a journaled execution again: at its last top-level state, else from the top. */
  private restart(e: JournaledExecution): void {
    const state = e.state && this.machines[e.machine]?.topStates.has(e.state.name) ? e.state : undefined;
    this.launch(e.name, e.input, e.machine, { state }).done.catch((error: unknown) => {
      this.deps.log.warn('could not restart a journaled execution; the next start tries again', { execution: e.name, error: String(error) });
    });
  }

  /** The trigger's ExecutionStarter: resolves once the execution is journaled (then SQS may delete the message). */
  private async startFromTrigger(name: string, input: unknown): Promise<'started' | 'duplicate'> {
    if (this.names.has(name)) return 'duplicate';
    if (this.stopped) throw new TransientError('the local runtime is stopping; the message stays in the queue for the next start');
    const { journaled, done } = this.launch(name, input, 'sync');
    done.catch(() => undefined);
    await journaled;
    return 'started';
  }

  private async execute(record: JournaledExecution, restart?: { readonly state?: JournaledExecution['state'] }): Promise<ExecutionSummary> {
    // A SyncDatasetsStateMachine execution only waits for its children: it takes no slot, else
    // parents holding every slot would wait for ever for children that cannot start.
    if (record.machine === 'datasets') return this.run(record, restart);
    await this.takeSlot();
    try {
      return await this.run(record, restart);
    } finally {
      this.releaseSlot();
    }
  }

  private async takeSlot(): Promise<void> {
    const limit = this.options.maxConcurrentExecutions ?? 16;
    while (this.active >= limit) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.active += 1;
  }

  private releaseSlot(): void {
    this.active -= 1;
    this.slotWaiters.shift()?.();
  }

  private async run(record: JournaledExecution, restart?: { readonly state?: JournaledExecution['state'] }): Promise<ExecutionSummary> {
    const { name, input, machine: kind } = record;
    const startDate = new Date().toISOString();
    const result = await runMachine(this.machines[kind], {
      executionArn: this.executionArn(kind, name),
      name,
      input,
      restart,
      stateEntered: (state, retry) => {
        this.liveTransitions.set(name, (this.liveTransitions.get(name) ?? 0) + 1);
        if (!retry) this.options.onStateEntered?.({ name, machine: kind, state, runs: this.deps.runs });
      },
      entered: (state, stateInput) =>
        this.journal.enter(record, state, stateInput).catch((error: unknown) => {
          this.deps.log.warn('could not journal a state transition; a restart re-enters an earlier state', { execution: name, error: String(error) });
        }),
      invoke: async (logicalId, stage, payload) => {
        await this.authorizeMachine(kind, 'lambda:InvokeFunction', localFunctionArn(logicalId), 'Lambda.AWSLambdaException');
        return this.invoke(logicalId, stage, payload);
      },
      startExecution: async (machine, parameters) => {
        await this.authorizeMachine(kind, 'states:StartExecution', localStateMachineArn(machine as MachineKind), 'States.TaskFailed');
        if (kind === 'datasets') return this.startChild(machine as MachineKind, parameters, restart !== undefined);
        // A parent that holds a slot (a verification's repair run) gives it up while it waits for its
        // child, else parents holding every slot would wait for ever for children that cannot start.
        this.releaseSlot();
        try {
          return await this.startChild(machine as MachineKind, parameters, restart !== undefined);
        } finally {
          await this.takeSlot();
        }
      },
    });
    const stopDate = new Date().toISOString();
    this.liveTransitions.delete(name);
    const summary: ExecutionSummary = { name, input, machine: kind, ...result, startDate, stopDate, run: await this.deps.runs.get(name) };
    await this.journal.end(name, summary.status, { machine: kind, input, output: summary.output, error: summary.error, cause: summary.cause, startDate });
    this.names.set(name, summary);
    this.finished.push(summary);
    this.options.onExecution?.(summary);
    return summary;
  }

  /**
   * A `startExecution.sync:2` task of a running execution: starts the child (journaled, run
   * concurrently like any execution) and waits for it, then answers as Step Functions does (see
   * ./child-execution.ts). A name already taken is answered as StartExecution answers it: the
   * running execution when its input is the same, else ExecutionAlreadyExists. One exception,
   * for the restart approximation: a parent restarted from the journal re-enters the state it
   * was in, so it asks again for a child it had started before the crash; when that child has
   * ended (with the same input), it gets the child's outcome, which is what the parent would have
   * received had it not been restarted. No second child of that name ever starts.
   */
  private async startChild(kind: MachineKind, parameters: { readonly Name?: unknown; readonly Input?: unknown }, parentRestarted: boolean): Promise<unknown> {
    const request = startExecutionRequest(parameters);
    const arn = this.executionArn(kind, request.name);
    const taken = this.names.get(request.name);
    let outcome: ChildOutcome;
    if (taken === undefined) {
      outcome = childOutcome(await this.launch(request.name, request.input, kind).done);
    } else if (taken === 'running') {
      const record = this.records.get(request.name);
      const done = this.running.get(request.name);
      if (!record || !done || record.machine !== kind || !sameJson(record.input, request.input)) throw new ChildExecutionRefused('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      outcome = childOutcome(await done);
    } else {
      const ended = taken === 'ended' ? this.ended.get(request.name) : endedOf(taken);
      if (!parentRestarted || !ended || ended.machine !== kind || !sameJson(ended.input, request.input)) throw new ChildExecutionRefused('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      outcome = childOutcomeOfEnded(ended);
    }
    return childTaskResult(describeExecution(outcome, { executionArn: arn, stateMachineArn: this.stateMachineArn(kind) }));
  }

  /**
   * DescribeExecution of an execution of this runtime, by ARN: `RUNNING` while it runs here (also
   * when it was restarted from the journal of a process that was killed), its end status once it
   * ended (in this process or an earlier one on the data dir), `UNKNOWN` for an ARN no execution has.
   */
  describeExecution(executionArn: string): { readonly status: ExecutionStatus; readonly error?: string; readonly cause?: string } {
    const parts = executionArn.split(':');
    const kind = (Object.keys(MACHINE_NAMES) as MachineKind[]).find((k) => MACHINE_NAMES[k] === parts[6]);
    const name = parts.slice(7).join(':');
    if (parts[5] !== 'execution' || !kind || executionArn !== this.executionArn(kind, name)) return { status: 'UNKNOWN' };
    const taken = this.names.get(name);
    if (taken === undefined) return { status: 'UNKNOWN' };
    if (taken === 'running') return this.records.get(name)?.machine === kind ? { status: 'RUNNING' } : { status: 'UNKNOWN' };
    const ended = taken === 'ended' ? this.ended.get(name) : endedOf(taken);
    if (!ended || (ended.machine !== undefined && ended.machine !== kind)) return { status: 'UNKNOWN' };
    return { status: ended.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', ...(ended.error ? { error: ended.error } : {}), ...(ended.cause ? { cause: ended.cause } : {}) };
  }

  /**
   * Billed transitions so far of an execution running in this process (what GetExecutionHistory
   * would count; a restarted execution counts from its restart): 0 for any other ARN.
   */
  transitionsOf(executionArn: string): number {
    const name = executionArn.split(':').slice(7).join(':');
    return this.liveTransitions.get(name) ?? 0;
  }

  private executionArn(kind: MachineKind, name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${MACHINE_NAMES[kind]}:${name}`;
  }

  private stateMachineArn(kind: MachineKind): string {
    return localStateMachineArn(kind);
  }

  /** Fails like Step Functions when a state machine's role may not make a call (error name `errorName`). */
  private authorizeMachine(kind: MachineKind, action: string, resource: string, errorName: string): Promise<void> {
    return this.authorizeAs((iam) => iam.stateMachinePrincipal(this.machineIds[kind]), action, resource, errorName);
  }

  /** With IAM on, fails unless `principal` may make the call; a denial is an Error named `errorName` with AWS's text. */
  private async authorizeAs(principal: (iam: LocalIam) => LocalPrincipal, action: string, resource: string, errorName: string): Promise<void> {
    if (!this.iam) return;
    try {
      await this.iam.authorize(principal(this.iam), { action, resource, context: {} });
    } catch (error) {
      if (error instanceof LocalAccessDenied) throw Object.assign(new Error(error.message), { name: errorName });
      throw error;
    }
  }

  /**
   * The deps a Lambda function's handler gets: with IAM on, S3, DynamoDB and the Data API are
   * reached over clients that call as the function's role (built once per function).
   */
  private stageDeps(functionLogicalId: string): StageDeps {
    const iam = this.iam;
    const observer = this.options.observeAwsCalls;
    if (!iam && !observer) return this.deps;
    let deps = this.stageDepsByFunction.get(functionLogicalId);
    if (!deps) {
      // The principal is bound to the clients here (s3rver accepts its own access key only); the
      // local Data API tells callers by access key, so the warehouse's client signs as the function.
      const overrides = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
      const guard = <C extends Parameters<typeof enforceIam>[0]>(client: C): C => {
        const checked = iam ? enforceIam(client, iam, iam.functionPrincipal(functionLogicalId)) : client;
        return observer ? observeCalls(checked, this.functionStages.get(functionLogicalId) ?? functionLogicalId, observer) : checked;
      };
      const s3 = guard(createS3Client({ ...overrides, s3: this.s3.endpoint }));
      const ddb = guard(createDocumentClient({ ...overrides, dynamodb: this.dynamo.endpoint }));
      this.stageClients.push(s3, ddb);
      const objects = new S3ObjectStore(s3, this.s3.bucket);
      const warehouse = this.localWarehouse.stagesAs(functionLogicalId);
      deps = {
        ...this.deps,
        objects,
        files: new ParquetInspector(objects),
        ledger: new DynamoDbLedgerStore(ddb, TABLES.ledger),
        runs: new DynamoDbRunStore(ddb, TABLES.runs),
        watermarks: new DynamoDbWatermarkStore(ddb, TABLES.watermarks),
        runLocks: new DynamoDbRunLockStore(ddb, TABLES.runs),
        executions: {
          // DescribeExecution as the function's role: denied unless the stack granted it.
          describe: async (arn) => {
            try {
              await this.authorizeAs((i) => i.functionPrincipal(functionLogicalId), 'states:DescribeExecution', arn, 'AccessDeniedException');
            } catch (error) {
              throw (error as Error).name === 'AccessDeniedException' ? translateDescribeError(error, arn) : error;
            }
            return this.describeExecution(arn);
          },
          transitions: async (arn) => {
            await this.authorizeAs((i) => i.functionPrincipal(functionLogicalId), 'states:GetExecutionHistory', arn, 'AccessDeniedException');
            return this.transitionsOf(arn);
          },
        },
        // PutEvents as the function's role: denied unless the stack granted it on that bus.
        events: new EventBridgeSink(this.bus.client(LOCAL_CREDENTIALS, guard)),
        warehouse: () => Promise.resolve(warehouse),
      };
      this.stageDepsByFunction.set(functionLogicalId, deps);
    }
    return deps;
  }

  /** Invokes a stage's handler as its Lambda, with that Lambda's time budget. */
  private invoke(logicalId: string, stage: string, event: unknown): Promise<unknown> {
    const handler = this.options.stageHandlers?.[stage] ?? (STAGE_HANDLERS[stage] as LocalHandler);
    const bindings: LocalBindings = {
      stageDeps: this.stageDeps(logicalId),
      emf: this.metricLog.write,
      starter: {
        start: async (name, input) => {
          await this.authorizeAs((iam) => iam.functionPrincipal(logicalId), 'states:StartExecution', localStateMachineArn('sync'), 'AccessDeniedException');
          return this.startFromTrigger(name, input);
        },
      },
    };
    const billing = this.billing.get(logicalId) ?? { memoryMb: 128, architecture: 'x86_64' as const };
    const observe = this.options.onInvocationUsage;
    const local: LocalBilling = { architecture: billing.architecture, ...(observe ? { observe } : {}) };
    return invokeLambda(handler, event, {
      functionName: logicalId,
      timeoutMs: this.budgets.get(logicalId) ?? 3000,
      extra: { [LOCAL_BINDINGS]: bindings, memoryLimitInMB: String(billing.memoryMb), [LOCAL_BILLING]: local },
    });
  }

  /** S3 notification → EventBridge "Object Created" events → the template's rules → the queue. */
  private route(notification: S3NotificationEvent): void {
    if (this.options.s3Events === false) return;
    for (const { event, key } of objectCreatedEvents(notification)) {
      if (this.rules.some((rule) => matchesPattern(rule.pattern, event))) this.queue?.enqueue(event, key);
    }
  }

  /** One trigger invocation for a batch of queue messages; resolves with the failed message ids. */
  private async deliver(batch: readonly QueueMessage[]): Promise<ReadonlySet<string>> {
    const response = (await this.invoke(this.triggerFunction, 'trigger', sqsEvent(batch))) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
    return new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  }

  /** Starts a reconcile execution per dataset whose objects lost their events (see {@link start}). */
  private async reconcile(): Promise<void> {
    const queued = this.queue?.pendingKeys() ?? new Set<string>();
    for (const dataset of this.deps.config.datasets) {
      const lost = await unannouncedObjects(this.deps, dataset, this.rules, queued);
      if (lost.length === 0) continue;
      const name = reconcileExecutionName(dataset.name, lost);
      if (this.names.has(name)) continue;
      this.deps.log.warn('objects without a ledger entry or a queued event; starting a reconcile execution', { dataset: dataset.name, objects: lost.length, execution: name });
      this.launch(name, { dataset: dataset.name, mode: 'reconcile' }, 'sync').done.catch(() => undefined);
    }
  }
}

/** A state machine's local ARN (the template's Ref of it). */
function localStateMachineArn(kind: MachineKind): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${MACHINE_NAMES[kind]}`;
}

/** JSON-equal: StartExecution compares the input of a name already taken with the new one. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

function childOutcome(summary: ExecutionSummary): ChildOutcome {
  return {
    name: summary.name,
    status: summary.status,
    input: summary.input,
    output: summary.output,
    error: summary.error,
    cause: summary.cause,
    startDate: summary.startDate,
    stopDate: summary.stopDate,
  };
}

function endedOf(summary: ExecutionSummary): EndedExecution {
  return { name: summary.name, status: summary.status, endedAt: summary.stopDate ?? '', machine: summary.machine, input: summary.input, output: summary.output, error: summary.error, cause: summary.cause, startDate: summary.startDate };
}

function childOutcomeOfEnded(e: EndedExecution): ChildOutcome {
  return { name: e.name, status: e.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', input: e.input, output: e.output, error: e.error, cause: e.cause, startDate: e.startDate, stopDate: e.endedAt };
}
