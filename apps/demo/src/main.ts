import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { LITv2 } from '@litv2/core';
import { classify, modelFromBytes, tinyModel, TINY_ARCH, type DemoArch, type DemoHook, type Prediction } from './model';

/**
 * The browser demo: LITv2 classification of a dropped image, entirely in the page. Backend: `?backend=` in the
 * URL, else the first that initialises of webgpu, webgl, wasm, cpu. Weights: the seeded tiny model, or a
 * dropped checkpoint (ours or an official `.pth`). `window.litv2Demo` is the hook the browser test drives.
 */
setWasmPaths('./');
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($('status').textContent = s);

// Built once a backend is chosen (tensors cannot be made before).
let model!: LITv2;
let arch: DemoArch = TINY_ARCH;
let modelName = 'LITv2 tiny demo (seeded random weights, 10 classes)';

async function pickBackend(): Promise<string> {
  const asked = new URLSearchParams(location.search).get('backend');
  for (const b of asked ? [asked] : ['webgpu', 'webgl', 'wasm', 'cpu']) {
    try {
      if (await tf.setBackend(b)) {
        await tf.ready();
        return b;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error(`no tfjs backend initialised (asked: ${asked ?? 'auto'})`);
}

function show(p: Prediction): void {
  $('time').textContent = `${p.ms.toFixed(1)} ms on ${tf.getBackend()}`;
  const list = $('top5');
  list.innerHTML = '';
  for (const t of p.top5) {
    const li = document.createElement('li');
    li.textContent = `class ${t.index}: ${(t.prob * 100).toFixed(2)} %`;
    list.appendChild(li);
  }
}

async function classifyPixels(pixels: Uint8ClampedArray | Uint8Array, width: number, height: number): Promise<Prediction & { backend: string }> {
  const canvas = $<HTMLCanvasElement>('view');
  canvas.width = width;
  canvas.height = height;
  const rgba = pixels.length === width * height * 4 ? new Uint8ClampedArray(pixels) : null;
  if (rgba) canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
  const p = await classify(model, arch, pixels, width, height);
  show(p);
  return { ...p, backend: tf.getBackend() };
}

async function classifyImage(img: HTMLImageElement): Promise<void> {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, c.width, c.height);
  await classifyPixels(data.data, c.width, c.height);
}

function loadCheckpointBytes(bytes: Uint8Array, name: string): string {
  const loaded = modelFromBytes(bytes, name);
  model?.dispose?.();
  model = loaded.model;
  arch = loaded.arch;
  modelName = `${name} (LITv2, embed ${arch.embed_dim}, depths ${arch.depths.join('-')}, ${arch.num_classes} classes)`;
  $('model').textContent = modelName;
  return modelName;
}

async function onFile(file: File): Promise<void> {
  try {
    if (/\.(pth|pt|safetensors|ckpt)$/i.test(file.name)) {
      loadCheckpointBytes(new Uint8Array(await file.arrayBuffer()), file.name);
      status(`loaded ${file.name}`);
      return;
    }
    const img = new Image();
    img.src = URL.createObjectURL(file);
    await img.decode();
    await classifyImage(img);
    status(`classified ${file.name}`);
  } catch (e) {
    status(`error: ${(e as Error).message}`);
  }
}

const ready = (async () => {
  const backend = await pickBackend();
  model = tinyModel(0);
  $('backend').textContent = backend;
  $('model').textContent = modelName;
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    for (const f of Array.from(e.dataTransfer?.files ?? [])) void onFile(f);
  });
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    for (const f of Array.from((e.target as HTMLInputElement).files ?? [])) void onFile(f);
  });
  status('ready: drop an image (or a checkpoint)');
  return backend;
})();

declare global {
  interface Window {
    litv2Demo: DemoHook;
  }
}
window.litv2Demo = { ready, classifyPixels, loadCheckpointBytes };
ready.catch((e: Error) => status(`error: ${e.message}`));
