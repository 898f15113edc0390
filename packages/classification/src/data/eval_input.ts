import * as fs from 'node:fs';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { readImage } from '@litv2/core/node';

/** ImageNet evaluation transform (timm/DeiT `build_transform(is_train=False)` at 224). */
export interface EvalTransform {
  /** Shorter side after resizing (int(224 / 0.875) = 256). */
  resize: number;
  crop: number;
  interpolation: 'bicubic' | 'bilinear';
  /** RGB mean/std on the 0–255 scale. */
  mean: [number, number, number];
  std: [number, number, number];
}

export const IMAGENET_EVAL: EvalTransform = {
  resize: 256,
  crop: 224,
  interpolation: 'bicubic',
  mean: [123.675, 116.28, 103.53],
  std: [58.395, 57.12, 57.375],
};

/** Python's round() (half to even), which torchvision's CenterCrop uses for the offsets. */
const roundHalfEven = (v: number) => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
};

/**
 * Reads an image file and applies the eval transform: shorter side to `resize` (bicubic through libvips,
 * which antialiases when shrinking like PIL), centre crop, mean/std normalisation. An image that already
 * has the crop size is used as is. Returns NHWC [1, crop, crop, 3].
 */
export async function loadEvalImage(file: string, t: EvalTransform = IMAGENET_EVAL): Promise<tf.Tensor4D> {
  if (!fs.existsSync(file)) throw new Error(`image not found: ${file}`);
  const img = await readImage(file);
  let { data, width, height } = img;
  if (img.channels !== 3) throw new Error(`${file}: expected an RGB image, decoded ${img.channels} channels`);
  if (!(width === t.crop && height === t.crop)) {
    // torchvision Resize(int): the shorter side becomes `resize`, the longer int(resize * long / short).
    const [nw, nh] = width <= height ? [t.resize, Math.floor((t.resize * height) / width)] : [Math.floor((t.resize * width) / height), t.resize];
    const resized = await sharp(Buffer.from(data.buffer, data.byteOffset, data.length), { raw: { width, height, channels: 3 } })
      .resize(nw, nh, { kernel: t.interpolation === 'bicubic' ? 'cubic' : 'linear', fit: 'fill' })
      .raw()
      .toBuffer();
    const top = roundHalfEven((nh - t.crop) / 2);
    const left = roundHalfEven((nw - t.crop) / 2);
    if (top < 0 || left < 0) throw new Error(`${file}: resized image ${nw}x${nh} is smaller than the ${t.crop} crop`);
    const out = new Uint8Array(t.crop * t.crop * 3);
    for (let y = 0; y < t.crop; y++) out.set(resized.subarray(((top + y) * nw + left) * 3, ((top + y) * nw + left + t.crop) * 3), y * t.crop * 3);
    data = out;
    width = height = t.crop;
  }
  return tf.tidy(() => tf.tensor4d(Float32Array.from(data), [1, height, width, 3]).sub(t.mean).div(t.std) as tf.Tensor4D);
}

/** Parses a NumPy .npy file holding float32 or float64 data in C order. */
export function readNpy(file: string): { data: Float32Array; shape: number[] } {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new Error(`${file}: cannot parse the .npy header ${header.trim()}`);
  if (fortran === 'True') throw new Error(`${file}: Fortran-ordered arrays are not supported`);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(hstart + hlen);
  const data = new Float32Array(n);
  if (descr === '<f4') for (let i = 0; i < n; i++) data[i] = body.readFloatLE(4 * i);
  else if (descr === '<f8') for (let i = 0; i < n; i++) data[i] = body.readDoubleLE(8 * i);
  else throw new Error(`${file}: dtype '${descr}' is not supported (expected <f4 or <f8)`);
  return { data, shape };
}

/**
 * Reads an already-normalised NCHW image batch from `.npy` or raw little-endian float32 (`shape` required)
 * and returns it as NHWC.
 */
export function loadTensorFile(file: string, shape?: number[]): tf.Tensor4D {
  if (!fs.existsSync(file)) throw new Error(`tensor file not found: ${file}`);
  let data: Float32Array;
  let shp: number[];
  if (file.endsWith('.npy')) {
    ({ data, shape: shp } = readNpy(file));
    if (shape && shape.join(',') !== shp.join(',')) throw new Error(`${file}: --shape ${shape} does not match the stored shape ${shp}`);
  } else {
    if (!shape) throw new Error(`${file}: raw float32 tensors need --shape B,3,H,W`);
    const buf = fs.readFileSync(file);
    const n = shape.reduce((a, b) => a * b, 1);
    if (buf.length !== 4 * n) throw new Error(`${file}: ${buf.length} bytes, but shape [${shape}] needs ${4 * n} (float32 little-endian)`);
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(4 * i);
    shp = shape;
  }
  if (shp.length !== 4 || shp[1] !== 3) throw new Error(`${file}: expected an NCHW batch [B, 3, H, W], got [${shp}]`);
  return tf.tidy(() => tf.tensor4d(data, shp as [number, number, number, number]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
}
