import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoDbRunStore } from '../../lambdas/adapters/dynamodb-stores';
import { SfnExecutionReader } from '../../lambdas/adapters/sfn-execution-reader';
import { meterInvocation, s3RequestClass } from '../../lambdas/adapters/usage-meter';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, startLocalDynamoDb, type LocalDynamoDb } from '../../local/emulators';

const TABLES = { ledger: 'ledger', runs: 'runs', watermarks: 'watermarks' };
const NOW = '2024-05-01T00:00:00.000Z';
const log = { info: () => undefined, warn: () => undefined };

describe('the usage meter on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBDocumentClient;
  let runs: DynamoDbRunStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    await ensureTables(dynamo.endpoint, TABLES);
    client = createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    runs = new DynamoDbRunStore(client, TABLES.runs);
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  it('adds each concurrent invocation\'s own calls to its own run', async () => {
    for (const runId of ['run-a', 'run-b']) await runs.start({ runId, dataset: 'orders', status: 'RUNNING', startedAt: NOW, updatedAt: NOW });
    const billing = { memoryMb: 1024, architecture: 'arm64' as const };
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await Promise.all([
      meterInvocation(billing, { runId: 'run-a', runs, log }, async () => {
        await gate;
        for (let i = 0; i < 3; i++) await client.send(new GetCommand({ TableName: TABLES.ledger, Key: { objectKey: 'k', etag: 'e' }, ConsistentRead: true }));
      }),
      meterInvocation(billing, { runId: 'run-b', runs, log }, async () => {
        release();
        await client.send(new PutCommand({ TableName: TABLES.ledger, Item: { objectKey: 'k2', etag: 'e', pad: 'x'.repeat(1500) } }));
      }),
    ]);
    const a = (await runs.get('run-a'))?.usage;
    const b = (await runs.get('run-b'))?.usage;
    expect(a).toMatchObject({ dynamoReadUnits: 3, dynamoWriteUnits: 0, lambdaRequests: 1, dynamoUsageWrites: 1, lambdaX86MbMs: 0 });
    expect(b).toMatchObject({ dynamoReadUnits: 0, dynamoWriteUnits: 2, lambdaRequests: 1 });
    expect(a?.lambdaArm64MbMs).toBeGreaterThanOrEqual(1024);
  });

  it('keeps the usage of invocations that ran before the run started', async () => {
    await meterInvocation({ memoryMb: 128, architecture: 'x86_64' }, { runId: 'run-c', runs, log }, async () => undefined);
    expect(await runs.get('run-c')).toBeUndefined();
    expect(await runs.start({ runId: 'run-c', dataset: 'orders', status: 'RUNNING', startedAt: NOW, updatedAt: NOW })).toBe(true);
    expect((await runs.get('run-c'))?.usage).toMatchObject({ lambdaRequests: 1, lambdaX86MbMs: 128 });
    expect(await runs.start({ runId: 'run-c', dataset: 'orders', status: 'RUNNING', startedAt: NOW, updatedAt: NOW })).toBe(false);
  });

  it('counts nothing for calls made outside a metered invocation', async () => {
    await client.send(new GetCommand({ TableName: TABLES.ledger, Key: { objectKey: 'k', etag: 'e' } }));
    await meterInvocation({ memoryMb: 128, architecture: 'arm64' }, { runId: 'run-d', runs, log }, async () => undefined);
    expect((await runs.get('run-d'))?.usage).toBeUndefined();
    await runs.start({ runId: 'run-d', dataset: 'orders', status: 'RUNNING', startedAt: NOW, updatedAt: NOW });
    expect((await runs.get('run-d'))?.usage).toMatchObject({ dynamoReadUnits: 0, lambdaRequests: 1 });
  });
});

describe('S3 request classes', () => {
  it.each([
    ['PutObject', 'put'],
    ['CopyObject', 'put'],
    ['ListObjectsV2', 'put'],
    ['CreateMultipartUpload', 'put'],
    ['UploadPart', 'put'],
    ['CompleteMultipartUpload', 'put'],
    ['GetObject', 'get'],
    ['HeadObject', 'get'],
    ['GetObjectAttributes', 'get'],
    ['DeleteObject', 'free'],
    ['DeleteObjects', 'free'],
    ['AbortMultipartUpload', 'free'],
  ])('bills %s in the %s class', (operation, kind) => {
    expect(s3RequestClass(operation)).toBe(kind);
  });
});

describe('SfnExecutionReader.transitions', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

  it('counts every state entered and each task retry across the history\'s pages', async () => {
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: [{ type: 'ExecutionStarted' }, { type: 'PassStateEntered' }, { type: 'TaskStateEntered' }, { type: 'TaskScheduled' }, { type: 'TaskFailed' }], nextToken: 'p2' } as never)
      .on(GetExecutionHistoryCommand, { nextToken: 'p2' })
      .resolves({ events: [{ type: 'TaskScheduled' }, { type: 'TaskSucceeded' }, { type: 'TaskStateExited' }, { type: 'ChoiceStateEntered' }] } as never);
    const reader = new SfnExecutionReader(new SFNClient({ region: 'us-east-1' }));
    expect(await reader.transitions('arn:aws:states:us-east-1:1:execution:M:n')).toBe(4);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ includeExecutionData: false, maxResults: 1000 }),
      expect.objectContaining({ nextToken: 'p2' }),
    ]);
  });
});
