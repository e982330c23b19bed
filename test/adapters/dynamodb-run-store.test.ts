import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoDbRunLockStore } from '../../lambdas/adapters/dynamodb-run-lock-store';
import { DynamoDbRunStore } from '../../lambdas/adapters/dynamodb-stores';
import type { RunRecord } from '../../lambdas/core/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb, tableDefinitions, type LocalDynamoDb } from '../../local/emulators';

const TABLES = { ledger: 'ledger', runs: 'runs', watermarks: 'watermarks' };

async function collect(runs: AsyncIterable<RunRecord>): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of runs) ids.push(r.runId);
  return ids;
}

describe('DynamoDbRunStore.listByDataset on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBDocumentClient;

  beforeEach(async () => {
    dynamo = await startLocalDynamoDb();
    client = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });

  afterEach(async () => {
    client.destroy();
    await dynamo.stop();
  });

  async function seed(store: DynamoDbRunStore): Promise<void> {
    for (let i = 0; i < 120; i++) {
      const t = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
      await store.start({ runId: `orders-${String(i).padStart(3, '0')}`, dataset: i % 3 === 0 ? 'events' : 'orders', status: 'PASSED', startedAt: t, updatedAt: t, stages: {} });
    }
    // A run first recorded by update (a failure before its stage started it) is listed too.
    await store.update('late-failure', { status: 'FAILED', error: 'X: y', dataset: 'orders' }, '2026-01-01T05:00:00.000Z');
  }

  it('lists a dataset’s runs newest first, across pages, without the run locks kept in the same table', async () => {
    await ensureTables(dynamo.endpoint, TABLES);
    const store = new DynamoDbRunStore(client, TABLES.runs);
    await seed(store);
    await new DynamoDbRunLockStore(client, TABLES.runs).acquire({ dataset: 'orders', holder: 'h', holderArn: 'arn:h', mode: 'incremental', acquiredAt: '2026-01-02T00:00:00.000Z' });

    const ids = await collect(store.listByDataset('orders'));

    expect(ids).toHaveLength(81);
    expect(ids[0]).toBe('late-failure');
    expect(ids[1]).toBe('orders-119');
    expect(ids.at(-1)).toBe('orders-001');
    expect(ids.some((id) => id.startsWith('lock#'))).toBe(false);
  });

  it('lists only runs started at or after since', async () => {
    await ensureTables(dynamo.endpoint, TABLES);
    const store = new DynamoDbRunStore(client, TABLES.runs);
    await seed(store);

    const ids = await collect(store.listByDataset('events', { since: new Date(Date.UTC(2026, 0, 1, 1, 48)).toISOString() }));

    expect(ids).toEqual(['orders-117', 'orders-114', 'orders-111', 'orders-108']);
  });

  it('adds the index to a runs table made before it existed, keeping its runs', async () => {
    const [, runs] = tableDefinitions(TABLES);
    const { GlobalSecondaryIndexes: _index, ...withoutIndex } = runs!;
    await client.send(new CreateTableCommand({ ...withoutIndex, AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }] }));
    const store = new DynamoDbRunStore(client, TABLES.runs);
    await seed(store);

    await ensureTables(dynamo.endpoint, TABLES);

    expect(await collect(store.listByDataset('events'))).toHaveLength(40);
  });

  it('finishes a rebuild a killed process cut short: the copy’s runs come back, listed', async () => {
    const [, runs] = tableDefinitions(TABLES);
    const { GlobalSecondaryIndexes: _index, ...withoutIndex } = runs!;
    await client.send(new CreateTableCommand({ ...withoutIndex, TableName: `${TABLES.runs}.rebuild`, AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }] }));
    await seed(new DynamoDbRunStore(client, `${TABLES.runs}.rebuild`));

    await ensureTables(dynamo.endpoint, TABLES);

    expect(await collect(new DynamoDbRunStore(client, TABLES.runs).listByDataset('orders'))).toHaveLength(81);
  });
});
