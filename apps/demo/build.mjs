// Bundles the demo page with esbuild into apps/demo/dist (or the folder given): main.js, index.html and the
// tfjs wasm binaries. `node apps/demo/build.mjs [outDir]`; nx: `nx run demo:build`.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export async function buildDemo(outDir = path.join(here, 'dist')) {
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(here, 'src/main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'main.js'),
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    alias: { '@litv2/core': path.join(root, 'packages/core/src/index.ts') },
  });
  fs.copyFileSync(path.join(here, 'index.html'), path.join(outDir, 'index.html'));
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(outDir, f));
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildDemo(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`demo built into ${out}`);
}
