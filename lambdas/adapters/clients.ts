import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { meterClient } from './usage-meter';

/** Endpoint and credentials for emulators; undefined in AWS (the SDK's chain applies). */
export interface EndpointOverrides {
  readonly s3?: string;
  readonly dynamodb?: string;
  /** Redshift Data API endpoint (the local Data API); AWS_ENDPOINT_URL_REDSHIFT_DATA works too. */
  readonly redshiftData?: string;
  readonly region?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Every S3, DynamoDB and Data API client is built here, with the usage meter on it
 * (./usage-meter.ts: it counts the calls a stage invocation makes, for the run's cost).
 *
 * The S3 client. For an emulator endpoint: path-style addressing, and checksums only when
 * required — with the SDK's default, s3rver stores streamed bodies with aws-chunked framing
 * (DESIGN.md §7). Against AWS the defaults stay.
 */
export function createS3Client(o: EndpointOverrides = {}): S3Client {
  const config: S3ClientConfig = { region: o.region, credentials: o.credentials };
  if (o.s3) {
    Object.assign(config, {
      endpoint: o.s3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    } satisfies Partial<S3ClientConfig>);
  }
  return meterClient(new S3Client(config));
}

/** DynamoDB document client; undefined attributes are dropped rather than rejected. */
export function createDocumentClient(o: EndpointOverrides = {}): DynamoDBDocumentClient {
  const base = meterClient(new DynamoDBClient({ region: o.region, credentials: o.credentials, endpoint: o.dynamodb }));
  return DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
}

/** Redshift Data API client; with `redshiftData`, for that endpoint (the local Data API). */
export function createRedshiftDataClient(o: EndpointOverrides = {}): RedshiftDataClient {
  return meterClient(
    new RedshiftDataClient({
      ...(o.region ? { region: o.region } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      ...(o.redshiftData ? { endpoint: o.redshiftData } : {}),
    }),
  );
}

export function createSfnClient(): SFNClient {
  return new SFNClient({});
}

/** EventBridge client (the Record stage's event sink); locally, the runtime's in-process bus answers it. */
export function createEventBridgeClient(o: Pick<EndpointOverrides, 'region' | 'credentials'> = {}): EventBridgeClient {
  return new EventBridgeClient({ region: o.region, credentials: o.credentials });
}
