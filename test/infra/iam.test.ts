import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import ts from 'typescript';
import { dataApiRequests } from '../../local/iam/data-api-authorizer';
import { LocalIam } from '../../local/iam/local-iam';
import { stackIam } from '../../local/iam/stack-iam';
import type { Operation } from '../../local/redshift-data-api/protocol';
import type { CfnTemplate } from '../../local/template';
import type { SyncproofConfig } from '../../lib/config';
import {
  REPO_ROOT,
  allowedIdentityStatements,
  dataBucketId,
  exampleConfig,
  functionIdOf,
  logicalIdOf,
  policyStatements,
  render,
  resources,
  roleOfFunction,
  rolesOf,
  statementsOfStage,
  syncDefinition,
  templateOf,
  verifyDefinition,
  type Statement,
} from './support';

/** Every stage, spelt out here so that a stage added to the stack without a test of its access shows up. */
const STAGES = ['trigger', 'extract', 'discover', 'load', 'verify', 'commit', 'record', 'inventory', 'checksum', 'counts', 'clean'];

const actionsOf = (statements: Statement[], service: string): string[] => statements.flatMap((s) => s.Action).filter((a) => a.startsWith(`${service}:`));
/** The actions of `statements` on a table (or its indexes). */
const actionsOnTable = (statements: Statement[], tableId: string): string[] =>
  statements.filter((s) => s.Resource.some((r) => r.startsWith(`#{${tableId}.Arn}`))).flatMap((s) => s.Action);
const isTableWrite = (action: string): boolean => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action);
const tableWithKey = (template: Template, key: string): string =>
  logicalIdOf(template, 'AWS::DynamoDB::Table', (r) => (r.Properties?.KeySchema as { AttributeName: string }[]).some((k) => k.AttributeName === key));

describe('IAM least privilege', () => {
  let template: Template;
  let bucketId: string;
  let tableIds: string[];
  let ledgerId: string;
  let watermarksId: string;
  beforeAll(() => {
    template = templateOf();
    bucketId = dataBucketId(template);
    tableIds = resources(template, 'AWS::DynamoDB::Table').map(([id]) => id);
    ledgerId = tableWithKey(template, 'objectKey');
    watermarksId = tableWithKey(template, 'dataset');
  });

  it('allows no action `*` or `service:*` in any policy', () => {
    const broad = policyStatements(template)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => s.Action.map((a) => `${s.policy}: ${a}`))
      .filter((a) => /: (\*|[a-z0-9-]+:\*)$/.test(a));
    expect(broad).toEqual([]);
  });

  it('grants S3 access only on the data bucket and its objects', () => {
    const s3 = allowedIdentityStatements(template).filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    expect(s3.length).toBeGreaterThan(0);
    for (const s of s3) for (const r of s.Resource) expect(r).toMatch(new RegExp(`^#\\{${bucketId}\\.Arn\\}(/.*)?$`));
  });

  it('lets stages write objects only under _syncproof/ (the clean stage, tested in retention.test.ts, only deletes)', () => {
    const cleanPolicies = new Set(statementsOfStage(template, 'clean').map((s) => s.policy));
    const writes = allowedIdentityStatements(template)
      .filter((s) => s.Action.some((a) => /^s3:(Put|Delete|Abort|Restore|Replicate)/.test(a)))
      .filter((s) => !(cleanPolicies.has(s.policy) && s.Action.join() === 's3:DeleteObject'));
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) expect([`#{${bucketId}.Arn}/_syncproof/*`, `#{${bucketId}.Arn}/_syncproof/events/*`]).toContain(s.Resource.join());
  });

  it('grants DynamoDB access only on the stack tables and their indexes', () => {
    const ddb = allowedIdentityStatements(template).filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    const allowed = tableIds.flatMap((id) => [`#{${id}.Arn}`, `#{${id}.Arn}/index/*`, `#{${id}.Arn}/index/byDataset`, `#{${id}.Arn}/index/byDatasetStarted`]);
    expect(ddb.length).toBeGreaterThan(0);
    for (const s of ddb) for (const r of s.Resource) expect(allowed).toContain(r);
  });

  it('allows states:StartExecution on the SyncStateMachine only to the trigger, the SyncDatasetsStateMachine and the reconcile schedule, and on the VerifyStateMachine only to the schedule', () => {
    const sync = syncDefinition(template).logicalId;
    const verify = verifyDefinition(template).logicalId;
    const starts = allowedIdentityStatements(template).filter((s) => s.Action.includes('states:StartExecution'));
    expect(starts.flatMap((s) => s.Resource).sort()).toEqual([`#{${sync}}`, `#{${sync}}`, `#{${sync}}`, `#{${verify}}`].sort());
    const datasetsRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('SyncDatasetsStateMachineRole'));
    expect(datasetsRole).toBeDefined();
    const datasetsStarts = starts.filter((s) => JSON.stringify(template.findResources('AWS::IAM::Policy')[s.policy]?.Properties?.Roles ?? null).includes(datasetsRole!));
    expect(datasetsStarts.flatMap((s) => s.Resource)).toEqual([`#{${sync}}`]);
    expect(actionsOf(statementsOfStage(template, 'trigger'), 'states')).toEqual(['states:StartExecution']);
    expect(statementsOfStage(template, 'trigger').flatMap((s) => s.Resource).filter((r) => r.includes('StateMachine'))).toEqual([`#{${sync}}`]);
    for (const stage of STAGES.filter((s) => s !== 'trigger' && s !== 'record')) expect([stage, actionsOf(statementsOfStage(template, stage), 'states')]).toEqual([stage, []]);
    // The record stage may only describe the SyncStateMachine's executions (AcquireRun), and read
    // the history of the sync and verify executions (the run's state transitions).
    expect(actionsOf(statementsOfStage(template, 'record'), 'states').sort()).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory', 'states:GetExecutionHistory']);
    const history = statementsOfStage(template, 'record').filter((st) => st.Action.includes('states:GetExecutionHistory')).flatMap((st) => st.Resource);
    expect(history).toHaveLength(2);
    expect(history).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`:execution:.*${sync}.*:\\*$`)), expect.stringMatching(new RegExp(`:execution:.*${verify}.*:\\*$`))]));
    const describe = statementsOfStage(template, 'record').filter((st) => st.Action.includes('states:DescribeExecution'));
    expect(describe.flatMap((st) => st.Resource)).toEqual([expect.stringMatching(new RegExp(`:execution:.*${sync}.*:\\*$`))]);
    const verifyStarter = starts.find((s) => s.Resource.includes(`#{${verify}}`));
    const rolePolicy = template.findResources('AWS::IAM::Policy')[verifyStarter!.policy];
    const [role] = (rolePolicy?.Properties?.Roles as { Ref: string }[]).map((r) => r.Ref);
    const principal = JSON.stringify(template.findResources('AWS::IAM::Role')[role!]?.Properties?.AssumeRolePolicyDocument);
    expect(principal).toContain('events.amazonaws.com');
    expect(verifyStarter?.Action).toEqual(['states:StartExecution']);
  });

  it('lets inventory and checksum read the bucket, write only _syncproof/, read (never write) the ledger, and record runs', () => {
    for (const stage of ['inventory', 'checksum']) {
      const statements = statementsOfStage(template, stage);
      const s3Writes = statements.filter((s) => s.Action.some((a) => /^s3:(Put|Delete)/.test(a)));
      expect([stage, s3Writes.flatMap((s) => s.Resource)]).toEqual([stage, [`#{${bucketId}.Arn}/_syncproof/*`]]);
      expect([stage, actionsOf(statements, 's3').filter((a) => a.startsWith('s3:Delete'))]).toEqual([stage, []]);
      const ledgerActions = actionsOnTable(statements, ledgerId);
      expect([stage, ledgerActions.filter(isTableWrite)]).toEqual([stage, []]);
      expect([stage, ledgerActions]).toEqual([stage, expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem'])]);
      expect([stage, actionsOf(statements, 'redshift-data')]).toEqual([stage, []]);
    }
  });

  it('lets the extract stage read the watermarks but never write them', () => {
    const actions = actionsOnTable(statementsOfStage(template, 'extract'), watermarksId);
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions.filter(isTableWrite)).toEqual([]);
  });

  it('keeps the extract stage away from the ledger', () => {
    expect(actionsOnTable(statementsOfStage(template, 'extract'), ledgerId)).toEqual([]);
  });

  it('lets the commit stage read and put the watermarks', () => {
    expect(actionsOnTable(statementsOfStage(template, 'commit'), watermarksId)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem']));
  });

  it('lets the commit stage read the ledger but never write it', () => {
    const actions = actionsOnTable(statementsOfStage(template, 'commit'), ledgerId);
    expect(actions).toContain('dynamodb:BatchGetItem');
    expect(actions.filter(isTableWrite)).toEqual([]);
  });

  it('lets no stage but commit write the watermarks', () => {
    const writers = STAGES.filter((stage) => actionsOnTable(statementsOfStage(template, stage), watermarksId).some(isTableWrite));
    expect(writers).toEqual(['commit']);
  });

  it('lets the trigger write only events documents: no reads, no other objects, no tables, no warehouse', () => {
    const trigger = statementsOfStage(template, 'trigger');
    const s3 = trigger.filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    expect(s3.flatMap((s) => s.Resource)).toEqual([`#{${bucketId}.Arn}/_syncproof/events/*`]);
    expect(actionsOf(trigger, 's3').filter((a) => !/^s3:(PutObject|Abort)/.test(a))).toEqual([]);
    expect([...actionsOf(trigger, 'dynamodb'), ...actionsOf(trigger, 'redshift-data')]).toEqual([]);
  });

  it('lets only the load, verify, commit and counts stages use the Redshift Data API (commit and counts count rows in the target)', () => {
    const users = STAGES.filter((stage) => actionsOf(statementsOfStage(template, stage), 'redshift-data').length > 0);
    expect(users.sort()).toEqual(['commit', 'counts', 'load', 'verify']);
  });

  it('lets the counts stage read the bucket, the ledger and the watermarks, write only its report under _syncproof/, and touch only the usage of a run record', () => {
    const statements = statementsOfStage(template, 'counts');
    const s3Writes = statements.filter((s) => s.Action.some((a) => /^s3:(Put|Delete)/.test(a)));
    expect(s3Writes.flatMap((s) => s.Resource)).toEqual([`#{${bucketId}.Arn}/_syncproof/*`]);
    expect(actionsOf(statements, 's3').filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
    for (const table of [ledgerId, watermarksId]) {
      const actions = actionsOnTable(statements, table);
      expect([table, actions.filter(isTableWrite)]).toEqual([table, []]);
      expect([table, actions]).toEqual([table, expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem'])]);
    }
    const runsId = tableIds.find((id) => id !== ledgerId && id !== watermarksId && actionsOnTable(statementsOfStage(template, 'record'), id).length > 0);
    const runs = statements.filter((s) => s.Resource.some((r) => r.startsWith(`#{${runsId!}.Arn}`)));
    expect(runs.map((s) => [s.Action, s.Resource])).toEqual([[['dynamodb:UpdateItem'], [`#{${runsId!}.Arn}`]]]);
    const [usage] = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p.Properties?.PolicyDocument?.Statement ?? []) as { Action?: unknown; Condition?: unknown }[])
      .filter((s) => s.Action === 'dynamodb:UpdateItem' && s.Condition !== undefined);
    expect(usage?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:Attributes': ['runId', 'usage_*'] } });
  });

  it('lets the VerifyStateMachine invoke only inventory, checksum, counts (count chain and ContentCheck), load (PropagateDeletes) and record', () => {
    const verifyRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('VerifyStateMachineRole'));
    expect(verifyRole).toBeDefined();
    const invokes = allowedIdentityStatements(template).filter((s) => s.resourceType === 'AWS::IAM::Policy' && rolesOf(template, s.policy).includes(verifyRole!) && s.Action.includes('lambda:InvokeFunction'));
    const functions = [...new Set(invokes.flatMap((s) => s.Resource).map((r) => r.replace(/^#\{(\w+)\.Arn\}(:\*)?$/, '$1')))].sort();
    expect(functions).toEqual(['inventory', 'checksum', 'counts', 'load', 'record'].map((stage) => functionIdOf(template, stage)).sort());
    // Propagation needs ledger writes; the counts role that compares holds none (see the counts test above).
    expect(actionsOnTable(statementsOfStage(template, 'load'), ledgerId).filter(isTableWrite).length).toBeGreaterThan(0);
  });

  it('lets each stage write only to its own log group', () => {
    for (const stage of STAGES) {
      const logs = statementsOfStage(template, stage).filter((s) => s.Action.some((a) => a.startsWith('logs:')));
      const fn = template.findResources('AWS::Lambda::Function')[functionIdOf(template, stage)];
      const logGroup = (fn?.Properties?.LoggingConfig?.LogGroup as { Ref: string }).Ref;
      expect(logs.flatMap((s) => s.Resource)).toEqual([`#{${logGroup}.Arn}`]);
    }
  });

  it('runs every stage under a role of its own, without AWS managed policies', () => {
    const roles = STAGES.map((stage) => roleOfFunction(template, functionIdOf(template, stage)));
    expect(new Set(roles).size).toBe(STAGES.length);
    for (const [, role] of resources(template, 'AWS::IAM::Role')) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });
});

describe('Redshift Data API permissions', () => {
  const redshiftStatements = (config: SyncproofConfig): Statement[] => {
    const template = templateOf(config);
    const policy = logicalIdOf(template, 'AWS::IAM::Policy', (r) => JSON.stringify(r.Properties).includes('redshift-data:ExecuteStatement'));
    return policyStatements(template).filter((s) => s.policy === policy);
  };
  const withRedshift = (redshift: NonNullable<SyncproofConfig['redshift']>): SyncproofConfig => ({ ...exampleConfig(), redshift });
  const copyRoleArn = 'arn:aws:iam::123456789012:role/copy';

  it('submits statements only to Serverless workgroups of the stack account and region', () => {
    const submit = redshiftStatements(exampleConfig()).find((s) => s.Action.includes('redshift-data:ExecuteStatement'));
    expect(submit?.Action.sort()).toEqual(['redshift-data:BatchExecuteStatement', 'redshift-data:ExecuteStatement']);
    expect(submit?.Resource).toEqual(['arn:#{AWS::Partition}:redshift-serverless:#{AWS::Region}:#{AWS::AccountId}:workgroup/*']);
  });

  describe('the Data API calls the warehouse adapter sends, evaluated against each warehouse stage\'s synthesized role', () => {
    // The operations, read from the adapter's own imports: a command it starts to send shows up here.
    const adapter = readFileSync(join(REPO_ROOT, 'lambdas/adapters/redshift-data-warehouse.ts'), 'utf8');
    const source = ts.createSourceFile('redshift-data-warehouse.ts', adapter, ts.ScriptTarget.Latest);
    const operations = source.statements
      .filter((s): s is ts.ImportDeclaration => ts.isImportDeclaration(s) && (s.moduleSpecifier as ts.StringLiteral).text === '@aws-sdk/client-redshift-data')
      .flatMap((s) => (s.importClause?.namedBindings && ts.isNamedImports(s.importClause.namedBindings) ? s.importClause.namedBindings.elements : []))
      .map((e) => e.name.text)
      .filter((name) => name.endsWith('Command'))
      .map((name) => name.replace(/Command$/, '') as Operation);
    const target = { database: 'dev', workgroupName: 'syncproof' };
    let iam: LocalIam;
    let template: Template;
    beforeAll(() => {
      template = templateOf();
      const cfn = template.toJSON() as CfnTemplate;
      iam = new LocalIam(stackIam(cfn, { bucket: 'b', tablesByPartitionKey: {}, stateMachineArns: {} }));
    });

    it('finds the operations in the adapter (submit, follow, find by name, cancel)', () => {
      expect(operations).toEqual(expect.arrayContaining(['ExecuteStatement', 'BatchExecuteStatement', 'DescribeStatement', 'ListStatements', 'CancelStatement']));
    });

    it.each(['load', 'verify', 'commit'])('allows the %s stage every call the adapter sends, on its own statements', async (stage) => {
      const principal = iam.functionPrincipal(functionIdOf(template, stage));
      const denied: string[] = [];
      for (const operation of operations) {
        const call = { accessKeyId: 'stage', operation, ...(/Execute/.test(operation) ? { target } : {}) };
        for (const request of dataApiRequests(call, principal.userId)) {
          await iam.authorize(principal, request).catch((error: Error) => denied.push(error.message));
        }
      }
      expect(denied).toEqual([]);
    });

    it("denies a stage another identity's statements", async () => {
      const load = iam.functionPrincipal(functionIdOf(template, 'load'));
      const verify = iam.functionPrincipal(functionIdOf(template, 'verify'));
      for (const operation of operations.filter((o) => !/Execute/.test(o))) {
        const [request] = dataApiRequests({ accessKeyId: 'stage', operation }, verify.userId);
        await expect(iam.authorize(load, request!)).rejects.toThrow(`is not authorized to perform: redshift-data:${operation} on resource: *`);
      }
    });
  });

  it('lets the COPY role get the data bucket\'s objects and list it, through the bucket policy, and nothing more', () => {
    const template = templateOf();
    const bucketId = dataBucketId(template);
    const [, policy] = resources(template, 'AWS::S3::BucketPolicy').find(([, r]) => JSON.stringify(r.Properties?.Bucket) === JSON.stringify({ Ref: bucketId }))!;
    const forCopyRole = (policy.Properties?.PolicyDocument as { Statement: { Principal?: { AWS?: unknown }; Action: unknown; Resource: unknown; Effect: string }[] }).Statement.filter(
      (s) => JSON.stringify(s.Principal?.AWS ?? null).includes(exampleConfig().redshift!.copyRoleArn),
    );
    expect(forCopyRole.map((s) => [s.Effect, s.Action, render(s.Resource as never)])).toEqual([
      ['Allow', 's3:GetObject', `#{${bucketId}.Arn}/*`],
      ['Allow', 's3:ListBucket', `#{${bucketId}.Arn}`],
    ]);
  });

  it('gets Serverless temporary credentials on the workgroup when no secret is configured', () => {
    const creds = redshiftStatements(exampleConfig()).find((s) => s.Action.includes('redshift-serverless:GetCredentials'));
    expect(creds?.Resource).toEqual(['arn:#{AWS::Partition}:redshift-serverless:#{AWS::Region}:#{AWS::AccountId}:workgroup/*']);
  });

  it('reads only the configured secret when secretArn is set', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:syncproof-AbCdEf';
    const statements = redshiftStatements(withRedshift({ database: 'dev', workgroupName: 'wg', secretArn, copyRoleArn }));
    expect(statements.filter((s) => s.Action.includes('secretsmanager:GetSecretValue')).flatMap((s) => s.Resource)).toEqual([secretArn]);
    expect(statements.flatMap((s) => s.Action)).not.toContain('redshift-serverless:GetCredentials');
  });

  it('scopes a provisioned cluster to its cluster ARN and its database', () => {
    const statements = redshiftStatements(withRedshift({ database: 'dev', clusterIdentifier: 'analytics', copyRoleArn }));
    expect(statements.find((s) => s.Action.includes('redshift-data:ExecuteStatement'))?.Resource).toEqual([
      'arn:#{AWS::Partition}:redshift:#{AWS::Region}:#{AWS::AccountId}:cluster:analytics',
    ]);
    expect(statements.find((s) => s.Action.includes('redshift:GetClusterCredentialsWithIAM'))?.Resource).toEqual([
      'arn:#{AWS::Partition}:redshift:#{AWS::Region}:#{AWS::AccountId}:dbname:analytics/dev',
    ]);
  });

  it('limits GetClusterCredentials to the configured database user', () => {
    const statements = redshiftStatements(withRedshift({ database: 'dev', clusterIdentifier: 'analytics', dbUser: 'loader', copyRoleArn }));
    expect(statements.find((s) => s.Action.includes('redshift:GetClusterCredentials'))?.Resource.sort()).toEqual([
      'arn:#{AWS::Partition}:redshift:#{AWS::Region}:#{AWS::AccountId}:dbname:analytics/dev',
      'arn:#{AWS::Partition}:redshift:#{AWS::Region}:#{AWS::AccountId}:dbuser:analytics/loader',
    ]);
  });

  it('grants no Redshift access when the configuration has no redshift block', () => {
    const { redshift: _r, ...config } = exampleConfig();
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined); // the stack's own warning about it
    const template = templateOf(config);
    quiet.mockRestore();
    expect(policyStatements(template).flatMap((s) => s.Action).filter((a) => /^redshift/.test(a))).toEqual([]);
  });
});
