import * as fs from 'node:fs';

/** Reads a plain-JSON fixture (`litv2-fixture-v1-json`). */
export function readJsonFixture<T = Record<string, unknown>>(file: string): T {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (j.format !== 'litv2-fixture-v1-json') throw new Error(`${file}: not a litv2-fixture-v1-json file`);
  return j as T;
}

/** NCHW float data -> NHWC order (for comparing with our NHWC activations). */
export function nchwToNhwc(data: Float32Array, shape: number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}
