import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbWatermarkStore } from '../../lambdas/adapters/dynamodb-watermark-store';
import { CliError } from '../../cli/errors';
import { openStateTarget, type StateTarget } from '../../cli/state-target';

const cloudFormation = mockClient(CloudFormationClient);
const dynamo = mockClient(DynamoDBDocumentClient);

const WATERMARKS_TABLE = 'Syncproof-StorageWatermarksTable9F8E-XYZ';

function stackWith(outputs: { OutputKey: string; OutputValue: string }[]): DescribeStacksCommandOutput {
  return { $metadata: {}, Stacks: [{ StackName: 'Syncproof', CreationTime: new Date(0), StackStatus: 'UPDATE_COMPLETE', Outputs: outputs }] };
}

describe('openStateTarget watermarks --stack', () => {
  let opened: StateTarget | undefined;

  beforeEach(() => {
    cloudFormation.reset();
    dynamo.reset();
  });

  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  it('reads watermarks from the table the WatermarksTableName output names', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(
      stackWith([
        { OutputKey: 'LedgerTableName', OutputValue: 'Syncproof-Ledger' },
        { OutputKey: 'WatermarksTableName', OutputValue: WATERMARKS_TABLE },
      ]),
    );
    dynamo.on(GetCommand).resolves({});
    opened = await openStateTarget({ stack: 'Syncproof', region: 'eu-west-1' }, 'watermarks');
    expect(opened.description).toEqual({ kind: 'stack', stack: 'Syncproof', region: 'eu-west-1', table: WATERMARKS_TABLE });
    expect(await new DynamoDbWatermarkStore(opened.client, opened.table).get('orders')).toBeUndefined();
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: WATERMARKS_TABLE, Key: { dataset: 'orders' } });
  });

  it('says to redeploy when the stack predates the WatermarksTableName output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWith([{ OutputKey: 'LedgerTableName', OutputValue: 'Syncproof-Ledger' }]));
    const e = await openStateTarget({ stack: 'Syncproof', region: 'eu-west-1' }, 'watermarks').catch((error: unknown) => error);
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).message).toMatch(/^stack 'Syncproof' has no WatermarksTableName output; it was deployed by an older syncproof: deploy this version/);
  });

  it('names the watermark table when no target is given', async () => {
    const e = await openStateTarget({}, 'watermarks').catch((error: unknown) => error);
    expect((e as CliError).message).toMatch(/^no watermark table named: give exactly one of --data-dir/);
  });
});
