import { ConfigurationError } from '../../lambdas/core/errors';
import { maskUrl, requireCleanUrl, scrubSecrets, urlSecrets } from '../../lambdas/core/connection-url';

/** Every 3-character piece of `secret` that appears in `text`. */
function pieces(text: string, secret: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 3 <= secret.length; i++) if (text.includes(secret.slice(i, i + 3))) found.push(secret.slice(i, i + 3));
  return found;
}

describe('maskUrl', () => {
  it.each([
    ['postgres://app:s3cret@db.example:5432/wh', 'postgres://app:***@db.example:5432/wh'],
    ['postgresql://db/wh?user=a&password=s3cret', 'postgresql://db/wh?user=a&password=***'],
    ['mysql://u2:p%40ss%3Aw%2Frd%231@127.0.0.1:3306/shop', 'mysql://u2:***@127.0.0.1:3306/shop'],
    ['mysql://root@127.0.0.1:3306/shop', 'mysql://root@127.0.0.1:3306/shop'],
    ['http://127.0.0.1:4566', 'http://127.0.0.1:4566'],
    ['pglite:./demo', 'pglite:./demo'],
  ])('%s → %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });

  it.each(['p@ss:w/rd#1', 'a?b%c@d', 'x/y:z#w', 'q:r@s%t?u'])('shows nothing after the user name of a URL whose raw password is %s', (password) => {
    const url = `mysql://u2:${password}@127.0.0.1:3306/shop`;
    expect(maskUrl(url)).toBe('mysql://u2:…');
  });
});

describe('requireCleanUrl', () => {
  it.each(['p@ss:w/rd#1', 'a?b%c@d', 'x/y:z#w', 'q:r@s%t?u', 'pa ss'])('refuses a raw password %s, naming no part of it and the encodings', (password) => {
    for (const scheme of ['mysql', 'postgres']) {
      const url = `${scheme}://u2:${password}@127.0.0.1:3306/shop`;
      let message = '';
      try {
        requireCleanUrl(url, '--source');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        message = (error as Error).message;
      }
      expect(message).toContain(`--source '${scheme}://u2:…' does not parse cleanly`);
      expect(message).toContain('%40');
      expect(pieces(message, password)).toEqual([]);
    }
  });

  it('refuses a port that is not a number', () => {
    expect(() => requireCleanUrl('mysql://u:pw@host:abc/db', '--source')).toThrow(/'mysql:\/\/u:…' does not parse cleanly/);
  });

  it('accepts percent-encoded passwords, sub-delimiters and pglite paths', () => {
    for (const url of ['mysql://u2:p%40ss%3Aw%2Frd%231@127.0.0.1:3306/shop', 'postgres://u:pa=ss;x!@h/db?sslmode=require', 'pglite:./a b', 'postgres://h/db']) {
      expect(() => requireCleanUrl(url, '--source')).not.toThrow();
    }
  });
});

describe('urlSecrets / scrubSecrets', () => {
  it('scrubs the password as written and decoded', () => {
    const secrets = urlSecrets('mysql://u2:p%40ss%3Aw%2Frd%231@127.0.0.1:3306/shop');
    expect(scrubSecrets('a p@ss:w/rd#1 b p%40ss%3Aw%2Frd%231 c', secrets)).toBe('a *** b *** c');
  });
});
