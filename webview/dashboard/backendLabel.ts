/**
 * The runs table's Backend cell: a short label (`native ×2`, `wasm`) from the engine's long
 * description ("native (TF.js cpu + Node-API addon, /lib/…/libopenblas.so.0 -> …, 1 BLAS threads) ×
 * 2 workers"); the whole description goes in the cell's tooltip.
 */
export function shortBackend(description: string): string {
  const name = /^[a-z]+/i.exec(description.trim())?.[0] ?? description.trim();
  const workers = /×\s*(\d+)\s*workers?\s*$/.exec(description);
  return workers && Number(workers[1]) > 1 ? `${name} ×${workers[1]}` : name;
}
