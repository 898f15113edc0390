// Lists the adapters Dawn (npm `webgpu`) finds for each backend, one line each: `node tools/gpu_adapters.mjs`.
// Used by tools/gpu-check.sh. Exit status 0 when at least one adapter was found.
import { create } from 'webgpu';

let found = 0;
for (const [backend, opts] of [['vulkan', {}], ['opengles', { featureLevel: 'compatibility' }]]) {
  if (backend === 'opengles' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
  try {
    const a = await create([`backend=${backend}`]).requestAdapter({ powerPreference: 'high-performance', ...opts });
    if (!a) {
      console.log(`  ${backend.padEnd(9)} no adapter`);
      continue;
    }
    const i = a.info ?? {};
    found++;
    console.log(`  ${backend.padEnd(9)} ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ')}`);
  } catch (e) {
    console.log(`  ${backend.padEnd(9)} failed: ${String(e).split('\n')[0]}`);
  }
}
process.exit(found ? 0 : 1);
