/**
 * Scale probe for simulated jobs (not part of the vitest suite; run with
 * `npx tsx test/local-aws/scale.ts [jobs] [concurrency]`): creates N simulated
 * training jobs over HTTP with the real SDK client, waits until every job is
 * Completed, and prints JSON with throughput and memory per job.
 */
import { CreateTrainingJobCommand, ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLocalAws } from '../../src/local-aws/index.ts';
import { KNN_IMAGE, ROLE, tempDir } from './helpers.ts';

export async function runScale(total: number, concurrency: number, jobDurationMs = 20_000): Promise<Record<string, number>> {
  const dataDir = tempDir();
  const aws = await startLocalAws({ dataDir, faults: { simulateJobs: true, stageDelayMs: 10, jobDurationMs } });
  const sm = new SageMakerClient({
    endpoint: aws.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: concurrency }) }),
  });
  let events = 0;
  const sub = aws.events$.subscribe(() => events++);
  // warm up: the SDK loads schemas and middleware lazily on first use
  await sm.send(new ListTrainingJobsCommand({ MaxResults: 1 }));
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await sm.send(
        new CreateTrainingJobCommand({
          TrainingJobName: `scale-${i}`,
          AlgorithmSpecification: { TrainingImage: KNN_IMAGE, TrainingInputMode: 'File' },
          RoleArn: ROLE,
          HyperParameters: { k: '3' },
          OutputDataConfig: { S3OutputPath: 's3://bucket/out/' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 5 },
          StoppingCondition: { MaxRuntimeInSeconds: 3600 },
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const createMs = Date.now() - t0;
  global.gc?.();
  const heapAllInFlight = process.memoryUsage().heapUsed;
  const rssAllInFlight = process.memoryUsage().rss;
  // wait for completion: every job publishes 5 state changes (Starting..Completed) with no event faults
  while (events < total * 5) await new Promise((res) => setTimeout(res, 250));
  const completed = await sm.send(new ListTrainingJobsCommand({ StatusEquals: 'Completed', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100 }));
  if ((completed.TrainingJobSummaries?.length ?? 0) === 0) throw new Error('no completed jobs listed');
  const totalMs = Date.now() - t0;
  sub.unsubscribe();
  sm.destroy();
  await aws.close();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    jobs: total,
    concurrency,
    createPerSecond: Math.round((total / createMs) * 1000),
    totalSeconds: Math.round(totalMs / 100) / 10,
    eventsPublished: events,
    heapBytesPerInFlightJob: Math.round((heapAllInFlight - heap0) / total),
    rssMBAllInFlight: Math.round(rssAllInFlight / 1e6),
  };
}

if (process.argv[1]?.endsWith('scale.ts')) {
  const total = Number(process.argv[2] ?? 100_000);
  const conc = Number(process.argv[3] ?? 64);
  void runScale(total, conc, Number(process.argv[4] ?? 60_000)).then((r) => console.log(JSON.stringify(r)));
}
