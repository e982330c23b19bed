/** The DynamoDB state of a `syncproof local --data-dir`, opened by a test the way the runtime opens it. */
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';

/** Starts dynalite on `<dataDir>/dynamodb` with the runtime's tables, runs `work`, stops it. */
export async function withLocalDynamoDb<T>(dataDir: string, work: (client: DynamoDBDocumentClient, endpoint: string) => Promise<T>): Promise<T> {
  const dynamo = await startLocalDynamoDb({ path: join(dataDir, 'dynamodb') });
  const client = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } });
  try {
    await ensureTables(dynamo.endpoint, LOCAL_TABLES);
    return await work(client, dynamo.endpoint);
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}
