/** Airflow's SageMakerTrainingSensor: waits for a training job; print_log copies its CloudWatch lines. */
import type { TaskContext } from '../../../dag/task-context.ts';
import { TRAINING_JOB, type Description } from '../sagemaker/resources.ts';
import { LogTailer } from '../sagemaker/log-tailer.ts';
import { SageMakerBaseSensor, type SageMakerSensorArgs } from './sagemaker-base-sensor.ts';

export interface SageMakerTrainingSensorArgs extends SageMakerSensorArgs {
  job_name: string;
  print_log?: boolean;
}

export class SageMakerTrainingSensor extends SageMakerBaseSensor {
  static override templateFields: readonly string[] = ['job_name'];
  protected readonly jobType = 'training' as const;
  protected readonly resourceType = 'training job';
  job_name: string;
  private tailer: LogTailer | null = null;

  constructor(args: SageMakerTrainingSensorArgs) {
    super(args);
    this.job_name = args.job_name;
  }

  protected get resourceName(): string {
    return this.job_name;
  }

  protected override async onPoke(ctx: TaskContext, _desc: Description): Promise<void> {
    if (!((this.args.print_log as boolean | undefined) ?? true)) return;
    this.tailer ??= new LogTailer(this.clients(ctx).logs(this.awsConnId, this.regionName), TRAINING_JOB.logGroup!, this.job_name, ctx.log);
    await this.tailer.poll(ctx.signal);
  }
}
