/** Publishes SageMaker state-change events with AWS's envelope (`source: aws.sagemaker`, resources: [arn]). */
import type { SageMakerDeps } from './common.ts';
import { toEventDetail } from './common.ts';
import type { Entry } from './state.ts';

export const DETAIL_TYPES = {
  training: 'SageMaker Training Job State Change',
  transform: 'SageMaker Transform Job State Change',
  processing: 'SageMaker Processing Job State Change',
  tuning: 'SageMaker HyperParameter Tuning Job State Change',
  endpoint: 'SageMaker Endpoint State Change',
} as const;

export function publishState(deps: SageMakerDeps, detailType: string, arnValue: string, e: Entry, mutate?: (detail: Record<string, unknown>) => void): void {
  const detail = toEventDetail(e.d, e.tags);
  mutate?.(detail);
  deps.bus.publishServiceEvent(deps.bus.makeEvent('aws.sagemaker', detailType, [arnValue], detail));
}
