/** detection predict's drawing: EXIF orientation as the model saw the image, output format by extension. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { checkImageOutPath, readImage } from '@litv2/core/node';
import { drawDetections, type Detections } from '@litv2/detection';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'det-draw-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A 60x30 (w x h) grey JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6): shown 30x60. */
async function rotatedPhoto(): Promise<string> {
  const file = path.join(tmp, 'photo.jpg');
  await sharp({ create: { width: 60, height: 30, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(file);
  return file;
}

// One box in the displayed (rotated) frame: x 5..25, y 35..55 of a 30x60 image.
const dets: Detections = { bboxes: Float32Array.from([5, 35, 25, 55, 0.9]), labels: Int32Array.from([0]) } as Detections;

test('boxes are drawn on the EXIF-oriented image, the one the model saw', async () => {
  const photo = await rotatedPhoto();
  const seen = await readImage(photo);
  expect([seen.width, seen.height]).toEqual([30, 60]);
  const out = path.join(tmp, 'new', 'folder', 'boxes.png');
  expect(await drawDetections(photo, dets, ['thing'], out, 0.3)).toBe(1);
  const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([30, 60]);
  const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  // the box's left edge (stroke colour #e6194b) at x=5 inside 35..55; the image is plain grey far from it
  expect(px(5, 50)).toEqual([0xe6, 0x19, 0x4b]);
  expect(px(15, 10).every((v) => Math.abs(v - 128) < 8)).toBe(true);
});

test.each([
  ['x.jpg', [0xff, 0xd8, 0xff]],
  ['x.JPEG', [0xff, 0xd8, 0xff]],
  ['x.png', [0x89, 0x50, 0x4e, 0x47]],
  ['x.webp', [0x52, 0x49, 0x46, 0x46]],
])('--out %s writes the format its extension names', async (name, magic) => {
  const photo = await rotatedPhoto();
  const out = path.join(tmp, 'fmt', name);
  await drawDetections(photo, dets, ['thing'], out);
  expect(Array.from(fs.readFileSync(out).subarray(0, magic.length))).toEqual(magic);
});

test('an unknown output extension is a one-line error and writes nothing', async () => {
  const photo = await rotatedPhoto();
  await expect(drawDetections(photo, dets, ['thing'], path.join(tmp, 'bad', 'x.gif'))).rejects.toThrow(/--out .*x\.gif: the extension names the format; use one of \.png, \.jpg, \.jpeg, \.webp/);
  expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  expect(() => checkImageOutPath('noext')).toThrow(/extension/);
});

test('instance masks are drawn translucent in the class colour, only inside the mask', async () => {
  const photo = await rotatedPhoto();
  // Column-major 30x60 mask: x 10..19, y 40..49.
  const data = new Uint8Array(30 * 60);
  for (let x = 10; x < 20; x++) for (let y = 40; y < 50; y++) data[x * 60 + y] = 1;
  const out = path.join(tmp, 'masks.png');
  expect(await drawDetections(photo, { ...dets, masks: [{ h: 60, w: 30, data }] }, ['thing'], out, 0.3)).toBe(1);
  const img = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => Array.from(img.data.subarray((y * img.info.width + x) * img.info.channels, (y * img.info.width + x) * img.info.channels + 3));
  // Half-way between grey 128 and #e6194b inside the mask; plain grey outside it.
  const inside = px(15, 45);
  [0xe6, 0x19, 0x4b].forEach((c, k) => expect(Math.abs(inside[k] - (128 + c) / 2)).toBeLessThan(10));
  expect(px(15, 10).every((v) => Math.abs(v - 128) < 8)).toBe(true);
  // A mask of the wrong size is an error naming it.
  await expect(drawDetections(photo, { ...dets, masks: [{ h: 10, w: 10, data: new Uint8Array(100) }] }, ['thing'], path.join(tmp, 'm2.png'))).rejects.toThrow(/mask 0 is 10x10, the image 60x30/);
});
