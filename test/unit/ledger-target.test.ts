import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { CliError } from '../../cli/errors';
import { openLedgerTarget, type LedgerTarget } from '../../cli/ledger-target';

const cloudFormation = mockClient(CloudFormationClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const LEDGER_TABLE = 'Syncproof-StorageLedgerTable1A2B3C-XYZ';

function stackWith(outputs: { OutputKey: string; OutputValue: string }[]): DescribeStacksCommandOutput {
  return {
    $metadata: {},
    Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(0), StackStatus: 'UPDATE_COMPLETE', Outputs: outputs }],
  };
}

const OUTPUTS = [
  { OutputKey: 'BucketName', OutputValue: 'syncproof-databucket-abc' },
  { OutputKey: 'LedgerTableName', OutputValue: LEDGER_TABLE },
  { OutputKey: 'RunsTableName', OutputValue: 'Syncproof-StorageRunsTable-XYZ' },
];

async function failure(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('openLedgerTarget --stack', () => {
  const savedRegion = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
  let opened: LedgerTarget | undefined;

  beforeEach(() => {
    cloudFormation.reset();
    dynamo.reset();
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
  });

  afterEach(async () => {
    await opened?.close();
    opened = undefined;
    for (const [name, value] of Object.entries(savedRegion)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('sends DescribeStacks for the stack named and nothing else to CloudFormation', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith(OUTPUTS));
    opened = await openLedgerTarget({ stack: 'Syncproof', region: 'eu-west-1' });
    expect(cloudFormation.calls()).toHaveLength(1);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: 'Syncproof' });
    expect(opened.description).toEqual({ kind: 'stack', stack: 'Syncproof', region: 'eu-west-1', table: LEDGER_TABLE });
  });

  it('reads and releases entries in the table the LedgerTableName output names', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith(OUTPUTS));
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(UpdateCommand).resolves({});
    opened = await openLedgerTarget({ stack: 'Syncproof', region: 'eu-west-1' });
    for await (const _ of opened.ledger.listDataset('orders')) throw new Error('no entries expected');
    for await (const _ of opened.ledger.versions('orders/a.parquet')) throw new Error('no entries expected');
    await opened.ledger.release('orders/a.parquet', 'etag-a', '2024-06-01T00:00:00.000Z');
    expect(dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input.TableName)).toEqual([LEDGER_TABLE, LEDGER_TABLE]);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, { TableName: LEDGER_TABLE, Key: { objectKey: 'orders/a.parquet', etag: 'etag-a' } });
  });

  it('takes the region from AWS_REGION when --region is not given', async () => {
    process.env.AWS_REGION = 'ap-southeast-2';
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith(OUTPUTS));
    opened = await openLedgerTarget({ stack: 'Syncproof' });
    expect(opened.description).toMatchObject({ region: 'ap-southeast-2' });
    expect(await cloudFormation.call(0).thisValue.config.region()).toBe('ap-southeast-2');
  });

  it('asks for a region, without calling AWS, when none is set', async () => {
    const e = await failure(openLedgerTarget({ stack: 'Syncproof' }));
    expect([e.exitCode, e.message]).toEqual([3, 'no AWS region for --stack; pass --region or set AWS_REGION']);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('names the stack and region when the stack does not exist', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    const e = await failure(openLedgerTarget({ stack: 'Nope', region: 'eu-west-1' }));
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain("stack 'Nope' does not exist in eu-west-1");
  });

  it('says to redeploy when the stack has no LedgerTableName output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith(OUTPUTS.filter((o) => o.OutputKey !== 'LedgerTableName')));
    const e = await failure(openLedgerTarget({ stack: 'Syncproof', region: 'eu-west-1' }));
    expect(e.message).toMatch(/has no LedgerTableName output.*deploy this version/);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('says how to provide credentials when the chain finds none', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const e = await failure(openLedgerTarget({ stack: 'Syncproof', region: 'eu-west-1' }));
    expect(e.message).toContain('no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  });
});

describe('openLedgerTarget flags', () => {
  it.each([
    [{}, /^no ledger named: give exactly one of --data-dir/],
    [{ dataDir: '/tmp/x', stack: 'Syncproof' }, /^name only one ledger/],
    [{ dataDir: '/tmp/x', region: 'eu-west-1' }, /^--region applies to --stack only$/],
  ])('rejects %j with exit 3', async (options, message) => {
    const e = await failure(openLedgerTarget(options));
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(message);
  });
});
