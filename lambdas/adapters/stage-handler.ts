import { Logger } from '@aws-lambda-powertools/logger';
import { BUNDLED_CONFIG_IDENTIFIER, decodeBundledConfig } from '../core/bundled-config';
import type { SyncproofConfig } from '../core/config';
import { ENV } from '../core/env';
import { ConfigurationError } from '../core/errors';
import { systemClock, type ExecutionStarter, type Warehouse } from '../core/ports';
import type { StageDeps, StageLog } from '../core/stage-deps';
import { createDocumentClient, createEventBridgeClient, createRedshiftDataClient, createS3Client, createSfnClient } from './clients';
import { EventBridgeSink } from './eventbridge-sink';
import { InvocationMetrics, stdoutEmf, withInvocationMetrics, type EmfOutput } from './invocation-metrics';
import { DynamoDbLedgerStore, DynamoDbRunStore } from './dynamodb-stores';
import { DynamoDbRunLockStore } from './dynamodb-run-lock-store';
import { DynamoDbWatermarkStore } from './dynamodb-watermark-store';
import { openSource } from './sources';
import { ParquetInspector } from './parquet-inspector';
import { openPostgresWarehouse } from './postgres-warehouse';
import { MAX_BATCH_STATEMENTS, RedshiftDataWarehouse } from './redshift-data-warehouse';
import { S3ObjectStore } from './s3-object-store';
import { SfnExecutionReader } from './sfn-execution-reader';
import { SfnExecutionStarter } from './sfn-execution-starter';
import { meterStage } from './usage-meter';

export const logger = new Logger({ serviceName: 'syncproof' });

/**
 * The local runtime passes its own deps in the Lambda context under this key, so the handler
 * modules run unchanged in process (one runtime's deps never leak into another's).
 */
export const LOCAL_BINDINGS = Symbol.for('syncproof.localBindings');

export interface LocalBindings {
  readonly stageDeps: StageDeps;
  readonly starter: ExecutionStarter;
  /** Where the invocation's EMF documents go instead of stdout (the local runtime reads them back). */
  readonly emf?: EmfOutput;
}

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new ConfigurationError(`environment variable ${name} is not set; redeploy the stack`);
  return v;
}

/**
 * Replaced by esbuild (`bundling.define`, set by StageFunction) with the stack's encoded
 * configuration, a string literal; undefined in code the stack did not bundle. The name must
 * equal {@link BUNDLED_CONFIG_IDENTIFIER}.
 */
declare const SYNCPROOF_BUNDLED_CONFIG: string | undefined;

let cachedConfig: SyncproofConfig | undefined;
/**
 * The validated configuration this function's bundle carries, parsed once per container. Throws
 * ConfigurationError when the bundle carries none (it was not built by the stack's synth).
 */
export function bundledConfig(): SyncproofConfig {
  if (cachedConfig) return cachedConfig;
  if (typeof SYNCPROOF_BUNDLED_CONFIG !== 'string') {
    throw new ConfigurationError(
      `this function's bundle carries no syncproof configuration (${BUNDLED_CONFIG_IDENTIFIER} was not defined at bundling); deploy the stage Lambdas with the SyncproofStack (cdk deploy), which bundles the configuration into each`,
    );
  }
  cachedConfig = decodeBundledConfig(SYNCPROOF_BUNDLED_CONFIG);
  return cachedConfig;
}

export const powertoolsLog: StageLog = {
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
};

let cachedDeps: StageDeps | undefined;
/** Deps for a deployed Lambda, built once per container from the bundled configuration and validated env. */
export function depsFromEnv(): StageDeps {
  if (cachedDeps) return cachedDeps;
  const config = bundledConfig();
  const objects = new S3ObjectStore(createS3Client(), requireEnv(ENV.bucket));
  const ddb = createDocumentClient();
  let warehouse: Promise<Warehouse> | undefined;
  const kind = requireEnv(ENV.warehouse);
  const deps: StageDeps = {
    config,
    objects,
    ledger: new DynamoDbLedgerStore(ddb, requireEnv(ENV.ledgerTable)),
    runs: new DynamoDbRunStore(ddb, requireEnv(ENV.runsTable)),
    watermarks: new DynamoDbWatermarkStore(ddb, requireEnv(ENV.watermarksTable)),
    runLocks: new DynamoDbRunLockStore(ddb, requireEnv(ENV.runsTable)),
    executions: new SfnExecutionReader(createSfnClient()),
    sources: openSource,
    files: new ParquetInspector(objects),
    clock: systemClock,
    copyRoleArn: config.redshift?.copyRoleArn ?? '',
    maxStatementsPerTransaction: kind === 'redshift-data' ? MAX_BATCH_STATEMENTS : undefined,
    log: powertoolsLog,
    events: new EventBridgeSink(createEventBridgeClient()),
    warehouse: (): Promise<Warehouse> => {
      warehouse ??= openWarehouse();
      return warehouse;
    },
  };
  function openWarehouse(): Promise<Warehouse> {
    if (kind !== 'redshift-data') return openPostgresWarehouse(kind, { objects });
    return Promise.resolve(
      new RedshiftDataWarehouse({
        client: createRedshiftDataClient(),
        database: config.redshift?.database ?? 'dev',
        workgroupName: config.redshift?.workgroupName,
        clusterIdentifier: config.redshift?.clusterIdentifier,
        secretArn: config.redshift?.secretArn,
        dbUser: config.redshift?.dbUser,
      }),
    );
  }
  cachedDeps = deps;
  return deps;
}

let cachedStarter: ExecutionStarter | undefined;
/** The trigger's execution starter in AWS. */
export function starterFromEnv(): ExecutionStarter {
  cachedStarter ??= new SfnExecutionStarter(createSfnClient(), requireEnv(ENV.syncStateMachineArn));
  return cachedStarter;
}

/** Reads local bindings from a Lambda context, if the local runtime put them there. */
export function localBindings(context: unknown): LocalBindings | undefined {
  return (context as { [LOCAL_BINDINGS]?: LocalBindings } | undefined)?.[LOCAL_BINDINGS];
}

/** The dataset an invocation is about: its event's `dataset`, else its execution input's (a failure record). */
function invocationDataset(event: unknown): string | undefined {
  const e = event as { dataset?: unknown; input?: { dataset?: unknown } } | null | undefined;
  const d = e?.dataset ?? e?.input?.dataset;
  return typeof d === 'string' && d.length > 0 ? d : undefined;
}

/**
 * Wraps a stage core as a Lambda handler: resolve deps, add the run's log keys, call the core.
 * Errors propagate with their literal `name`, which the state machine's Retry/Catch match.
 * An invocation about one configured dataset is measured: the core's metrics (`deps.metrics`), the
 * adapters' ({@link countInvocation}) and its DurationMs are written as EMF after it, also when
 * it throws.
 */
export function createStageHandler<I, O>(stage: string, core: (input: I, deps: StageDeps) => Promise<O>) {
  return async (event: I, context?: unknown): Promise<O> => {
    const bindings = localBindings(context);
    const deps = bindings?.stageDeps ?? depsFromEnv();
    const e = event as { runId?: unknown; dataset?: unknown; input?: { dataset?: unknown } } | null;
    logger.resetKeys();
    logger.appendKeys({ stage, runId: e?.runId, dataset: e?.dataset ?? e?.input?.dataset });
    const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)?.getRemainingTimeInMillis;
    // Only configured datasets are dimensions: a mistyped name in an execution input starts no metric.
    const dataset = invocationDataset(event);
    const metrics = dataset && deps.config.datasets.some((d) => d.name === dataset) ? new InvocationMetrics(stage, dataset, bindings?.emf ?? stdoutEmf) : undefined;
    const stageDeps: StageDeps = { ...deps, ...(remaining ? { remainingTimeMs: () => remaining.call(context) } : {}), ...(metrics ? { metrics } : {}) };
    // What the invocation consumed is added to its run (./usage-meter.ts).
    return meterStage(stage, event, context, deps, async () => {
      if (!metrics) return core(event, stageDeps);
      const started = Date.now();
      try {
        return await withInvocationMetrics(metrics, () => core(event, stageDeps));
      } finally {
        try {
          metrics.flush(Date.now() - started);
        } catch (error) {
          logger.warn('could not write the invocation\'s metrics', { error: String(error) });
        }
      }
    });
  };
}
