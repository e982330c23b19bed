import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import { TerminalError, TransientError } from '../core/errors';
import type { LedgerEntry, LedgerStatus, LedgerStore, RunRecord, RunStatus, RunStore } from '../core/ports';

/** Name of the ledger's dataset index (see lib/constructs/storage.ts and local/dynamodb.ts). */
export const LEDGER_DATASET_INDEX = 'byDataset';

const TRANSIENT_DDB = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

function translate(error: unknown, what: string): Error {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (TRANSIENT_DDB.has(e.name ?? '') || e.$retryable || (e.$metadata?.httpStatusCode ?? 0) >= 500 || e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED') {
    return new TransientError(`${what}: ${e.name ?? 'error'}; retry later`, { cause: error });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TerminalError(`${what}: ${message}`, { cause: error });
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

interface LedgerItem {
  objectKey: string;
  etag: string;
  dataset: string;
  size: number;
  lastModified: string;
  status: LedgerStatus;
  loadId?: string;
  rows?: number;
  reason?: string;
  updatedAt: string;
  claimedAt?: string;
}

function toEntry(item: LedgerItem): LedgerEntry {
  return {
    dataset: item.dataset,
    key: item.objectKey,
    etag: item.etag,
    size: item.size,
    lastModified: item.lastModified,
    status: item.status,
    loadId: item.loadId,
    rows: item.rows,
    reason: item.reason,
    updatedAt: item.updatedAt,
  };
}

/**
 * The file ledger in DynamoDB: one item per object version (PK `objectKey`, SK `etag`). Every
 * transition is one conditional UpdateItem; no transactions (DESIGN.md §5).
 */
export class DynamoDbLedgerStore implements LedgerStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

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

  async discover(entry: Omit<LedgerEntry, 'status' | 'updatedAt'>, now: string): Promise<boolean> {
    const item: LedgerItem = {
      objectKey: entry.key,
      etag: entry.etag,
      dataset: entry.dataset,
      size: entry.size,
      lastModified: entry.lastModified,
      status: 'discovered',
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

  async claim(key: string, etag: string, loadId: string, now: string, staleBefore: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { objectKey: key, etag },
          UpdateExpression: 'SET #s = :loading, loadId = :loadId, claimedAt = :now, updatedAt = :now REMOVE reason',
          ConditionExpression:
            'attribute_exists(objectKey) AND (#s IN (:discovered, :failed) OR (#s = :loading AND (loadId = :loadId OR claimedAt < :stale)))',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':loading': 'loading',
            ':discovered': 'discovered',
            ':failed': 'failed',
            ':loadId': loadId,
            ':now': now,
            ':stale': staleBefore,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `claiming '${key}' for load ${loadId}`);
    }
  }

  async markLoaded(key: string, etag: string, loadId: string, rows: number, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { objectKey: key, etag },
          UpdateExpression: 'SET #s = :loaded, #rows = :rows, updatedAt = :now',
          ConditionExpression: 'loadId = :loadId AND #s IN (:loading, :loaded)',
          ExpressionAttributeNames: { '#s': 'status', '#rows': 'rows' },
          ExpressionAttributeValues: { ':loaded': 'loaded', ':loading': 'loading', ':rows': rows, ':loadId': loadId, ':now': now },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new TerminalError(
          `ledger entry for '${key}' is not held by load ${loadId}; another load claimed it — inspect the ledger before retrying`,
          { cause: error },
        );
      }
      throw translate(error, `marking '${key}' loaded`);
    }
  }

  async markQuarantined(key: string, etag: string, reason: string, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { objectKey: key, etag },
          UpdateExpression: 'SET #s = :q, reason = :reason, updatedAt = :now',
          ConditionExpression: 'attribute_exists(objectKey) AND #s <> :loaded',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':q': 'quarantined', ':loaded': 'loaded', ':reason': reason, ':now': now },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return; // already loaded or never discovered: nothing to quarantine
      throw translate(error, `quarantining '${key}'`);
    }
  }

  async markFailed(key: string, etag: string, loadId: string, reason: string, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { objectKey: key, etag },
          UpdateExpression: 'SET #s = :failed, reason = :reason, updatedAt = :now',
          ConditionExpression: '#s = :loading AND loadId = :loadId',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':loading': 'loading', ':loadId': loadId, ':reason': reason, ':now': now },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return; // no longer ours: leave it to its holder
      throw translate(error, `marking '${key}' failed`);
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
}

const STAGE_PREFIX = 'stage_';

/** Run records in DynamoDB: one item per execution (PK `runId`); stage outputs as `stage_<name>`. */
export class DynamoDbRunStore implements RunStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(runId: string): Promise<RunRecord | undefined> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { runId }, ConsistentRead: true }));
      if (!out.Item) return undefined;
      const item = out.Item as Record<string, unknown>;
      const stages: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(item)) if (k.startsWith(STAGE_PREFIX)) stages[k.slice(STAGE_PREFIX.length)] = v;
      return {
        runId,
        dataset: String(item.dataset ?? ''),
        status: item.status as RunStatus,
        startedAt: String(item.startedAt ?? ''),
        updatedAt: String(item.updatedAt ?? ''),
        stages,
        reportUri: item.reportUri as string | undefined,
        error: item.error as string | undefined,
      };
    } catch (error) {
      throw translate(error, `reading run ${runId}`);
    }
  }

  async start(run: RunRecord): Promise<boolean> {
    const { stages, ...rest } = run;
    const item: Record<string, unknown> = { ...rest };
    for (const [k, v] of Object.entries(stages ?? {})) item[STAGE_PREFIX + k] = v;
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(runId)' }),
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
}
