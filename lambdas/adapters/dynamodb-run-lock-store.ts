import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Position } from '../core/keyset';
import type { RunMode } from '../core/execution-input';
import { runLockId, type RunLock, type RunLockStore } from '../core/run-lock';
import { isConditionFailure, translate } from './dynamodb-stores';

interface RunLockItem {
  runId: string;
  kind: 'run-lock';
  dataset: string;
  holder: string;
  holderArn: string;
  mode: RunMode;
  after?: Position;
  acquiredAt: string;
}

/**
 * Run locks in the runs table (PK `runId` = `lock#<dataset>`, which no execution name can be):
 * one conditional PutItem to acquire or take over, one conditional DeleteItem to release.
 */
export class DynamoDbRunLockStore implements RunLockStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(dataset: string): Promise<RunLock | undefined> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { runId: runLockId(dataset) }, ConsistentRead: true }));
      if (!out.Item) return undefined;
      const item = out.Item as RunLockItem;
      return { dataset: item.dataset, holder: item.holder, holderArn: item.holderArn, mode: item.mode, ...(item.after ? { after: item.after } : {}), acquiredAt: item.acquiredAt };
    } catch (error) {
      throw translate(error, `reading the run lock of dataset '${dataset}'`);
    }
  }

  async acquire(lock: RunLock, replacing?: string): Promise<boolean> {
    const item: RunLockItem = { runId: runLockId(lock.dataset), kind: 'run-lock', ...lock };
    const values: Record<string, string> = { ':me': lock.holderArn, ...(replacing === undefined ? {} : { ':old': replacing }) };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: replacing === undefined ? 'attribute_not_exists(#id) OR #h = :me' : '#h = :me OR #h = :old',
          ExpressionAttributeNames: replacing === undefined ? { '#id': 'runId', '#h': 'holderArn' } : { '#h': 'holderArn' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `acquiring the run lock of dataset '${lock.dataset}'`);
    }
  }

  async release(dataset: string, holderArn: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { runId: runLockId(dataset) },
          ConditionExpression: '#h = :me',
          ExpressionAttributeNames: { '#h': 'holderArn' },
          ExpressionAttributeValues: { ':me': holderArn },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `releasing the run lock of dataset '${dataset}'`);
    }
  }
}
