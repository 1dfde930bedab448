/**
 * A user's DAG file in TypeScript: type-checked by `tsc --noEmit` against the types the package
 * ships, and listed by the installed `deferflow` executable (which imports it through tsx).
 */
import { DAG, task, type TaskContext } from 'deferflow';
import { SageMakerTrainingOperatorAsync } from 'deferflow/aws';

export default new DAG({ dagId: 'consumer_typed_pipeline', schedule: null, startDate: '2025-01-01', tags: ['consumer'] }, () => {
  const train = new SageMakerTrainingOperatorAsync({
    taskId: 'train',
    config: {
      TrainingJobName: 'consumer-{{ ds_nodash }}',
      AlgorithmSpecification: { TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1', TrainingInputMode: 'File' },
      RoleArn: 'arn:aws:iam::000000000000:role/SageMakerRole',
      HyperParameters: { k: '3', feature_dim: '4', predictor_type: 'classifier' },
      OutputDataConfig: { S3OutputPath: 's3://consumer-bucket/output/' },
      ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    },
    aws_conn_id: 'aws_default',
  });
  const report = task('report', async (ctx: TaskContext): Promise<string> => {
    const jobName = await ctx.ti.xcom_pull('train');
    return `trained ${String(jobName)}`;
  });
  train.then(report);
});
