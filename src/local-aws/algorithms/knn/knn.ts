/**
 * k-nearest-neighbours as SageMaker's built-in KNN does it (brute-force
 * "faiss.Flat" index): classifier = majority vote of the k nearest training
 * points, regressor = mean of their labels. Pure functions, so the math is
 * unit-testable in-process; the container script only does I/O around them.
 */
import { mulberry32 } from '../../../util/prng.ts';

export type PredictorType = 'classifier' | 'regressor';
export type IndexMetric = 'L2' | 'INNER_PRODUCT' | 'COSINE';

export interface KnnModel {
  format: 'local-aws-knn/1';
  k: number;
  predictorType: PredictorType;
  featureDim: number;
  indexMetric: IndexMetric;
  /** Row-major training points (n * featureDim). */
  points: number[];
  labels: number[];
}

export interface Prediction {
  predicted_label: number;
  /** Present for verbose output: neighbour distances and labels, nearest first. */
  distances?: number[];
  labels?: number[];
}

export function trainKnn(opts: {
  rows: number[][];
  labels: number[];
  k: number;
  predictorType: PredictorType;
  featureDim: number;
  sampleSize: number;
  indexMetric?: IndexMetric;
  seed?: number;
}): KnnModel {
  const n = opts.rows.length;
  let idx = Array.from({ length: n }, (_, i) => i);
  if (n > opts.sampleSize) {
    // Reservoir-free partial Fisher-Yates: the first sampleSize slots become the sample.
    const r = mulberry32(opts.seed ?? 0);
    for (let i = 0; i < opts.sampleSize; i++) {
      const j = i + Math.floor(r() * (n - i));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    idx = idx.slice(0, opts.sampleSize).sort((a, b) => a - b);
  }
  const points: number[] = [];
  const labels: number[] = [];
  for (const i of idx) {
    points.push(...opts.rows[i]);
    labels.push(opts.labels[i]);
  }
  return {
    format: 'local-aws-knn/1',
    k: opts.k,
    predictorType: opts.predictorType,
    featureDim: opts.featureDim,
    indexMetric: opts.indexMetric ?? 'L2',
    points,
    labels,
  };
}

function distance(model: KnnModel, p: number, x: number[]): number {
  const d = model.featureDim;
  const base = p * d;
  if (model.indexMetric === 'L2') {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = model.points[base + j] - x[j];
      s += t * t;
    }
    return s;
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < d; j++) {
    const a = model.points[base + j];
    dot += a * x[j];
    na += a * a;
    nb += x[j] * x[j];
  }
  // Larger similarity = nearer; negate so "smaller is nearer" holds for every metric.
  if (model.indexMetric === 'INNER_PRODUCT') return -dot;
  return -(dot / (Math.sqrt(na) * Math.sqrt(nb) || 1));
}

/** The k nearest training points: distance ascending, ties by training order (stable and deterministic). */
export function neighbours(model: KnnModel, x: number[], k = model.k): Array<{ i: number; d: number }> {
  const n = model.labels.length;
  const kk = Math.min(k, n);
  const best: Array<{ i: number; d: number }> = [];
  for (let i = 0; i < n; i++) {
    const d = distance(model, i, x);
    if (best.length < kk || d < best[best.length - 1].d) {
      let pos = best.length;
      while (pos > 0 && best[pos - 1].d > d) pos--;
      best.splice(pos, 0, { i, d });
      if (best.length > kk) best.pop();
    }
  }
  return best;
}

/**
 * Majority vote. Ties go to the label whose tied neighbours are closer in
 * total (sum of distances), then to the smaller label value: deterministic.
 */
export function vote(labels: number[], distances: number[]): number {
  const count = new Map<number, { n: number; dist: number }>();
  labels.forEach((l, i) => {
    const c = count.get(l) ?? { n: 0, dist: 0 };
    c.n++;
    c.dist += distances[i];
    count.set(l, c);
  });
  let bestLabel = NaN;
  let best = { n: -1, dist: Infinity };
  for (const [l, c] of count) {
    if (c.n > best.n || (c.n === best.n && (c.dist < best.dist || (c.dist === best.dist && l < bestLabel)))) {
      best = c;
      bestLabel = l;
    }
  }
  return bestLabel;
}

export function predictOne(model: KnnModel, x: number[], verbose = false): Prediction {
  if (x.length !== model.featureDim) throw new Error(`Feature dimension mismatch: expected ${model.featureDim}, got ${x.length}`);
  const nb = neighbours(model, x);
  const labels = nb.map((e) => model.labels[e.i]);
  const dists = nb.map((e) => (model.indexMetric === 'L2' ? Math.sqrt(e.d) : e.d));
  const predicted_label = model.predictorType === 'classifier' ? vote(labels, dists) : labels.reduce((a, b) => a + b, 0) / (labels.length || 1);
  return verbose ? { predicted_label, distances: dists, labels } : { predicted_label };
}

export function predict(model: KnnModel, xs: number[][], verbose = false): Prediction[] {
  return xs.map((x) => predictOne(model, x, verbose));
}

/** SageMaker KNN's test metrics: accuracy for classifiers, mean squared error for regressors. */
export function score(model: KnnModel, xs: number[][], ys: number[]): { name: 'accuracy' | 'mse'; value: number } {
  const preds = predict(model, xs);
  if (model.predictorType === 'classifier') {
    const ok = preds.filter((p, i) => p.predicted_label === ys[i]).length;
    return { name: 'accuracy', value: xs.length ? ok / xs.length : 0 };
  }
  const se = preds.reduce((s, p, i) => s + (p.predicted_label - ys[i]) ** 2, 0);
  return { name: 'mse', value: xs.length ? se / xs.length : 0 };
}

/** Leave-one-out score on the model's own sample: the training-quality metric when no test channel exists. */
export function leaveOneOutScore(model: KnnModel): { name: 'accuracy' | 'mse'; value: number } {
  const n = model.labels.length;
  if (n < 2) return { name: model.predictorType === 'classifier' ? 'accuracy' : 'mse', value: 0 };
  let ok = 0;
  let se = 0;
  for (let i = 0; i < n; i++) {
    const x = model.points.slice(i * model.featureDim, (i + 1) * model.featureDim);
    const nb = neighbours(model, x, model.k + 1)
      .filter((e) => e.i !== i)
      .slice(0, model.k);
    const labels = nb.map((e) => model.labels[e.i]);
    const dists = nb.map((e) => e.d);
    if (model.predictorType === 'classifier') ok += vote(labels, dists) === model.labels[i] ? 1 : 0;
    else se += (labels.reduce((a, b) => a + b, 0) / labels.length - model.labels[i]) ** 2;
  }
  return model.predictorType === 'classifier' ? { name: 'accuracy', value: ok / n } : { name: 'mse', value: se / n };
}
