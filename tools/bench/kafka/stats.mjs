// Order statistics for the benchmark: medians across repetitions and
// percentiles of latency samples (nearest-rank, no interpolation).

/** q in [0, 1]; nearest-rank percentile of the numbers (NaN for none). */
export function percentile(values, q) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const rank = Math.min(xs.length, Math.max(1, Math.ceil(q * xs.length)));
  return xs[rank - 1];
}

/** Median; for an even count, the mean of the two middle values. */
export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** (max − min) / median of the finite values, as a fraction (NaN for fewer than 2). */
export function spread(values) {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length < 2) return NaN;
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

/** Summary of latency samples in ms. */
export function latencySummary(samples) {
  return {
    samples: samples.length,
    p50: percentile(samples, 0.5),
    p90: percentile(samples, 0.9),
    p99: percentile(samples, 0.99),
    max: samples.length ? Math.max(...samples) : NaN,
  };
}
