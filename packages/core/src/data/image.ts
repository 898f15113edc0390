/**
 * Image files -> host arrays. Colour images go through sharp (libvips, decoding off the JS thread): JPEG/PNG/...
 * to 8-bit RGB HWC, EXIF orientation applied as OpenCV's IMREAD_COLOR does. Label PNGs (8-bit grey class ids)
 * go through pngjs, which keeps the raw values.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { PNG } from 'pngjs';
import type { HostImage, LabelMap } from './types';

/** Decodes an image file to RGB uint8 HWC (grey images are expanded to three channels). */
export async function readImage(file: string): Promise<HostImage> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (e) {
    throw new Error(`cannot read image '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
  return decodeImage(buf, file);
}

/** Decodes encoded image bytes (`name` is used in error messages). */
export async function decodeImage(buf: Uint8Array, name = '<buffer>'): Promise<HostImage> {
  try {
    const { data, info } = await sharp(buf).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width, channels: 3 };
  } catch (e) {
    throw new Error(`cannot decode image '${name}': ${(e as Error).message}`);
  }
}

/** Reads an 8-bit greyscale label PNG (class id per pixel). Palette / RGB PNGs are rejected. */
export function readLabelPng(file: string): LabelMap {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read label map '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
  // IHDR: bit depth at byte 24, colour type at byte 25 (0 = grey, 4 = grey + alpha).
  if (buf.length < 26 || buf.readUInt32BE(0) !== 0x89504e47) throw new Error(`label map '${file}' is not a PNG file`);
  const depth = buf[24];
  const colorType = buf[25];
  if (depth !== 8 || (colorType !== 0 && colorType !== 4)) {
    throw new Error(`label map '${file}' must be an 8-bit greyscale PNG (bit depth ${depth}, colour type ${colorType})`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw new Error(`cannot decode label map '${file}': ${(e as Error).message}`);
  }
  const n = png.width * png.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = png.data[i * 4]; // pngjs expands grey to RGBA
  return { data: out, height: png.height, width: png.width };
}

/** Encodes an 8-bit label map as a greyscale PNG. */
export function encodeLabelPng(map: LabelMap): Buffer {
  return PNG.sync.write({ width: map.width, height: map.height, data: Buffer.from(map.data) } as unknown as PNG, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
}

/** Encodes an RGB uint8 HWC image as PNG (through sharp). */
export async function encodeRgbPng(img: HostImage): Promise<Buffer> {
  if (!(img.data instanceof Uint8Array)) throw new Error('encodeRgbPng: expects uint8 pixels');
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Output image formats chosen by file extension (`--out x.jpg` writes JPEG). */
export const IMAGE_OUT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;

/** Throws a one-line error unless `file` ends in an extension `writeImageFile` can write. */
export function checkImageOutPath(file: string, flag = '--out'): void {
  const ext = file.slice(file.lastIndexOf('.')).toLowerCase();
  if (file.lastIndexOf('.') < 0 || !(IMAGE_OUT_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new Error(`${flag} ${file}: the extension names the format; use one of ${IMAGE_OUT_EXTENSIONS.join(', ')}`);
  }
}

/**
 * Encodes a sharp pipeline in the format that `file`'s extension names (png, jpg/jpeg, webp) and writes it,
 * creating the folder. The image is encoded in full before the file is opened, so a failed encode writes nothing.
 */
export async function writeImageFile(image: Sharp, file: string): Promise<void> {
  checkImageOutPath(file);
  const ext = file.slice(file.lastIndexOf('.')).toLowerCase();
  const encoded = ext === '.png' ? image.png() : ext === '.webp' ? image.webp({ quality: 90 }) : image.jpeg({ quality: 92 });
  const buf = await encoded.toBuffer();
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.promises.writeFile(file, buf);
}

/** Writes an RGB uint8 HWC image in the format `file`'s extension names (see `writeImageFile`). */
export async function writeRgbImageFile(img: HostImage, file: string): Promise<void> {
  if (!(img.data instanceof Uint8Array)) throw new Error('writeRgbImageFile: expects uint8 pixels');
  await writeImageFile(sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels as 3 } }), file);
}
