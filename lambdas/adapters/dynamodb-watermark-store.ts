import { DynamoDBDocumentClient, GetCommand, PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { WatermarkRecord, WatermarkStore } from '../core/watermark';
import { isConditionFailure, translate } from './dynamodb-stores';

/** Watermarks in DynamoDB (PK `dataset`), one item per dataset, conditional on `version`. */
export class DynamoDbWatermarkStore implements WatermarkStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(dataset: string): Promise<WatermarkRecord | undefined> {
    try {
      const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { dataset }, ConsistentRead: true }));
      return out.Item as WatermarkRecord | undefined;
    } catch (error) {
      throw translate(error, `reading the watermark of dataset ${dataset}`);
    }
  }

  async put(next: WatermarkRecord, expectedVersion: number): Promise<boolean> {
    if (next.version !== expectedVersion + 1) throw new RangeError(`watermark version ${next.version} does not follow ${expectedVersion}`);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: next,
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#d)' : '#v = :v',
          ExpressionAttributeNames: expectedVersion === 0 ? { '#d': 'dataset' } : { '#v': 'version' },
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw translate(error, `writing the watermark of dataset ${next.dataset}`);
    }
  }

  async *list(): AsyncIterable<WatermarkRecord> {
    try {
      for await (const page of paginateScan({ client: this.client }, { TableName: this.tableName, ConsistentRead: true })) {
        for (const item of page.Items ?? []) yield item as WatermarkRecord;
      }
    } catch (error) {
      throw translate(error, 'listing watermarks');
    }
  }
}
