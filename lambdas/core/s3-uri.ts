import { TerminalError } from './errors';

/** Splits `s3://bucket/key`; TerminalError naming the value otherwise. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new TerminalError(`'${uri}' is not an s3://bucket/key URI`);
  return { bucket: m[1] as string, key: m[2] as string };
}

/** Reads a JSON document this deployment wrote under its own bucket. */
export function keyInBucket(uri: string, bucket: string): string {
  const { bucket: b, key } = parseS3Uri(uri);
  if (b !== bucket) throw new TerminalError(`'${uri}' is not in this deployment's bucket '${bucket}'`);
  return key;
}
