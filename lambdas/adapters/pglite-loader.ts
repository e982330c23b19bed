/**
 * Loading PGlite (the embedded warehouse and demo source) through Node's own module loader.
 * PGlite's start-up calls `import()` (node:module, fs/promises), which throws inside Jest's module
 * sandbox unless Node runs with --experimental-vm-modules, and Jest also substitutes `require`,
 * `process` and `process.getBuiltinModule`. A function made by the constructor of a host-realm
 * function (`Buffer`, which Jest passes through) evaluates in the host realm, where `process` is
 * Node's own; outside Jest this is simply `process`. Loading it this way also keeps PGlite, a
 * local-only dependency whose WebAssembly files cannot be bundled, out of esbuild bundles.
 */
import type { Extension } from '@electric-sql/pglite';

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
