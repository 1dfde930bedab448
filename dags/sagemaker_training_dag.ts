/**
 * Airflow's SageMakerTrainingOperator guide, ported line by line: a @daily DAG with one training
 * task whose job name is templated on the logical date.
 *
 *   deferflow dags trigger -e 2025-04-09 sagemaker_training_dag
 *   deferflow tasks states-for-dag-run sagemaker_training_dag 2025-04-09
 *   deferflow tasks test sagemaker_training_dag train_task 2025-04-09
 *
 * action_if_job_exists: "increment" means a second run for the same date trains
 * my-training-job-2025-04-09-1 instead of failing. The training image is SageMaker's built-in KNN,
 * which the local AWS runs for real; the training data is the Iris sample that `deferflow
 * standalone` / `npm start` upload to the demo bucket (variable s3_bucket).
 */
import { DAG } from 'deferflow';
import { SageMakerTrainingOperator } from 'deferflow/aws';

export default new DAG(
  {
    dagId: 'sagemaker_training_dag',
    description: 'Train a SageMaker model every day (Airflow SageMakerTrainingOperator guide)',
    schedule: '@daily',
    startDate: '2025-04-01',
    catchup: false,
    // Airflow's default (dags_are_paused_at_creation): no surprise daily job on a fresh stack.
    // `dags trigger` runs it anyway; `dags unpause sagemaker_training_dag` starts the schedule.
    isPausedUponCreation: true,
    tags: ['sagemaker', 'seed'],
    defaultArgs: { retries: 1, retry_delay: { minutes: 5 } },
  },
  () => {
    new SageMakerTrainingOperator({
      taskId: 'train_task',
      config: {
        TrainingJobName: 'my-training-job-{{ ds }}',
        AlgorithmSpecification: {
          TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1',
          TrainingInputMode: 'File',
        },
        RoleArn: "{{ var.value.get('role', 'arn:aws:iam::000000000000:role/SageMakerRole') }}",
        HyperParameters: { k: '3', feature_dim: '4', predictor_type: 'classifier', sample_size: '150' },
        InputDataConfig: [
          {
            ChannelName: 'train',
            DataSource: {
              S3DataSource: {
                S3DataType: 'S3Prefix',
                S3Uri: "s3://{{ var.value.get('s3_bucket', 'deferflow-demo') }}/sample-data/iris/train.csv",
                S3DataDistributionType: 'FullyReplicated',
              },
            },
            ContentType: 'text/csv',
            InputMode: 'File',
          },
        ],
        OutputDataConfig: { S3OutputPath: "s3://{{ var.value.get('s3_bucket', 'deferflow-demo') }}/output/" },
        ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 },
        StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      },
      aws_conn_id: 'aws_default',
      wait_for_completion: true,
      check_interval: 5,
      max_attempts: 60,
      action_if_job_exists: 'increment',
    });
  },
);
