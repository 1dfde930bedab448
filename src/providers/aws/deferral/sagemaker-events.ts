/**
 * SageMaker state-change events, read defensively. Every field of an incoming event is untrusted
 * (anyone who can write to the queue can send one): names and statuses must be strings of the
 * shape SageMaker uses, region and account must look like a region and an account, and a failure
 * reason is cut to a length fit for a log line. An event that does not look right is no SageMaker
 * event to us (no routing key, no outcome) — never an error in the consumer.
 *
 * Also: the routing key of a SageMaker resource, the routing-key extractor of `aws.sagemaker`
 * events, and the synthetic events the reconcile sweep feeds through the same path.
 */
import type { EventBridgeEvent } from '../../../events/eventbridge-event.ts';
import type { RoutingKeyExtractor } from '../../../events/routing-keys.ts';
import {
  failureReasonOf,
  normalizeStatus,
  outcomeOf,
  parseSageMakerArn,
  resourceForDetailType,
  SAGEMAKER_RESOURCES,
  type SageMakerOutcome,
  type SageMakerResourceType,
} from '../sagemaker/resources.ts';

export const SAGEMAKER_EVENT_SOURCE = 'aws.sagemaker';

/** SageMaker's name rule (letters, digits, inner hyphens; 63 characters at most). */
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const STATUS = /^[A-Za-z_]{1,64}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+){1,4}$/;
const ACCOUNT = /^\d{1,12}$/;
const MAX_REASON = 1_024;
const MAX_MESSAGE = 256;

export interface SageMakerStateChange {
  type: SageMakerResourceType;
  name: string;
  /** Describe's spelling (an endpoint event's IN_SERVICE reads InService). */
  status: string;
  /** Set when the status is terminal. */
  outcome: SageMakerOutcome | null;
  failureReason: string | null;
  /** A training job's SecondaryStatus (Starting, Downloading, Training, Uploading …); null when absent or not one. */
  secondaryStatus: string | null;
  /** The status message of the latest transition (SecondaryStatusTransitions' StatusMessage), cut short. */
  statusMessage: string | null;
  /** When the change happened, as the event says (null when it says nonsense). */
  time: Date | null;
  /** Where the event says the resource lives ('' when it does not say, or says nonsense). */
  region: string;
  account: string;
}

/**
 * The routing key of one SageMaker resource. Names are lower-cased because SageMaker ARNs carry
 * them lower-cased, so a key built from an ARN and one built from a name agree.
 */
export function sageMakerKey(type: SageMakerResourceType, name: string): string {
  return `sagemaker:${SAGEMAKER_RESOURCES[type].arnResource}:${name.toLowerCase()}`;
}

/** The resource, status and origin of a SageMaker state-change event; null if it is not one we can trust the shape of. */
export function parseSageMakerEvent(
  event: Pick<EventBridgeEvent, 'source' | 'detail-type' | 'detail' | 'resources' | 'region' | 'account'> & { time?: unknown },
): SageMakerStateChange | null {
  if (event.source !== SAGEMAKER_EVENT_SOURCE || typeof event['detail-type'] !== 'string') return null;
  const resource = resourceForDetailType(event['detail-type']);
  if (!resource) return null;
  const detail = event.detail && typeof event.detail === 'object' && !Array.isArray(event.detail) ? event.detail : {};
  const fromArn = Array.isArray(event.resources)
    ? event.resources.map(parseSageMakerArn).find((a) => a !== null && a.arnResource === resource.arnResource)
    : undefined;
  const rawName = detail[resource.nameField];
  // A name field that is there but not a string is a malformed event, not a reason to guess.
  if (rawName !== undefined && typeof rawName !== 'string') return null;
  const name = typeof rawName === 'string' ? rawName : (fromArn?.name ?? null);
  const rawStatus = detail[resource.statusField];
  if (!name || !NAME.test(name) || typeof rawStatus !== 'string' || !STATUS.test(rawStatus)) return null;
  // An ARN naming another resource than the detail does: the event contradicts itself.
  if (fromArn && fromArn.name.toLowerCase() !== name.toLowerCase()) return null;
  const status = normalizeStatus(rawStatus);
  const outcome = outcomeOf(resource, status);
  const reason = outcome === 'failed' ? failureReasonOf(resource, detail) : null;
  const rawSecondary = detail.SecondaryStatus;
  const secondaryStatus = typeof rawSecondary === 'string' && STATUS.test(rawSecondary) ? rawSecondary : null;
  const region = typeof event.region === 'string' && REGION.test(event.region) ? event.region : '';
  const account = typeof event.account === 'string' && ACCOUNT.test(event.account) ? event.account : '';
  // The ARN, when there is one, must agree with the envelope about where the resource lives.
  if (fromArn && ((region && fromArn.region !== region) || (account && fromArn.account !== account))) return null;
  return {
    type: resource.type,
    name,
    status,
    outcome,
    failureReason: reason ? reason.slice(0, MAX_REASON) : null,
    secondaryStatus,
    statusMessage: latestStatusMessage(detail),
    time: eventTime(event.time),
    region: region || fromArn?.region || '',
    account: account || fromArn?.account || '',
  };
}

/** The StatusMessage of the last SecondaryStatusTransitions entry, if it is a sane string. */
function latestStatusMessage(detail: Record<string, unknown>): string | null {
  const transitions = detail.SecondaryStatusTransitions;
  if (!Array.isArray(transitions) || transitions.length === 0) return null;
  const last: unknown = transitions[transitions.length - 1];
  if (!last || typeof last !== 'object') return null;
  const msg = (last as Record<string, unknown>).StatusMessage;
  if (typeof msg !== 'string') return null;
  // Printable text only: it goes into a task log line.
  let clean = '';
  for (const ch of msg) {
    const code = ch.codePointAt(0) ?? 0;
    clean += code < 0x20 || code === 0x7f ? ' ' : ch;
  }
  clean = clean.trim();
  return clean ? clean.slice(0, MAX_MESSAGE) : null;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function eventTime(raw: unknown): Date | null {
  if (typeof raw !== 'string' || !ISO_TIME.test(raw)) return null;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The specific routing key of an `aws.sagemaker` event. */
export const sageMakerRoutingKeys: RoutingKeyExtractor = (event) => {
  const change = parseSageMakerEvent(event);
  return change ? [sageMakerKey(change.type, change.name)] : [];
};

/**
 * A state-change event shaped exactly like SageMaker's, for what a Describe or List found. With
 * the resource's ARN (what AWS answered), region and account are the resource's own, so the
 * trigger's origin check holds for it as for a real event.
 */
export function syntheticSageMakerEvent(args: {
  type: SageMakerResourceType;
  name: string;
  status: string;
  secondaryStatus?: string | null;
  failureReason?: string | null;
  arn?: string | null;
  region?: string;
  account?: string;
  origin: string;
}): EventBridgeEvent {
  const r = SAGEMAKER_RESOURCES[args.type];
  const parsed = parseSageMakerArn(args.arn);
  const region = parsed?.region ?? args.region ?? 'us-east-1';
  const account = parsed?.account ?? args.account ?? '000000000000';
  const detail: Record<string, unknown> = { [r.nameField]: args.name, [r.statusField]: args.status, 'deferflow-origin': args.origin };
  if (args.failureReason) detail.FailureReason = args.failureReason;
  if (args.secondaryStatus) detail.SecondaryStatus = args.secondaryStatus;
  return {
    version: '0',
    id: `${args.origin}-${r.arnResource}-${args.name}-${args.status}`,
    'detail-type': r.detailType,
    source: SAGEMAKER_EVENT_SOURCE,
    account,
    time: new Date().toISOString(),
    region,
    resources: [args.arn && parsed ? args.arn : `arn:aws:sagemaker:${region}:${account}:${r.arnResource}/${args.name.toLowerCase()}`],
    detail,
  };
}
