/**
 * COPY authorization as Redshift checks it: a `COPY … FROM 's3://…'` names the IAM role(s) the
 * cluster assumes (`IAM_ROLE '<arn>[,<arn>…]'`, `IAM_ROLE default`, or `CREDENTIALS
 * 'aws_iam_role=<arn>'`), and the cluster may assume only the roles associated with it. A role
 * that is not fails the statement with Redshift's error 8001, naming the database user and the
 * role. Key-based credentials are refused: nothing here can check them.
 */

/** What a COPY from S3 asks the cluster to assume. */
export type CopyAuthorization =
  | { readonly kind: 'roles'; readonly roles: readonly string[] }
  | { readonly kind: 'default' }
  | { readonly kind: 'keys' }
  | { readonly kind: 'none' };

const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const COPY_FROM_S3 = /^COPY\b[\s\S]*?\bFROM\s+'s3:\/\//i;
const IAM_ROLE = /\bIAM_ROLE\s+(?:'((?:[^']|'')*)'|(DEFAULT)\b)/i;
const CREDENTIALS = /\bCREDENTIALS\s+(?:AS\s+)?'((?:[^']|'')*)'/i;
const KEYS = /\b(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)\b/i;

/** The authorization a statement's COPY from S3 names; undefined when it is no COPY from S3. */
export function copyAuthorization(sql: string): CopyAuthorization | undefined {
  const statement = sql.replace(LEADING_COMMENTS, '');
  if (!COPY_FROM_S3.test(statement)) return undefined;
  const role = IAM_ROLE.exec(statement);
  if (role) {
    if (role[2]) return { kind: 'default' };
    return { kind: 'roles', roles: splitRoles(role[1]!.replace(/''/g, "'")) };
  }
  const credentials = CREDENTIALS.exec(statement);
  if (credentials) {
    const text = credentials[1]!.replace(/''/g, "'");
    const m = /(?:^|;)\s*aws_iam_role=([^;]+)/i.exec(text);
    return m ? { kind: 'roles', roles: splitRoles(m[1]!) } : { kind: 'keys' };
  }
  return KEYS.test(statement) ? { kind: 'keys' } : { kind: 'none' };
}

/** Chained roles are comma-separated; each must be one the cluster may assume. */
function splitRoles(text: string): string[] {
  return text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}

/** Who runs the statements, for Redshift's wording of an authorization failure. */
export interface CopyPrincipal {
  readonly region: string;
  readonly account: string;
  /** Cluster identifier or workgroup name the statement was sent to. */
  readonly cluster: string;
  readonly dbUser: string;
}

/**
 * The error Redshift gives (without its `ERROR: ` prefix) when a COPY may not run with the
 * roles it names, or undefined when it may: every named role is in `allowed` (IAM_ROLE default means the first of them).
 * Credentials in the statement never appear in the text.
 */
export function copyRoleFailure(sql: string, allowed: readonly string[], who: CopyPrincipal, queryId: number): string | undefined {
  const auth = copyAuthorization(sql);
  if (!auth) return undefined;
  switch (auth.kind) {
    case 'default':
      return allowed.length > 0 ? undefined : 'IAM_ROLE default was given, but no default IAM role is associated with the cluster';
    case 'keys':
      return (
        'key-based COPY credentials (ACCESS_KEY_ID, SECRET_ACCESS_KEY, CREDENTIALS without aws_iam_role) ' +
        'cannot be checked by the local Redshift Data API; use IAM_ROLE with a role associated with the cluster'
      );
    case 'none':
      return "Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'";
    case 'roles': {
      const denied = auth.roles.find((role) => !allowed.includes(role));
      if (denied === undefined) return undefined;
      const user = `arn:aws:redshift:${who.region}:${who.account}:dbuser:${who.cluster}/${who.dbUser}`;
      const error = `User ${user} is not authorized to assume IAM Role ${denied}`;
      return [
        error,
        'DETAIL: ',
        '  -----------------------------------------------',
        `  error:  ${error}`,
        '  code:      8001',
        `  context:   IAM Role=${denied}`,
        `  query:     ${queryId}`,
        '  -----------------------------------------------',
      ].join('\n');
    }
  }
}
