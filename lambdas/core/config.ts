import { alertsSchema } from './alerts-config';
import { z } from 'zod';
import { parseColumnType } from './column-types';
import { urlProblem } from './connection-url';
import { ConfigurationError, InvalidInputError } from './errors';
import { nearestName } from './nearest-name';
import { pricesSchema } from './prices';
import { parseSampleSpec } from './sampling';
import { DELETE_POLICIES, VERIFY_TIERS, contentSettingsSchema, reconcileWindowSchema } from './verify-config';
import { durationSeconds } from './durations';

export { durationSeconds };

/** Reserved key prefix for syncproof's own objects (batches, reports); never a dataset prefix. */
export const INTERNAL_PREFIX = '_syncproof/';

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,126}$/, 'must be a lower-case SQL identifier (letters, digits, _)');

/** Warehouse column types accepted in a dataset's column list (lambdas/core/column-types.ts), written in canonical spelling. */
export const columnTypeSchema = z.string().transform((text, ctx) => {
  const parsed = parseColumnType(text);
  if (parsed.ok) return parsed.type;
  ctx.addIssue({ code: 'custom', message: parsed.reason });
  return z.NEVER;
});

/**
 * How many files the checksum stage verifies: `'all'`, a count (`'20'`) or a percentage (`'10%'`,
 * at least 1 and at most 20 files). Parsed by `parseSampleSpec` (lambdas/core/sampling.ts).
 */
export const checksumSampleSchema = z.string().superRefine((text, ctx) => {
  try {
    parseSampleSpec(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof InvalidInputError ? error.message : String(error) });
  }
});

/** The default checksum sample: 10% of the files, at least 1, at most 20. */
export const DEFAULT_CHECKSUM_SAMPLE = '10%';

/**
 * An EventBridge schedule expression, `rate(<n> minute(s)|hour(s)|day(s))` or `cron(<6 fields>)`:
 * when the VerifyStateMachine checks a dataset.
 */
export const scheduleExpressionSchema = z
  .string()
  .regex(
    /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/,
    "must be an EventBridge schedule expression: 'rate(1 day)', 'rate(6 hours)' or 'cron(0 3 * * ? *)'",
  );

/** The default verification schedule of a dataset. */
export const DEFAULT_VERIFY_SCHEDULE = 'rate(1 day)';
/** When a dataset fed by uploads is reconciled unless it says otherwise (`reconcileSchedule`). */
export const DEFAULT_RECONCILE_SCHEDULE = 'rate(1 day)';

/** One target column. Unknown keys are refused, like every object of the configuration. */
export const columnSchema = z.strictObject({
  name: identifier,
  type: columnTypeSchema,
});

/** Where a dataset with a `source` writes its extracted files (a prefix syncproof owns; no upload event starts a run for it). */
export function extractPrefix(dataset: string): string {
  return `${INTERNAL_PREFIX}extracts/${dataset}/`;
}

/**
 * A window length: a duration (`'30s'`, `'5m'`, `'2h'`, `'1d'`, `'250ms'`) for a date or time
 * cursor, or a whole number (`1000` or `'1000'`) for an integer cursor. `0` means none.
 */
export const windowSchema = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h|d)?$/, "must be a duration such as '30s', '5m', '2h' or '1d' (time cursors), or a whole number (integer cursors)"),
]);

/** Every IANA time zone this runtime knows (for the nearest name to a misspelt one). */
function knownTimeZones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone')];
}

/** An IANA time zone name the runtime knows (`UTC`, `America/New_York`); an unknown one is refused naming the nearest. */
export const timeZoneSchema = z.string().superRefine((zone, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return;
  } catch {
    const nearest = nearestName(zone, knownTimeZones());
    ctx.addIssue({
      code: 'custom',
      message: `unknown time zone '${zone}': give an IANA name such as 'America/New_York' or 'UTC'${nearest ? `; did you mean '${nearest}'?` : ''}`,
    });
  }
});

/** The zone a naive cursor is read in by default. */
export const DEFAULT_TIME_ZONE = 'UTC';

/** The source's `timeZone` for naive cursors, or the default ('UTC'). */
export function timeZoneOf(source: { readonly timeZone?: string }): string {
  return source.timeZone ?? DEFAULT_TIME_ZONE;
}

/** What a source's JSON columns load as (see `source.jsonType`). */
export const JSON_TYPES = ['varchar', 'super'] as const;
export type JsonType = (typeof JSON_TYPES)[number];

/** The source's JSON column type, or the default ('varchar'). */
export function jsonTypeOf(source: { readonly jsonType?: JsonType }): JsonType {
  return source.jsonType ?? 'varchar';
}

/** The rows per chunk (one Parquet file) an extraction writes by default. */
export const DEFAULT_CHUNK_ROWS = 75_000;

/**
 * The database a dataset is extracted from (issue #8). Unknown keys are refused. Exactly one of
 * `url` (local runs: `mysql://user:pass@host:3306/db`, `postgres://…`, or `pglite:<dir>` for an
 * embedded PGlite source) and `secretArn` (AWS: a Secrets Manager secret in the RDS format,
 * `{username, password, host, port, dbname}`).
 */
export const sourceSchema = z
  .strictObject({
    engine: z.enum(['mysql', 'postgres']),
    url: z
      .string()
      .regex(/^(mysql|mariadb|postgres|postgresql|pglite):/, "must be a mysql://, postgres:// or pglite: URL")
      .superRefine((url, ctx) => {
        const problem = urlProblem(url, 'the URL');
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    secretArn: z.string().startsWith('arn:').optional(),
    /** `database.table` (MySQL) or `schema.table` (PostgreSQL). */
    table: z.string().regex(/^[^.]+\.[^.]+$/, "must be 'database.table' (MySQL) or 'schema.table' (PostgreSQL), split at its one dot; other characters (spaces, capitals) are kept and quoted"),
    /** The column whose value grows when a row is inserted or updated (`updated_at`), or an auto-increment id. */
    cursorColumn: z.string().min(1),
    /** @default the table's primary key (a table without one needs a unique key named here) */
    keyColumns: z.array(z.string().min(1)).min(1).optional(),
    /** Rows whose cursor is newer than the run's start minus `lag` wait for the next run (late-committing transactions). @default 0 */
    lag: windowSchema.optional(),
    /** Each run re-reads this window behind the watermark; the upsert absorbs rows read twice. @default 0 */
    lookback: windowSchema.optional(),
    /**
     * The IANA time zone (`America/New_York`) whose wall clock a cursor column without a zone holds
     * (MySQL DATETIME or DATE, PostgreSQL `timestamp without time zone` or `date`): the run's end
     * bound, the source's clock minus `lag`, is compared in it. Ignored for other cursors. Read it
     * with {@link timeZoneOf}. @default 'UTC'
     */
    timeZone: timeZoneSchema.optional(),
    /** Rows per chunk (one Parquet file). @default 75000 */
    limit: z.number().int().min(1).max(10_000_000).optional(),
    /** Most chunks per run: a run moves at most limit × maxChunks rows. @default unbounded */
    maxChunks: z.number().int().min(1).optional(),
    /** MySQL `TINYINT(1)` columns that hold flags and load as BOOLEAN (the others stay SMALLINT). */
    booleanColumns: z.array(z.string().min(1)).optional(),
    /**
     * What JSON columns (MySQL/MariaDB JSON, PostgreSQL json/jsonb) load as: `varchar` (the JSON
     * text in VARCHAR(65535)) or `super` (the parsed document in a SUPER column; the text may be at
     * most 65,535 bytes, see lambdas/core/load-plan.ts). Changing it for a dataset that already
     * loaded is a type change, refused at extraction. Read it with {@link jsonTypeOf}. @default 'varchar'
     */
    jsonType: z.enum(JSON_TYPES).optional(),
    /**
     * When the deployed stack starts an incremental run of the dataset (an EventBridge schedule
     * expression, as `verifySchedule`). @default none: runs start from the console, the CLI or your own schedule
     */
    schedule: scheduleExpressionSchema.optional(),
  })
  .refine((s) => (s.url === undefined) !== (s.secretArn === undefined), {
    message: 'set exactly one of url (local runs) or secretArn (AWS: a Secrets Manager secret)',
  });

export type SourceConfig = z.infer<typeof sourceSchema>;

/** A lag threshold: a whole number of minutes, hours or days ('45m', '1h', '2d'). */
export const lagDurationSchema = z.string().regex(/^[1-9]\d*(m|h|d)$/, "must be a duration such as '30m', '6h' or '2d'");

/** A retention age: a whole number of minutes, hours or days ('90m', '12h', '30d'); read it with {@link durationSeconds}. */
export const retentionAgeSchema = z.string().regex(/^[1-9]\d*(m|h|d)$/, "must be an age such as '7d', '36h' or '90m'");

/**
 * How long a dataset keeps its loaded and verified objects (`syncproof clean`,
 * lambdas/clean/clean.ts). Unknown keys are refused.
 */
export const retentionSchema = z.strictObject({
  /** Objects (and syncproof's run documents) older than this are removed once loaded and verified. */
  olderThan: retentionAgeSchema,
  /**
   * When the deployed stack's clean Lambda runs it (an EventBridge schedule expression, as
   * `verifySchedule`). @default none: only `syncproof clean` removes anything
   */
  schedule: scheduleExpressionSchema.optional(),
});
export type RetentionConfig = z.infer<typeof retentionSchema>;

/** One dataset: which S3 prefix feeds which warehouse table, and how. Unknown keys are refused. */
export const datasetSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be 1-40 chars of a-z, 0-9 and -, starting with a letter'),
    /**
     * The S3 prefix whose files feed the table; not given for a dataset with a `source` (parsing
     * sets it to {@link extractPrefix}, and accepts exactly that value again, so that a parsed
     * configuration parses again: the stack re-validates it and the stages read it from their
     * environment).
     */
    prefix: z
      .string()
      .min(1)
      .regex(/^[^/].*\/$/, "must not start with '/' and must end with '/'")
      .optional(),
    /** A database the dataset is extracted from (then no `prefix`, `columns` or `keyColumns`: they come from the table). */
    source: sourceSchema.optional(),
    target: z.strictObject({ schema: identifier, table: identifier }),
    keyColumns: z.array(identifier).default([]),
    loadMode: z.enum(['upsert', 'append']).default('upsert'),
    format: z.enum(['parquet', 'csv']).default('parquet'),
    /** Target columns; when given, the load stage creates the table if it does not exist. */
    columns: z.array(columnSchema).min(1).optional(),
    /**
     * Files the checksum stage verifies per run (see checksumSampleSchema). Optional so that
     * configurations written as literals stay valid; read it with {@link checksumSampleOf}.
     * @default '10%'
     */
    checksumSample: checksumSampleSchema.optional(),
    /**
     * When the scheduled VerifyStateMachine checks this dataset; read it with {@link verifyScheduleOf}.
     * @default 'rate(1 day)'
     */
    verifySchedule: scheduleExpressionSchema.optional(),
    /**
     * A dataset fed by uploads (no `source`): when the deployed stack starts a reconcile run of it
     * (`{"dataset": …, "mode": "reconcile"}`: the whole prefix listed against the ledger, so files
     * whose S3 events were lost are loaded without an operator). Event runs touch only their own
     * files; this is what finds the rest. Read it with {@link reconcileScheduleOf}.
     * @default 'rate(1 day)'
     */
    reconcileSchedule: scheduleExpressionSchema.optional(),
    /**
     * Column whose larger value is the newer version of a key (upsert): the newest version wins
     * whatever order files arrive or commit in (invariant I4). Without it, the file's S3 order
     * (LastModified, then the event sequencer) decides.
     */
    versionColumn: identifier.optional(),
    /**
     * What a file whose columns differ from the target does: `fail` (one clear error naming the
     * column, nothing quarantined) or `add-columns` (new nullable columns are added to the target).
     * Optional so that configurations written as literals stay valid; read it with {@link schemaDriftOf}.
     * @default 'fail'
     */
    schemaDrift: z.enum(['fail', 'add-columns']).optional(),
    /**
     * What the scheduled VerifyStateMachine checks (its schedule passes it in the execution input):
     * `counts` (the row-count chain source → manifests → audit → target), `content` (every row's
     * values by segment checksums), `sampled` (content of a seeded random subset of segments).
     * Read it with {@link verifyTierOf}. @default 'counts'
     */
    verifyTier: z.enum(VERIFY_TIERS).optional(),
    /**
     * A dataset with a source: how much recent cursor (behind the watermark) the scheduled check
     * re-examines for rows committed late (see {@link reconcileWindowSchema}). @default none
     */
    reconcileWindow: reconcileWindowSchema.optional(),
    /**
     * Keys the warehouse holds and the source no longer has: `report` them (the verdict names
     * them) or `propagate` the deletes to the target through the audited load path. Read it with
     * {@link deletesOf}. @default 'report'
     */
    deletes: z.enum(DELETE_POLICIES).optional(),
    /**
     * Sync lag (now minus the newest data proven in the warehouse) at which `syncproof status`
     * warns (exit 1); a duration such as '30m', '1h' or '2d'. Read it with `lagThresholdsOf`
     * (lambdas/core/lag.ts). @default '1h'
     */
    lagWarn: lagDurationSchema.optional(),
    /**
     * Sync lag at which `syncproof status` fails (exit 2) and the stack's lag alarm fires; at
     * least `lagWarn`. @default '6h'
     */
    lagFail: lagDurationSchema.optional(),
    /** Content tier settings; read them with {@link contentSettingsOf}. @default factor 32, fetchRows 16384, floatTolerance 1e-9, sampleSegments 16 */
    content: contentSettingsSchema.optional(),
    /**
     * Retention of loaded and verified objects (`syncproof clean`; with `schedule`, the stack's
     * clean Lambda). @default none: nothing is removed unless `syncproof clean --older-than` says so
     */
    retention: retentionSchema.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.lagWarn !== undefined && d.lagFail !== undefined && durationSeconds(d.lagFail) < durationSeconds(d.lagWarn)) {
      ctx.addIssue({ code: 'custom', path: ['lagFail'], message: `must be at least lagWarn ('${d.lagWarn}')` });
    }
    if (d.source) {
      const owned = `a dataset with a source writes its files under '${extractPrefix(d.name)}' and takes its columns and keys from the source table`;
      if (d.prefix !== undefined && d.prefix !== extractPrefix(d.name)) ctx.addIssue({ code: 'custom', path: ['prefix'], message: `remove it: ${owned}` });
      if (d.columns !== undefined) ctx.addIssue({ code: 'custom', path: ['columns'], message: `remove it: ${owned}` });
      if (d.keyColumns.length > 0) ctx.addIssue({ code: 'custom', path: ['keyColumns'], message: `move it to source.keyColumns: ${owned}` });
      if (d.loadMode !== 'upsert') ctx.addIssue({ code: 'custom', path: ['loadMode'], message: 'a dataset with a source loads by upsert (re-read rows replace their older versions)' });
      if (d.versionColumn !== undefined) ctx.addIssue({ code: 'custom', path: ['versionColumn'], message: 'remove it: the source cursor column orders versions' });
      if (d.reconcileSchedule !== undefined) ctx.addIssue({ code: 'custom', path: ['reconcileSchedule'], message: 'remove it: a dataset with a source is not fed by S3 events (use source.schedule)' });
      return;
    }
    if (d.reconcileWindow !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['reconcileWindow'], message: "remove it: it re-examines a source's recent cursor, and this dataset has no source" });
    }
    if (d.prefix === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prefix'], message: "required: the S3 prefix whose files feed the table (e.g. 'orders/'), unless the dataset has a source" });
    } else if (d.prefix.startsWith(INTERNAL_PREFIX)) {
      ctx.addIssue({ code: 'custom', path: ['prefix'], message: `must not start with '${INTERNAL_PREFIX}'` });
    }
    if (d.loadMode === 'upsert' && d.keyColumns.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['keyColumns'], message: 'upsert needs at least one key column' });
    }
    if (d.columns) {
      const names = new Set(d.columns.map((c) => c.name));
      d.keyColumns.forEach((k, i) => {
        if (!names.has(k)) ctx.addIssue({ code: 'custom', path: ['keyColumns', i], message: `key column '${k}' is not in columns` });
      });
      if (d.versionColumn !== undefined && !names.has(d.versionColumn)) {
        ctx.addIssue({ code: 'custom', path: ['versionColumn'], message: `version column '${d.versionColumn}' is not in columns` });
      }
    }
  })
  .transform((d) => ({ ...d, prefix: d.prefix ?? extractPrefix(d.name) }));

export type DatasetConfig = z.infer<typeof datasetSchema>;

/** Redshift connection for the deployed stack (the local runtime ignores it). Unknown keys are refused. */
export const redshiftSchema = z
  .strictObject({
    database: z.string().min(1),
    workgroupName: z.string().min(1).optional(),
    clusterIdentifier: z.string().min(1).optional(),
    secretArn: z.string().startsWith('arn:').optional(),
    dbUser: z.string().min(1).optional(),
    /** IAM role Redshift assumes to read the bucket in COPY. */
    copyRoleArn: z.string().startsWith('arn:'),
  })
  .refine((r) => Boolean(r.workgroupName) !== Boolean(r.clusterIdentifier), {
    message: 'set exactly one of workgroupName (Serverless) or clusterIdentifier (provisioned)',
  });

export type RedshiftConfig = z.infer<typeof redshiftSchema>;

/**
 * The whole configuration file. Every object in it is strict: an unknown or misspelt key is an
 * error (named with its path and the nearest valid name by {@link formatIssues}), never ignored.
 */
export const syncproofConfigSchema = z
  .strictObject({
    datasets: z.array(datasetSchema).min(1),
    redshift: redshiftSchema.optional(),
    /** Most files one load transaction takes; the state machine loops for the rest. */
    maxFilesPerBatch: z.number().int().min(1).max(1000).default(100),
    /**
     * How many datasets one SyncDatasetsStateMachine execution syncs at once (its Map's
     * MaxConcurrency; each dataset is a child SyncStateMachine execution). 1 syncs them one after
     * the other; at most 40, the concurrency of an inline Map. Optional so that configurations
     * written as literals stay valid; read it with {@link maxConcurrentDatasetsOf}.
     * @default 1
     */
    maxConcurrentDatasets: z.number().int().min(1).max(40).optional(),
    /**
     * Whether the state machines (sync, several datasets, verify) log each state's input and output
     * (`includeExecutionData`) to CloudWatch Logs with their execution history. Off by default: that
     * data carries key values, cursor values and watermarks of the source's rows. Turn it on to
     * debug a run. Optional so that configurations written as literals stay valid; read it with
     * {@link logExecutionDataOf}.
     * @default false
     */
    logExecutionData: z.boolean().optional(),
    /**
     * List prices a run's usage is priced at (lambdas/core/prices.ts: each field's default is the
     * 2026 us-east-1 list price, with its source). Optional so that configurations written as
     * literals stay valid; read it with `pricesOf` (lambdas/core/prices.ts).
     * @default the us-east-1 list prices
     */
    prices: pricesSchema.partial().optional(),
    /**
     * Where the Lambdas that open source databases (extract, commit) run in AWS: subnets and
     * security groups of the sources' VPC. Without it they run outside any VPC. In a VPC they
     * reach S3, DynamoDB, Secrets Manager and the Redshift Data API only through a NAT gateway or
     * VPC endpoints: with `endpoints`, the stack creates them (gateway endpoints for S3 and
     * DynamoDB on `routeTableIds`, interface endpoints for Secrets Manager and the Redshift Data
     * API in `subnetIds`, behind a security group that admits HTTPS from `securityGroupIds`).
     */
    sourceNetwork: z
      .strictObject({
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id ('subnet-…')")).min(1),
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id ('sg-…')")).min(1),
        /** Create the VPC endpoints the stages need (see above). @default none: the VPC has a NAT gateway or its own endpoints */
        endpoints: z
          .strictObject({
            /** The VPC of `subnetIds`. */
            vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id ('vpc-…')"),
            /** Route tables of `subnetIds`: the S3 and DynamoDB gateway endpoints are routes in them. */
            routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, "must be a route table id ('rtb-…')")).min(1),
          })
          .optional(),
      })
      .optional(),
    /** Where the stack's alarms notify (an SNS topic it creates, or yours); see {@link alertsSchema}. @default none: alarms without actions */
    alerts: alertsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.datasets.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['datasets', i, 'name'], message: `duplicate dataset name '${d.name}'` });
      seen.set(d.name, i);
      c.datasets.forEach((o, j) => {
        // A dataset that failed its own checks reaches here untransformed: a source dataset has no prefix yet.
        if (i !== j && typeof d.prefix === 'string' && typeof o.prefix === 'string' && d.prefix.startsWith(o.prefix)) {
          ctx.addIssue({ code: 'custom', path: ['datasets', i, 'prefix'], message: `prefix '${d.prefix}' overlaps dataset '${o.name}' ('${o.prefix}')` });
        }
      });
    });
  });

export type SyncproofConfig = z.infer<typeof syncproofConfigSchema>;
export type SyncproofConfigInput = z.input<typeof syncproofConfigSchema>;

/**
 * Formats zod issues as `path: message` lines, joined by `; `, so a user can find the field.
 * A value outside an enum, parsed with `reportInput`, names the nearest valid value when one is
 * close (`source.jsonType: Invalid option: …; did you mean 'super'?`).
 *
 * An unknown key (a strict object's `unrecognized_keys` issue) becomes one line per key, at the
 * key's own path (`datasets.0.versionColum: unknown key; did you mean 'versionColumn'?`). Given
 * the schema that was parsed, the line names the nearest valid key at that level, or lists the
 * valid keys when none is close.
 */
export function formatIssues(error: z.ZodError, schema?: z.core.$ZodType): string {
  return error.issues.flatMap((issue) => issueLines(issue, schema)).join('; ');
}

function issueLines(issue: z.core.$ZodIssue, schema: z.core.$ZodType | undefined): string[] {
  if (issue.code === 'invalid_value') return [`${pathText(issue.path)}: ${invalidValueMessage(issue)}`];
  if (issue.code !== 'unrecognized_keys') return [`${pathText(issue.path)}: ${issue.message}`];
  const valid = schema ? keysAt(schema, issue.path) : [];
  return issue.keys.map((key) => `${pathText([...issue.path, key])}: ${unknownKeyMessage(key, valid)}`);
}

/** A value outside an enum: the nearest valid value when one is close (`'supr'` → `'super'`). */
function invalidValueMessage(issue: z.core.$ZodIssueInvalidValue): string {
  const valid = issue.values.filter((v): v is string => typeof v === 'string');
  const given = issue.input;
  const nearest = typeof given === 'string' ? nearestName(given, valid) : undefined;
  return nearest ? `${issue.message}; did you mean '${nearest}'?` : issue.message;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

function unknownKeyMessage(key: string, valid: readonly string[]): string {
  if (valid.length === 0) return 'unknown key';
  const nearest = nearestName(key, valid);
  return nearest ? `unknown key; did you mean '${nearest}'?` : `unknown key; valid keys here: ${valid.join(', ')}`;
}

/** The keys of the object schema that `path` leads to in `schema`, or none if it leads to no object. */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  for (const segment of path) node = node && childAt(unwrapped(node), segment);
  const target = node && unwrapped(node);
  return target instanceof z.ZodObject ? Object.keys(target.shape) : [];
}

function childAt(node: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType | undefined {
  if (node instanceof z.ZodArray && typeof segment === 'number') return node.element;
  if (node instanceof z.ZodObject && typeof segment === 'string') return node.shape[segment];
  return undefined;
}

function unwrapped(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodNullable) node = node.unwrap();
    else if (node instanceof z.ZodPipe) node = node.in;
    else return node;
  }
}

/**
 * Parses a configuration object; throws ConfigurationError naming every bad field, including
 * every unknown key with the nearest valid name (see {@link formatIssues}). The CDK app (through
 * `loadConfigFile`), the stack's own props check and the stage Lambdas (from their environment)
 * all validate here.
 */
export function parseConfig(raw: unknown, source = 'configuration'): SyncproofConfig {
  // reportInput: a misspelt enum value is named with the nearest valid one.
  const result = syncproofConfigSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigurationError(`${source} is invalid: ${formatIssues(result.error, syncproofConfigSchema)}`);
  return result.data;
}

/** The default of `maxConcurrentDatasets`: datasets sync one after the other. */
export const DEFAULT_MAX_CONCURRENT_DATASETS = 1;

/** The configuration's `maxConcurrentDatasets`, or the default (1: one dataset after the other). */
export function maxConcurrentDatasetsOf(config: Pick<SyncproofConfig, 'maxConcurrentDatasets'>): number {
  return config.maxConcurrentDatasets ?? DEFAULT_MAX_CONCURRENT_DATASETS;
}

/**
 * The configuration's `logExecutionData`, or the default (false: execution history is logged
 * without states' input and output, which carry key and cursor values).
 */
export function logExecutionDataOf(config: Pick<SyncproofConfig, 'logExecutionData'>): boolean {
  return config.logExecutionData ?? false;
}

/** The dataset's checksum sample, or the default ('10%': at least 1, at most 20 files). */
export function checksumSampleOf(dataset: Pick<DatasetConfig, 'checksumSample'>): string {
  return dataset.checksumSample ?? DEFAULT_CHECKSUM_SAMPLE;
}

/** The dataset's schema drift policy, or the default ('fail'). */
export function schemaDriftOf(dataset: Pick<DatasetConfig, 'schemaDrift'>): 'fail' | 'add-columns' {
  return dataset.schemaDrift ?? 'fail';
}

/** The dataset's verification schedule, or the default ('rate(1 day)'). */
export function verifyScheduleOf(dataset: Pick<DatasetConfig, 'verifySchedule'>): string {
  return dataset.verifySchedule ?? DEFAULT_VERIFY_SCHEDULE;
}

/** The dataset's reconcile schedule, or the default ('rate(1 day)'); see `reconcileSchedule`. */
export function reconcileScheduleOf(dataset: Pick<DatasetConfig, 'reconcileSchedule'>): string {
  return dataset.reconcileSchedule ?? DEFAULT_RECONCILE_SCHEDULE;
}

/**
 * Whether `key` is one of the dataset's own objects: under its prefix, and not one of syncproof's
 * (`_syncproof/…`) unless the dataset's prefix is itself one syncproof owns (a dataset with a
 * source: `_syncproof/extracts/<name>/`).
 */
export function isDatasetKey(dataset: Pick<DatasetConfig, 'prefix'>, key: string): boolean {
  return key.startsWith(dataset.prefix) && (dataset.prefix.startsWith(INTERNAL_PREFIX) || !key.startsWith(INTERNAL_PREFIX));
}

/** Finds the dataset whose prefix holds `key`, if any. */
export function datasetForKey(config: SyncproofConfig, key: string): DatasetConfig | undefined {
  return config.datasets.find((d) => key.startsWith(d.prefix));
}

/** Finds a dataset by name or throws ConfigurationError. */
export function requireDataset(config: SyncproofConfig, name: string): DatasetConfig {
  const dataset = config.datasets.find((d) => d.name === name);
  if (!dataset) {
    const names = config.datasets.map((d) => d.name);
    const near = nearestName(name, names);
    throw new ConfigurationError(
      `unknown dataset '${name}'${near ? `; did you mean '${near}'?` : ''}; configured datasets: ${names.join(', ')}`,
    );
  }
  return dataset;
}
