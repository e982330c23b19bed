import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { createDocumentClient, createS3Client } from '../lambdas/adapters/clients';
import { DynamoDbLedgerStore, DynamoDbRunStore } from '../lambdas/adapters/dynamodb-stores';
import { ParquetInspector } from '../lambdas/adapters/parquet-inspector';
import { S3ObjectStore } from '../lambdas/adapters/s3-object-store';
import { LOCAL_BINDINGS, logger, type LocalBindings } from '../lambdas/adapters/stage-handler';
import type { SyncproofConfig } from '../lambdas/core/config';
import { InvalidInputError } from '../lambdas/core/errors';
import { systemClock, type Clock, type RunRecord, type Warehouse } from '../lambdas/core/ports';
import type { StageDeps, StageLog } from '../lambdas/core/stage-deps';
import * as checksumHandler from '../lambdas/checksum/handler';
import * as discoverHandler from '../lambdas/discover/handler';
import * as inventoryHandler from '../lambdas/inventory/handler';
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
import { matchesPattern } from './event-pattern';
import { openLocalWarehouse, type LocalWarehouse, type WarehouseApi } from './local-warehouse';
import type { LocalRedshiftDataApi } from './redshift-data-api/server';
import {
  LOCAL_ACCOUNT,
  eventRules,
  functionStages,
  stateMachines,
  synthesizeTemplate,
  type Json,
  type LocalRule,
} from './template';

type Handler = (event: never, context?: unknown) => Promise<unknown>;

/** Stage name (SYNCPROOF_STAGE in the template) → the handler module a Lambda of that stage runs. */
const STAGE_HANDLERS: Record<string, Handler> = {
  discover: discoverHandler.handler as Handler,
  load: loadHandler.handler as Handler,
  verify: verifyHandler.handler as Handler,
  record: recordHandler.handler as Handler,
  trigger: triggerHandler.handler as Handler,
  inventory: inventoryHandler.handler as Handler,
  checksum: checksumHandler.handler as Handler,
};

/** The two workflows the stack defines. */
export type MachineKind = 'sync' | 'verify';

const MACHINE_NAMES: Record<MachineKind, string> = { sync: 'SyncStateMachine', verify: 'VerifyStateMachine' };

interface BoundMachine {
  readonly machine: StateMachine;
  readonly taskOverrides: Record<string, (input: Record<string, Json>) => Promise<unknown>>;
  readonly retryOverrides: Record<string, number>;
  /** Wait states shortened (ms): the loop they drive is the same, only the clock is faster. */
  readonly waitOverrides: Record<string, number>;
}

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
   * IAM role the stages name in COPY. The local Data API's cluster may assume only
   * {@link LOCAL_COPY_ROLE}, so another role fails the COPY as Redshift does (for tests of a
   * misconfigured deployment). @default LOCAL_COPY_ROLE
   */
  readonly copyRoleArn?: string;
  /** The stages' clock (tests move it to expire leases). @default the system clock */
  readonly clock?: Clock;
  /** Keeps S3, DynamoDB and PGlite data here; a restart resumes from it. @default a temp dir, removed on stop */
  readonly dataDir?: string;
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
  /** Called when an execution ends. */
  readonly onExecution?: (execution: ExecutionSummary) => void;
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
}

/** The IAM role the local Redshift cluster may assume for COPY. */
export const LOCAL_COPY_ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/syncproof-local-copy`;

/** The local runtime's DynamoDB table names (in dynalite, under `<dataDir>/dynamodb`). */
export const LOCAL_TABLES = { ledger: 'syncproof-ledger', runs: 'syncproof-runs', watermarks: 'syncproof-watermarks' } as const;
const TABLES = LOCAL_TABLES;
const TRIGGER_BATCH = 10;
const TRIGGER_WINDOW_MS = 200;

/** Lambda errors reach Step Functions as `{errorType, errorMessage, trace}` JSON in Cause. */
function asLambdaError(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const wrapped = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
  wrapped.name = e.name;
  return wrapped;
}

function taskStates(definition: Record<string, Json>): [string, Record<string, Json>][] {
  const out: [string, Record<string, Json>][] = [];
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out.push([name, state]);
    for (const branch of (state.Branches ?? []) as Record<string, Json>[]) out.push(...taskStates(branch));
    const inner = (state.ItemProcessor ?? state.Iterator) as Record<string, Json> | undefined;
    if (inner) out.push(...taskStates(inner));
  }
  return out;
}

/**
 * The pipeline on one machine: S3 (s3rver) and DynamoDB (dynalite) emulators on 127.0.0.1, the
 * embedded warehouse or a PostgreSQL server — by default behind the local Redshift Data API, so
 * the stages run the production RedshiftDataWarehouse adapter — and the SyncStateMachine and
 * VerifyStateMachine that CDK synthesizes, run by aws-local-stepfunctions with each Lambda task
 * bound to its handler module. S3 writes are routed through the template's own EventBridge rule
 * patterns to the trigger handler.
 */
export class LocalRuntime {
  readonly region = LOCAL_REGION;
  readonly credentials = LOCAL_CREDENTIALS;
  private readonly names = new Map<string, ExecutionSummary | 'running'>();
  private readonly finished: ExecutionSummary[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private pendingEvents: Record<string, Json>[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private stopped = false;

  private constructor(
    private readonly options: LocalRuntimeOptions,
    private readonly s3: LocalS3,
    private readonly dynamo: LocalDynamoDb,
    private readonly localWarehouse: LocalWarehouse,
    readonly deps: StageDeps,
    private readonly machines: Readonly<Record<MachineKind, BoundMachine>>,
    private readonly rules: readonly LocalRule[],
    private readonly ownedDir: string | undefined,
  ) {}

  get s3Endpoint(): string {
    return this.s3.endpoint;
  }

  get bucket(): string {
    return this.s3.bucket;
  }

  /** The DynamoDB emulator's endpoint (`syncproof ledger --endpoint` reaches a running runtime through it). */
  get dynamoDbEndpoint(): string {
    return this.dynamo.endpoint;
  }

  /** Starts everything; resolves when the runtime accepts uploads. */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    logger.setLogLevel('WARN');
    const ownedDir = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'syncproof-local-'));
    const root = options.dataDir ?? (ownedDir as string);
    await mkdir(root, { recursive: true });
    const bucket = options.bucket ?? 'syncproof-local';
    const template = synthesizeTemplate(options.config);

    if (options.s3InChildProcess && options.s3Events !== false) {
      throw new InvalidInputError('s3InChildProcess needs s3Events: false: the S3 emulator\'s events cannot reach the trigger from a child process');
    }
    const s3: LocalS3 = options.s3InChildProcess
      ? await startLocalS3Process({ bucket, directory: join(root, 's3'), port: options.s3Port })
      : await startLocalS3({ bucket, directory: join(root, 's3'), port: options.s3Port });
    const dynamo = await startLocalDynamoDb({ path: join(root, 'dynamodb') });
    await ensureTables(dynamo.endpoint, TABLES);

    const overrides = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const objects = new S3ObjectStore(createS3Client({ ...overrides, s3: s3.endpoint }), bucket);
    const ddb = createDocumentClient({ ...overrides, dynamodb: dynamo.endpoint });
    const warehouseUrl = options.warehouse ?? `pglite:${join(root, 'warehouse')}`;
    // The role the local cluster may assume; the stages name `options.copyRoleArn` in their COPYs.
    const acceptedRole = LOCAL_COPY_ROLE;
    const copyRoleArn = options.copyRoleArn ?? acceptedRole;
    const localWarehouse = await openLocalWarehouse({
      url: warehouseUrl,
      objects,
      api: options.warehouseApi ?? 'data-api',
      copyRoleArn: acceptedRole,
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      credentials: LOCAL_CREDENTIALS,
    });
    const deps: StageDeps = {
      config: options.config,
      objects,
      ledger: new DynamoDbLedgerStore(ddb, TABLES.ledger),
      runs: new DynamoDbRunStore(ddb, TABLES.runs),
      files: new ParquetInspector(objects),
      clock: options.clock ?? systemClock,
      copyRoleArn,
      // As depsFromEnv: the Data API's limit is known without connecting.
      maxStatementsPerTransaction: localWarehouse.maxStatementsPerTransaction,
      log: options.log ?? { info: () => undefined, warn: () => undefined },
      warehouse: () => Promise.resolve(localWarehouse.stages),
    };

    const machines = stateMachines(template);
    const find = (kind: MachineKind) => machines.find((m) => m.logicalId.startsWith(MACHINE_NAMES[kind]));
    const sync = find('sync') ?? machines[0];
    const verify = find('verify');
    if (!sync) throw new Error('the synthesized template has no state machine');
    if (!verify) throw new Error('the synthesized template has no VerifyStateMachine');
    const stages = functionStages(template);
    let runtime: LocalRuntime | undefined;
    const bind = (definition: Record<string, Json>): BoundMachine => {
      const taskOverrides: Record<string, (input: Record<string, Json>) => Promise<unknown>> = {};
      const retryOverrides: Record<string, number> = {};
      for (const [stateName, state] of taskStates(definition)) {
        const params = (state.Parameters ?? {}) as Record<string, Json>;
        const fn = String(params.FunctionName ?? state.Resource ?? '');
        const logicalId = fn.split(':').pop() ?? '';
        const stage = stages.get(logicalId);
        const handler = stage ? STAGE_HANDLERS[stage] : undefined;
        if (!handler) throw new Error(`task state '${stateName}' invokes '${fn}', which is no syncproof stage Lambda`);
        retryOverrides[stateName] = 20;
        taskOverrides[stateName] = async (input) => {
          const payload = 'Payload' in input ? input.Payload : input;
          try {
            const result = await handler(payload as never, (runtime as LocalRuntime).lambdaContext(logicalId));
            // lambda:invoke returns the function's result under Payload (DESIGN.md §6).
            return { Payload: result ?? null, StatusCode: 200, ExecutedVersion: '$LATEST' };
          } catch (error) {
            throw asLambdaError(error);
          }
        };
      }
      const waitOverrides: Record<string, number> = {};
      for (const [name, state] of Object.entries((definition.States ?? {}) as Record<string, Record<string, Json>>)) {
        if (state.Type === 'Wait') waitOverrides[name] = 250;
      }
      const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
      return { machine, taskOverrides, retryOverrides, waitOverrides };
    };
    runtime = new LocalRuntime(
      options,
      s3,
      dynamo,
      localWarehouse,
      deps,
      { sync: bind(sync.definition), verify: bind(verify.definition) },
      eventRules(template, bucket),
      ownedDir,
    );
    if (!options.s3InChildProcess) s3.onEvent((event) => runtime?.route(event));
    return runtime;
  }

  /** The Lambda context a handler gets: this runtime's deps ride along under LOCAL_BINDINGS. */
  private lambdaContext(functionName: string): Record<string | symbol, unknown> {
    const bindings: LocalBindings = {
      stageDeps: this.deps,
      starter: { start: (name, input) => this.startExecutionAsync(name, input) },
    };
    return { functionName, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 900_000, [LOCAL_BINDINGS]: bindings };
  }

  /** Starts a SyncStateMachine execution and waits for it, like the console's "Start execution". */
  async startExecution(input: unknown, name: string = randomUUID(), kind: MachineKind = 'sync'): Promise<ExecutionSummary> {
    if (this.names.has(name)) throw Object.assign(new Error(`Execution Already Exists: '${name}'`), { name: 'ExecutionAlreadyExists' });
    this.names.set(name, 'running');
    const run = this.chain.then(() => this.execute(name, input, kind));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Starts a VerifyStateMachine execution for `dataset` (what its EventBridge schedule does) and
   * waits for it. `checksumSample` overrides the dataset's sample for this run.
   */
  async startVerification(dataset: string, options: { checksumSample?: string; name?: string } = {}): Promise<ExecutionSummary> {
    const input = options.checksumSample === undefined ? { dataset } : { dataset, checksumSample: options.checksumSample };
    return this.startExecution(input, options.name ?? `verify-${dataset}-${randomUUID()}`, 'verify');
  }

  private async startExecutionAsync(name: string, input: unknown): Promise<'started' | 'duplicate'> {
    if (this.names.has(name)) return 'duplicate';
    void this.startExecution(input, name).catch(() => undefined);
    return 'started';
  }

  private async execute(name: string, input: unknown, kind: MachineKind): Promise<ExecutionSummary> {
    const bound = this.machines[kind];
    const execution = bound.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: bound.taskOverrides as never, retryIntervalOverrides: bound.retryOverrides, waitTimeOverrides: bound.waitOverrides },
      context: {
        Execution: {
          Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${MACHINE_NAMES[kind]}:${name}`,
          Name: name,
          Input: input,
          StartTime: new Date().toISOString(),
        },
      } as never,
    });
    const stateOutputBytes: Record<string, number> = {};
    let transitions = 0;
    const watching = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') transitions += 1;
        if (event.type !== 'StateExited') continue;
        const bytes = Buffer.byteLength(JSON.stringify(event.state.output ?? null), 'utf8');
        stateOutputBytes[event.state.name] = Math.max(stateOutputBytes[event.state.name] ?? 0, bytes);
      }
    })().catch(() => undefined);
    let summary: ExecutionSummary;
    try {
      const output = await execution.result;
      summary = { name, input, machine: kind, stateOutputBytes, transitions, status: 'SUCCEEDED', output };
    } catch (error) {
      // aws-local-stepfunctions throws ExecutionError; its `cause` is the Fail state's error,
      // whose name and message are the execution's Error and Cause.
      const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      summary = { name, input, machine: kind, stateOutputBytes, transitions, status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
    }
    await watching;
    summary = { ...summary, run: await this.deps.runs.get(name) };
    this.names.set(name, summary);
    this.finished.push(summary);
    this.options.onExecution?.(summary);
    return summary;
  }

  /** Executions that have ended, oldest first. */
  executions(): readonly ExecutionSummary[] {
    return this.finished;
  }

  /** S3 notification → EventBridge "Object Created" events → the template's rules → trigger batches. */
  private route(notification: S3NotificationEvent): void {
    if (this.stopped || this.options.s3Events === false) return;
    for (const r of notification.Records) {
      if (!r.eventName.startsWith('ObjectCreated')) continue;
      const event: Record<string, Json> = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: LOCAL_ACCOUNT,
        time: r.eventTime,
        region: LOCAL_REGION,
        resources: [`arn:aws:s3:::${r.s3.bucket.name}`],
        detail: {
          version: '0',
          bucket: { name: r.s3.bucket.name },
          object: { key: r.s3.object.key, size: r.s3.object.size ?? 0, etag: r.s3.object.eTag ?? '', sequencer: r.s3.object.sequencer ?? '' },
          reason: r.eventName.replace('ObjectCreated:', '') + 'Object',
        },
      };
      if (this.rules.some((rule) => matchesPattern(rule.pattern, event))) this.pendingEvents.push(event);
    }
    if (this.pendingEvents.length >= TRIGGER_BATCH) this.flush();
    else if (this.pendingEvents.length > 0 && !this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), TRIGGER_WINDOW_MS);
  }

  /** Delivers events to the trigger handler, as SQS would: in batches of up to 10. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.pendingEvents.length > 0) {
      const batch = this.pendingEvents.splice(0, TRIGGER_BATCH);
      this.deliver(batch, 1);
    }
  }

  private deliver(batch: Record<string, Json>[], attempt: number): void {
    const sqsEvent = {
      Records: batch.map((body) => ({ messageId: String(body.id), body: JSON.stringify(body), eventSource: 'aws:sqs' })),
    } as unknown as SQSEvent;
    this.inFlight += 1;
    (STAGE_HANDLERS.trigger as Handler)(sqsEvent as never, this.lambdaContext('trigger'))
      .then((response) => {
        const failed = new Set(((response as { batchItemFailures?: { itemIdentifier: string }[] })?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        const retry = batch.filter((b) => failed.has(String(b.id)));
        // SQS would redeliver after the visibility timeout; five receives, then the DLQ.
        if (retry.length > 0 && attempt < 5 && !this.stopped) setTimeout(() => this.deliver(retry, attempt + 1), 100 * attempt);
      })
      .finally(() => {
        this.inFlight -= 1;
      });
  }

  /** Resolves when no event is buffered, no trigger is running and no execution is queued. */
  async waitForIdle(): Promise<void> {
    for (;;) {
      if (this.pendingEvents.length > 0) this.flush();
      await new Promise((r) => setTimeout(r, TRIGGER_WINDOW_MS + 50));
      await this.chain;
      const running = [...this.names.values()].some((v) => v === 'running');
      if (this.pendingEvents.length === 0 && this.inFlight === 0 && !running) return;
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

  /** Stops accepting events, lets running executions finish, then stops the emulators. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.chain;
    await this.s3.stop().catch(() => undefined);
    await this.dynamo.stop();
    await this.localWarehouse.close();
    if (this.ownedDir) await rm(this.ownedDir, { recursive: true, force: true });
  }
}
