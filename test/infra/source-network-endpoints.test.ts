import { parseConfig } from '../../lambdas/core/config';
import { exampleConfig, render, resources, sourceDataset, templateOf, type Resource } from './support';

const NETWORK = { subnetIds: ['subnet-0abc12345678def0', 'subnet-0def12345678abc0'], securityGroupIds: ['sg-0123456789abcdef0'] };
const ENDPOINTS = { vpcId: 'vpc-0123456789abcdef0', routeTableIds: ['rtb-0123456789abcdef0'] };

function endpointsOf(sourceNetwork: Record<string, unknown> | undefined): Record<string, Record<string, unknown>> {
  const config = parseConfig({ ...exampleConfig(), datasets: [sourceDataset()], ...(sourceNetwork ? { sourceNetwork } : {}) });
  const template = templateOf(config);
  const byService: Record<string, Record<string, unknown>> = {};
  for (const [, r] of resources(template, 'AWS::EC2::VPCEndpoint')) {
    const p = (r as Resource).Properties!;
    byService[render(p.ServiceName!).replace('com.amazonaws.#{AWS::Region}.', '')] = p;
  }
  const groups = resources(template, 'AWS::EC2::SecurityGroup').map(([, g]) => g.Properties);
  return Object.assign(byService, groups.length ? { securityGroups: { groups } } : {});
}

describe('VPC endpoints for the source stages', () => {
  it('creates none by default, in a VPC or not (a NAT gateway or your own endpoints serve it)', () => {
    expect(endpointsOf(undefined)).toEqual({});
    expect(endpointsOf(NETWORK)).toEqual({});
  });

  it('creates gateway endpoints for S3 and DynamoDB and interface endpoints for Secrets Manager and the Data API when asked', () => {
    const e = endpointsOf({ ...NETWORK, endpoints: ENDPOINTS });

    expect(Object.keys(e).sort()).toEqual(['dynamodb', 'redshift-data', 's3', 'secretsmanager', 'securityGroups']);
    for (const gateway of ['s3', 'dynamodb']) {
      expect([gateway, e[gateway]]).toEqual([gateway, expect.objectContaining({ VpcEndpointType: 'Gateway', VpcId: ENDPOINTS.vpcId, RouteTableIds: ENDPOINTS.routeTableIds })]);
    }
    for (const iface of ['secretsmanager', 'redshift-data']) {
      expect([iface, e[iface]]).toEqual([iface, expect.objectContaining({ VpcEndpointType: 'Interface', VpcId: ENDPOINTS.vpcId, SubnetIds: NETWORK.subnetIds, PrivateDnsEnabled: true })]);
    }
  });

  it('admits HTTPS to the interface endpoints from the Lambdas\' security groups only', () => {
    const e = endpointsOf({ ...NETWORK, endpoints: ENDPOINTS });

    expect((e.securityGroups as { groups: unknown[] }).groups).toEqual([
      expect.objectContaining({
        VpcId: ENDPOINTS.vpcId,
        SecurityGroupIngress: [expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: 'sg-0123456789abcdef0' })],
      }),
    ]);
  });

  it('refuses endpoints without route tables, naming the field', () => {
    expect(() => parseConfig({ ...exampleConfig(), datasets: [sourceDataset()], sourceNetwork: { ...NETWORK, endpoints: { vpcId: ENDPOINTS.vpcId, routeTableIds: [] } } })).toThrow(
      'sourceNetwork.endpoints.routeTableIds',
    );
  });
});
