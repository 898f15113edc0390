/**
 * The COCO ground-truth index (pycocotools.coco.COCO): id lookups, filtered id queries, result loading and
 * annotation -> mask conversion. Indexing is a single linear pass over the dataset (Maps keyed by id), so it
 * scales to instances_train2017.json; annotation objects are referenced, never copied.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import { CocoFormatError, describe } from './errors';
import { parsePythonJson } from './python-json';
import { toRleObject } from './mask';
import { rleDecode, type BinaryMask, type RLE, type RleObject } from './rle';
import { rleInfoChecked, segmentationToRle, type Segmentation } from './segmentation';

/** Image ids are numbers in COCO; pycocotools also takes strings (any hashable), and so does this port. */
export type ImageId = number | string;

export interface CocoImage {
  id: ImageId;
  width: number;
  height: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: ImageId;
  category_id: number;
  segmentation?: Segmentation;
  area?: number;
  bbox?: number[];
  iscrowd?: number | boolean;
  score?: number;
  [key: string]: unknown;
}

export interface CocoDataset {
  info?: unknown;
  licenses?: unknown;
  images?: CocoImage[];
  categories?: CocoCategory[];
  annotations?: CocoAnnotation[];
  [key: string]: unknown;
}

/** One detection in a results file. */
export interface CocoResult {
  image_id: ImageId;
  category_id: number;
  score: number;
  bbox?: number[];
  segmentation?: Segmentation;
  [key: string]: unknown;
}

type OneOrMany<T> = T | readonly T[];

const RESULT_KEYS = new Set(['id', 'image_id', 'category_id', 'score', 'bbox', 'segmentation', 'area', 'iscrowd']);

function asList<T>(v: OneOrMany<T> | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isImageId(v: unknown): v is ImageId {
  return isNum(v) || typeof v === 'string';
}

/**
 * Image ids in Python's sorted() order: numbers ascending, strings by code point; a mix of both is an error,
 * as it is for pycocotools (Python 3 cannot order an int and a str).
 */
export function sortImageIds(ids: ImageId[], source = 'dataset'): ImageId[] {
  let nums = 0;
  for (const id of ids) if (typeof id === 'number') nums++;
  if (nums === ids.length) return (ids as number[]).sort((a, b) => a - b);
  if (nums > 0) {
    const n = ids.find((id) => typeof id === 'number');
    const s = ids.find((id) => typeof id === 'string');
    throw new CocoFormatError(`${source}: image ids mix numbers and strings (e.g. ${n} and ${JSON.stringify(s)}); pycocotools cannot sort them either`);
  }
  return (ids as string[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function checkArray(ds: Record<string, unknown>, key: string, source: string): void {
  if (key in ds && !Array.isArray(ds[key])) throw new CocoFormatError(`${source}: '${key}' must be a list`);
}

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    const bytes = fs.readFileSync(file);
    // COCO files are ASCII in practice: then decoding is a byte copy instead of UTF-8 validation, which took
    // about 40% of the CPU time of loading a train2017-sized file (cocoapi:bench --train2017).
    text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  } catch (e) {
    throw new CocoFormatError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // Python's json (and so pycocotools) also reads bare NaN, Infinity and -Infinity.
    const lenient = parsePythonJson(text);
    if (lenient.ok) return lenient.value;
    throw new CocoFormatError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}

export class COCO {
  dataset: CocoDataset = {};
  anns = new Map<number, CocoAnnotation>();
  imgs = new Map<ImageId, CocoImage>();
  cats = new Map<number, CocoCategory>();
  imgToAnns = new Map<ImageId, CocoAnnotation[]>();
  catToImgs = new Map<number, ImageId[]>();
  /** Where the data came from, for error messages. */
  source: string;
  /** Set by loadRes for mask results: rleToBbox of result id i at row i-1 (saves decoding masks twice). */
  resultMaskBoxes: Float64Array | null = null;

  /** `dataset` is a parsed COCO JSON object or the path of one. */
  constructor(dataset?: CocoDataset | string) {
    if (typeof dataset === 'string') {
      this.source = dataset;
      dataset = readJsonFile(dataset) as CocoDataset;
    } else {
      this.source = 'dataset';
    }
    if (dataset !== undefined) {
      if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) {
        throw new CocoFormatError(`${this.source}: annotation file must hold a JSON object`);
      }
      this.dataset = dataset;
      this.createIndex();
    }
  }

  createIndex(): void {
    const ds = this.dataset;
    for (const key of ['images', 'annotations', 'categories']) checkArray(ds, key, this.source);
    const anns = new Map<number, CocoAnnotation>();
    const imgs = new Map<ImageId, CocoImage>();
    const cats = new Map<number, CocoCategory>();
    const imgToAnns = new Map<ImageId, CocoAnnotation[]>();
    const catToImgs = new Map<number, ImageId[]>();
    if (ds.annotations) {
      for (let i = 0; i < ds.annotations.length; i++) {
        const ann = ds.annotations[i];
        if (typeof ann !== 'object' || ann === null) {
          throw new CocoFormatError(`${this.source}: annotations[${i}] is not an object`);
        }
        if (!isNum(ann.id)) throw new CocoFormatError(`${this.source}: annotations[${i}] has no numeric 'id' (${describe(ann.id)})`);
        if (!isImageId(ann.image_id)) throw new CocoFormatError(`${this.source}: annotation id ${ann.id}: 'image_id' is ${describe(ann.image_id)}`);
        let list = imgToAnns.get(ann.image_id);
        if (!list) imgToAnns.set(ann.image_id, (list = []));
        list.push(ann);
        anns.set(ann.id, ann);
      }
    }
    if (ds.images) {
      for (let i = 0; i < ds.images.length; i++) {
        const img = ds.images[i];
        if (typeof img !== 'object' || img === null || !isImageId(img.id)) {
          throw new CocoFormatError(`${this.source}: images[${i}] has no 'id' (a number or a string)`);
        }
        imgs.set(img.id, img);
      }
    }
    if (ds.categories) {
      for (let i = 0; i < ds.categories.length; i++) {
        const cat = ds.categories[i];
        if (typeof cat !== 'object' || cat === null || !isNum(cat.id)) {
          throw new CocoFormatError(`${this.source}: categories[${i}] has no numeric 'id'`);
        }
        cats.set(cat.id, cat);
      }
    }
    if (ds.annotations && ds.categories) {
      for (const ann of ds.annotations) {
        if (!isNum(ann.category_id)) {
          throw new CocoFormatError(`${this.source}: annotation id ${ann.id}: 'category_id' is ${describe(ann.category_id)}`);
        }
        let list = catToImgs.get(ann.category_id);
        if (!list) catToImgs.set(ann.category_id, (list = []));
        list.push(ann.image_id);
      }
    }
    this.anns = anns;
    this.imgs = imgs;
    this.cats = cats;
    this.imgToAnns = imgToAnns;
    this.catToImgs = catToImgs;
  }

  /**
   * Ids of annotations matching all given filters (an empty filter is skipped): on the given images (in that
   * order), of the given categories, with area strictly inside areaRng, with the given crowd flag.
   */
  getAnnIds(
    opts: { imgIds?: OneOrMany<ImageId>; catIds?: OneOrMany<number>; areaRng?: readonly number[]; iscrowd?: boolean | number | null } = {},
  ): number[] {
    const imgIds = asList(opts.imgIds);
    const catIds = asList(opts.catIds);
    const areaRng = opts.areaRng ?? [];
    let anns: readonly CocoAnnotation[];
    if (imgIds.length === 0 && catIds.length === 0 && areaRng.length === 0) {
      anns = this.dataset.annotations ?? [];
    } else {
      if (imgIds.length !== 0) {
        const out: CocoAnnotation[] = [];
        for (const id of imgIds) {
          const l = this.imgToAnns.get(id);
          if (l) for (const a of l) out.push(a);
        }
        anns = out;
      } else {
        anns = this.dataset.annotations ?? [];
      }
      if (catIds.length !== 0) {
        const set = new Set(catIds);
        anns = anns.filter((a) => set.has(a.category_id));
      }
      if (areaRng.length !== 0) {
        anns = anns.filter((a) => (a.area as number) > areaRng[0] && (a.area as number) < areaRng[1]);
      }
    }
    if (opts.iscrowd !== undefined && opts.iscrowd !== null) {
      const want = Number(opts.iscrowd);
      return anns.filter((a) => Number(a.iscrowd) === want).map((a) => a.id);
    }
    return anns.map((a) => a.id);
  }

  /** Category ids filtered by name, supercategory name and id (in file order). */
  getCatIds(opts: { catNms?: OneOrMany<string>; supNms?: OneOrMany<string>; catIds?: OneOrMany<number> } = {}): number[] {
    const catNms = asList(opts.catNms);
    const supNms = asList(opts.supNms);
    const catIds = asList(opts.catIds);
    let cats: readonly CocoCategory[] = this.dataset.categories ?? [];
    if (catNms.length) cats = cats.filter((c) => catNms.includes(c.name));
    if (supNms.length) cats = cats.filter((c) => c.supercategory !== undefined && supNms.includes(c.supercategory));
    if (catIds.length) {
      const set = new Set(catIds);
      cats = cats.filter((c) => set.has(c.id));
    }
    return cats.map((c) => c.id);
  }

  /**
   * Image ids among `imgIds` (all images when empty) that contain every category of `catIds`. Without filters
   * the ids come in file order; with filters pycocotools returns a set, here sorted ascending.
   */
  getImgIds(opts: { imgIds?: OneOrMany<ImageId>; catIds?: OneOrMany<number> } = {}): ImageId[] {
    const imgIds = asList(opts.imgIds);
    const catIds = asList(opts.catIds);
    if (imgIds.length === 0 && catIds.length === 0) return [...this.imgs.keys()];
    let ids = new Set(imgIds);
    catIds.forEach((catId, i) => {
      const withCat = new Set(this.catToImgs.get(catId) ?? []);
      if (i === 0 && ids.size === 0) ids = withCat;
      else ids = new Set([...ids].filter((id) => withCat.has(id)));
    });
    return sortImageIds([...ids], this.source);
  }

  loadAnns(ids: OneOrMany<number>): CocoAnnotation[] {
    return asList(ids).map((id) => this.lookup(this.anns, id, 'annotation'));
  }

  loadCats(ids: OneOrMany<number>): CocoCategory[] {
    return asList(ids).map((id) => this.lookup(this.cats, id, 'category'));
  }

  loadImgs(ids: OneOrMany<ImageId>): CocoImage[] {
    return asList(ids).map((id) => this.lookup(this.imgs, id, 'image'));
  }

  private lookup<K extends ImageId, T>(map: Map<K, T>, id: K, what: string): T {
    const v = map.get(id);
    if (v === undefined) throw new CocoFormatError(`${this.source}: no ${what} with id ${id}`);
    return v;
  }

  /**
   * Load detection results (a list or the path of a JSON list) as a COCO object sharing this object's images.
   * As pycocotools: ids become 1-based positions, iscrowd 0; if the first result has a non-empty bbox, every
   * result is treated as a box result (area = w*h, a box polygon as segmentation when it has none), otherwise
   * as mask results (area = mask area, bbox = mask bbox when absent). Input objects are not modified.
   */
  loadRes(resFile: string | readonly CocoResult[]): COCO {
    const source = typeof resFile === 'string' ? resFile : 'results';
    const raw = typeof resFile === 'string' ? readJsonFile(resFile) : resFile;
    if (!Array.isArray(raw)) throw new CocoFormatError(`${source}: results must be a list of objects`);
    const res = new COCO();
    res.source = source;
    res.dataset.images = [...(this.dataset.images ?? [])];
    const input = raw as unknown[];
    const anns: CocoAnnotation[] = new Array(input.length);
    const first = input[0] as Record<string, unknown> | undefined;
    const bboxMode = first !== undefined && first !== null && Array.isArray(first.bbox) && first.bbox.length > 0;
    if (input.length > 0 && !bboxMode && (typeof first !== 'object' || first === null || !('segmentation' in first))) {
      throw new CocoFormatError(`${source}: result 1 has neither a 'bbox' nor a 'segmentation' (only bbox/segm results are supported)`);
    }
    const maskBoxes = bboxMode ? null : new Float64Array(4 * input.length);
    for (let i = 0; i < input.length; i++) {
      const r = input[i] as Record<string, unknown>;
      const id = i + 1;
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new CocoFormatError(`${source}: result ${id} is not an object`);
      const imageId = r.image_id;
      const catId = r.category_id;
      const score = r.score;
      if (!isImageId(imageId) || !this.imgs.has(imageId) || !isNum(catId) || typeof score !== 'number') {
        const where = `${source}: result ${id} (image_id ${describe(imageId)}, category_id ${describe(catId)})`;
        if (!isImageId(imageId)) throw new CocoFormatError(`${where}: 'image_id' must be a number or a string`);
        if (!this.imgs.has(imageId)) throw new CocoFormatError(`${where}: image_id ${imageId} is not an image of the ground truth`);
        if (!isNum(catId)) throw new CocoFormatError(`${where}: 'category_id' must be a number`);
        throw new CocoFormatError(`${where}: 'score' must be a number, got ${describe(score)}`);
      }
      // Fixed key order keeps the 500k result objects of a COCO-sized file on one hidden class.
      const ann: CocoAnnotation = {
        id,
        image_id: imageId,
        category_id: catId,
        score,
        bbox: r.bbox as number[] | undefined,
        segmentation: r.segmentation as Segmentation | undefined,
        area: 0,
        iscrowd: 0,
      };
      for (const key in r) if (!RESULT_KEYS.has(key)) ann[key] = r[key];
      if (bboxMode) {
        const bb = r.bbox;
        if (!Array.isArray(bb) || bb.length !== 4 || !isNum(bb[0]) || !isNum(bb[1]) || !isNum(bb[2]) || !isNum(bb[3])) {
          throw new CocoFormatError(`${source}: result ${id} (image_id ${imageId}, category_id ${catId}): 'bbox' must be [x, y, w, h], got ${describe(bb)}`);
        }
        const x = bb[0] as number;
        const y = bb[1] as number;
        const w = bb[2] as number;
        const h = bb[3] as number;
        if (!('segmentation' in r)) ann.segmentation = [[x, y, x, y + h, x + w, y + h, x + w, y]];
        ann.area = w * h;
      } else {
        const where = `${source}: result ${id} (image_id ${imageId}, category_id ${catId})`;
        const mb = maskBoxes as Float64Array;
        ann.area = rleInfoChecked(r.segmentation, where, mb, 4 * i);
        if (!('bbox' in r)) ann.bbox = [mb[4 * i], mb[4 * i + 1], mb[4 * i + 2], mb[4 * i + 3]];
      }
      if (!('bbox' in ann) || ann.bbox === undefined) delete ann.bbox;
      if (ann.segmentation === undefined) delete ann.segmentation;
      anns[i] = ann;
    }
    res.resultMaskBoxes = maskBoxes;
    res.dataset.categories = (this.dataset.categories ?? []).map((c) => structuredClone(c));
    res.dataset.annotations = anns;
    res.createIndex();
    return res;
  }

  /** Copies the cached mask bbox of a loadRes mask result into out; false when there is none. */
  cachedMaskBox(ann: CocoAnnotation, out: Float64Array, offset: number): boolean {
    const mb = this.resultMaskBoxes;
    const j = ann.id - 1;
    if (!mb || !Number.isInteger(j) || j < 0 || this.dataset.annotations?.[j] !== ann) return false;
    for (let c = 0; c < 4; c++) out[offset + c] = mb[4 * j + c];
    return true;
  }

  /** The image an annotation belongs to, with a usable height/width. */
  private imageOf(ann: CocoAnnotation, what: string): CocoImage {
    const img = this.imgs.get(ann.image_id);
    if (!img) throw new CocoFormatError(`${what}: image_id ${ann.image_id} is not in ${this.source}`);
    return img;
  }

  /** annToRLE as an RLE struct (no string encoding), with errors naming the annotation. */
  annToRle(ann: CocoAnnotation, what = `${this.source}: annotation id ${ann.id}`): RLE {
    const segm = ann.segmentation;
    if (segm === undefined) throw new CocoFormatError(`${what}: missing 'segmentation'`);
    if (Array.isArray(segm)) {
      const img = this.imageOf(ann, what);
      if (!isNum(img.height) || !isNum(img.width)) {
        throw new CocoFormatError(`${what}: image ${img.id} needs numeric 'height' and 'width' to rasterise polygons`);
      }
      return segmentationToRle(segm, img.height, img.width, what);
    }
    return segmentationToRle(segm, 0, 0, what);
  }

  /** Polygons / uncompressed RLE / RLE -> compressed RLE object (pycocotools annToRLE). */
  annToRLE(ann: CocoAnnotation): RleObject {
    const segm = ann.segmentation as Partial<RleObject> | undefined;
    // A compressed RLE is returned as is, like pycocotools (after validation).
    if (segm && !Array.isArray(segm) && typeof segm.counts === 'string') {
      this.annToRle(ann);
      return segm as RleObject;
    }
    return toRleObject(this.annToRle(ann));
  }

  /** Binary mask (column-major, see BinaryMask) of an annotation. */
  annToMask(ann: CocoAnnotation): BinaryMask {
    return rleDecode(this.annToRle(ann));
  }
}
