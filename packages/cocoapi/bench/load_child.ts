/**
 * Child process of `cocoapi:bench --train2017`: loads one annotation file and prints one JSON line with the
 * load's wall and CPU seconds and the process's peak RSS (a fresh process, so the peak is the load's own).
 *   tsx bench/load_child.ts FILE coco|lazy|json-parse
 */
import * as fs from 'node:fs';
import { COCO, type CocoLoadInfo, readCocoFile } from '../src';

const [file, how] = process.argv.slice(2);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const w0 = performance.now();
const c0 = cpu();
const info: Partial<CocoLoadInfo> = {};
let anns: number;
let images: number;
if (how === 'lazy') {
  const coco = new COCO(readCocoFile(file, info) as never);
  anns = coco.anns.size;
  images = coco.imgs.size;
} else if (how === 'json-parse') {
  // What COCO did before: decode the whole file and JSON.parse it, then index.
  const coco = new COCO(JSON.parse(fs.readFileSync(file, 'utf8')));
  anns = coco.anns.size;
  images = coco.imgs.size;
} else {
  const coco = new COCO(file);
  anns = coco.anns.size;
  images = coco.imgs.size;
}
const loadWall = (performance.now() - w0) / 1000;
const loadCpu = cpu() - c0;
console.log(JSON.stringify({ how, images, anns, loadWall, loadCpu, maxRssMB: process.resourceUsage().maxRSS / 1024, heapMB: process.memoryUsage().heapUsed / 2 ** 20, info }));
