/**
 * Ground-truth checks that pycocotools does not make: it indexes whatever it is given, so a negative-width box,
 * an annotation of an unknown category or image, or two annotations sharing an id change AP without a word
 * (for a shared id it keeps the last annotation of the id and counts it once per occurrence). These functions
 * report such problems with counts and example ids; callers decide whether a problem is a warning or an error.
 */
import type { COCO, CocoAnnotation, CocoDataset } from './coco';

export type GtProblemKind = 'duplicate_ann_id' | 'nonpositive_box' | 'nonpositive_image_size' | 'unknown_category' | 'unknown_image';

export interface GtProblem {
  kind: GtProblemKind;
  /** Number of annotations (images for nonpositive_image_size; distinct ids for duplicate_ann_id) concerned. */
  count: number;
  /** The first few annotation ids (image ids for nonpositive_image_size), in file order. */
  examples: (number | string)[];
}

const MAX_EXAMPLES = 5;

const DESCRIPTION: Record<GtProblemKind, (n: number) => string> = {
  duplicate_ann_id: (n) => `${n} annotation id(s) used by more than one annotation`,
  nonpositive_box: (n) => `${n} annotation(s) with a bbox width or height <= 0`,
  nonpositive_image_size: (n) => `${n} image(s) with a width or height <= 0`,
  unknown_category: (n) => `${n} annotation(s) of a category_id not in 'categories'`,
  unknown_image: (n) => `${n} annotation(s) of an image_id not in 'images'`,
};

/** One line: `3 annotation(s) with a bbox width or height <= 0 (ids 4, 9, 12)`. */
export function describeGtProblem(p: GtProblem): string {
  const what = p.kind === 'nonpositive_image_size' ? 'image ids' : 'ids';
  return `${DESCRIPTION[p.kind](p.count)} (${what} ${p.examples.join(', ')}${p.count > p.examples.length ? ', …' : ''})`;
}

/** A numeric [x, y, w, h] box with w <= 0 or h <= 0 (malformed boxes are reported where they are read). */
function nonPositiveBox(a: CocoAnnotation): boolean {
  const b = a.bbox;
  return Array.isArray(b) && b.length === 4 && typeof b[2] === 'number' && typeof b[3] === 'number' && (b[2] <= 0 || b[3] <= 0);
}

/** All problems of a ground-truth dataset, in a fixed order (duplicates first); empty when it is clean. */
export function findGtProblems(coco: COCO): GtProblem[] {
  const ds: CocoDataset = coco.dataset;
  const anns = ds.annotations ?? [];
  const found = new Map<GtProblemKind, GtProblem>();
  const note = (kind: GtProblemKind, id: number | string) => {
    let p = found.get(kind);
    if (!p) found.set(kind, (p = { kind, count: 0, examples: [] }));
    p.count++;
    if (p.examples.length < MAX_EXAMPLES) p.examples.push(id);
  };
  for (const img of ds.images ?? []) {
    if (!(img.width > 0) || !(img.height > 0)) note('nonpositive_image_size', img.id);
  }
  const seen = new Map<number, number>();
  const hasCats = ds.categories !== undefined;
  for (const a of anns) {
    const n = (seen.get(a.id) ?? 0) + 1;
    seen.set(a.id, n);
    if (n === 2) note('duplicate_ann_id', a.id);
    if (nonPositiveBox(a)) note('nonpositive_box', a.id);
    if (hasCats && !coco.cats.has(a.category_id)) note('unknown_category', a.id);
    if (!coco.imgs.has(a.image_id)) note('unknown_image', a.id);
  }
  const order: GtProblemKind[] = ['duplicate_ann_id', 'nonpositive_box', 'nonpositive_image_size', 'unknown_category', 'unknown_image'];
  return order.flatMap((k) => (found.has(k) ? [found.get(k)!] : []));
}

/**
 * The annotations that pass every check: no box of size <= 0, a known category and image, and only the first
 * annotation of a shared id (later ones are dropped). Used by `--skip-bad-samples`.
 */
export function cleanAnnotations(coco: COCO): { kept: CocoAnnotation[]; dropped: number } {
  const anns = coco.dataset.annotations ?? [];
  const hasCats = coco.dataset.categories !== undefined;
  const seen = new Set<number>();
  const kept: CocoAnnotation[] = [];
  for (const a of anns) {
    if (seen.has(a.id) || nonPositiveBox(a) || (hasCats && !coco.cats.has(a.category_id)) || !coco.imgs.has(a.image_id)) continue;
    seen.add(a.id);
    kept.push(a);
  }
  return { kept, dropped: anns.length - kept.length };
}
