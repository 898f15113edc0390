/**
 * `@litv2/core`'s universal entry must bundle for a browser: esbuild (platform 'browser') over src/index.ts,
 * with every import of a Node built-in or of a Node-only package recorded instead of resolved. The second
 * case bundles the Node entry the same way and must find them, so the check itself is shown to work.
 */
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { build, type Plugin } from 'esbuild';

const srcDir = path.resolve(__dirname, '..', 'src');
const NODE_ONLY_PACKAGES = ['sharp', 'pngjs', 'node-addon-api', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Bundles `entry` for the browser; returns "importer -> module" for each Node-only import reached. */
async function nodeImportsOf(entry: string): Promise<string[]> {
  const found: string[] = [];
  const recorder: Plugin = {
    name: 'record-node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
        if (builtins.has(args.path) || builtins.has(bare) || NODE_ONLY_PACKAGES.includes(bare)) {
          found.push(`${path.relative(srcDir, args.importer)} -> ${args.path}`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    logLevel: 'silent',
    // tfjs is browser-ready (its own bundles); kept external to keep the test fast.
    external: ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'],
    plugins: [recorder],
  });
  return found;
}

test('the universal entry (src/index.ts) bundles for the browser without any Node built-in or Node-only package', async () => {
  expect(await nodeImportsOf(path.join(srcDir, 'index.ts'))).toEqual([]);
});

test('the Node entry (src/node.ts) is caught importing Node built-ins (the check can fail)', async () => {
  const found = await nodeImportsOf(path.join(srcDir, 'node.ts'));
  expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/ -> node:fs$/), expect.stringMatching(/data\/image\.ts -> sharp$/)]));
});
