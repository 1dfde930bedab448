/** DAG params with types, descriptions and allowed values (Airflow's Param). */
import { describe, expect, it } from 'vitest';
import { Param, paramValues, PARAM_CLASS } from '../../../src/dag/param.ts';
import { DAG, task } from '../../../src/dag/index.ts';

describe('Param', () => {
  it('serializes as Airflow does and reads as its value', () => {
    const p = new Param(3, { type: 'integer', description: 'passes', enum: [1, 3, 5] });
    expect(JSON.parse(JSON.stringify({ epochs: p }))).toEqual({
      epochs: { __class: PARAM_CLASS, value: 3, description: 'passes', schema: { type: 'integer', enum: [1, 3, 5] } },
    });
    expect(paramValues({ epochs: p, plain: 'x', stored: JSON.parse(JSON.stringify(p)) })).toEqual({ epochs: 3, plain: 'x', stored: 3 });
  });

  it('is accepted as a DAG param', () => {
    const dag = new DAG({ dagId: 'with_params', params: { epochs: new Param(3) } }, () => {
      task('t', () => 1);
    });
    expect(paramValues(dag.params)).toEqual({ epochs: 3 });
  });
});
