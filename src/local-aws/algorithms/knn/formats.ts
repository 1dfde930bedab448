/**
 * KNN inference wire formats, mirroring SageMaker's KNN: requests in text/csv,
 * application/json (`{"instances":[{"features":[...]}]}`) or
 * application/jsonlines; responses in application/json
 * (`{"predictions":[{"predicted_label":1.0}]}`, `; verbose=true` adds
 * distances and neighbour labels), application/jsonlines, or text/csv.
 */
import type { Prediction } from './knn.ts';

export class UnsupportedMediaType extends Error {}
export class BadInput extends Error {}

function mediaType(ct: string | undefined): { type: string; params: Record<string, string> } {
  const [type, ...rest] = (ct ?? '').split(';').map((s) => s.trim());
  const params: Record<string, string> = {};
  for (const p of rest) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k) params[k.toLowerCase()] = v ?? '';
  }
  return { type: (type || '').toLowerCase(), params };
}

function parseNumbers(cells: string[], where: string): number[] {
  return cells.map((c) => {
    const n = Number(c.trim());
    if (c.trim() === '' || !Number.isFinite(n)) throw new BadInput(`Unable to parse ${where}: '${c}' is not a number`);
    return n;
  });
}

/** Parses a label-less inference payload into feature rows. */
export function parseInstances(body: string, contentType: string | undefined): number[][] {
  const { type, params } = mediaType(contentType);
  if (type === 'text/csv' || type === '') {
    const labelSize = Number(params.label_size ?? 0);
    return body
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .map((l, i) => parseNumbers(l.split(','), `line ${i + 1}`).slice(labelSize));
  }
  const fromObj = (o: unknown, where: string): number[] => {
    const f = (o as { features?: unknown }).features ?? (o as { data?: { features?: { values?: unknown } } }).data?.features?.values;
    if (!Array.isArray(f)) throw new BadInput(`Missing "features" in ${where}`);
    return parseNumbers(f.map(String), where);
  };
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      throw new BadInput(`Unable to parse JSON request: ${(e as Error).message}`);
    }
    const inst = (parsed as { instances?: unknown }).instances;
    if (!Array.isArray(inst)) throw new BadInput('JSON request must be {"instances": [{"features": [...]}, ...]}');
    return inst.map((o, i) => fromObj(o, `instance ${i}`));
  }
  if (type === 'application/jsonlines') {
    return body
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        try {
          return fromObj(JSON.parse(l), `line ${i + 1}`);
        } catch (e) {
          if (e instanceof BadInput) throw e;
          throw new BadInput(`Unable to parse JSON line ${i + 1}`);
        }
      });
  }
  throw new UnsupportedMediaType(
    `Content type ${contentType} is not supported by this algorithm (supported: text/csv, application/json, application/jsonlines)`,
  );
}

/** SageMaker's KNN writes labels as floats (1.0), as its Python serialiser does. */
function num(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

function predictionJson(p: Prediction): string {
  let s = `{"predicted_label": ${num(p.predicted_label)}`;
  if (p.distances) s += `, "distances": [${p.distances.map(num).join(', ')}]`;
  if (p.labels) s += `, "labels": [${p.labels.map(num).join(', ')}]`;
  return `${s}}`;
}

export function isVerbose(accept: string | undefined): boolean {
  return mediaType(accept).params.verbose === 'true';
}

/** Serialises predictions for an Accept type; returns the body and the response content type. */
export function serializePredictions(preds: Prediction[], accept: string | undefined): { body: string; contentType: string } {
  const { type } = mediaType(accept);
  if (type === '' || type === '*/*' || type === 'application/json') {
    return { body: `{"predictions": [${preds.map(predictionJson).join(', ')}]}`, contentType: 'application/json' };
  }
  if (type === 'application/jsonlines') {
    return { body: preds.map(predictionJson).join('\n'), contentType: 'application/jsonlines' };
  }
  if (type === 'text/csv') {
    return { body: preds.map((p) => num(p.predicted_label)).join('\n'), contentType: 'text/csv' };
  }
  throw new UnsupportedMediaType(`Accept type ${accept} is not supported by this algorithm (supported: application/json, application/jsonlines, text/csv)`);
}
