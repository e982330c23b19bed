import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { BATCH_GET_MAX_KEYS, DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { TransientError } from '../../lambdas/core/errors';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb, type LocalDynamoDb } from '../../local/emulators';

const TABLES = { ledger: 'ledger', runs: 'runs', watermarks: 'watermarks' };
const NOW = '2024-05-01T00:00:00.000Z';

describe('DynamoDbLedgerStore.getMany on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBDocumentClient;
  let ledger: DynamoDbLedgerStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    await ensureTables(dynamo.endpoint, TABLES);
    client = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    ledger = new DynamoDbLedgerStore(client, TABLES.ledger);
    for (let i = 0; i < 250; i += 1) {
      const key = `orders/part-${String(i).padStart(4, '0')}.parquet`;
      await ledger.discover({ dataset: 'orders', key, etag: `e${i}`, size: i, lastModified: NOW, ...(i % 2 === 0 ? { sequencer: `00${i.toString(16).toUpperCase()}` } : {}) }, NOW);
    }
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  it('reads more than 100 entries, aligned with the keys asked, undefined where the ledger has none', async () => {
    const keys = Array.from({ length: 250 }, (_, i) => ({ key: `orders/part-${String(i).padStart(4, '0')}.parquet`, etag: `e${i}` })).reverse();
    const asked = [...keys.slice(0, 120), { key: 'orders/missing.parquet', etag: 'x' }, { key: keys[0]!.key, etag: 'other-etag' }, ...keys.slice(120)];

    const entries = await ledger.getMany(asked);

    expect(entries).toHaveLength(asked.length);
    expect(entries.map((e) => (e ? `${e.key}@${e.etag}` : undefined))).toEqual(asked.map((k) => (k.etag.startsWith('e') ? `${k.key}@${k.etag}` : undefined)));
    expect(entries[0]).toMatchObject({ dataset: 'orders', status: 'discovered', fence: 0, size: 249, lastModified: NOW });
    expect(entries.find((e) => e?.etag === 'e10')?.sequencer).toBe('00A');
  });

  it('answers a key asked twice (BatchGetItem refuses duplicates) and an empty list', async () => {
    const twice = await ledger.getMany([{ key: 'orders/part-0001.parquet', etag: 'e1' }, { key: 'orders/part-0001.parquet', etag: 'e1' }]);
    expect(twice.map((e) => e?.etag)).toEqual(['e1', 'e1']);
    expect(await ledger.getMany([])).toEqual([]);
  });

  it('reads what a transition wrote (consistent read)', async () => {
    const fence = await ledger.claim('orders/part-0003.parquet', 'e3', 0, { loadId: 'ld_1', expiresAt: '2024-05-01T00:15:00.000Z' }, NOW);
    const [entry] = await ledger.getMany([{ key: 'orders/part-0003.parquet', etag: 'e3' }]);
    expect(entry).toMatchObject({ status: 'loading', fence, lease: { loadId: 'ld_1', expiresAt: '2024-05-01T00:15:00.000Z' } });
  });
});

describe('DynamoDbLedgerStore.getMany requests', () => {
  // An instance mock, so the dynalite client above keeps its real `send`.
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
  const ddb = mockClient(client);
  const sleep = jest.fn((_ms: number) => Promise.resolve());
  const ledger = new DynamoDbLedgerStore(client, 'ledger', { sleep });
  const item = (i: number) => ({ objectKey: `k${i}`, etag: 'e', dataset: 'orders', size: 1, lastModified: NOW, status: 'loaded', fence: 1, updatedAt: NOW });
  const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, etag: 'e' }));

  beforeEach(() => {
    ddb.reset();
    sleep.mockClear();
  });

  it('sends at most 100 keys per BatchGetItem, with ConsistentRead', async () => {
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { objectKey: string }[] }> }) => ({
      Responses: { ledger: input.RequestItems.ledger!.Keys.map((k) => item(Number(k.objectKey.slice(1)))) },
    }));

    const entries = await ledger.getMany(keys(230));

    const sent = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.ledger!);
    expect(sent.map((r) => r.Keys!.length)).toEqual([BATCH_GET_MAX_KEYS, BATCH_GET_MAX_KEYS, 30]);
    expect(sent.every((r) => r.ConsistentRead === true)).toBe(true);
    expect(entries.every((e) => e?.status === 'loaded')).toBe(true);
  });

  it('re-sends exactly the UnprocessedKeys, after a backoff', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { ledger: [item(0)] }, UnprocessedKeys: { ledger: { Keys: [{ objectKey: 'k1', etag: 'e' }, { objectKey: 'k2', etag: 'e' }], ConsistentRead: true } } })
      .resolvesOnce({ Responses: { ledger: [item(2)] }, UnprocessedKeys: { ledger: { Keys: [{ objectKey: 'k1', etag: 'e' }], ConsistentRead: true } } })
      .resolvesOnce({ Responses: { ledger: [item(1)] } });

    const entries = await ledger.getMany(keys(3));

    const sent = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.ledger!.Keys);
    expect(sent).toEqual([
      [{ objectKey: 'k0', etag: 'e' }, { objectKey: 'k1', etag: 'e' }, { objectKey: 'k2', etag: 'e' }],
      [{ objectKey: 'k1', etag: 'e' }, { objectKey: 'k2', etag: 'e' }],
      [{ objectKey: 'k1', etag: 'e' }],
    ]);
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(entries.map((e) => e?.key)).toEqual(['k0', 'k1', 'k2']);
  });

  it('gives up with a TransientError when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).resolves({ UnprocessedKeys: { ledger: { Keys: [{ objectKey: 'k0', etag: 'e' }] } } });

    await expect(ledger.getMany(keys(1))).rejects.toBeInstanceOf(TransientError);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(9);
  });
});
