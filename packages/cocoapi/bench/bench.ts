/**
 * COCOeval speed on a synthetic COCO-sized set (not a test).
 *   npx nx run cocoapi:bench [-- --images 5000 --iou-type bbox|segm|both --write-json DIR]
 * Deterministic data: 5,000 images, 80 categories, ~7 GT (polygons, ~1% crowd as uncompressed RLE) and 100
 * detections (boxes and compressed-RLE masks) per image. Prints seconds for loadRes / evaluate / accumulate /
 * summarize, the total, and peak RSS. `--write-json DIR` also writes gt.json, dt_bbox.json, dt_segm.json so
 * that pycocotools can be timed on the same data (bench/pycocotools_bench.py).
 *
 *   npx nx run cocoapi:bench -- --train2017 [FILE] [--compare]
 * Loading at train2017 scale instead: writes (once, into the temp dir) a train2017-sized annotation file
 * (bench/train2017_like.ts: 118,287 images, ~860k polygon annotations, ~450 MB), then loads it with `new COCO(file)`
 * in a fresh process and prints wall / CPU seconds and peak RSS; `--compare` also times readCocoFile (lazily
 * parsed segmentations) and the old UTF-8-decode + JSON.parse path.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTrain2017Like } from './train2017_like';
import { COCO, COCOeval, countsToString, rleFrPoly, type CocoAnnotation, type CocoDataset, type CocoResult, type IouType } from '../src';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : def;
}

/** mulberry32: small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** A star-shaped polygon inside the box (x, y, w, h), n vertices. */
function polygonIn(r: () => number, x: number, y: number, w: number, h: number, n: number): number[] {
  const cx = x + w / 2;
  const cy = y + h / 2;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    const s = 0.6 + 0.4 * r();
    out.push(round2(cx + (Math.cos(a) * s * w) / 2), round2(cy + (Math.sin(a) * s * h) / 2));
  }
  return out;
}

function shoelace(p: number[]): number {
  let a = 0;
  const n = p.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    a += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
  }
  return Math.abs(a) / 2;
}

function generate(nImages: number, seed: number): { gt: CocoDataset; bbox: CocoResult[]; segm: CocoResult[] } {
  const r = rng(seed);
  const catIds = Array.from({ length: 80 }, (_, k) => k + 1 + Math.floor(k / 8)); // non-contiguous like COCO
  const gt: CocoDataset = { images: [], categories: catIds.map((id) => ({ id, name: `c${id}`, supercategory: 's' })), annotations: [] };
  const bbox: CocoResult[] = [];
  const segm: CocoResult[] = [];
  let annId = 1;
  for (let i = 0; i < nImages; i++) {
    const imgId = 100000 + ((i * 7919) % 900000); // unsorted, non-contiguous ids
    const W = 480 + Math.floor(r() * 161);
    const H = 360 + Math.floor(r() * 281);
    gt.images!.push({ id: imgId, width: W, height: H, file_name: `${imgId}.jpg` });
    const nGt = 2 + Math.floor(r() * 11); // 2..12, mean 7
    const objs: { cat: number; box: number[] }[] = [];
    for (let g = 0; g < nGt; g++) {
      const cat = catIds[Math.floor(r() ** 2 * 80)]; // skewed category frequencies
      const w = 8 + r() ** 2 * (W * 0.7);
      const h = 8 + r() ** 2 * (H * 0.7);
      const x = r() * (W - w);
      const y = r() * (H - h);
      const poly = polygonIn(r, x, y, w, h, 8 + Math.floor(r() * 12));
      const crowd = r() < 0.01;
      const ann: CocoAnnotation = { id: annId++, image_id: imgId, category_id: cat, iscrowd: crowd ? 1 : 0, bbox: [round2(x), round2(y), round2(w), round2(h)], area: shoelace(poly) };
      if (crowd) {
        const rle = rleFrPoly(poly, H, W);
        ann.segmentation = { size: [H, W], counts: Array.from(rle.counts) };
      } else ann.segmentation = [poly];
      gt.annotations!.push(ann);
      objs.push({ cat, box: [x, y, w, h] });
    }
    // 100 detections: jittered copies of the GTs (sometimes with a wrong class), the rest background boxes.
    for (let d = 0; d < 100; d++) {
      let cat: number;
      let x: number;
      let y: number;
      let w: number;
      let h: number;
      if (d < objs.length * 5) {
        const o = objs[d % objs.length];
        cat = r() < 0.85 ? o.cat : catIds[Math.floor(r() * 80)];
        const j = 0.25 * r();
        [x, y, w, h] = o.box;
        x += (r() - 0.5) * j * w;
        y += (r() - 0.5) * j * h;
        w *= 1 + (r() - 0.5) * j;
        h *= 1 + (r() - 0.5) * j;
      } else {
        cat = catIds[Math.floor(r() ** 2 * 80)];
        w = 8 + r() ** 2 * (W * 0.6);
        h = 8 + r() ** 2 * (H * 0.6);
        x = r() * (W - w);
        y = r() * (H - h);
      }
      const score = Math.round(r() * 1e4) / 1e4;
      const box = [round2(x), round2(y), round2(w), round2(h)];
      bbox.push({ image_id: imgId, category_id: cat, bbox: box, score });
      const mask = rleFrPoly(polygonIn(r, x, y, w, h, 10), H, W);
      segm.push({ image_id: imgId, category_id: cat, segmentation: { size: [H, W], counts: countsToString(mask.counts) }, score });
    }
  }
  return { gt, bbox, segm };
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

function benchTrain2017Load(): void {
  const i = process.argv.indexOf('--train2017');
  const given = process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : undefined;
  const file = given ?? path.join(os.tmpdir(), 'litv2-coco-bench', 'instances_train2017_like.json');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const t = performance.now();
    const n = writeTrain2017Like(file + '.part');
    fs.renameSync(file + '.part', file);
    console.log(`wrote ${file}: ${n.images} images, ${n.annotations} annotations, ${(n.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load_child.ts');
  const ways = process.argv.includes('--compare') ? ['coco', 'lazy', 'json-parse'] : ['coco'];
  for (const how of ways) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, file, how], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { images: number; anns: number; loadWall: number; loadCpu: number; maxRssMB: number; heapMB: number; info: { seconds?: Record<string, number> } };
    const phases = r.info.seconds ? ` (cpu: scan ${r.info.seconds.scan.toFixed(1)}, parse ${r.info.seconds.parse.toFixed(1)}, lazy properties ${r.info.seconds.lazy.toFixed(1)})` : '';
    console.log(
      `${{ coco: 'new COCO(file)', lazy: 'new COCO(readCocoFile(file)) (lazy segmentations)', 'json-parse': 'UTF-8 decode + JSON.parse + COCO (old path)' }[how]}: ${(fs.statSync(file).size / 1e6).toFixed(0)} MB, ${r.images} images, ${r.anns} annotations: ` +
        `${r.loadWall.toFixed(1)} s wall, ${r.loadCpu.toFixed(1)} s cpu${phases}, peak RSS ${r.maxRssMB.toFixed(0)} MB, heap ${r.heapMB.toFixed(0)} MB`,
    );
  }
}

if (process.argv.includes('--train2017')) {
  benchTrain2017Load();
  process.exit(0);
}
const nImages = Number(arg('images', '5000'));
const which = arg('iou-type', 'both');
const outDir = arg('write-json', '');

let t0 = performance.now();
const data = generate(nImages, 1234);
const genS = (performance.now() - t0) / 1000;
console.log(
  `synthetic set: ${nImages} images, 80 categories, ${data.gt.annotations!.length} GT, ${data.bbox.length} detections (generated in ${genS.toFixed(1)} s)`,
);
if (outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'gt.json'), JSON.stringify(data.gt));
  fs.writeFileSync(path.join(outDir, 'dt_bbox.json'), JSON.stringify(data.bbox));
  fs.writeFileSync(path.join(outDir, 'dt_segm.json'), JSON.stringify(data.segm));
  console.log(`wrote gt.json, dt_bbox.json, dt_segm.json to ${outDir}`);
}

const gt = new COCO(data.gt);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
for (const iouType of (which === 'both' ? ['bbox', 'segm'] : [which]) as IouType[]) {
  // Wall-clock and process CPU seconds per phase (CPU time is the fairer number on a shared machine).
  const w: number[] = [];
  const c: number[] = [];
  const mark = (): void => {
    w.push(performance.now() / 1000);
    c.push(cpu());
  };
  mark();
  const dt = gt.loadRes(iouType === 'bbox' ? data.bbox : data.segm);
  mark();
  const E = new COCOeval(gt, dt, iouType);
  E.evaluate();
  mark();
  E.accumulate();
  mark();
  E.summarize(null);
  mark();
  const s = (i: number, j: number): string => `${(w[j] - w[i]).toFixed(2)} s (cpu ${(c[j] - c[i]).toFixed(2)})`;
  console.log(
    `${iouType}: loadRes ${s(0, 1)} | evaluate ${s(1, 2)} | accumulate ${s(2, 3)} | summarize ${s(3, 4)} | ` +
      `total evaluate+accumulate+summarize ${s(1, 4)} | AP ${E.stats[0].toFixed(4)} | peak RSS so far ${mb(process.resourceUsage().maxRSS)}`,
  );
}
