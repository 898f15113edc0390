/**
 * The confusion matrix as a heat map (vega-lite): rows ground truth, columns prediction, cells coloured and
 * labelled by the row-normalised percentage (mmdet's picture), the raw count under it.
 */
import type { TopLevelSpec } from 'vega-lite';
import { normalizeRows, type ConfusionMatrix } from './confusion_matrix';

export function confusionChartSpec(cm: ConfusionMatrix, title = 'Normalized Confusion Matrix'): TopLevelSpec {
  const pct = normalizeRows(cm.counts);
  const cells: { gt: string; pred: string; pct: number | null; label: string; count: number }[] = [];
  cm.labels.forEach((gt, i) =>
    cm.labels.forEach((pred, j) => {
      const v = pct[i][j];
      cells.push({ gt, pred, pct: Number.isNaN(v) ? null : v, label: Number.isNaN(v) ? '-' : `${Math.floor(v)}%`, count: cm.counts[i][j] });
    }),
  );
  const side = Math.max(160, 44 * cm.labels.length);
  const axisSort = cm.labels;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `score >= ${cm.scoreThr}, IoU >= ${cm.tpIouThr}${cm.nmsIouThr ? `, NMS ${cm.nmsIouThr}` : ''}` },
    background: 'white',
    padding: 10,
    width: side,
    height: side,
    data: { values: cells },
    config: { font: 'DejaVu Sans, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 } },
    encoding: {
      x: { field: 'pred', type: 'nominal', sort: axisSort, title: 'Prediction Label', axis: { orient: 'top', labelAngle: -45, labelAlign: 'left' } },
      y: { field: 'gt', type: 'nominal', sort: axisSort, title: 'Ground Truth Label' },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#888', strokeWidth: 0.5 },
        encoding: { color: { field: 'pct', type: 'quantitative', scale: { scheme: 'plasma', domain: [0, 100] }, title: '% of row' } },
      },
      {
        mark: { type: 'text', fontSize: 11, dy: -6 },
        encoding: { text: { field: 'label' }, color: { condition: { test: 'datum.pct > 60', value: 'black' }, value: 'white' } },
      },
      {
        mark: { type: 'text', fontSize: 9, dy: 8 },
        encoding: { text: { field: 'count' }, color: { condition: { test: 'datum.pct > 60', value: 'black' }, value: 'white' } },
      },
    ],
  } as TopLevelSpec;
}
