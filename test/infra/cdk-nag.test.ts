import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { SyncproofConfig } from '../../lib/config';
import { buildStack, exampleConfig } from './support';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every `Validations.of(x).acknowledge(...)` recorded in the tree under `root`. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

const withRedshift = (redshift: NonNullable<SyncproofConfig['redshift']>): SyncproofConfig => ({ ...exampleConfig(), redshift });
const copyRoleArn = 'arn:aws:iam::123456789012:role/copy';
const { redshift: _omitted, ...withoutRedshift } = exampleConfig();
const CONFIGS: [string, SyncproofConfig][] = [
  ['the example configuration (Serverless)', exampleConfig()],
  ['a provisioned cluster with a database user', withRedshift({ database: 'dev', clusterIdentifier: 'analytics', dbUser: 'loader', copyRoleArn })],
  ['a Serverless workgroup with a secret', withRedshift({ database: 'dev', workgroupName: 'wg', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf', copyRoleArn })],
  ['no redshift block (the local runtime)', withoutRedshift],
  [
    'source stages in a VPC with the endpoints the stack creates',
    {
      ...exampleConfig(),
      sourceNetwork: {
        subnetIds: ['subnet-0abc12345678def0'],
        securityGroupIds: ['sg-0123456789abcdef0'],
        endpoints: { vpcId: 'vpc-0123456789abcdef0', routeTableIds: ['rtb-0123456789abcdef0'] },
      },
    },
  ],  ['an alerts topic the stack creates, with an e-mail subscription', { ...exampleConfig(), alerts: { emails: ['data-team@example.com'] } }],
  ['an alerts topic of the account', { ...exampleConfig(), alerts: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall' } }],
];

describe('cdk-nag AwsSolutions', () => {
  it.each(CONFIGS)('reports no error or warning for %s', (_name, config) => {
    const { stack } = buildStack(config);
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });

  it('lets the app synthesize with the checks registered as cdk.json runs them', () => {
    const { app } = buildStack();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('gives every acknowledgement an AwsSolutions rule id and a reason', () => {
    const acks = acknowledgements(buildStack().stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect([ack.id, typeof ack.reason === 'string' && ack.reason.trim().length > 20]).toEqual([ack.id, true]);
    }
  });

  it('acknowledges only findings that occur, on the constructs where they occur', () => {
    const acks = acknowledgements(buildStack().stack);
    const ignore = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let unacknowledged: { ruleName: string; violatingResources: { constructPath?: string }[] }[];
    try {
      unacknowledged = new AwsSolutionsChecks().validateScope(buildStack().stack).violations;
    } finally {
      ignore.mockRestore();
    }
    const stale = acks.filter(
      (ack) =>
        !unacknowledged.some(
          (v) => v.ruleName === ack.id && v.violatingResources.some((r) => r.constructPath === ack.path || r.constructPath?.startsWith(`${ack.path}/`)),
        ),
    );
    expect(stale).toEqual([]);
  });
});
