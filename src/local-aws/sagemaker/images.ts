/**
 * Which local "container" runs an image: a user-mapped script image (option
 * `scriptImages`, exact URI or /regex/), or SageMaker's built-in KNN (any
 * image whose repository path ends in `/knn`, e.g.
 * `382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1`).
 */
import { matchesNamePattern } from '../config.ts';
import type { ScriptImage } from '../types.ts';

export type ImageKind = { kind: 'knn' } | { kind: 'script'; spec: ScriptImage } | { kind: 'unknown' };

const KNN_IMAGE = /(^|\/)knn(:[\w.-]+|@sha256:[0-9a-f]{64})?$/;

export function resolveImage(image: string | undefined, scriptImages: Record<string, ScriptImage>): ImageKind {
  if (!image) return { kind: 'unknown' };
  for (const [pattern, spec] of Object.entries(scriptImages)) {
    if (matchesNamePattern(pattern, image)) return { kind: 'script', spec };
  }
  if (KNN_IMAGE.test(image)) return { kind: 'knn' };
  return { kind: 'unknown' };
}

/** The metric regexes SageMaker defines for its built-in KNN (plus the local training-score fallback). */
export const KNN_METRIC_DEFINITIONS = [
  { Name: 'test:accuracy', Regex: '#quality_metric: host=\\S+, test accuracy <score>=(\\S+)' },
  { Name: 'test:mse', Regex: '#quality_metric: host=\\S+, test mse <score>=(\\S+)' },
  { Name: 'train:accuracy', Regex: '#quality_metric: host=\\S+, train accuracy <score>=(\\S+)' },
  { Name: 'train:mse', Regex: '#quality_metric: host=\\S+, train mse <score>=(\\S+)' },
];
