/** CLI entry (package.json "bin" runs it through bin/syncproof.cjs): see {@link main}. */
export { main } from '../cli/main';
