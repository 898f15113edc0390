import * as fs from 'node:fs';
import * as path from 'node:path';
import { COCO, cleanAnnotations, describeGtProblem, findGtProblems, type CocoAnnotation, type ImageId } from '@litv2/cocoapi';
import { buildPipeline, ConfigError, DATASETS, PipelineDataset, type ConfigNode, type ConfigOrigin, type SampleInfo } from '@litv2/core';

/** mmdet 2.11 CocoDataset config keys. */
export interface CocoDatasetConfig {
  type: 'CocoDataset';
  ann_file: string;
  img_prefix?: string;
  pipeline: ConfigNode[];
  classes?: string[] | null;
  data_root?: string | null;
  test_mode?: boolean;
  filter_empty_gt?: boolean;
  seg_prefix?: string | null;
  proposal_file?: string | null;
}

/** A detection dataset with its COCO index and the contiguous-label → category-id table for evaluation. */
export class CocoDetDataset extends PipelineDataset {
  constructor(
    infos: SampleInfo[],
    pipeline: ReturnType<typeof buildPipeline>,
    classes: readonly string[],
    readonly coco: COCO,
    /** catIds[label] = COCO category id. */
    readonly catIds: number[],
    /** imgIds[i] = COCO image id of sample i. */
    readonly imgIds: ImageId[],
  ) {
    super(infos, pipeline, classes);
  }
}

export interface BuildCocoOptions {
  repoRoot: string;
  origin: ConfigOrigin;
  skipBadSamples?: boolean;
  log?: (line: string) => void;
  /** Training split: drop images without usable annotations and smaller than 32 px (mmdet _filter_imgs). */
  train: boolean;
}

const COCO_HINT =
  'COCO 2017 is expected in the standard layout under data/coco/: annotations/instances_{train,val}2017.json, ' +
  'train2017/ and val2017/ (download from https://cocodataset.org/#download and unpack there, or symlink data/coco to your copy)';

/** Parses one image's annotations as mmdet's `_parse_ann_info` does; a malformed box is an error naming the annotation. */
export function parseCocoAnns(
  anns: readonly CocoAnnotation[],
  img: { width: number; height: number },
  cat2label: Map<number, number>,
  source: string,
): { bboxes: Float32Array; labels: Int32Array; bboxesIgnore: Float32Array; ids: number[]; masks: number[][][] } {
  const boxes: number[] = [];
  const masks: number[][][] = [];
  const labels: number[] = [];
  const ignore: number[] = [];
  const ids: number[] = [];
  for (const ann of anns) {
    if (ann.ignore) continue;
    const b = ann.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`${source}: annotation id ${ann.id} (image ${ann.image_id}) has an invalid bbox ${JSON.stringify(b)}; expected [x, y, w, h] of 4 finite numbers`);
    }
    const [x1, y1, w, h] = b;
    const interW = Math.max(0, Math.min(x1 + w, img.width) - Math.max(x1, 0));
    const interH = Math.max(0, Math.min(y1 + h, img.height) - Math.max(y1, 0));
    // mmdet silently drops boxes outside the image, empty areas and boxes thinner than a pixel.
    if (interW * interH === 0) continue;
    if ((ann.area ?? w * h) <= 0 || w < 1 || h < 1) continue;
    const label = cat2label.get(ann.category_id);
    if (label === undefined) continue;
    if (ann.iscrowd) ignore.push(x1, y1, x1 + w, y1 + h);
    else {
      boxes.push(x1, y1, x1 + w, y1 + h);
      labels.push(label);
      ids.push(ann.id);
      masks.push(parsePolygons(ann, img, source));
    }
  }
  return { bboxes: Float32Array.from(boxes), labels: Int32Array.from(labels), bboxesIgnore: Float32Array.from(ignore), ids, masks };
}

/**
 * The instance mask of a non-crowd annotation as polygons (mmdet's PolygonMasks input). An annotation without a
 * segmentation gets an empty list (only box training can use it). A polygon with fewer than 3 points, an odd
 * number of coordinates or a non-finite coordinate is an error naming the annotation. Uncompressed or compressed
 * RLE on a non-crowd instance is checked against the image size and then reported as unsupported.
 */
function parsePolygons(ann: CocoAnnotation, img: { width: number; height: number }, source: string): number[][] {
  const seg = (ann as { segmentation?: unknown }).segmentation;
  const where = `${source}: annotation id ${ann.id} (image ${ann.image_id})`;
  if (seg === undefined || seg === null) return [];
  if (Array.isArray(seg)) {
    return seg.map((poly, k) => {
      if (!Array.isArray(poly) || poly.length < 6 || poly.length % 2 !== 0 || !poly.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`${where} has an invalid polygon ${k}: expected at least 3 points as an even list of finite numbers, got ${JSON.stringify(poly).slice(0, 80)}`);
      }
      return (poly as number[]).slice();
    });
  }
  const size = (seg as { size?: unknown }).size;
  if (!Array.isArray(size) || size[0] !== img.height || size[1] !== img.width) {
    throw new Error(`${where} has an RLE mask of size ${JSON.stringify(size)}, but the image is ${img.height}x${img.width}`);
  }
  throw new Error(`${where}: RLE masks on non-crowd instances are not supported yet (use polygons)`);
}

/** Builds `data.train` / `data.val` / `data.test` of type CocoDataset. */
export function buildCocoDataset(cfg: CocoDatasetConfig, opts: BuildCocoOptions): CocoDetDataset {
  const at = (k: string): ConfigOrigin => ({ ...opts.origin, path: `${opts.origin.path}.${k}` });
  if (typeof cfg.ann_file !== 'string') throw new ConfigError(`ann_file must be a path`, at('ann_file'));
  const root = cfg.data_root ? path.resolve(opts.repoRoot, cfg.data_root) : opts.repoRoot;
  const annFile = path.resolve(root, cfg.ann_file);
  // The pipeline is a config: its errors come before any file is read.
  const pipeline = buildPipeline(cfg.pipeline, at('pipeline'), { dataRoot: root });
  if (!fs.existsSync(annFile)) {
    const isCoco = /coco/i.test(annFile);
    throw new ConfigError(`annotation file ${annFile} not found${isCoco ? `. ${COCO_HINT}` : ''}`, at('ann_file'));
  }
  const imgPrefix = path.resolve(root, cfg.img_prefix ?? '');
  const coco = new COCO(annFile);
  // pycocotools indexes invalid ground truth without a word; here it stops the run (or is dropped, logged).
  const problems = findGtProblems(coco);
  const badImages = new Set(problems.length && opts.skipBadSamples ? [...coco.imgs.values()].filter((im) => !(im.width > 0) || !(im.height > 0)).map((im) => im.id) : []);
  if (problems.length) {
    const summary = problems.map(describeGtProblem).join('; ');
    if (!opts.skipBadSamples) throw new Error(`${annFile}: invalid ground truth: ${summary}; fix the file or pass --skip-bad-samples to drop these annotations and images`);
    const { kept, dropped } = cleanAnnotations(coco);
    coco.dataset.annotations = kept;
    coco.createIndex();
    opts.log?.(`${annFile}: dropped ${dropped} annotation(s) and ${badImages.size} image(s) of invalid ground truth (--skip-bad-samples): ${summary}`);
  }
  let cats = [...coco.cats.values()];
  if (cfg.classes) {
    const want = new Set(cfg.classes);
    cats = cats.filter((c) => want.has(c.name));
    const missing = cfg.classes.filter((n) => !cats.some((c) => c.name === n));
    if (missing.length) throw new ConfigError(`classes not in ${annFile}: ${missing.join(', ')}`, at('classes'));
  }
  // pycocotools getCatIds order (the file's category order); label = position in that list.
  const catIds = cats.map((c) => c.id);
  const cat2label = new Map(catIds.map((id, i) => [id, i]));
  const classes = cats.map((c) => c.name);
  const filterEmpty = cfg.filter_empty_gt ?? true;
  const idsInCat = new Set<ImageId>();
  for (const id of catIds) for (const im of coco.catToImgs.get(id) ?? []) idsInCat.add(im);
  const infos: SampleInfo[] = [];
  const imgIds: ImageId[] = [];
  for (const img of coco.imgs.values()) {
    if (badImages.has(img.id)) continue;
    if (opts.train && !cfg.test_mode) {
      if (filterEmpty && !idsInCat.has(img.id)) continue;
      if (Math.min(img.width, img.height) < 32) continue;
    }
    let ann;
    try {
      ann = parseCocoAnns(coco.imgToAnns.get(img.id) ?? [], img, cat2label, annFile);
    } catch (e) {
      if (!opts.skipBadSamples) throw e;
      opts.log?.(`skipping image ${img.id} (${img.file_name}): ${(e as Error).message}`);
      continue;
    }
    const filename = String(img.file_name ?? '');
    if (!filename) throw new Error(`${annFile}: image id ${img.id} has no file_name`);
    infos.push({ index: infos.length, filename, imgPrefix, height: img.height, width: img.width, ann, extra: { img_id: img.id } });
    imgIds.push(img.id);
  }
  return new CocoDetDataset(infos, pipeline, classes, coco, catIds, imgIds);
}

DATASETS.register('CocoDataset', {
  defaults: { ann_file: undefined, img_prefix: '', pipeline: [], classes: null, data_root: null, test_mode: false, filter_empty_gt: true, seg_prefix: null, proposal_file: null } as ConfigNode,
  build: (cfg, ctx, origin) => {
    if (cfg.seg_prefix !== null) throw new ConfigError('seg_prefix (panoptic / semantic maps) is not supported', { ...origin, path: `${origin.path}.seg_prefix` });
    if (cfg.proposal_file !== null) throw new ConfigError('proposal_file (precomputed proposals) is not supported', { ...origin, path: `${origin.path}.proposal_file` });
    if (cfg.classes !== null && (!Array.isArray(cfg.classes) || !cfg.classes.every((c) => typeof c === 'string'))) throw new ConfigError('classes must be a list of category names or null', { ...origin, path: `${origin.path}.classes` });
    return buildCocoDataset(cfg as unknown as CocoDatasetConfig, { repoRoot: ctx.repoRoot, origin, skipBadSamples: ctx.skipBadSamples, log: ctx.log, train: ctx.train });
  },
});
