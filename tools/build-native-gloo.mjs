#!/usr/bin/env node
// Builds the Gloo binding (packages/core/native-gloo) used by `--launcher gloo` data-parallel training, with the
// node-gyp that ships inside npm, against the local Node headers and Debian's libgloo-dev. Exits non-zero with a
// one-line reason when a compiler or libgloo is missing; training without `--launcher gloo` does not need it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = join(root, 'packages', 'core', 'native-gloo');
const fail = (msg) => {
  console.error(`[build-native-gloo] ${msg}`);
  process.exit(1);
};
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

if (!has('c++') && !has('g++')) fail('no C++ compiler (install build-essential: apt-get install -y g++ make)');
if (!has('make')) fail('make is missing (apt-get install -y make)');
if (!has('python3')) fail('python3 is missing (node-gyp needs it)');

// Gloo (Debian libgloo-dev: headers in /usr/include/gloo, /usr/lib/libgloo.so linked against hiredis).
if (!existsSync('/usr/include/gloo/allreduce.h')) fail('Gloo headers not found (apt-get install -y libgloo-dev)');
if (!['/usr/lib/libgloo.so', '/usr/local/lib/libgloo.so', '/usr/lib/x86_64-linux-gnu/libgloo.so'].some(existsSync)) fail('libgloo.so not found (apt-get install -y libgloo-dev)');

// node-gyp: npm's bundled copy (no network), else one on PATH.
const npmRoots = [
  process.env.npm_execpath && resolve(dirname(process.env.npm_execpath), '..'),
  resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
  '/usr/lib/node_modules/npm',
  '/usr/local/lib/node_modules/npm',
].filter(Boolean);
const gypJs = npmRoots.map((r) => join(r, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')).find(existsSync);
let cmd, args;
if (gypJs) [cmd, args] = [process.execPath, [gypJs]];
else if (has('node-gyp')) [cmd, args] = ['node-gyp', []];
else fail('node-gyp not found (it ships with npm; reinstall npm or `npm i -g node-gyp`)');

// Headers: use npm's configured nodedir if it has them (offline machines), else node-gyp's own cache.
const nodedirs = [process.env.npm_config_nodedir, '/usr', resolve(dirname(process.execPath), '..')].filter(Boolean);
const nodedir = nodedirs.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
const gypArgs = [...args, 'rebuild', '--release', '--jobs', '2'];
if (nodedir) gypArgs.push(`--nodedir=${nodedir}`);

const t0 = Date.now();
const r = spawnSync(cmd, gypArgs, { cwd: addonDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error|Error|ERR!/.test(l)).slice(0, 15).join('\n');
  fail(`node-gyp failed (exit ${r.status}):\n${log}`);
}
const built = join(addonDir, 'build', 'Release', 'litv2_gloo.node');
if (!existsSync(built)) fail(`build finished but ${built} is missing`);
// Load it once so a missing runtime library is reported here, not at first use.
const check = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(built)}); console.log(Object.keys(m).join(','))`], { encoding: 'utf8' });
if (check.status !== 0) fail(`built add-on does not load: ${(check.stderr || '').split('\n')[0]}`);
console.log(`[build-native-gloo] built ${built} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${check.stdout.trim()})`);
