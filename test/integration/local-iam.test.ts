import type { CfnTemplate, Json } from '../../local/template';
import type { LocalRuntime } from '../../local/runtime';
import { runDemo } from '../../local/demo';
import { ledgerEntries, ordersFile, ordersState, range, startRuntime, uploadAndSettle } from './support';

/**
 * IAM as AWS enforces it, on the local runtime: every call a stage makes is evaluated against the
 * role policies of the synthesized template, COPY's reads against the bucket policy for the COPY
 * role. Each test removes one grant from the template and shows the run failing with the action
 * and the resource named; the landed template passes the same run.
 */

type Statement = Record<string, Json>;

/** Removes, from every policy document in the template, the actions `drop` says to drop. */
function withoutActions(drop: (statement: Statement, action: string, resourceType: string) => boolean) {
  return (template: CfnTemplate): void => {
    for (const resource of Object.values(template.Resources)) {
      const document = resource.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
      if (!document) continue;
      document.Statement = document.Statement.flatMap((s) => {
        const actions = ([] as Json[]).concat(s.Action ?? []).map(String);
        const kept = actions.filter((a) => !drop(s, a, resource.Type));
        if (kept.length === actions.length) return [s];
        return kept.length === 0 ? [] : [{ ...s, Action: kept }];
      });
    }
  };
}

/** The error name and text a failed execution ended with. */
function failureOf(runtime: LocalRuntime): string {
  const failed = runtime.executions().find((e) => e.status === 'FAILED');
  return failed ? `${failed.error}: ${failed.cause}` : '(no failed execution)';
}

/**
 * Loads one file whose COPY outlives the load Lambda's budget (held 8 s; budget 900 s × 0.04 =
 * 36 s, of which the load keeps 30 s in reserve): the first Load returns RUNNING, and the Load
 * after LoadWait finds its statement by name (redshift-data:ListStatements), as a load of a big
 * batch does on AWS.
 */
async function loadOutlivingItsBudget(runtime: LocalRuntime, key: string): Promise<void> {
  runtime.dataApi()!.faults.holdNext('COPY', { ms: 8000 });
  await uploadAndSettle(runtime, [{ key, body: ordersFile(range(1, 10), 0, 'new') }]);
}

describe('IAM on the local runtime, as the synthesized template grants it', () => {
  let runtime: LocalRuntime | undefined;
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  it('passes a load that outlives its budget with the landed grants: the load may list its own statements', async () => {
    runtime = await startRuntime({ timeBudgetScale: 0.04 });
    await loadOutlivingItsBudget(runtime, 'orders/iam/a.parquet');
    expect(failureOf(runtime)).toBe('(no failed execution)');
    expect(await ordersState(runtime)).toEqual({ rows: 10, keys: 10 });
    expect((await ledgerEntries(runtime, 'orders/iam/a.parquet')).map((e) => e.status)).toEqual(['loaded']);
  });

  it('fails that load naming redshift-data:ListStatements when the template does not grant it', async () => {
    runtime = await startRuntime({ timeBudgetScale: 0.04, editTemplate: withoutActions((_, action) => action === 'redshift-data:ListStatements') });
    await loadOutlivingItsBudget(runtime, 'orders/iam/a.parquet');
    const failure = failureOf(runtime);
    expect(failure).toContain('is not authorized to perform: redshift-data:ListStatements on resource: *');
    expect(failure).toMatch(/assumed-role\/LoadStageRole\w+\/LoadStageFunction/);
    expect(await ordersState(runtime).catch(() => ({ rows: 0, keys: 0 }))).toEqual({ rows: 0, keys: 0 });
  });

  it("fails the COPY naming s3:GetObject and the object when the bucket policy does not let the COPY role read", async () => {
    runtime = await startRuntime({
      editTemplate: withoutActions((statement, _, type) => type === 'AWS::S3::BucketPolicy' && String(statement.Sid ?? '').startsWith('CopyRole')),
    });
    await uploadAndSettle(runtime, [{ key: 'orders/iam/b.parquet', body: ordersFile(range(1, 10), 0, 'new') }]);
    const failure = failureOf(runtime);
    expect(failure).toContain('assumed-role/syncproof-local-copy/RedshiftIamRoleSession is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::syncproof-local/');
    expect((await ledgerEntries(runtime, 'orders/iam/b.parquet')).map((e) => e.status)).toEqual(['failed']);
  });

  it('fails the demo naming s3:PutObject and the object when the load role may not write under _syncproof/', async () => {
    const loadRoleWrites = withoutActions(
      (statement, action, type) => type === 'AWS::IAM::Policy' && action === 's3:PutObject' && JSON.stringify(statement.Resource).includes('/_syncproof/*'),
    );
    // Only the load stage's role (CDK names its policy after it).
    const editTemplate = (template: CfnTemplate): void => {
      const load = Object.fromEntries(Object.entries(template.Resources).filter(([id]) => id.startsWith('LoadStageRoleDefaultPolicy')));
      loadRoleWrites({ Resources: load });
    };
    await expect(runDemo({ rows: 200, files: 2, editTemplate })).rejects.toThrow(
      /wave 1 did not sync: .*assumed-role\/LoadStageRole\w+\/LoadStageFunction\w* is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::syncproof-local\/_syncproof\//,
    );
  });
});
