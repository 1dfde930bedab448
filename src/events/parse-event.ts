/**
 * Validation of EventBridge envelopes arriving from outside (SQS bodies, webhooks). Accepts the
 * raw envelope EventBridge puts on an SQS target and the SNS-wrapped form
 * (`{"Type":"Notification","Message":"<envelope JSON>"}`).
 */
import type { EventBridgeEvent } from './eventbridge-event.ts';

export type ParsedEvent = { ok: true; event: EventBridgeEvent } | { ok: false; reason: string };

export function parseEventBridgeEnvelope(body: string | undefined): ParsedEvent {
  if (!body) return { ok: false, reason: 'empty body' };
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (isObj(v) && v.Type === 'Notification' && typeof v.Message === 'string') return parseEventBridgeEnvelope(v.Message);
  return asEventBridgeEvent(v);
}

export function asEventBridgeEvent(v: unknown): ParsedEvent {
  if (!isObj(v)) return { ok: false, reason: 'not a JSON object' };
  if (typeof v.source !== 'string' || !v.source) return { ok: false, reason: 'missing "source"' };
  if (typeof v['detail-type'] !== 'string') return { ok: false, reason: 'missing "detail-type"' };
  if (v.detail !== undefined && !isObj(v.detail)) return { ok: false, reason: '"detail" is not an object' };
  return {
    ok: true,
    event: {
      version: typeof v.version === 'string' ? v.version : '0',
      id: typeof v.id === 'string' ? v.id : '',
      'detail-type': v['detail-type'],
      source: v.source,
      account: typeof v.account === 'string' ? v.account : '',
      time: typeof v.time === 'string' ? v.time : new Date().toISOString(),
      region: typeof v.region === 'string' ? v.region : '',
      resources: Array.isArray(v.resources) ? v.resources.filter((r): r is string => typeof r === 'string') : [],
      detail: isObj(v.detail) ? v.detail : {},
    },
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
