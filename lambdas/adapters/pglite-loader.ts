/**
 * Loading PGlite (the embedded warehouse and demo source) through Node's own module loader.
 * PGlite's start-up calls `import()` (node:module, fs/promises), which throws inside Jest's module
 * sandbox unless Node runs with --experimental-vm-modules, and Jest also substitutes `require`,
 * `process` and `process.getBuiltinModule`. A function made by the constructor of a host-realm
 * function (`Buffer`, which Jest passes through) evaluates in the host realm, where `process` is
 * Node's own; outside Jest this is simply `process`. Loading it this way also keeps PGlite, a
 * local-only dependency whose WebAssembly files cannot be bundled, out of esbuild bundles.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Extension, PGlite, PGliteOptions } from '@electric-sql/pglite';

function hostRequire(): NodeJS.Require {
  type HostProcess = { getBuiltinModule?: (id: 'node:module') => typeof import('node:module') };
  let host: HostProcess = process as HostProcess;
  try {
    const HostFunction = (Buffer as unknown as { constructor: FunctionConstructor }).constructor;
    host = (new HostFunction('return process')() as HostProcess | undefined) ?? host;
  } catch {
    // keep this realm's process
  }
  const nodeModule = host.getBuiltinModule?.('node:module');
  return nodeModule ? nodeModule.createRequire(__filename) : require;
}

/** The `@electric-sql/pglite` module, loaded in the host realm (see the file comment). */
export function loadPglite(): typeof import('@electric-sql/pglite') {
  return hostRequire()('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
}

/** A contrib extension (`citext`, `pgcrypto`, …) from `@electric-sql/pglite/contrib/<name>`, for `PGlite.create({ extensions })`. */
export function loadPgliteContrib(name: string): Extension {
  const module = hostRequire()(`@electric-sql/pglite/contrib/${name}`) as Record<string, Extension | undefined>;
  const extension = module[name];
  if (!extension) throw new Error(`@electric-sql/pglite/contrib/${name} exports no extension named '${name}'`);
  return extension;
}

/**
 * `PGlite.create` for a new database (in memory, or in a data dir that holds none yet) from a copy
 * of a freshly initialized cluster instead of running initdb: initdb in WebAssembly took ~2.8 s of
 * CPU per database, loading the copy ~0.5 s (measured on 2 cores; the local runtime, the CLI's
 * `sync`/`local`/`demo` and the tests create many). The copy is what initdb writes — its settings
 * do not depend on the environment (TZ, LANG): PGlite's initdb fixes UTC and the C locale — made
 * once per PGlite version and kept in the temp dir (written to a temporary name and renamed, so
 * concurrent processes never read half a file). A data dir that already holds a database opens as
 * it is. A copy that cannot be loaded is removed and the database is initialized as before.
 */
export async function createPglite(dataDir?: string, options: PGliteOptions = {}): Promise<PGlite> {
  const { PGlite } = loadPglite();
  const create = (extra: PGliteOptions = {}) => (dataDir === undefined ? PGlite.create({ ...options, ...extra }) : PGlite.create(dataDir, { ...options, ...extra }));
  if (dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION'))) return create();
  const file = templateFile();
  let template: Blob | undefined;
  try {
    template = new Blob([await readFile(file)]);
  } catch {
    // none yet: made below
  }
  if (template === undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await dumpFreshCluster();
    } catch {
      return create();
    }
    await writeTemplate(file, bytes).catch(() => undefined); // else the next database tries again
    template = new Blob([bytes]);
  }
  try {
    return await create({ loadDataDir: template });
  } catch {
    await rm(file, { force: true });
    if (dataDir !== undefined) await emptyDir(dataDir);
    return create();
  }
}

/** The temp-dir file of the fresh-cluster copy of the installed PGlite version. */
function templateFile(): string {
  const hostModule = hostRequire();
  const entry = hostModule.resolve('@electric-sql/pglite');
  let version = 'unknown';
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
    if (parsed.name !== '@electric-sql/pglite') continue;
    version = `${parsed.version}-${statSync(entry).size}`;
    break;
  }
  return join(tmpdir(), `syncproof-pglite-fresh-cluster-${version}.tar`);
}

/** A fresh in-memory cluster, dumped (uncompressed tar) and closed. */
async function dumpFreshCluster(): Promise<Uint8Array> {
  const db = await loadPglite().PGlite.create();
  try {
    return new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
  } finally {
    await db.close();
  }
}

async function writeTemplate(file: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true });
}
