/**
 * Reading numbers back out of a prom-client registry for the deferrals page: quantiles of a
 * histogram (linear interpolation inside the bucket, as PromQL's histogram_quantile does) and the
 * sum of a counter. The metric names are looked up by pattern because the runtime's and
 * triggerer's metric modules are owned elsewhere; a missing metric reads as null, never 0.
 */
import type { Registry } from 'prom-client';

interface MetricJson {
  name: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

async function metrics(registry: Registry): Promise<MetricJson[]> {
  return (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
}

export async function findMetric(registry: Registry, type: 'histogram' | 'counter' | 'gauge', pattern: RegExp): Promise<MetricJson | null> {
  return (await metrics(registry)).find((m) => m.type === type && pattern.test(m.name)) ?? null;
}

/** histogram_quantile over all label sets merged; null when the histogram is empty. */
export function histogramQuantiles(m: MetricJson, qs: number[]): { count: number; quantiles: Array<number | null> } {
  const buckets = new Map<number, number>();
  let count = 0;
  for (const v of m.values) {
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + v.value);
    } else if (v.metricName?.endsWith('_count')) count += v.value;
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  if (!count || !sorted.length) return { count, quantiles: qs.map(() => null) };
  const quantiles = qs.map((q) => {
    const rank = q * count;
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, c] of sorted) {
      if (c >= rank) {
        if (le === Infinity) return prevLe; // beyond the last finite bucket: its bound is the best we know
        const inBucket = c - prevCount;
        return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
      }
      prevLe = le;
      prevCount = c;
    }
    return prevLe;
  });
  return { count, quantiles };
}

/** histogram_quantile over merged cumulative buckets (`le` → count); null when empty. */
export function quantilesFromBuckets(buckets: Map<number, number>, count: number, qs: number[]): Array<number | null> {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  if (!count || !sorted.length) return qs.map(() => null);
  return qs.map((q) => {
    const rank = q * count;
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, c] of sorted) {
      if (c >= rank) {
        if (le === Number.POSITIVE_INFINITY) return prevLe;
        const inBucket = c - prevCount;
        return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
      }
      prevLe = le;
      prevCount = c;
    }
    return prevLe;
  });
}

export function counterSum(m: MetricJson): number {
  return m.values.reduce((s, v) => s + v.value, 0);
}
