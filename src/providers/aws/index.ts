/**
 * `deferflow/aws`: the Amazon provider — connections → SDK clients, the S3 hook, SageMaker
 * operators (sync and deferrable) and sensors, the SageMaker resource table, the deferral provider
 * (SageMaker job trigger, routing keys, reconcile sweep) and the EventBridge → SQS setup.
 */
export * from './aws-clients.ts';
export * from './aws-connection.ts';
export * from './aws-errors.ts';
export * from './services.ts';
export {
  SAGEMAKER_RESOURCES,
  SAGEMAKER_RESOURCE_TYPES,
  type SageMakerResource,
  type SageMakerResourceType,
  type SageMakerOutcome,
} from './sagemaker/resources.ts';
export { awsDeferralProvider } from './deferral/aws-deferral-provider.ts';
export {
  SageMakerJobTrigger,
  SAGEMAKER_JOB_TRIGGER_KIND,
  sageMakerJobTriggerKind,
  type SageMakerJobKwargs,
  type SageMakerJobPayload,
} from './deferral/sagemaker-job-trigger.ts';
export { sageMakerKey, parseSageMakerEvent, syntheticSageMakerEvent } from './deferral/sagemaker-events.ts';
export * from './setup-events.ts';
export { S3Hook, type S3HookOptions, type LoadOptions } from './hooks/s3-hook.ts';
export { serializeDescribe } from './sagemaker/serialize.ts';
export { ACTIONS_IF_JOB_EXISTS, type ActionIfJobExists } from './sagemaker/job-name-resolver.ts';
export { TASK_INSTANCE_TAG, TRY_TAG } from './sagemaker/ownership.ts';
export { SageMakerBaseOperator, type SageMakerBaseArgs } from './operators/sagemaker-base-operator.ts';
export { SageMakerJobOperator, JOB_NAME_XCOM_KEY, type SageMakerJobArgs } from './operators/sagemaker-job-operator.ts';
export { SageMakerTrainingOperator, type SageMakerTrainingOperatorArgs } from './operators/sagemaker-training-operator.ts';
export { SageMakerTrainingOperatorAsync } from './operators/sagemaker-training-operator-async.ts';
export { SageMakerProcessingOperator, type SageMakerProcessingOperatorArgs } from './operators/sagemaker-processing-operator.ts';
export { SageMakerProcessingOperatorAsync } from './operators/sagemaker-processing-operator-async.ts';
export { SageMakerTransformOperator, type SageMakerTransformOperatorArgs } from './operators/sagemaker-transform-operator.ts';
export { SageMakerTransformOperatorAsync } from './operators/sagemaker-transform-operator-async.ts';
export { SageMakerTuningOperator, type SageMakerTuningOperatorArgs } from './operators/sagemaker-tuning-operator.ts';
export { SageMakerTuningOperatorAsync } from './operators/sagemaker-tuning-operator-async.ts';
export { SageMakerModelOperator, type SageMakerModelOperatorArgs } from './operators/sagemaker-model-operator.ts';
export { SageMakerEndpointConfigOperator, type SageMakerEndpointConfigOperatorArgs } from './operators/sagemaker-endpoint-config-operator.ts';
export { SageMakerEndpointOperator, type SageMakerEndpointOperatorArgs } from './operators/sagemaker-endpoint-operator.ts';
export { SageMakerEndpointOperatorAsync } from './operators/sagemaker-endpoint-operator-async.ts';
export { SageMakerBaseSensor, type SageMakerSensorArgs } from './sensors/sagemaker-base-sensor.ts';
export { SageMakerTrainingSensor, type SageMakerTrainingSensorArgs } from './sensors/sagemaker-training-sensor.ts';
export { SageMakerTransformSensor, type SageMakerTransformSensorArgs } from './sensors/sagemaker-transform-sensor.ts';
export { SageMakerTuningSensor, type SageMakerTuningSensorArgs } from './sensors/sagemaker-tuning-sensor.ts';
export { SageMakerEndpointSensor, type SageMakerEndpointSensorArgs } from './sensors/sagemaker-endpoint-sensor.ts';
