/**
 * Event buses, rules and targets, and delivery. SageMaker state changes enter
 * through `publishServiceEvent`, which applies the event fault knobs (drop,
 * duplicate, delay, reorder) exactly once, before routing: so the SQS queues
 * behind rules and the in-process `events$` stream see the same faulty
 * sequence, as a consumer in AWS would.
 */
import { Subject } from 'rxjs';
import type { Logger } from 'pino';
import type { Faults } from '../config.ts';
import { AwsError } from '../errors.ts';
import type { Scheduler, TimerHandle } from '../scheduler.ts';
import type { SqsQueues } from '../sqs/queues.ts';
import type { EventBridgeEvent } from '../types.ts';
import { isObject, newId } from '../util.ts';
import { compileEventPattern, type CompiledEventPattern } from '../../events/event-pattern.ts';

export interface Target {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  SqsParameters?: { MessageGroupId?: string };
  [k: string]: unknown;
}

export interface Rule {
  Name: string;
  Arn: string;
  EventBusName: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State: string;
  Description?: string;
  RoleArn?: string;
  CreatedAt: number;
  targets: Target[];
  tags: Record<string, string>;
}

export interface Bus {
  Name: string;
  Arn: string;
  CreationTime: number;
  rules: Map<string, Rule>;
}

interface Snapshot {
  buses: Array<{ Name: string; Arn: string; CreationTime: number; rules: Rule[] }>;
}

/** `$.detail.x[0]`-style paths used by InputPath / InputTransformer. */
export function jsonPath(obj: unknown, path: string): unknown {
  if (path === '$') return obj;
  const parts = path.replace(/^\$\.?/, '').match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === undefined || cur === null) return undefined;
    if (p.startsWith('[')) cur = Array.isArray(cur) ? cur[Number(p.slice(1, -1))] : undefined;
    else cur = isObject(cur) ? cur[p] : undefined;
  }
  return cur;
}

function applyInputTransformer(t: NonNullable<Target['InputTransformer']>, event: EventBridgeEvent): string {
  const vars: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(t.InputPathsMap ?? {})) vars[k] = jsonPath(event, p);
  // Inside a JSON string literal a string variable is inserted raw; elsewhere as JSON.
  return t.InputTemplate.replace(/(")?<([A-Za-z0-9_.\-$]+)>(")?/g, (whole, q1: string | undefined, name: string, q2: string | undefined) => {
    if (name === 'aws.events.event.json') return JSON.stringify(event);
    if (name === 'aws.events.rule-arn' || !(name in vars)) return whole;
    const v = vars[name];
    if (q1 && q2) return `"${typeof v === 'string' ? v.replace(/["\\]/g, '\\$&') : v === undefined ? '' : JSON.stringify(v).replace(/^"|"$/g, '')}"`;
    const s = typeof v === 'string' ? v : v === undefined ? 'null' : JSON.stringify(v);
    return `${q1 ?? ''}${s}${q2 ?? ''}`;
  });
}

export class EventBusService {
  readonly buses = new Map<string, Bus>();
  readonly events$ = new Subject<EventBridgeEvent>();
  private compiled = new Map<string, CompiledEventPattern>();
  private held: { event: EventBridgeEvent; timer: TimerHandle } | null = null;
  private scheduleTimers = new Map<string, TimerHandle>();

  constructor(
    readonly region: string,
    readonly accountId: string,
    private readonly sqs: SqsQueues,
    private readonly scheduler: Scheduler,
    private readonly faults: Faults,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.ensureDefaultBus();
  }

  private ensureDefaultBus(): void {
    if (!this.buses.has('default')) {
      this.buses.set('default', { Name: 'default', Arn: this.busArn('default'), CreationTime: Date.now(), rules: new Map() });
    }
  }

  busArn(name: string): string {
    return `arn:aws:events:${this.region}:${this.accountId}:event-bus/${name}`;
  }

  ruleArn(bus: string, name: string): string {
    return `arn:aws:events:${this.region}:${this.accountId}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
  }

  /** Accepts a bus name or ARN, as the API does. */
  bus(nameOrArn: string | undefined): Bus {
    const name = !nameOrArn ? 'default' : nameOrArn.startsWith('arn:') ? nameOrArn.split('/').pop()! : nameOrArn;
    const b = this.buses.get(name);
    if (!b) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return b;
  }

  rule(bus: Bus, name: string): Rule {
    const r = bus.rules.get(name);
    if (!r) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus.Name}.`);
    return r;
  }

  matcher(rule: Rule): CompiledEventPattern | null {
    if (!rule.EventPattern) return null;
    let m = this.compiled.get(rule.EventPattern);
    if (!m) {
      m = compileEventPattern(rule.EventPattern);
      this.compiled.set(rule.EventPattern, m);
    }
    return m;
  }

  changed(): void {
    this.onChange();
  }

  // ------------------------------------------------------------ publishing

  makeEvent(source: string, detailType: string, resources: string[], detail: Record<string, unknown>, time = Date.now()): EventBridgeEvent {
    return {
      version: '0',
      id: newId(),
      'detail-type': detailType,
      source,
      account: this.accountId,
      time: new Date(Math.floor(time / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources,
      detail,
    };
  }

  /** Service events (aws.sagemaker) go through the fault knobs; then they are routed like any event. */
  publishServiceEvent(event: EventBridgeEvent): void {
    const f = this.faults.current;
    if (this.faults.chance(f.eventDropRate)) {
      this.logger.debug({ id: event.id, type: event['detail-type'] }, 'local-aws: event dropped (fault)');
      return;
    }
    const copies = this.faults.chance(f.eventDuplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const deliver = () => this.reorderThenRoute(event);
      if (f.eventDelayMs > 0) this.scheduler.after(f.eventDelayMs, deliver);
      else deliver();
    }
  }

  /** Reorder: an event may be held back and released right after the next one (or after a short timeout). */
  private reorderThenRoute(event: EventBridgeEvent): void {
    const prev = this.held;
    if (prev) {
      this.held = null;
      this.scheduler.cancel(prev.timer);
      this.route('default', event);
      this.route('default', prev.event);
      return;
    }
    if (this.faults.chance(this.faults.current.eventReorderRate)) {
      const timer = this.scheduler.after(Math.max(50, this.faults.current.stageDelayMs * 2), () => {
        if (this.held?.event === event) {
          this.held = null;
          this.route('default', event);
        }
      });
      this.held = { event, timer };
      return;
    }
    this.route('default', event);
  }

  /** Delivers an event to the bus's matching, enabled rules (and to events$ for the default bus). */
  route(busName: string, event: EventBridgeEvent): void {
    const bus = this.buses.get(busName);
    if (!bus) return;
    if (busName === 'default') this.events$.next(event);
    for (const rule of bus.rules.values()) {
      if (rule.State === 'DISABLED' || !rule.EventPattern) continue;
      let ok = false;
      try {
        ok = this.matcher(rule)!(event);
      } catch (err) {
        this.logger.warn({ err, rule: rule.Name }, 'local-aws: rule pattern failed');
      }
      if (ok) this.deliver(rule, event);
    }
  }

  private deliver(rule: Rule, event: EventBridgeEvent): void {
    for (const t of rule.targets) {
      try {
        let body: string;
        if (t.Input !== undefined) body = t.Input;
        else if (t.InputPath) {
          const v = jsonPath(event, t.InputPath);
          body = typeof v === 'string' ? v : JSON.stringify(v ?? null);
        } else if (t.InputTransformer) body = applyInputTransformer(t.InputTransformer, event);
        else body = JSON.stringify(event);
        if (t.Arn.startsWith('arn:aws:sqs:')) {
          const q = this.sqs.byArn(t.Arn);
          if (!q) {
            this.logger.warn({ rule: rule.Name, target: t.Arn }, 'local-aws: rule target queue does not exist; event dropped');
            continue;
          }
          this.sqs.send(q, { body, groupId: t.SqsParameters?.MessageGroupId, dedupId: q.attributes.FifoQueue === 'true' ? event.id : undefined });
        } else if (/^arn:aws:events:[^:]*:[^:]*:event-bus\//.test(t.Arn)) {
          const busName = t.Arn.split('/').pop()!;
          if (busName !== rule.EventBusName) this.route(busName, event);
        } else {
          this.logger.debug({ rule: rule.Name, target: t.Arn }, 'local-aws: target type not delivered locally');
        }
      } catch (err) {
        this.logger.warn({ err, rule: rule.Name, target: t.Arn }, 'local-aws: target delivery failed');
      }
    }
  }

  // ------------------------------------------------------------ schedules

  /** rate(...) schedules fire "Scheduled Event"s; cron(...) is accepted but not fired locally. */
  armSchedule(rule: Rule): void {
    const key = `${rule.EventBusName}/${rule.Name}`;
    this.scheduler.cancel(this.scheduleTimers.get(key));
    this.scheduleTimers.delete(key);
    if (!rule.ScheduleExpression || rule.State === 'DISABLED') return;
    const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(rule.ScheduleExpression);
    if (!m) return;
    const unit = m[2].startsWith('minute') ? 60_000 : m[2].startsWith('hour') ? 3_600_000 : 86_400_000;
    const every = Number(m[1]) * unit;
    const fire = () => {
      const bus = this.buses.get(rule.EventBusName);
      const live = bus?.rules.get(rule.Name);
      if (!live || live !== rule || live.State === 'DISABLED') return;
      this.deliver(rule, this.makeEvent('aws.events', 'Scheduled Event', [rule.Arn], {}));
      this.scheduleTimers.set(key, this.scheduler.after(every, fire));
    };
    this.scheduleTimers.set(key, this.scheduler.after(every, fire));
  }

  // ------------------------------------------------------------ persistence

  snapshot(): Snapshot {
    return { buses: [...this.buses.values()].map((b) => ({ Name: b.Name, Arn: b.Arn, CreationTime: b.CreationTime, rules: [...b.rules.values()] })) };
  }

  restore(data: unknown): void {
    const snap = data as Snapshot;
    for (const b of snap?.buses ?? []) {
      const bus: Bus = { Name: b.Name, Arn: b.Arn, CreationTime: b.CreationTime, rules: new Map(b.rules.map((r) => [r.Name, r])) };
      this.buses.set(b.Name, bus);
      for (const r of bus.rules.values()) this.armSchedule(r);
    }
    this.ensureDefaultBus();
  }

  close(): void {
    this.events$.complete();
  }
}
