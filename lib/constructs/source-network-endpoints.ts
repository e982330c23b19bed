import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** Properties of {@link SourceNetworkEndpoints}. */
export interface SourceNetworkEndpointsProps {
  /** The VPC the source-facing Lambdas run in. */
  readonly vpcId: string;
  /** Subnets of those Lambdas: the interface endpoints get a network interface in each. */
  readonly subnetIds: readonly string[];
  /** Route tables of those subnets: the gateway endpoints add their routes there. */
  readonly routeTableIds: readonly string[];
  /** The Lambdas' security groups: the interface endpoints admit HTTPS (443) from each. */
  readonly clientSecurityGroupIds: readonly string[];
}

/** Gateway endpoints (route-table entries, no charge per hour). */
export const GATEWAY_ENDPOINT_SERVICES = ['s3', 'dynamodb'] as const;
/** Interface endpoints (PrivateLink, with private DNS so the SDKs' default endpoints resolve to them). */
export const INTERFACE_ENDPOINT_SERVICES = ['secretsmanager', 'redshift-data'] as const;

/**
 * The VPC endpoints the Lambdas that open source databases (extract, commit) need when they run in
 * a VPC without a NAT gateway: S3 (chunks, documents) and DynamoDB (watermarks, ledger, runs) as
 * gateway endpoints; Secrets Manager (source secrets) and the Redshift Data API (commit counts rows
 * in the warehouse) as interface endpoints with private DNS, behind one security group that admits
 * HTTPS from the Lambdas' security groups. Built from ids, with no VPC lookup, so synthesis stays
 * offline. Not covered: the X-Ray API (traces of Lambdas in such a VPC are dropped) and any other
 * service a source's network needs.
 */
export class SourceNetworkEndpoints extends Construct {
  /** Endpoints by service name (`s3`, `dynamodb`, `secretsmanager`, `redshift-data`). */
  readonly endpoints: Readonly<Record<string, ec2.CfnVPCEndpoint>>;
  /** The interface endpoints' security group. */
  readonly securityGroup: ec2.CfnSecurityGroup;

  constructor(scope: Construct, id: string, props: SourceNetworkEndpointsProps) {
    super(scope, id);
    const problems: string[] = [];
    if (props.subnetIds.length === 0) problems.push('subnetIds: at least one subnet');
    if (props.routeTableIds.length === 0) problems.push('routeTableIds: at least one route table');
    if (props.clientSecurityGroupIds.length === 0) problems.push('clientSecurityGroupIds: at least one security group');
    if (problems.length > 0) throw new Error(`SourceNetworkEndpoints ${this.node.path}: ${problems.join('; ')}`);

    this.securityGroup = new ec2.CfnSecurityGroup(this, 'EndpointSecurityGroup', {
      groupDescription: 'syncproof: HTTPS from the source-facing Lambdas to the interface VPC endpoints',
      vpcId: props.vpcId,
      securityGroupIngress: props.clientSecurityGroupIds.map((sg) => ({
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        sourceSecurityGroupId: sg,
        description: `HTTPS from ${sg}`,
      })),
    });
    const endpoints: Record<string, ec2.CfnVPCEndpoint> = {};
    for (const service of GATEWAY_ENDPOINT_SERVICES) {
      endpoints[service] = new ec2.CfnVPCEndpoint(this, `${pascal(service)}Gateway`, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.${service}`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...props.routeTableIds],
      });
    }
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      endpoints[service] = new ec2.CfnVPCEndpoint(this, `${pascal(service)}Interface`, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.${service}`,
        vpcEndpointType: 'Interface',
        subnetIds: [...props.subnetIds],
        securityGroupIds: [this.securityGroup.attrGroupId],
        privateDnsEnabled: true,
      });
    }
    this.endpoints = endpoints;
  }
}

function pascal(service: string): string {
  return service
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
