/**
 * Misuses the shipped types must reject. If the declarations stopped resolving (and everything
 * became `any`), each @ts-expect-error below would be unused, which tsc reports as an error.
 */
import { DAG } from 'deferflow';
import { SageMakerTrainingOperatorAsync } from 'deferflow/aws';
import { Runtime } from 'deferflow/runtime';

// @ts-expect-error dagId must be a string
export const badDag = new DAG({ dagId: 42, schedule: null, startDate: '2025-01-01' }, () => {});

// @ts-expect-error a SageMaker operator needs its job config
export const badOperator = new SageMakerTrainingOperatorAsync({ taskId: 'train' });

// @ts-expect-error Runtime.create takes options, not a string
export const badRuntime = Runtime.create('mongodb://nowhere');
