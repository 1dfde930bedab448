/**
 * A DAG param with a type, a description and allowed values (Airflow's `Param`): what the UI's
 * trigger form builds its typed fields from. Tasks see the value (`params.epochs`, `{{ params.epochs }}`),
 * a run's conf overriding it; the DAG stores it as Airflow serializes a Param.
 *
 *   new DAG({ dagId: 'train', params: { epochs: new Param(3, { type: 'integer', description: 'passes over the data' }),
 *                                       instance_type: new Param('ml.m5.large', { enum: ['ml.m5.large', 'ml.c5.xlarge'] }) } }, …)
 */
export const PARAM_CLASS = 'airflow.models.param.Param';

export interface ParamOptions {
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
  description?: string;
  /** The values allowed (the form offers a select). */
  enum?: unknown[];
  title?: string;
}

export class Param {
  readonly schema: Record<string, unknown>;
  readonly description: string | null;

  constructor(
    readonly value: unknown,
    opts: ParamOptions = {},
  ) {
    this.description = opts.description ?? null;
    this.schema = {
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.enum ? { enum: opts.enum } : {}),
      ...(opts.title ? { title: opts.title } : {}),
    };
  }

  /** Airflow's serialized form, which the DAG processor stores and the API serves. */
  toJSON(): { __class: string; value: unknown; description: string | null; schema: Record<string, unknown> } {
    return { __class: PARAM_CLASS, value: this.value, description: this.description, schema: this.schema };
  }
}

/** Params as tasks see them: a Param (or its serialized form) is its value. */
export function paramValues(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v instanceof Param) out[k] = v.value;
    else if (v && typeof v === 'object' && (v as { __class?: unknown }).__class === PARAM_CLASS) out[k] = (v as { value?: unknown }).value ?? null;
    else out[k] = v;
  }
  return out;
}
