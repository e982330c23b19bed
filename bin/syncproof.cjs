#!/usr/bin/env node
'use strict';
// Entry of the `syncproof` command. s3rver's listing continuation tokens use DES, which Node's
// OpenSSL 3 only offers with the legacy provider: re-run under it when it is missing, forwarding
// signals so Ctrl-C reaches the real process and its clean shutdown.
const FLAG = '--openssl-legacy-provider';
// The AWS SDK prints a 7-line NodeVersionSupportWarning on Node < 22 that would bury every command's
// output. It concerns SDK versions published after the first week of January 2027 (these are pinned in
// package.json); the deployed Lambdas run NODEJS_22_X and package.json asks for Node >= 22, so only a
// Node 20 machine sees it. This variable silences exactly that notice and nothing else; before moving
// the SDK pins past January 2027, run on Node 22. Set it to 'false' to see the notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
