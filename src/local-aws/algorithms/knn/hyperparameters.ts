/**
 * SageMaker KNN hyperparameter validation. Hyperparameters always arrive as
 * strings; like the built-in algorithm, bad ones fail the job with a
 * `ClientError: ...` reason rather than rejecting CreateTrainingJob.
 */
import type { IndexMetric, PredictorType } from './knn.ts';

export interface KnnHyperparameters {
  k: number;
  featureDim: number;
  predictorType: PredictorType;
  sampleSize: number;
  indexMetric: IndexMetric;
  indexType: string;
  dimensionReductionType?: string;
  dimensionReductionTarget?: number;
  miniBatchSize: number;
}

const KNOWN = new Set([
  'k',
  'feature_dim',
  'predictor_type',
  'sample_size',
  'dimension_reduction_target',
  'dimension_reduction_type',
  'faiss_index_ivf_nlists',
  'faiss_index_pq_m',
  'index_metric',
  'index_type',
  'mini_batch_size',
]);

export class KnnHyperparameterError extends Error {}

const prefix = 'ClientError: Unable to initialize the algorithm. Failed to validate input hyperparameters. (caused by ValidationError)\n\nCaused by: ';

function fail(msg: string): never {
  throw new KnnHyperparameterError(prefix + msg);
}

function posInt(hps: Record<string, string>, name: string, required: boolean): number | undefined {
  const raw = hps[name];
  if (raw === undefined) {
    if (required) fail(`'${name}' is a required property`);
    return undefined;
  }
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < 1)
    fail(`u'${raw}' is not valid under any of the given schemas (hyperparameter '${name}' must be a positive integer)`);
  return Number(raw);
}

export function parseKnnHyperparameters(hps: Record<string, string>): KnnHyperparameters {
  for (const k of Object.keys(hps)) {
    if (!KNOWN.has(k) && !k.startsWith('_') && !k.startsWith('sagemaker_')) fail(`Additional properties are not allowed (u'${k}' was unexpected)`);
  }
  const k = posInt(hps, 'k', true)!;
  const featureDim = posInt(hps, 'feature_dim', true)!;
  const pt = hps.predictor_type;
  if (pt === undefined) fail("'predictor_type' is a required property");
  if (pt !== 'classifier' && pt !== 'regressor') fail(`u'${pt}' is not one of [u'classifier', u'regressor']`);
  const sampleSize = posInt(hps, 'sample_size', true)!;
  const indexMetric = (hps.index_metric ?? 'L2') as IndexMetric;
  if (!['L2', 'INNER_PRODUCT', 'COSINE'].includes(indexMetric)) fail(`u'${indexMetric}' is not one of [u'L2', u'INNER_PRODUCT', u'COSINE']`);
  const indexType = hps.index_type ?? 'faiss.Flat';
  if (!['faiss.Flat', 'faiss.IVFFlat', 'faiss.IVFPQ'].includes(indexType))
    fail(`u'${indexType}' is not one of [u'faiss.Flat', u'faiss.IVFFlat', u'faiss.IVFPQ']`);
  const drt = hps.dimension_reduction_type;
  if (drt !== undefined && drt !== 'sign' && drt !== 'fjlt') fail(`u'${drt}' is not one of [u'sign', u'fjlt']`);
  const drTarget = posInt(hps, 'dimension_reduction_target', drt !== undefined);
  if (drTarget !== undefined && drTarget >= featureDim) fail(`dimension_reduction_target (${drTarget}) must be smaller than feature_dim (${featureDim})`);
  const miniBatchSize = posInt(hps, 'mini_batch_size', false) ?? 5000;
  posInt(hps, 'faiss_index_pq_m', false);
  if (hps.faiss_index_ivf_nlists !== undefined && hps.faiss_index_ivf_nlists !== 'auto') posInt(hps, 'faiss_index_ivf_nlists', false);
  return {
    k,
    featureDim,
    predictorType: pt,
    sampleSize,
    indexMetric,
    indexType,
    dimensionReductionType: drt,
    dimensionReductionTarget: drTarget,
    miniBatchSize,
  };
}
