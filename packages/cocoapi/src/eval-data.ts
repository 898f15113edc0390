/**
 * Columnar form of the annotations COCOeval works on: per-annotation typed arrays plus a grouping by
 * (image, category) built with a stable counting sort, so that every group keeps file order — the order
 * pycocotools' per-(image, category) lists have.
 */
import type { COCO, CocoAnnotation, ImageId } from './coco';
import { CocoFormatError, describe } from './errors';
import type { IouType } from './params';
import { rleToBboxInto, type RLE } from './rle';
import { countsFromString } from './rle-string';
import { rleInfoChecked } from './segmentation';

export interface AnnTable {
  n: number;
  id: Float64Array;
  area: Float64Array;
  /** int(iscrowd) != 0 (always 0 for results). */
  crowd: Uint8Array;
  score: Float64Array;
  /** [x, y, w, h] per row: the bbox (bbox eval) or the mask's bbox (segm eval). */
  box: Float64Array;
  /**
   * Masks, segm eval only. Compressed result masks stay as their strings (`lazy`) and are decoded when their
   * group is evaluated: a COCO-sized result file decoded at once would hold ~0.5 GB of run lengths.
   */
  rle: (RLE | null)[] | null;
  lazy: (string | null)[] | null;
  /** [h, w] of lazily kept masks. */
  lazySize: Int32Array | null;
  /** Group g = imgIndex * K + catIndex occupies order[start[g] .. start[g+1]). */
  start: Int32Array;
  order: Int32Array;
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Collect the annotations of `coco` on the evaluated images (pycocotools' getAnnIds + loadAnns on p.imgIds,
 * filtered to p.catIds), validating the fields evaluation needs.
 */
export function buildTable(
  coco: COCO,
  imgIds: readonly ImageId[],
  catIds: readonly number[],
  iouType: IouType,
  isGt: boolean,
): AnnTable {
  const imgIndex = new Map<ImageId, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  catIds.forEach((id, k) => catIndex.set(id, k));
  const K = catIds.length;
  const G = imgIds.length * K;

  // Annotations in getAnnIds order: image by image in p.imgIds order, file order inside an image, filtered by
  // their own category. loadAnns resolves ids through the id map, so a duplicated id yields the last annotation
  // with it, and that annotation's image and category decide its group (_gts[image_id, category_id]), as in Python.
  const anns: CocoAnnotation[] = [];
  const keys: number[] = [];
  for (let i = 0; i < imgIds.length; i++) {
    const list = coco.imgToAnns.get(imgIds[i]);
    if (!list) continue;
    for (const a of list) {
      if (!catIndex.has(a.category_id)) continue;
      const loaded = coco.anns.get(a.id) ?? a;
      const il = loaded === a ? i : imgIndex.get(loaded.image_id);
      const k = catIndex.get(loaded.category_id);
      if (il === undefined || k === undefined) continue;
      anns.push(loaded);
      keys.push(il * K + k);
    }
  }
  const n = anns.length;
  const start = new Int32Array(G + 1);
  for (const g of keys) start[g + 1]++;
  for (let g = 0; g < G; g++) start[g + 1] += start[g];
  const fill = start.slice(0, G);
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[fill[keys[j]]++] = j;

  const t: AnnTable = {
    n,
    id: new Float64Array(n),
    area: new Float64Array(n),
    crowd: new Uint8Array(n),
    score: new Float64Array(n),
    box: new Float64Array(4 * n),
    rle: iouType === 'segm' ? new Array<RLE | null>(n).fill(null) : null,
    lazy: iouType === 'segm' ? new Array<string | null>(n).fill(null) : null,
    lazySize: iouType === 'segm' ? new Int32Array(2 * n) : null,
    start,
    order,
  };
  const src = coco.source;
  for (let j = 0; j < n; j++) {
    const a = anns[j];
    const what = isGt ? `${src}: annotation id ${a.id}` : `${src}: result ${a.id} (image_id ${a.image_id})`;
    t.id[j] = a.id;
    if (!num(a.area)) throw new CocoFormatError(`${what}: 'area' must be a number, got ${describe(a.area)}`);
    t.area[j] = a.area;
    if (isGt) {
      const c = a.iscrowd;
      if (c === undefined) throw new CocoFormatError(`${what}: missing 'iscrowd'`);
      t.crowd[j] = Number(c) !== 0 ? 1 : 0;
    } else {
      // NaN and +-Infinity are numbers to pycocotools (Python's json reads bare NaN / Infinity).
      if (typeof a.score !== 'number') throw new CocoFormatError(`${what}: 'score' must be a number, got ${describe(a.score)}`);
      t.score[j] = a.score;
    }
    if (iouType === 'bbox') {
      const bb = a.bbox;
      if (!Array.isArray(bb) || bb.length !== 4 || !bb.every(num)) {
        throw new CocoFormatError(`${what}: 'bbox' must be [x, y, w, h], got ${describe(bb)}`);
      }
      t.box.set(bb, 4 * j);
    } else {
      const segm = a.segmentation as { counts?: unknown } | undefined;
      if (!isGt && segm && !Array.isArray(segm) && typeof segm.counts === 'string') {
        if (!coco.cachedMaskBox(a, t.box, 4 * j)) rleInfoChecked(segm, what, t.box, 4 * j);
        (t.lazy as (string | null)[])[j] = segm.counts;
        const size = (segm as { size: number[] }).size;
        (t.lazySize as Int32Array)[2 * j] = size[0];
        (t.lazySize as Int32Array)[2 * j + 1] = size[1];
      } else {
        const rle = coco.annToRle(a, what);
        (t.rle as (RLE | null)[])[j] = rle;
        rleToBboxInto(rle, t.box, 4 * j);
      }
    }
  }
  return t;
}

/** The mask of row j (decoding a lazily kept compressed string; the caller keeps it only as long as needed). */
export function maskOf(t: AnnTable, j: number): RLE {
  const r = (t.rle as (RLE | null)[])[j];
  if (r) return r;
  const size = t.lazySize as Int32Array;
  return { h: size[2 * j], w: size[2 * j + 1], counts: countsFromString((t.lazy as (string | null)[])[j] as string) };
}
