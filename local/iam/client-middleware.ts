/**
 * Puts the local IAM check in front of an AWS SDK client: before a command is sent, its IAM
 * requests (./sdk-requests.ts) are evaluated for the principal the client calls as; a denied call
 * fails as the service fails it (S3 `AccessDenied`, 403; other JSON services
 * `AccessDeniedException`, 400) with AWS's text, and never reaches the emulator.
 */
import type { LocalIam, LocalPrincipal } from './local-iam';
import { LocalAccessDenied } from './local-iam';

/** The slice of an SDK v3 client this needs. */
interface SdkClient {
  readonly config: { readonly defaultSigningName?: string };
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

const MIDDLEWARE_NAME = 'syncproofLocalIam';

/** The error a service answers a denied call with (the shape SDK v3 service exceptions have). */
export function accessDeniedError(service: string, denied: LocalAccessDenied): Error {
  const s3 = service === 's3';
  return Object.assign(new Error(denied.message), {
    name: s3 ? 'AccessDenied' : 'AccessDeniedException',
    Code: s3 ? 'AccessDenied' : 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: s3 ? 403 : 400 },
  });
}

/** Evaluates every command `client` sends as `principal` (on every DynamoDBDocumentClient over it too). */
export function enforceIam<C extends SdkClient>(client: C, iam: LocalIam, principal: LocalPrincipal): C {
  const service = client.config.defaultSigningName;
  if (!service) throw new Error('the local IAM check needs the client\'s signing name (config.defaultSigningName)');
  client.middlewareStack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        try {
          await iam.authorizeCall(principal, service, operation, args.input);
        } catch (error) {
          throw error instanceof LocalAccessDenied ? accessDeniedError(service, error) : error;
        }
        return next(args);
      },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );
  return client;
}
