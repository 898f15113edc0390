// Browser-safe analysis: log records -> curve series -> vega-lite specs. The node-only parts (log files,
// rendering, the curve hook, browse drawing) are exported by '@litv2/core/node'.
export * from './curves';
