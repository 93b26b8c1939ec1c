// Build: generate what is derived from dependencies, build the native addon (native/), compile
// skiff to dist/, compile examples.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

function run(file, args) {
  execFileSync(process.execPath, [file, ...args], { cwd: root, stdio: 'inherit' });
}

run(path.join(root, 'scripts/gen-istio-fields.mjs'), []);
run(path.join(root, 'scripts/gen-protos.mjs'), []);
buildAddon();
run(tsc, ['-p', 'tsconfig.build.json']);
for (const example of readdirSync(path.join(root, 'examples'))) {
  const config = path.join(root, 'examples', example, 'tsconfig.json');
  if (existsSync(config)) run(tsc, ['-p', config]);
}

/**
 * native/keepalive.c (TCP_KEEPINTVL, TCP_KEEPCNT) with npm's bundled node-gyp, against the
 * running Node's own headers (no download), into native/build/Release/. Any failure fails the
 * build: the proxy cannot start without the addon.
 */
function buildAddon() {
  const execDir = path.dirname(process.execPath);
  const nodeGyp = [
    process.env.npm_config_node_gyp,
    path.resolve(execDir, '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    path.resolve(execDir, 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ].find((f) => f && existsSync(f));
  if (!nodeGyp) throw new Error('build: node-gyp not found (it comes with npm)');
  // The headers of the Node that runs this build; otherwise node-gyp's own configuration.
  const nodeDir = path.resolve(execDir, '..');
  const local = existsSync(path.join(nodeDir, 'include/node/node_api.h'));
  run(nodeGyp, [
    'rebuild',
    '--loglevel=warn',
    '--directory',
    path.join(root, 'native'),
    ...(local ? ['--nodedir', nodeDir] : []),
  ]);
  // Loads it once, as the proxy will.
  const addon = createRequire(import.meta.url)(
    path.join(root, 'native/build/Release/skiff_keepalive.node'),
  );
  if (typeof addon.setKeepAliveParams !== 'function')
    throw new Error('build: native/build/Release/skiff_keepalive.node has no setKeepAliveParams');
}
