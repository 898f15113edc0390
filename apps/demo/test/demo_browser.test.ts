import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, saveCheckpoint } from '@litv2/core/node';
import { classify, TINY_ARCH, tinyModel, type DemoHook } from '../src/model';

// page.evaluate ships function source to the page, so the hook is spelled out inside each call.
type Page = { litv2Demo: DemoHook };

// The demo page in Debian's headless chromium (playwright-core drives the system browser; nothing is
// downloaded): a tiny checkpoint made here is loaded from bytes in the page, a synthetic image classified, and
// the page's logits compared with the Node cpu result. Skipped, with the reason, where chromium is absent.
const CHROMIUM = process.env.LITV2_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM) console.log('[browser demo test skipped] no chromium at /usr/bin/chromium (tools/setup.sh installs it; LITV2_CHROMIUM=path overrides)');
const describeBrowser = CHROMIUM ? describe : describe.skip;
const root = path.resolve(__dirname, '../../..');

function syntheticImage(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; ++y)
    for (let x = 0; x < w; ++x) {
      const i = (y * w + x) * 4;
      px[i] = (x * 255) / (w - 1);
      px[i + 1] = (y * 255) / (h - 1);
      px[i + 2] = ((x + y) % 7) * 36;
      px[i + 3] = 255;
    }
  return px;
}

function serve(dir: string): Promise<http.Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const rel = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.basename(rel));
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describeBrowser('browser demo in chromium', () => {
  test('a checkpoint loaded from bytes classifies a synthetic image like Node cpu (1e-3), screenshot saved', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-demo-'));
    const dist = path.join(tmp, 'dist');
    const built = spawnSync(process.execPath, [path.join(root, 'apps/demo/build.mjs'), dist], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`demo build failed: ${built.stderr}`);

    // Node side: the tiny model with seed 7 (the page starts with seed 0), saved as our checkpoint format.
    await initBackend({ backend: 'cpu', quiet: true });
    const model = tinyModel(7);
    const ckpt = path.join(tmp, 'tiny.safetensors');
    await saveCheckpoint(ckpt, { model: model.stateDict(), meta: { arch: TINY_ARCH } });
    const [w, h] = [48, 40];
    const pixels = syntheticImage(w, h);
    const want = await classify(model, TINY_ARCH, pixels, w, h);
    model.dispose?.();
    expect(tf.getBackend()).toBe('cpu');

    const server = await serve(dist);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const port = (server.address() as { port: number }).port;
      await page.goto(`http://127.0.0.1:${port}/?backend=wasm`);
      const backend = await page.evaluate(() => (globalThis as unknown as Page).litv2Demo.ready);
      expect(backend).toBe('wasm');
      const b64 = fs.readFileSync(ckpt).toString('base64');
      const loaded = await page.evaluate((s) => (globalThis as unknown as Page).litv2Demo.loadCheckpointBytes(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)), 'tiny.safetensors'), b64);
      expect(loaded).toContain('10 classes');
      const got = await page.evaluate(([px, ww, hh]) => (globalThis as unknown as Page).litv2Demo.classifyPixels(Uint8Array.from(px as number[]), ww as number, hh as number), [Array.from(pixels), w, h] as const);
      expect(errors).toEqual([]);
      expect(got.backend).toBe('wasm');
      expect(got.logits.length).toBe(want.logits.length);
      const diff = Math.max(...got.logits.map((v, i) => Math.abs(v - want.logits[i])));
      console.log(`chromium (${backend}) vs node cpu: max |logit diff| ${diff.toExponential(2)}, page inference ${got.ms.toFixed(1)} ms, top-1 class ${got.top5[0].index}`);
      expect(diff).toBeLessThan(1e-3);
      expect(got.top5.map((t) => t.index)).toEqual(want.top5.map((t) => t.index));
      // What the user sees: the top-5 list in the page matches.
      const shown = await page.locator('#top5 li').allTextContents();
      expect(shown[0]).toContain(`class ${want.top5[0].index}:`);
      const shot = process.env.LITV2_DEMO_SCREENSHOT ?? path.join(tmp, 'demo-screenshot.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(1000);
      console.log(`screenshot: ${shot}`);
    } finally {
      await browser.close();
      server.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
