import { spawnSync } from 'node:child_process';

/**
 * Whether Dawn (npm `webgpu`) gives an adapter here, probed in a child process (a Dawn crash must not take the
 * jest worker down). Same options as the backend: LITV2_DAWN_ARGS, else GL ES over EGL surfaceless.
 */
export function probeWebGpu(): { ok: true } | { ok: false; reason: string } {
  const script = `
    const args = (process.env.LITV2_DAWN_ARGS || 'backend=opengles').split(',').filter(Boolean);
    if (args.includes('backend=opengles') && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let dawn;
    try { dawn = require('webgpu'); } catch (e) { console.log('npm package webgpu not installed'); process.exit(3); }
    dawn.create(args).requestAdapter(args.includes('backend=opengles') ? { featureLevel: 'compatibility' } : {})
      .then((a) => { if (!a) { console.log('Dawn found no adapter (install Mesa EGL/GLES: tools/setup.sh)'); process.exit(4); } process.exit(0); })
      .catch((e) => { console.log(String(e)); process.exit(5); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000, cwd: process.cwd() });
  if (r.status === 0) return { ok: true };
  return { ok: false, reason: (r.stdout || r.stderr || `probe exited with ${r.status ?? r.signal}`).trim().split('\n').pop() ?? 'unknown' };
}
