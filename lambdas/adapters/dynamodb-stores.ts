import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateQuery,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import { TerminalError, TransientError } from '../core/errors';
import { USAGE_FIELDS, usageOf, type UsageDelta, type UsageField } from '../core/usage';
import type { Fenced, Lease, LedgerEntry, LedgerKey, LedgerStatus, LedgerStore, RunRecord, RunStatus, RunStore, SetAsideStatus } from '../core/ports';

/** Name of the ledger's dataset index (see lib/constructs/storage.ts and local/dynamodb.ts). */
export const LEDGER_DATASET_INDEX = 'byDataset';
/** The runs table's index of runs by dataset (PK `dataset`, SK `startedAt`); run locks, which have no `startedAt`, are not in it. */
export const RUNS_DATASET_INDEX = 'byDatasetStarted';

const TRANSIENT_DDB = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

export function translate(error: unknown, what: string): Error {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (TRANSIENT_DDB.has(e.name ?? '') || e.$retryable || (e.$metadata?.httpStatusCode ?? 0) >= 500 || e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED') {
    return new TransientError(`${what}: ${e.name ?? 'error'}; retry later`, { cause: error });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TerminalError(`${what}: ${message}`, { cause: error });
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

interface LedgerItem {
  objectKey: string;
  etag: string;
  dataset: string;
  size: number;
  lastModified: string;
  status: LedgerStatus;
  /** Absent on entries written before fencing: read as 0. */
  fence?: number;
  loadId?: string;
  leaseExpiresAt?: string;
  attemptId?: string;
  loadedBy?: string;
  rows?: number | null;
  reason?: string;
  sequencer?: string;
  setAsideBy?: string;
  setAsideAt?: string;
  deletedAt?: string;
  deletedBy?: string;
  updatedAt: string;
  claimedAt?: string;
}

function toEntry(item: LedgerItem): LedgerEntry {
  const lease =
    item.status === 'loading' && item.loadId
      ? { loadId: item.loadId, expiresAt: item.leaseExpiresAt ?? item.claimedAt ?? item.updatedAt, ...(item.attemptId ? { attemptId: item.attemptId } : {}) }
      : undefined;
  return {
    dataset: item.dataset,
    key: item.objectKey,
    etag: item.etag,
    size: item.size,
    lastModified: item.lastModified,
    status: item.status,
    fence: item.fence ?? 0,
    ...(lease ? { lease } : {}),
    loadId: item.loadId,
    loadedBy: item.loadedBy,
    rows: item.rows,
    reason: item.reason,
    sequencer: item.sequencer,
    ...(item.setAsideBy !== undefined ? { setAsideBy: item.setAsideBy } : {}),
    ...(item.setAsideAt !== undefined ? { setAsideAt: item.setAsideAt } : {}),
    ...(item.deletedAt !== undefined ? { deletedAt: item.deletedAt } : {}),
    ...(item.deletedBy !== undefined ? { deletedBy: item.deletedBy } : {}),
    updatedAt: item.updatedAt,
  };
}

const NAMES = { '#s': 'status', '#f': 'fence', '#rows': 'rows', '#reason': 'reason' } as const;

/** `fence` equals `expected`; an entry written before fencing has none and counts as 0. */
function fenceIs(expected: number): string {
  return expected === 0 ? '(attribute_not_exists(#f) OR #f = :fence)' : '#f = :fence';
}

/** BatchGetItem's limit of keys per request. */
export const BATCH_GET_MAX_KEYS = 100;
/** How often getMany re-sends UnprocessedKeys before it gives up with a TransientError. */
const UNPROCESSED_ROUNDS = 8;

/** Options of {@link DynamoDbLedgerStore}. */
export interface DynamoDbLedgerStoreOptions {
  /**
   * Waits between re-sends of UnprocessedKeys (tests pass a fake).
   * @default setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: up to 50 ms × 2^(round−1), at most 2 s. */
function unprocessedBackoffMs(round: number): number {
  return Math.floor(Math.random() * Math.min(2000, 50 * 2 ** (round - 1)));
}

function ledgerId(key: string, etag: string): string {
  return `${key}\u0000${etag}`;
}

/**
 * The file ledger in DynamoDB: one item per object version (PK `objectKey`, SK `etag`). Every
 * transition is one conditional UpdateItem, fenced by the entry's `fence`; no transactions
 * (DESIGN.md §5).
 */
export class DynamoDbLedgerStore implements LedgerStore {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbLedgerStoreOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
  }

  async get(key: string, etag: string): Promise<LedgerEntry | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { objectKey: key, etag }, ConsistentRead: true }),
      );
      return out.Item ? toEntry(out.Item as LedgerItem) : undefined;
    } catch (error) {
      throw translate(error, `reading ledger entry for '${key}'`);
    }
  }

  /**
   * BatchGetItem with ConsistentRead, at most 100 distinct keys per request. Throttling and
   * service errors are retried by the SDK client's retry strategy; keys DynamoDB returns as
   * UnprocessedKeys (throughput, or the 16 MB response limit) are re-sent with backoff, up to 8
   * rounds, then TransientError (the state machine retries the task).
   */
  async getMany(keys: readonly LedgerKey[]): Promise<(LedgerEntry | undefined)[]> {
    const distinct = [...new Map(keys.map((k) => [ledgerId(k.key, k.etag), k])).values()];
    const found = new Map<string, LedgerEntry>();
    for (let i = 0; i < distinct.length; i += BATCH_GET_MAX_KEYS) {
      let pending: Record<string, unknown>[] = distinct.slice(i, i + BATCH_GET_MAX_KEYS).map((k) => ({ objectKey: k.key, etag: k.etag }));
      for (let round = 0; pending.length > 0; round += 1) {
        if (round > 0) {
          if (round > UNPROCESSED_ROUNDS) {
            throw new TransientError(`reading ${pending.length} ledger entries: DynamoDB left them unprocessed ${UNPROCESSED_ROUNDS} times; retry later`);
          }
          await this.sleep(unprocessedBackoffMs(round));
        }
        let out;
        try {
          out = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }));
        } catch (error) {
          throw translate(error, `reading ${pending.length} ledger entries`);
        }
        for (const item of (out.Responses?.[this.tableName] ?? []) as LedgerItem[]) found.set(ledgerId(item.objectKey, item.etag), toEntry(item));
        pending = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return keys.map((k) => found.get(ledgerId(k.key, k.etag)));
  }

  async discover(entry: Omit<LedgerEntry, 'status' | 'updatedAt' | 'fence' | 'lease'>, now: string): Promise<boolean> {
    const item: LedgerItem = {
      objectKey: entry.key,
      etag: entry.etag,
      dataset: entry.dataset,
      size: entry.size,
      lastModified: entry.lastModified,
      status: 'discovered',
      fence: 0,
      ...(entry.sequencer ? { sequencer: entry.sequencer } : {}),
      updatedAt: now,
    };
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(objectKey)' }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `recording '${entry.key}' in the ledger`);
    }
  }

  async claim(key: string, etag: string, fence: number, lease: Omit<Lease, 'attemptId'>, now: string, readAttemptId?: string): Promise<number | undefined> {
    const next = fence + 1;
    const attempt = readAttemptId === undefined ? 'attribute_not_exists(attemptId)' : 'attemptId = :attempt';
    const ok = await this.update(
      key,
      etag,
      'SET #s = :loading, #f = :next, loadId = :loadId, leaseExpiresAt = :expires, claimedAt = :now, updatedAt = :now REMOVE #reason, attemptId',
      `attribute_exists(objectKey) AND ${fenceIs(fence)} AND #s IN (:discovered, :failed, :loading) AND ${attempt}`,
      {
        ':fence': fence,
        ':next': next,
        ':loading': 'loading',
        ':discovered': 'discovered',
        ':failed': 'failed',
        ':loadId': lease.loadId,
        ':expires': lease.expiresAt,
        ':now': now,
        ...(readAttemptId === undefined ? {} : { ':attempt': readAttemptId }),
      },
      `claiming '${key}' for load ${lease.loadId}`,
    );
    return ok ? next : undefined;
  }

  recordAttempt(at: Fenced, attemptId: string, now: string): Promise<boolean> {
    return this.update(
      at.key,
      at.etag,
      'SET attemptId = :attempt, updatedAt = :now',
      `${fenceIs(at.fence)} AND #s = :loading`,
      { ':fence': at.fence, ':loading': 'loading', ':attempt': attemptId, ':now': now },
      `recording load attempt ${attemptId} for '${at.key}'`,
    );
  }

  renewLease(at: Fenced, attemptId: string, expiresAt: string, now: string): Promise<boolean> {
    return this.update(
      at.key,
      at.etag,
      'SET leaseExpiresAt = :expires, updatedAt = :now',
      `${fenceIs(at.fence)} AND #s = :loading AND attemptId = :attempt`,
      { ':fence': at.fence, ':loading': 'loading', ':attempt': attemptId, ':expires': expiresAt, ':now': now },
      `renewing the lease of '${at.key}' for load attempt ${attemptId}`,
    );
  }

  markLoaded(at: Fenced, loadedBy: string, rows: number | null, now: string): Promise<boolean> {
    return this.update(
      at.key,
      at.etag,
      'SET #s = :loaded, loadedBy = :by, #rows = :rows, updatedAt = :now REMOVE leaseExpiresAt, attemptId, #reason',
      `attribute_exists(objectKey) AND ${fenceIs(at.fence)} AND NOT #s IN (:loaded, :deleted)`,
      { ':fence': at.fence, ':loaded': 'loaded', ':deleted': 'deleted', ':by': loadedBy, ':rows': rows, ':now': now },
      `marking '${at.key}' loaded`,
    );
  }

  markDeleted(key: string, etag: string, deletedBy: string, now: string): Promise<boolean> {
    return this.update(
      key,
      etag,
      'SET #s = :deleted, deletedAt = :now, deletedBy = :by, updatedAt = :now',
      'attribute_exists(objectKey) AND #s = :loaded',
      { ':loaded': 'loaded', ':deleted': 'deleted', ':by': deletedBy, ':now': now },
      `recording the retention delete of '${key}' in the ledger`,
    );
  }

  markQuarantined(at: Fenced, reason: string, now: string): Promise<boolean> {
    return this.settle(at, 'quarantined', reason, now);
  }

  markFailed(at: Fenced, reason: string, now: string): Promise<boolean> {
    return this.settle(at, 'failed', reason, now);
  }

  release(key: string, etag: string, now: string): Promise<boolean> {
    return this.update(
      key,
      etag,
      'SET #s = :discovered, updatedAt = :now REMOVE #reason, setAsideBy, setAsideAt',
      'attribute_exists(objectKey) AND #s IN (:failed, :quarantined, :forgotten)',
      { ':discovered': 'discovered', ':failed': 'failed', ':quarantined': 'quarantined', ':forgotten': 'forgotten', ':now': now },
      `releasing '${key}' for another load`,
    );
  }

  setAside(key: string, etag: string, fence: number, status: SetAsideStatus, reason: string, by: string, now: string): Promise<boolean> {
    return this.update(
      key,
      etag,
      'SET #s = :status, #reason = :reason, setAsideBy = :by, setAsideAt = :now, updatedAt = :now',
      `attribute_exists(objectKey) AND ${fenceIs(fence)} AND #s IN (:discovered, :failed, :quarantined, :forgotten)`,
      { ':fence': fence, ':status': status, ':reason': reason, ':by': by, ':now': now, ':discovered': 'discovered', ':failed': 'failed', ':quarantined': 'quarantined', ':forgotten': 'forgotten' },
      `setting '${key}' aside as ${status}`,
    );
  }

  private settle(at: Fenced, status: 'failed' | 'quarantined', reason: string, now: string): Promise<boolean> {
    return this.update(
      at.key,
      at.etag,
      'SET #s = :status, #reason = :reason, updatedAt = :now REMOVE leaseExpiresAt, attemptId',
      `${fenceIs(at.fence)} AND #s = :loading`,
      { ':fence': at.fence, ':loading': 'loading', ':status': status, ':reason': reason, ':now': now },
      `marking '${at.key}' ${status}`,
    );
  }

  /** One conditional UpdateItem; false when the condition does not hold. */
  private async update(key: string, etag: string, expression: string, condition: string, values: Record<string, unknown>, what: string): Promise<boolean> {
    const used = `${expression} ${condition}`;
    const names = Object.fromEntries(Object.entries(NAMES).filter(([n]) => used.includes(n)));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { objectKey: key, etag },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, what);
    }
  }

  async *listDataset(dataset: string): AsyncIterable<LedgerEntry> {
    try {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          IndexName: LEDGER_DATASET_INDEX,
          KeyConditionExpression: 'dataset = :d',
          ExpressionAttributeValues: { ':d': dataset },
        },
      )) {
        for (const item of page.Items ?? []) yield toEntry(item as LedgerItem);
      }
    } catch (error) {
      throw translate(error, `listing the ledger of dataset '${dataset}'`);
    }
  }
  async *versions(key: string): AsyncIterable<LedgerEntry> {
    try {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'objectKey = :k',
          ExpressionAttributeValues: { ':k': key },
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) yield toEntry(item as LedgerItem);
      }
    } catch (error) {
      throw translate(error, `reading the ledger versions of '${key}'`);
    }
  }

  /**
   * Dataset names seen in the first `maxItems` entries of a scan, sorted, and whether the scan
   * stopped early (then the list may be incomplete). For operators' hints, never for decisions.
   */
  async sampleDatasets(maxItems: number): Promise<{ readonly names: string[]; readonly complete: boolean }> {
    const names = new Set<string>();
    let seen = 0;
    try {
      for await (const page of paginateScan(
        { client: this.client, pageSize: Math.min(maxItems, 1000) },
        { TableName: this.tableName, ProjectionExpression: 'dataset' },
      )) {
        for (const item of page.Items ?? []) names.add(String(item.dataset));
        seen += page.Count ?? 0;
        if (seen >= maxItems && page.LastEvaluatedKey) return { names: [...names].sort(), complete: false };
      }
    } catch (error) {
      throw translate(error, 'listing the datasets in the ledger');
    }
    return { names: [...names].sort(), complete: true };
  }
}

const STAGE_PREFIX = 'stage_';
/** A run item's usage figures are top-level numbers `usage_<field>` (an `ADD` needs no map to exist). */
const USAGE_PREFIX = 'usage_';

function runFromItem(item: Record<string, unknown>): RunRecord {
  const stages: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (k.startsWith(STAGE_PREFIX)) stages[k.slice(STAGE_PREFIX.length)] = v;
  return {
    runId: String(item.runId),
    dataset: String(item.dataset ?? ''),
    status: item.status as RunStatus,
    startedAt: String(item.startedAt ?? ''),
    updatedAt: String(item.updatedAt ?? ''),
    stages,
    reportUri: item.reportUri as string | undefined,
    error: item.error as string | undefined,
    ...(USAGE_FIELDS.some((f) => typeof item[USAGE_PREFIX + f] === 'number')
      ? { usage: usageOf(Object.fromEntries(USAGE_FIELDS.map((f) => [f, item[USAGE_PREFIX + f] as number | undefined]))) }
      : {}),
  };
}

/** Run records in DynamoDB: one item per execution (PK `runId`); stage outputs as `stage_<name>`. */
export class DynamoDbRunStore implements RunStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(runId: string): Promise<RunRecord | undefined> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { runId }, ConsistentRead: true }));
      // An item with usage figures only is a run whose invocations ran before it started; one a
      // stage wrote by `update` alone (a deletion's stage output, a failure) is a run.
      return out.Item && Object.keys(out.Item).some((k) => k !== 'runId' && !k.startsWith(USAGE_PREFIX)) ? runFromItem(out.Item as Record<string, unknown>) : undefined;
    } catch (error) {
      throw translate(error, `reading run ${runId}`);
    }
  }

  async *listByDataset(dataset: string, options: { readonly since?: string } = {}): AsyncIterable<RunRecord> {
    const since = options.since !== undefined;
    try {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          IndexName: RUNS_DATASET_INDEX,
          KeyConditionExpression: since ? '#d = :d AND #s >= :since' : '#d = :d',
          ExpressionAttributeNames: since ? { '#d': 'dataset', '#s': 'startedAt' } : { '#d': 'dataset' },
          ExpressionAttributeValues: since ? { ':d': dataset, ':since': options.since } : { ':d': dataset },
          ScanIndexForward: false,
        },
      )) {
        for (const item of page.Items ?? []) yield runFromItem(item as Record<string, unknown>);
      }
    } catch (error) {
      throw translate(error, `listing the runs of dataset '${dataset}'`);
    }
  }

  /**
   * Creates the run unless it has a status already. An UpdateItem, not a Put: the usage figures
   * of invocations that ran before the run started (AcquireRun) are on the item and stay.
   */
  async start(run: RunRecord): Promise<boolean> {
    const { stages, runId, usage: _usage, ...rest } = run;
    const item: Record<string, unknown> = { ...rest };
    for (const [k, v] of Object.entries(stages ?? {})) item[STAGE_PREFIX + k] = v;
    const fields = Object.keys(item).filter((k) => item[k] !== undefined);
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {};
    fields.forEach((k, i) => {
      names[`#a${i}`] = k;
      values[`:a${i}`] = item[k];
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { runId },
          UpdateExpression: `SET ${fields.map((_, i) => `#a${i} = :a${i}`).join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#status)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `recording run ${run.runId}`);
    }
  }

  async update(
    runId: string,
    patch: { stage?: string; output?: unknown; status?: RunStatus; reportUri?: string; error?: string; dataset?: string },
    now: string,
  ): Promise<void> {
    const names: Record<string, string> = { '#u': 'updatedAt', '#st': 'startedAt' };
    const values: Record<string, unknown> = { ':now': now };
    const sets = ['#u = :now', '#st = if_not_exists(#st, :now)'];
    if (patch.stage) {
      names['#stage'] = STAGE_PREFIX + patch.stage;
      values[':out'] = patch.output ?? null;
      sets.push('#stage = :out');
    }
    if (patch.status) {
      names['#s'] = 'status';
      values[':status'] = patch.status;
      sets.push('#s = :status');
    }
    if (patch.reportUri) {
      names['#r'] = 'reportUri';
      values[':r'] = patch.reportUri;
      sets.push('#r = :r');
    }
    if (patch.error) {
      names['#e'] = 'error';
      values[':e'] = patch.error;
      sets.push('#e = :e');
    }
    if (patch.dataset) {
      names['#d'] = 'dataset';
      values[':d'] = patch.dataset;
      sets.push('#d = if_not_exists(#d, :d)');
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { runId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      throw translate(error, `updating run ${runId}`);
    }
  }

  /**
   * One UpdateItem `SET usage_<field> = :n … ADD usage_<field> :n, …`: atomic, so every
   * concurrent invocation's figures add up. A run not started yet gets an item with its figures
   * only; {@link start} keeps them.
   */
  async addUsage(runId: string, delta: UsageDelta, replace: UsageDelta = {}): Promise<void> {
    const fields = (Object.keys(delta) as UsageField[]).filter((f) => typeof delta[f] === 'number');
    const sets = (Object.keys(replace) as UsageField[]).filter((f) => typeof replace[f] === 'number');
    if (fields.length === 0 && sets.length === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    fields.forEach((f, i) => {
      names[`#f${i}`] = USAGE_PREFIX + f;
      values[`:v${i}`] = delta[f] as number;
    });
    sets.forEach((f, i) => {
      names[`#s${i}`] = USAGE_PREFIX + f;
      values[`:s${i}`] = replace[f] as number;
    });
    const expression = [
      ...(sets.length ? [`SET ${sets.map((_, i) => `#s${i} = :s${i}`).join(', ')}`] : []),
      ...(fields.length ? [`ADD ${fields.map((_, i) => `#f${i} :v${i}`).join(', ')}`] : []),
    ].join(' ');
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { runId },
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      throw translate(error, `adding usage to run ${runId}`);
    }
  }
}
