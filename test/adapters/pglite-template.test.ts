/**
 * createPglite: new databases (in memory, or in a new data dir) start from a copy of a freshly
 * initialized cluster kept in the temp dir. Each database is its own (nothing written to one shows
 * in another or in the copy), a data dir that holds a database reopens with its data, and the
 * settings are initdb's.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { createPglite, loadPglite } from '../../lambdas/adapters/pglite-loader';

jest.setTimeout(120_000);

describe('createPglite', () => {
  let work: string;
  const open: PGlite[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-pglite-template-'));
  });

  afterAll(async () => {
    for (const db of open.splice(0)) await db.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  const track = (db: PGlite): PGlite => {
    open.push(db);
    return db;
  };

  it('gives each new database its own cluster, with the settings initdb writes', async () => {
    const a = track(await createPglite());
    await a.exec('CREATE TABLE t (id INT); INSERT INTO t VALUES (1)');
    const b = track(await createPglite());
    const c = track(await createPglite(join(work, 'c')));

    for (const db of [b, c]) {
      const { rows } = await db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      expect(rows).toEqual([{ n: 0 }]);
    }
    const fresh = track(await loadPglite().PGlite.create());
    const settings = (db: PGlite) => db.query("SELECT name, setting FROM pg_settings WHERE source NOT IN ('default', 'override') ORDER BY name").then((r) => r.rows);
    expect(await settings(b)).toEqual(await settings(fresh));
    expect(await settings(c)).toEqual(await settings(fresh));
  });

  it('reopens a data dir that holds a database with its data', async () => {
    const dir = join(work, 'kept');
    const first = await createPglite(dir);
    await first.exec("CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('still here')");
    await first.close();
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);

    const again = track(await createPglite(dir));
    expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
  });
});
