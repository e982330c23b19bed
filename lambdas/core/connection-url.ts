/**
 * Connection URLs (`mysql://user:password@host:port/db`, `postgres://…`, `http://…`): the one place
 * that decides whether a URL says what a human meant, and the one place that masks a URL for
 * messages. Masking parses (WHATWG URL), never matches a pattern: a password holding a raw `@`, `:`,
 * `/` or `#` defeats any pattern (issue #14 item 5), and such a URL is refused before anything shows it.
 */
import { ConfigurationError } from './errors';

/** What a password is replaced with in a masked URL. */
export const MASK = '***';

/** Characters a password must percent-encode in a URL, with their encodings (for the advice). */
const ENCODINGS = "'@' → %40, ':' → %3A, '/' → %2F, '#' → %23, '?' → %3F, '%' → %25";

/** Query parameters that carry a password. */
const SECRET_PARAM = /^(password|passwd|pwd)$/i;

/** Schemes whose URLs carry an authority (`//user:password@host:port`). */
const AUTHORITY = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The scheme and the text after `scheme://`, or undefined for a URL without an authority (`pglite:DIR`). */
function splitAuthority(url: string): { scheme: string; rest: string } | undefined {
  const m = AUTHORITY.exec(url);
  return m ? { scheme: m[1]!, rest: url.slice(m[0].length) } : undefined;
}

/**
 * The raw user-info region as a human wrote it: everything before the last `@` (a password may
 * hold `@`, `/`, `#`, so the first delimiter is not where the human meant it to end), or undefined
 * when the URL has no `@`.
 */
function rawUserinfo(rest: string): string | undefined {
  const at = rest.lastIndexOf('@');
  return at < 0 ? undefined : rest.slice(0, at);
}

/** The user name of a raw user-info region when it is safe to show (plain characters only), else undefined. */
function shownUser(userinfo: string): string | undefined {
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  return /^[A-Za-z0-9._~!$&'()*+,;=-]*(%[0-9A-Fa-f]{2}[A-Za-z0-9._~!$&'()*+,;=-]*)*$/.test(user) && user.length <= 64 ? user : undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return `\u0000${text}`;
  }
}

/** Why `url` does not say what a human meant, or undefined when it parses cleanly. */
function defect(url: string): string | undefined {
  const parts = splitAuthority(url);
  if (!parts) return undefined;
  const userinfo = rawUserinfo(parts.rest);
  if (userinfo !== undefined) {
    if (/[/?#@\s\\]/.test(userinfo)) return "its user name or password holds a raw '@', '/', '?', '#', '\\' or space";
    if (userinfo.split(':').length > 2) return "its password holds a raw ':'";
    if (/%(?![0-9A-Fa-f]{2})/.test(userinfo)) return "its user name or password holds a '%' that starts no percent-encoding";
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it does not parse as a URL (a port that is not a number, or a character a host cannot hold)';
  }
  // The round trip: what WHATWG parsed is what the human wrote.
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const password = colon < 0 ? '' : userinfo.slice(colon + 1);
    if (decode(parsed.username) !== decode(user) || decode(parsed.password) !== decode(password)) {
      return 'its user name or password holds characters that must be percent-encoded';
    }
  }
  const hostPort = parts.rest.slice(userinfo === undefined ? 0 : userinfo.length + 1).split(/[/?#]/, 1)[0]!;
  if (!parsed.hostname) return 'it names no host';
  const port = /:([^:\]]*)$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== '' && !/^[0-9]{1,5}$/.test(port)) return 'its port is not a number';
  if (/^(mysql|mariadb|postgres|postgresql)$/i.test(parts.scheme) && /\/.*\//.test(parsed.pathname)) return "its path holds more than one '/' (a database name with a raw '/'?)";
  return undefined;
}

/** `scheme://user:…` or `scheme://…`: what a message may show of a URL that is refused. */
function refusedForm(url: string): string {
  const parts = splitAuthority(url);
  if (!parts) return '…';
  const userinfo = rawUserinfo(parts.rest);
  const user = userinfo === undefined ? undefined : shownUser(userinfo);
  return user ? `${parts.scheme}://${user}:…` : `${parts.scheme}://…`;
}

/**
 * Refuses (ConfigurationError) a URL that does not parse cleanly: a raw `@`, `:`, `/`, `#`, `?` or
 * stray `%` in its user-info, a port that is not a number, a path of several segments, or anything
 * WHATWG URL rejects. The message shows nothing after the user name, and says how to write it.
 * `what` names the URL (`--source`, `dataset 'orders' source.url`). A URL without an authority
 * (`pglite:DIR`) passes.
 */
export function requireCleanUrl(url: string, what: string): void {
  const problem = urlProblem(url, what);
  if (problem !== undefined) throw new ConfigurationError(problem);
}

/** The message {@link requireCleanUrl} refuses `url` with, or undefined when it parses cleanly. */
export function urlProblem(url: string, what: string): string | undefined {
  const why = defect(url);
  if (why === undefined) return undefined;
  return (
    `${what} '${refusedForm(url)}' does not parse cleanly (${why}): percent-encode the user name and password ` +
      `(${ENCODINGS}; e.g. a password 'my@pa:ss' is written 'my%40pa%3Ass'), or keep the password out of the URL ` +
      '(the PGPASSWORD or MYSQL_PWD environment variable; deployed stacks: source.secretArn)'
  );
}

/** True when {@link requireCleanUrl} accepts `url`. */
export function isCleanUrl(url: string): boolean {
  return defect(url) === undefined;
}

/**
 * `url` with its password replaced by `***` (user name kept), and any `password=` query parameter
 * likewise, found by parsing. A URL that does not parse cleanly shows nothing after its user name.
 * A URL without an authority (`pglite:DIR`) is returned as it is.
 */
export function maskUrl(url: string): string {
  if (!splitAuthority(url)) return url;
  if (defect(url) !== undefined) return refusedForm(url);
  const parsed = new URL(url);
  const params = [...parsed.searchParams.keys()].filter((name) => SECRET_PARAM.test(name));
  if (!parsed.password && params.length === 0) return url;
  if (parsed.password) parsed.password = MASK;
  for (const name of params) parsed.searchParams.set(name, MASK);
  return parsed.href.replace(/%2A%2A%2A/g, MASK);
}

/**
 * The secrets a URL carries (its password as written and decoded, a `password=` parameter), to
 * scrub from driver messages that might echo them. Empty for a URL that does not parse cleanly.
 */
export function urlSecrets(url: string): string[] {
  if (!splitAuthority(url) || defect(url) !== undefined) return [];
  const parsed = new URL(url);
  const secrets = new Set<string>();
  const add = (s: string | null) => {
    if (!s) return;
    secrets.add(s);
    try {
      secrets.add(decodeURIComponent(s));
    } catch {
      // kept as written
    }
  };
  add(parsed.password);
  for (const [name, value] of parsed.searchParams) if (SECRET_PARAM.test(name)) add(value);
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by `***` (longest first). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return [...secrets].sort((a, b) => b.length - a.length).reduce((out, secret) => (secret ? out.split(secret).join(MASK) : out), text);
}
