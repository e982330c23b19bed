import type { Json } from './template';

/**
 * EventBridge content filtering, for the subset CDK rules use: exact values, `prefix`, `suffix`,
 * `exists` and `anything-but`, over nested objects. The local router applies the template's own
 * rule patterns with it, so a key outside every dataset prefix is ignored exactly as in AWS.
 */
export function matchesPattern(pattern: Json, event: Json): boolean {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) return false;
  for (const [field, expected] of Object.entries(pattern)) {
    const actual = event !== null && typeof event === 'object' && !Array.isArray(event) ? event[field] : undefined;
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      if (!expected.some((m) => values.some((v) => matchValue(m, v)) || (isExistsFalse(m) && actual === undefined))) return false;
    } else if (!matchesPattern(expected, actual ?? null)) {
      return false;
    }
  }
  return true;
}

function isExistsFalse(m: Json): boolean {
  return m !== null && typeof m === 'object' && !Array.isArray(m) && m.exists === false;
}

function matchValue(matcher: Json, value: Json | undefined): boolean {
  if (matcher === null || typeof matcher !== 'object') return value === matcher;
  if (Array.isArray(matcher)) return false;
  if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(String(matcher.prefix));
  if ('suffix' in matcher) return typeof value === 'string' && value.endsWith(String(matcher.suffix));
  if ('exists' in matcher) return matcher.exists === (value !== undefined);
  if ('anything-but' in matcher) {
    const but = matcher['anything-but'];
    const list = Array.isArray(but) ? but : [but];
    return value !== undefined && !list.some((b) => matchValue(b, value));
  }
  return false;
}
