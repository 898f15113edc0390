/**
 * Writes a COCO annotation file the size of instances_train2017.json (118,287 images, ~860k annotations,
 * polygons of 2-decimal coordinates, ~1% crowd annotations as uncompressed RLE, 80 non-contiguous categories;
 * about 450 MB), streamed to disk so that writing it needs little memory. Deterministic for a given seed.
 * Used by `cocoapi:bench --train2017` to time loading at COCO scale; never committed.
 */
import * as fs from 'node:fs';

export interface Train2017LikeOptions {
  images?: number;
  /** Mean annotations per image (train2017: 7.3). */
  annsPerImage?: number;
  seed?: number;
}

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

const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Writes the file; returns the counts written. */
export function writeTrain2017Like(file: string, opts: Train2017LikeOptions = {}): { images: number; annotations: number; bytes: number } {
  const nImages = opts.images ?? 118287;
  const perImage = opts.annsPerImage ?? 7.27;
  const r = rng(opts.seed ?? 2017);
  const fd = fs.openSync(file, 'w');
  let buf = '';
  let bytes = 0;
  const put = (s: string): void => {
    buf += s;
    if (buf.length > 1 << 20) flush();
  };
  const flush = (): void => {
    bytes += fs.writeSync(fd, buf);
    buf = '';
  };
  const catIds = Array.from({ length: 80 }, (_, k) => k + 1 + Math.floor(k / 8));
  const imgs: { id: number; w: number; h: number }[] = [];
  put('{"info":{"description":"train2017-sized synthetic set","version":"1.0","year":2017},"licenses":[{"url":"http://creativecommons.org/licenses/by-nc-sa/2.0/","id":1,"name":"Attribution-NonCommercial-ShareAlike License"}],"images":[');
  for (let i = 0; i < nImages; i++) {
    const id = 1 + ((i * 4099) % 600000);
    const w = 320 + Math.floor(r() * 321);
    const h = 240 + Math.floor(r() * 401);
    imgs.push({ id, w, h });
    const name = String(id).padStart(12, '0');
    put(`${i ? ',' : ''}{"license":${1 + (i % 8)},"file_name":"${name}.jpg","coco_url":"http://images.cocodataset.org/train2017/${name}.jpg","height":${h},"width":${w},"date_captured":"2013-11-14 11:18:45","flickr_url":"http://farm${1 + (i % 9)}.staticflickr.com/1/${id}_0000000000.jpg","id":${id}}`);
  }
  put('],"annotations":[');
  let annId = 1;
  let first = true;
  for (const img of imgs) {
    // 1..~15 annotations, mean `perImage`.
    const n = Math.max(1, Math.round(-Math.log(1 - r()) * perImage));
    for (let k = 0; k < n; k++) {
      const cat = catIds[Math.floor(r() ** 2 * 80)];
      const bw = 4 + r() ** 2 * img.w * 0.8;
      const bh = 4 + r() ** 2 * img.h * 0.8;
      const x = r() * (img.w - bw);
      const y = r() * (img.h - bh);
      const crowd = r() < 0.009;
      let seg: string;
      let area: number;
      if (crowd) {
        // Uncompressed RLE (column-major run lengths) of the box, as crowd annotations are stored.
        const counts: number[] = [];
        const x0 = Math.floor(x), x1 = Math.min(img.w, Math.ceil(x + bw));
        const y0 = Math.floor(y), y1 = Math.min(img.h, Math.ceil(y + bh));
        counts.push(x0 * img.h + y0);
        for (let c = x0; c < x1; c++) counts.push(y1 - y0, c < x1 - 1 ? img.h - (y1 - y0) : img.h * (img.w - x1) + img.h - y1);
        seg = `{"counts":[${counts.join(',')}],"size":[${img.h},${img.w}]}`;
        area = (x1 - x0) * (y1 - y0);
      } else {
        const parts = r() < 0.1 ? 2 : 1;
        const polys: string[] = [];
        area = 0;
        for (let p = 0; p < parts; p++) {
          const m = 12 + Math.floor(r() * 26);
          const cx = x + bw / 2, cy = y + bh / 2;
          const pts: number[] = [];
          for (let q = 0; q < m; q++) {
            const a = (2 * Math.PI * q) / m;
            const s = (0.55 + 0.45 * r()) / parts;
            pts.push(r2(cx + (Math.cos(a) * s * bw) / 2), r2(cy + (Math.sin(a) * s * bh) / 2));
          }
          let a2 = 0;
          for (let q = 0; q < m; q++) {
            const j = (q + 1) % m;
            a2 += pts[2 * q] * pts[2 * j + 1] - pts[2 * j] * pts[2 * q + 1];
          }
          area += Math.abs(a2) / 2;
          polys.push(`[${pts.join(',')}]`);
        }
        seg = `[${polys.join(',')}]`;
      }
      put(`${first ? '' : ','}{"segmentation":${seg},"area":${area},"iscrowd":${crowd ? 1 : 0},"image_id":${img.id},"bbox":[${r2(x)},${r2(y)},${r2(bw)},${r2(bh)}],"category_id":${cat},"id":${annId++}}`);
      first = false;
    }
  }
  put('],"categories":[');
  put(catIds.map((id, k) => `{"supercategory":"s${k >> 3}","id":${id},"name":"category ${id}"}`).join(','));
  put(']}');
  flush();
  fs.closeSync(fd);
  return { images: nImages, annotations: annId - 1, bytes };
}
