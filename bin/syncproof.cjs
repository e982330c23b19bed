#!/usr/bin/env node
'use strict';
// Entry of the `syncproof` command. s3rver's listing continuation tokens use DES, which Node's
// OpenSSL 3 only offers with the legacy provider: re-run under it when it is missing, forwarding
// signals so Ctrl-C reaches the real process and its clean shutdown.
const FLAG = '--openssl-legacy-provider';
if (!process.execArgv.includes(FLAG) && !(process.env.NODE_OPTIONS || '').includes(FLAG)) {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [FLAG, ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
} else {
  require('core-js/actual/promise/with-resolvers');
  require('tsx/cjs');
  require('./syncproof.ts')
    .main(process.argv)
    .then((code) => {
      process.exitCode = code;
    });
}
