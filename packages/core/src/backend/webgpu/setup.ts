import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * WebGPU in Node through Dawn (npm `webgpu`, a prebuilt `dawn.node`) under `@tensorflow/tfjs-backend-webgpu`.
 * The tfjs backend registers itself when its module is imported and reads `navigator.gpu` then, so the Dawn
 * GPU object is installed on `globalThis.navigator` first. On machines without a GPU, Mesa's llvmpipe serves
 * Dawn's GL ES backend (EGL surfaceless); Vulkan through lavapipe lacks features Dawn requires.
 * `LITV2_DAWN_ARGS` ("backend=vulkan,enable-dawn-features=...", comma separated) replaces the default Dawn
 * options (`backend=opengles` where no Vulkan GPU is asked for).
 */
export interface WebGpuSetup {
  /** The adapter's vendor / architecture / device / description, for the one-line backend print. */
  adapter: string;
  dawnArgs: string[];
}

interface DawnModule {
  create(args: string[]): GpuLike;
  globals?: Record<string, unknown>;
}
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}
interface AdapterLike {
  info?: AdapterInfoLike;
  requestAdapterInfo?: () => Promise<AdapterInfoLike>;
}
interface GpuLike {
  requestAdapter(opts?: Record<string, unknown>): Promise<AdapterLike | null>;
}

const INSTALL_HINT =
  'install the optional npm package `webgpu` (npm install webgpu@0.6.2) and a driver: Debian `libegl1 libgles2 libegl-mesa0` ' +
  '(Mesa, CPU) or, on an NVIDIA machine, `libvulkan1` with the NVIDIA Vulkan ICD matching the host driver (see README "GPU")';

/** Dawn options from `LITV2_DAWN_ARGS`, else GL ES through EGL (works on Mesa llvmpipe and on GPU EGL drivers). */
export function dawnArgs(env: Record<string, string | undefined> = process.env): string[] {
  const raw = env.LITV2_DAWN_ARGS?.trim();
  if (raw) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return ['backend=opengles'];
}

let done: Promise<WebGpuSetup> | undefined;

/**
 * The `webgpu` package is an ES module wrapping `dist/<platform>-<arch>/dawn.node`. Where ES modules cannot be
 * imported (jest's CommonJS runtime) the add-on is loaded directly; it exports the same `create` / `globals`.
 */
async function loadDawn(): Promise<DawnModule> {
  try {
    const mod = (await import('webgpu')) as unknown as DawnModule & { default?: DawnModule };
    return typeof mod.create === 'function' ? mod : (mod.default as DawnModule);
  } catch (e) {
    const req = createRequire(path.join(process.cwd(), 'package.json'));
    let pkg: string;
    try {
      pkg = req.resolve('webgpu/package.json');
    } catch {
      throw e;
    }
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return req(path.join(path.dirname(pkg), 'dist', `${process.platform}-${arch}`, 'dawn.node')) as DawnModule;
  }
}

/** Installs Dawn as `navigator.gpu`, probes an adapter, imports the tfjs webgpu backend and selects it. */
export function setupWebGpu(defaultArgs?: string[]): Promise<WebGpuSetup> {
  done ??= (async () => {
    const args = process.env.LITV2_DAWN_ARGS?.trim() || !defaultArgs ? dawnArgs() : defaultArgs;
    // EGL without a display: llvmpipe and headless GPU drivers need the surfaceless platform.
    if (args.includes('backend=opengles') && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let dawn: DawnModule;
    try {
      dawn = await loadDawn();
    } catch (e) {
      throw new Error(`LITV2_BACKEND=webgpu: Dawn's Node bindings did not load (${(e as Error).message.split('\n')[0]}); ${INSTALL_HINT}`);
    }
    if (dawn.globals) Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create(args);
    const compat = args.includes('backend=opengles');
    const adapter = await gpu.requestAdapter(compat ? { featureLevel: 'compatibility' } : { powerPreference: 'high-performance' });
    if (!adapter) throw new Error(`LITV2_BACKEND=webgpu: Dawn found no adapter with options [${args.join(', ')}]; ${INSTALL_HINT}`);
    const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
    const nav = ((globalThis as { navigator?: Record<string, unknown> }).navigator ??= {}) as Record<string, unknown>;
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
    // tfjs-backend-webgpu asks for an adapter itself; on GL ES it must be a compatibility-level one.
    if (compat) {
      const plain = gpu.requestAdapter.bind(gpu);
      gpu.requestAdapter = (opts?: Record<string, unknown>) => plain({ ...(opts ?? {}), featureLevel: 'compatibility' });
    }
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error(`LITV2_BACKEND=webgpu: the tfjs webgpu backend failed to initialise on ${describe(info)}; ${INSTALL_HINT}`);
    return { adapter: describe(info), dawnArgs: args };
  })();
  return done;
}

function describe(i: AdapterInfoLike): string {
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0).join(' / ') || 'unknown adapter';
}
