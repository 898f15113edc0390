/**
 * Renders vega-lite specs in Node: vega lays the chart out and writes SVG (its 'none' renderer needs no
 * canvas package; text widths are estimated), then sharp's SVG rasteriser (librsvg, shipped as npm packages)
 * makes the PNG. Node-only (sharp, fs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';

/** SVG text of a vega-lite spec. */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: importing the core package stays cheap for everything that draws nothing.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vg = compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG text; `scale` 2 doubles the pixel size for sharper text. */
export async function svgToPng(svg: string, scale = 1): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

/** The two files a chart is written as. */
export interface ChartFiles {
  png: string;
  svg: string;
}

/**
 * Writes `<base>.png` and `<base>.svg` for `out` (its extension, if .png or .svg, is dropped), each through a
 * temp file and a rename so a reader never sees half a picture.
 */
export async function writeChart(spec: TopLevelSpec, out: string, scale = 1): Promise<ChartFiles> {
  const base = out.replace(/\.(png|svg)$/i, '');
  fs.mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
  const svg = await vegaLiteToSvg(spec);
  const png = await svgToPng(svg, scale);
  const files = { png: `${base}.png`, svg: `${base}.svg` };
  replaceFile(files.svg, svg);
  replaceFile(files.png, png);
  return files;
}

function replaceFile(file: string, content: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
