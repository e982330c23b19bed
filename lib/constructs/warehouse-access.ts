import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { RedshiftConfig } from '../../lambdas/core/config';
import { acknowledgeNag, nagString } from './nag-acknowledgements';

/** Properties of {@link RedshiftDataAccess}. */
export interface RedshiftDataAccessProps {
  /** The validated `redshift` block of the configuration. */
  readonly redshift: RedshiftConfig;
  /** Roles that run SQL through the Data API (the load and verify stages). At least one. */
  readonly roles: readonly iam.IRole[];
  /**
   * The bucket COPY reads (objects and manifests): its policy lets the COPY role (`copyRoleArn`)
   * get objects and list the bucket. The stack names the bucket, so it grants the read; without
   * it the first COPY fails with S3 access denied.
   */
  readonly bucket: s3.IBucket;
}

/**
 * One IAM policy that lets the given roles run SQL on the configured Redshift through the Data
 * API, and nothing else:
 *
 * - `ExecuteStatement` / `BatchExecuteStatement` on the target: the provisioned cluster's ARN, or
 *   for Serverless `workgroup/*` in this stack's account and region. Serverless workgroup ARNs
 *   end in the workgroup *id*, which is not known from the configured name at synth time, so the
 *   workgroup cannot be pinned by name; the Data API call itself names the workgroup.
 * - `DescribeStatement` / `GetStatementResult` / `CancelStatement` / `ListStatements` take no
 *   resource ARN, so they are on `*` but only for statements this same IAM identity submitted
 *   (`redshift-data:statement-owner-iam-userid` = `${aws:userid}`). The load finds the statement
 *   it submitted before a crash or a budget's end by name (ListStatements).
 * - credentials: `secretsmanager:GetSecretValue` on `secretArn` when set; otherwise temporary
 *   credentials — `redshift-serverless:GetCredentials` on the workgroup,
 *   `redshift:GetClusterCredentials` for a `dbUser`, else `redshift:GetClusterCredentialsWithIAM`
 *   on the database.
 *
 * The COPY role (`copyRoleArn`) is assumed by Redshift, not by the Lambdas, so no `iam:PassRole`;
 * the bucket's policy grants it `s3:GetObject` on the objects and `s3:ListBucket` on the bucket
 * (a COPY `FROM 's3://bucket/key'` reads a prefix). The bucket is SSE-S3, so no key policy.
 */
export class RedshiftDataAccess extends Construct {
  /** The policy, attached to every role in `roles`. */
  readonly policy: iam.Policy;
  /** The ARN that `ExecuteStatement` is allowed on. */
  readonly targetArn: string;

  constructor(scope: Construct, id: string, props: RedshiftDataAccessProps) {
    super(scope, id);
    if (props.roles.length === 0) throw new Error(`RedshiftDataAccess ${this.node.path}: roles must name at least one role`);
    const stack = Stack.of(this);
    const { redshift } = props;
    const workgroupArn = redshift.workgroupName
      ? stack.formatArn({ service: 'redshift-serverless', resource: 'workgroup', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })
      : undefined;
    const cluster = redshift.clusterIdentifier;
    const redshiftArn = (resource: string, resourceName: string): string =>
      stack.formatArn({ service: 'redshift', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.targetArn = workgroupArn ?? redshiftArn('cluster', cluster as string);

    const statements = [
      new iam.PolicyStatement({
        sid: 'SubmitStatements',
        actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
        resources: [this.targetArn],
      }),
      new iam.PolicyStatement({
        sid: 'FollowOwnStatements',
        actions: ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult', 'redshift-data:CancelStatement', 'redshift-data:ListStatements'],
        resources: ['*'],
        conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    ];
    if (redshift.secretArn) {
      statements.push(new iam.PolicyStatement({ sid: 'ReadDatabaseSecret', actions: ['secretsmanager:GetSecretValue'], resources: [redshift.secretArn] }));
    } else if (workgroupArn) {
      statements.push(new iam.PolicyStatement({ sid: 'GetTemporaryCredentials', actions: ['redshift-serverless:GetCredentials'], resources: [workgroupArn] }));
    } else if (redshift.dbUser) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'GetTemporaryCredentials',
          actions: ['redshift:GetClusterCredentials'],
          resources: [redshiftArn('dbuser', `${cluster}/${redshift.dbUser}`), redshiftArn('dbname', `${cluster}/${redshift.database}`)],
        }),
      );
    } else {
      statements.push(
        new iam.PolicyStatement({
          sid: 'GetTemporaryCredentials',
          actions: ['redshift:GetClusterCredentialsWithIAM'],
          resources: [redshiftArn('dbname', `${cluster}/${redshift.database}`)],
        }),
      );
    }

    this.policy = new iam.Policy(this, 'Policy', { statements });
    for (const role of props.roles) this.policy.attachToRole(role);

    const copyRole = new iam.ArnPrincipal(redshift.copyRoleArn);
    props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'CopyRoleReadsObjects', principals: [copyRole], actions: ['s3:GetObject'], resources: [props.bucket.arnForObjects('*')] }),
    );
    props.bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'CopyRoleListsBucket', principals: [copyRole], actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }));

    acknowledgeNag(
      this.policy,
      'AwsSolutions-IAM5',
      'DescribeStatement, GetStatementResult, CancelStatement and ListStatements support no resource ARN; the statement-owner-iam-userid condition limits them to statements this role submitted.',
      ['Resource::*'],
    );
    if (workgroupArn) {
      acknowledgeNag(
        this.policy,
        'AwsSolutions-IAM5',
        'Redshift Serverless workgroup ARNs end in the workgroup id, unknown at synth from the configured name; limited to workgroups in this account and region, and each call names the workgroup.',
        [`Resource::${nagString(this, workgroupArn)}`],
      );
    }
  }
}

