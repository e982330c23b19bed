import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, eventCatalogue, runEventSchema, verificationEventSchema } from '../../lambdas/core/run-events';
import { matchesPattern } from '../../local/event-pattern';
import type { Json } from '../../local/template';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The JSON code block that follows `<!-- marker -->` in the README. */
function blockAfter(marker: string): unknown {
  const at = README.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`README has no <!-- ${marker} -->`);
  const open = README.indexOf('```json\n', at) + '```json\n'.length;
  return JSON.parse(README.slice(open, README.indexOf('\n```', open)));
}

describe("the README's event catalogue", () => {
  it.each(Object.values(EVENT_TYPES))('states the JSON Schema generated from the zod schema of %s', (detailType) => {
    expect(blockAfter(`event-schema: ${detailType}`)).toEqual(eventCatalogue()[detailType]);
  });

  it('gives an example rule pattern that matches a failed run and not a passed one', () => {
    const pattern = JSON.parse(/```json\n(\{ "source": \["syncproof"\].*\})\n```/.exec(README)![1]!) as Json;
    const detail = runEventSchema.parse({ id: 'syncproof.run/r', runId: 'r', dataset: 'orders', status: 'FAILED', rows: 0, files: 0, bytes: 0, quarantined: 0, lagSeconds: null, error: 'X: y', endedAt: '2026-01-01T00:00:00Z' });
    const envelope = (d: unknown) => ({ version: '0', source: 'syncproof', 'detail-type': 'syncproof.run', detail: d }) as unknown as Json;

    expect(matchesPattern(pattern, envelope(detail))).toBe(true);
    expect(matchesPattern(pattern, envelope({ ...detail, status: 'PASSED' }))).toBe(false);
  });
});

describe('event detail schemas', () => {
  it('refuses a verification detail with an unknown tier status', () => {
    const detail = { id: 'v', runId: 'v', dataset: 'orders', tier: 'counts', status: 'PASSED', tiers: { counts: 'MAYBE' }, lagSeconds: 1, endedAt: 'now' };
    expect(verificationEventSchema.safeParse(detail).success).toBe(false);
  });
});
