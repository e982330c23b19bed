import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLED_CONFIG_IDENTIFIER, MAX_BUNDLED_CONFIG_BYTES, encodeBundledConfig } from '../../lambdas/core/bundled-config';
import { PARQUET_WORKER_IDENTIFIER, buildParquetWorkerSource, encodeBundledWorker } from '../../lambdas/core/bundled-worker';
import type { SyncproofConfig } from '../../lambdas/core/config';
import { acknowledgeNag } from './nag-acknowledgements';

/** The pipeline stages; each has a Lambda whose code is `lambdas/<stage>/handler.ts` (or its {@link STAGE_ENTRIES} entry). */
export const STAGE_NAMES = ['trigger', 'extract', 'discover', 'load', 'verify', 'commit', 'record', 'inventory', 'checksum', 'counts', 'clean'] as const;

/** One of {@link STAGE_NAMES}. */
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Environment variable that names a Lambda's stage. The local runtime reads it from the
 * synthesized template to bind each Lambda (by logical id) to its handler module.
 */
export const STAGE_ENV_VAR = 'SYNCPROOF_STAGE';

/** The repository root (holds package-lock.json), wherever the process was started from. */
const PROJECT_ROOT = join(__dirname, '..', '..');
/**
 * Stages whose handler is not `<stage>/handler.ts`: the count chain is a tier of verification, so
 * its code lives with the other tiers under `verify/`, in a Lambda of its own (its role reaches
 * the sources, which the per-load verify stage never needs).
 */
export const STAGE_ENTRIES: Partial<Readonly<Record<StageName, readonly string[]>>> = { counts: ['verify', 'counts-handler.ts'] };

/** Where the stage handlers live: `<root>/<stage>/handler.ts`. */
export const DEFAULT_LAMBDAS_DIR = join(PROJECT_ROOT, 'lambdas');

/**
 * Lambda memory (MiB) per stage: the load stage decodes Parquet to plan and check its COPY; the
 * extract stage holds a chunk's rows (75,000 by default) and its Parquet file at once.
 */
const DEFAULT_MEMORY_MIB: Readonly<Record<StageName, number>> = {
  trigger: 1024,
  extract: 3008,
  commit: 1024,
  discover: 1024,
  load: 3008,
  verify: 1024,
  record: 1024,
  inventory: 1024,
  checksum: 1024,
  counts: 1024,
  clean: 1024,
};

/**
 * Lambda timeout per stage: load and verify wait for the warehouse, inventory and clean list whole
 * prefixes, checksum may download sampled files and extract writes chunks until its budget runs low
 * (then continues in the next invocation), so they get the maximum.
 */
const DEFAULT_TIMEOUT: Readonly<Record<StageName, Duration>> = {
  trigger: Duration.minutes(1),
  extract: Duration.minutes(15),
  commit: Duration.minutes(1),
  discover: Duration.minutes(1),
  load: Duration.minutes(15),
  verify: Duration.minutes(15),
  record: Duration.minutes(1),
  inventory: Duration.minutes(15),
  checksum: Duration.minutes(15),
  counts: Duration.minutes(15),
  clean: Duration.minutes(15),
};

/** Properties of {@link StageFunction}. */
export interface StageFunctionProps {
  /** Which stage this Lambda runs; selects `lambdas/<stage>/handler.ts` and its defaults. */
  readonly stage: StageName;
  /**
   * The validated configuration the stage runs with. It ships inside the code bundle (esbuild
   * `define` of {@link BUNDLED_CONFIG_IDENTIFIER}, deflated), not in the environment: Lambda caps
   * a function's environment variables at 4 KB in all. The bundle's hash, so the deployed code,
   * changes with it. Anything in it is readable by whoever can read the function's code.
   */
  readonly config: SyncproofConfig;
  /**
   * Variables every stage shares (the `ENV` names from `lambdas/core/env.ts`). The construct adds
   * `SYNCPROOF_STAGE`, `POWERTOOLS_SERVICE_NAME` and `NODE_OPTIONS`; `environment` must not set them.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Memory in MiB (128–10240).
   * @default 3008 for `extract` and `load`, 1024 for the other stages
   */
  readonly memorySize?: number;
  /**
   * Function timeout (at most 15 minutes).
   * @default 15 minutes for `extract`, `load`, `verify`, `inventory`, `checksum`, `counts` and `clean`, 1 minute for the other stages
   */
  readonly timeout?: Duration;
  /**
   * How long the function's log group keeps events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Directory holding `<stage>/handler.ts`.
   * @default {@link DEFAULT_LAMBDAS_DIR} (the repository's `lambdas/`)
   */
  readonly lambdasDir?: string;
  /**
   * Subnets and security groups the function runs in (to reach a database in a VPC); the role
   * gets the network-interface permissions Lambda needs there.
   * @default no VPC
   */
  readonly network?: { readonly subnetIds: readonly string[]; readonly securityGroupIds: readonly string[] };
}

/**
 * One pipeline stage as a Lambda: Node.js 22 on arm64, bundled locally with esbuild (no Docker),
 * its own log group, and its own role that may only write to that log group. Access to data and
 * state is granted by the caller (`grant*` on the bucket, tables and state machine).
 */
export class StageFunction extends Construct {
  /** The stage this function runs. */
  readonly stage: StageName;
  /** The Lambda function. */
  readonly function: nodejs.NodejsFunction;
  /** The function's execution role (log writes only until the caller grants more). */
  readonly role: iam.Role;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;
  /** The function's timeout (SQS visibility timeouts derive from it). */
  readonly timeout: Duration;
  /**
   * The encoded configuration the bundle carries ({@link encodeBundledConfig}); the local runtime
   * decodes this value, so it runs the handlers with exactly what the deployed functions ship.
   */
  readonly bundledConfig: string;

  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? DEFAULT_MEMORY_MIB[props.stage];
    const timeout = props.timeout ?? DEFAULT_TIMEOUT[props.stage];
    const problems: string[] = [];
    if (!STAGE_NAMES.includes(props.stage)) problems.push(`stage must be one of ${STAGE_NAMES.join(', ')}, got '${String(props.stage)}'`);
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) problems.push(`memorySize must be an integer from 128 to 10240 MiB, got ${memorySize}`);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900) problems.push(`timeout must be from 1 second to 15 minutes, got ${timeout.toHumanString()}`);
    for (const reserved of [STAGE_ENV_VAR, 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS']) {
      if (reserved in props.environment) problems.push(`environment must not set ${reserved}; the construct sets it`);
    }
    const bundledConfig = encodeBundledConfig(props.config);
    if (bundledConfig.length > MAX_BUNDLED_CONFIG_BYTES) {
      problems.push(`config is ${bundledConfig.length} bytes deflated, in base64; esbuild takes it as one command-line argument, which holds ${MAX_BUNDLED_CONFIG_BYTES}: split the datasets across stacks`);
    }
    if (problems.length > 0) throw new Error(`StageFunction ${this.node.path}: ${problems.join('; ')}`);

    this.stage = props.stage;
    this.timeout = timeout;
    this.bundledConfig = bundledConfig;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `syncproof ${props.stage} stage Lambda`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs on every log group): this log group only.
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `syncproof ${props.stage} stage`,
      entry: join(props.lambdasDir ?? DEFAULT_LAMBDAS_DIR, ...(STAGE_ENTRIES[props.stage] ?? [props.stage, 'handler.ts'])),
      // The repository's lock file and root, not the caller's working directory's: the CLI
      // synthesizes from wherever the user runs it.
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      projectRoot: PROJECT_ROOT,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        [STAGE_ENV_VAR]: props.stage,
        POWERTOOLS_SERVICE_NAME: 'syncproof',
        // Stack traces point into the TypeScript sources (bundles carry source maps).
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        format: nodejs.OutputFormat.CJS,
        target: 'node22',
        // Everything is bundled, the AWS SDK included: the Lambda runtime's SDK is whatever version
        // AWS ships that month and lacks packages we use (@aws-sdk/checksums), so the deployed code
        // runs the exact versions the tests ran. No native addons: synthesis stays offline.
        externalModules: [],
        // The configuration, as a string literal in the bundle (see `config`).
        // and the Parquet encoder worker's code (the extract stage starts it as a worker thread).
        define: {
          [BUNDLED_CONFIG_IDENTIFIER]: JSON.stringify(this.bundledConfig),
          ...(props.stage === 'extract' ? { [PARQUET_WORKER_IDENTIFIER]: JSON.stringify(encodeBundledWorker(buildParquetWorkerSource())) } : {}),
        },
      },
    });

    if (props.network) {
      // The escape hatch takes subnet and security group ids as they are, with no VPC lookup (synth stays offline).
      (this.function.node.defaultChild as lambda.CfnFunction).vpcConfig = {
        subnetIds: [...props.network.subnetIds],
        securityGroupIds: [...props.network.securityGroupIds],
      };
      // What AWSLambdaVPCAccessExecutionRole grants, inline: EC2 network-interface actions have no resource-level scoping.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      );
      acknowledgeNag(this.role, 'AwsSolutions-IAM5', 'Lambda in a VPC: the EC2 network-interface actions Lambda needs support no resource-level permissions.', ['Resource::*']);
    }

    acknowledgeNag(
      this.function,
      'AwsSolutions-L1',
      'Pinned to Node.js 22 on purpose (DESIGN.md §7): bundles target node22 and the local runtime runs the same handlers on Node 20/22; move to a newer runtime together with them.',
    );
  }
}
