import { describe, expect, it } from 'vitest';
import { leaveOneOutScore, predict, score, trainKnn, vote } from '../../src/local-aws/algorithms/knn/knn.ts';
import { parseKnnHyperparameters } from '../../src/local-aws/algorithms/knn/hyperparameters.ts';
import { parseInstances, serializePredictions, UnsupportedMediaType } from '../../src/local-aws/algorithms/knn/formats.ts';
import { resolveImage } from '../../src/local-aws/sagemaker/images.ts';
import { irisSplit } from './helpers.ts';

describe('KNN math', () => {
  it('classifies Iris held-out rows with accuracy >= 0.9 for several k', () => {
    const { train, test } = irisSplit();
    for (const k of [1, 3, 5, 7]) {
      const model = trainKnn({
        rows: train.map((r) => r.slice(1)),
        labels: train.map((r) => r[0]),
        k,
        predictorType: 'classifier',
        featureDim: 4,
        sampleSize: 1000,
      });
      const s = score(
        model,
        test.map((r) => r.slice(1)),
        test.map((r) => r[0]),
      );
      expect(s.name).toBe('accuracy');
      expect(s.value).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('majority vote with deterministic tie-breaking (closer total distance, then smaller label)', () => {
    expect(vote([1, 2, 2], [0.1, 0.2, 0.3])).toBe(2);
    expect(vote([1, 2], [0.1, 0.2])).toBe(1);
    expect(vote([2, 1], [0.1, 0.2])).toBe(2);
    expect(vote([2, 1], [0.5, 0.5])).toBe(1);
  });

  it('regressor is the mean of the k nearest labels', () => {
    const model = trainKnn({ rows: [[0], [1], [2], [10]], labels: [0, 10, 20, 100], k: 3, predictorType: 'regressor', featureDim: 1, sampleSize: 10 });
    expect(predict(model, [[1]])[0].predicted_label).toBeCloseTo(10);
    expect(score(model, [[1]], [10])).toEqual({ name: 'mse', value: 0 });
  });

  it('samples sample_size points deterministically', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [i]);
    const labels = rows.map((r) => r[0] % 2);
    const a = trainKnn({ rows, labels, k: 1, predictorType: 'classifier', featureDim: 1, sampleSize: 10 });
    const b = trainKnn({ rows, labels, k: 1, predictorType: 'classifier', featureDim: 1, sampleSize: 10 });
    expect(a.labels).toHaveLength(10);
    expect(a.points).toEqual(b.points);
    expect(leaveOneOutScore(a).name).toBe('accuracy');
  });

  it('validates hyperparameters like SageMaker (strings in, ClientError out)', () => {
    expect(parseKnnHyperparameters({ k: '3', feature_dim: '4', predictor_type: 'regressor', sample_size: '100' })).toMatchObject({
      k: 3,
      featureDim: 4,
      predictorType: 'regressor',
    });
    expect(() => parseKnnHyperparameters({ feature_dim: '4', predictor_type: 'classifier', sample_size: '1' })).toThrow(
      /^ClientError: .*'k' is a required property/s,
    );
    expect(() => parseKnnHyperparameters({ k: '0', feature_dim: '4', predictor_type: 'classifier', sample_size: '1' })).toThrow(/positive integer/);
    expect(() => parseKnnHyperparameters({ k: '1', feature_dim: '4', predictor_type: 'clustering', sample_size: '1' })).toThrow(/is not one of/);
    expect(() => parseKnnHyperparameters({ k: '1', feature_dim: '4', predictor_type: 'classifier', sample_size: '1', bogus: '1' })).toThrow(
      /Additional properties/,
    );
  });

  it('speaks the KNN inference formats', () => {
    expect(parseInstances('1,2\n3,4\n', 'text/csv')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseInstances('{"instances":[{"features":[1,2]}]}', 'application/json')).toEqual([[1, 2]]);
    expect(parseInstances('{"features":[1,2]}\n{"features":[3,4]}', 'application/jsonlines')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(() => parseInstances('x', 'application/x-recordio-protobuf')).toThrow(UnsupportedMediaType);
    const preds = [{ predicted_label: 1 }, { predicted_label: 2.5 }];
    expect(serializePredictions(preds, 'application/json').body).toBe('{"predictions": [{"predicted_label": 1.0}, {"predicted_label": 2.5}]}');
    expect(serializePredictions(preds, 'application/jsonlines').body).toBe('{"predicted_label": 1.0}\n{"predicted_label": 2.5}');
    expect(serializePredictions(preds, 'text/csv').body).toBe('1.0\n2.5');
  });

  it('recognises AWS built-in KNN image URIs', () => {
    for (const img of [
      '404615174143.dkr.ecr.us-east-2.amazonaws.com/knn:1',
      '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1',
      '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn',
      '174872318107.dkr.ecr.us-west-2.amazonaws.com/knn:latest',
    ]) {
      expect(resolveImage(img, {}).kind).toBe('knn');
    }
    expect(resolveImage('382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1', {}).kind).toBe('unknown');
    expect(resolveImage('x/not-knn:1', {}).kind).toBe('unknown');
    expect(resolveImage('my/knn:1', { '/^my\\//': { command: ['true'] } }).kind).toBe('script');
  });
});
