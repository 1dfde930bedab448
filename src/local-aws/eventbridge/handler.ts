/** EventBridge API (AWS JSON 1.1, `AWSEvents.*`). */
import { AwsError } from '../errors.ts';
import type { EventBridgeEvent } from '../types.ts';
import { decodeToken, encodeToken, isObject, optNumber, optString, type JsonObject } from '../util.ts';
import type { EventBusService, Rule, Target } from './bus.ts';
import { InvalidEventPatternError, compileEventPattern } from '../../events/event-pattern.ts';

const RULE_NAME_RE = /^[.\-_A-Za-z0-9]{1,64}$/;
const TARGET_ID_RE = /^[.\-_A-Za-z0-9]{1,64}$/;

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message);
}

function required(body: JsonObject, key: string, path = key.charAt(0).toLowerCase() + key.slice(1)): string {
  const v = optString(body, key);
  if (v === undefined) throw validation(`1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`);
  return v;
}

function checkPattern(p: string): void {
  try {
    compileEventPattern(p);
  } catch (e) {
    if (e instanceof InvalidEventPatternError) throw new AwsError('InvalidEventPatternException', e.message);
    throw e;
  }
}

function ruleOut(r: Rule): JsonObject {
  return {
    Name: r.Name,
    Arn: r.Arn,
    EventPattern: r.EventPattern,
    ScheduleExpression: r.ScheduleExpression,
    State: r.State,
    Description: r.Description,
    RoleArn: r.RoleArn,
    EventBusName: r.EventBusName,
    CreatedBy: r.Arn.split(':')[4],
  };
}

function page<T>(items: T[], body: JsonObject, max = 100): { items: T[]; NextToken?: string } {
  const limit = optNumber(body, 'Limit') ?? max;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw validation(`1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`);
  const token = optString(body, 'NextToken');
  const o = token
    ? decodeToken(
        token,
        (v): v is { o: number } => isObject(v) && typeof v.o === 'number',
        () => validation('The NextToken provided is invalid.'),
      ).o
    : 0;
  const slice = items.slice(o, o + limit);
  return { items: slice, NextToken: o + limit < items.length ? encodeToken({ o: o + limit }) : undefined };
}

function putEvents(body: JsonObject, svc: EventBusService): JsonObject {
  const entries = Array.isArray(body.Entries) ? body.Entries : [];
  if (entries.length < 1 || entries.length > 10) {
    throw validation(`1 validation error detected: Value '[...]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`);
  }
  const results: JsonObject[] = [];
  let failed = 0;
  for (const raw of entries) {
    const e = isObject(raw) ? raw : {};
    const fail = (ErrorCode: string, ErrorMessage: string) => {
      failed++;
      results.push({ ErrorCode, ErrorMessage });
    };
    const source = optString(e, 'Source');
    const detailType = optString(e, 'DetailType');
    const detailStr = optString(e, 'Detail');
    if (!source) {
      fail('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
      continue;
    }
    if (!detailType) {
      fail('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
      continue;
    }
    if (detailStr === undefined) {
      fail('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
      continue;
    }
    if (source.startsWith('aws.')) {
      fail('NotAuthorizedForSourceException', 'Not authorized for the source.');
      continue;
    }
    let detail: unknown;
    try {
      detail = JSON.parse(detailStr);
    } catch {
      fail('MalformedDetail', 'Detail is malformed.');
      continue;
    }
    if (!isObject(detail)) {
      fail('MalformedDetail', 'Detail is malformed.');
      continue;
    }
    let bus;
    try {
      bus = svc.bus(optString(e, 'EventBusName'));
    } catch (err) {
      fail('ResourceNotFoundException', (err as Error).message);
      continue;
    }
    const resources = Array.isArray(e.Resources) ? e.Resources.filter((x): x is string => typeof x === 'string') : [];
    const t = e.Time;
    const time = typeof t === 'number' ? t * 1000 : typeof t === 'string' ? Date.parse(t) : Date.now();
    const ev: EventBridgeEvent = svc.makeEvent(source, detailType, resources, detail, Number.isFinite(time) ? time : Date.now());
    svc.route(bus.Name, ev);
    results.push({ EventId: ev.id });
  }
  return { FailedEntryCount: failed, Entries: results };
}

export function handleEvents(action: string, body: JsonObject, svc: EventBusService): JsonObject {
  switch (action) {
    case 'PutRule': {
      const name = required(body, 'Name');
      if (!RULE_NAME_RE.test(name))
        throw validation(
          `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
        );
      const bus = svc.bus(optString(body, 'EventBusName'));
      const pattern = optString(body, 'EventPattern');
      const schedule = optString(body, 'ScheduleExpression');
      if (!pattern && !schedule) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
      if (pattern) checkPattern(pattern);
      if (schedule) {
        if (bus.Name !== 'default') throw validation('ScheduleExpression is supported only on the default event bus.');
        if (!/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/.test(schedule)) throw validation('Parameter ScheduleExpression is not valid.');
      }
      const state = optString(body, 'State') ?? 'ENABLED';
      if (!['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'].includes(state)) {
        throw validation(
          `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]`,
        );
      }
      const existing = bus.rules.get(name);
      const rule: Rule = {
        Name: name,
        Arn: svc.ruleArn(bus.Name, name),
        EventBusName: bus.Name,
        EventPattern: pattern,
        ScheduleExpression: schedule,
        State: state,
        Description: optString(body, 'Description'),
        RoleArn: optString(body, 'RoleArn'),
        CreatedAt: existing?.CreatedAt ?? Date.now(),
        targets: existing?.targets ?? [],
        tags: existing?.tags ?? {},
      };
      if (Array.isArray(body.Tags)) for (const t of body.Tags) if (isObject(t) && typeof t.Key === 'string') rule.tags[t.Key] = String(t.Value ?? '');
      bus.rules.set(name, rule);
      svc.armSchedule(rule);
      svc.changed();
      return { RuleArn: rule.Arn };
    }
    case 'DescribeRule': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      return ruleOut(svc.rule(bus, required(body, 'Name')));
    }
    case 'ListRules': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const prefix = optString(body, 'NamePrefix') ?? '';
      const rules = [...bus.rules.values()].filter((r) => r.Name.startsWith(prefix)).sort((a, b) => (a.Name < b.Name ? -1 : 1));
      const p = page(rules, body);
      return { Rules: p.items.map(ruleOut), NextToken: p.NextToken };
    }
    case 'DeleteRule': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const name = required(body, 'Name');
      const r = bus.rules.get(name);
      if (!r) return {}; // deleting a missing rule succeeds, as in AWS
      if (r.targets.length > 0) throw validation("Rule can't be deleted since it has targets.");
      bus.rules.delete(name);
      svc.armSchedule({ ...r, State: 'DISABLED' });
      svc.changed();
      return {};
    }
    case 'EnableRule':
    case 'DisableRule': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const r = svc.rule(bus, required(body, 'Name'));
      r.State = action === 'EnableRule' ? 'ENABLED' : 'DISABLED';
      svc.armSchedule(r);
      svc.changed();
      return {};
    }
    case 'PutTargets': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const r = svc.rule(bus, required(body, 'Rule'));
      const targets = Array.isArray(body.Targets) ? body.Targets.filter(isObject) : [];
      if (targets.length < 1 || targets.length > 10)
        throw validation(`1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10`);
      const failed: JsonObject[] = [];
      for (const t of targets) {
        const id = optString(t, 'Id') ?? '';
        const arn = optString(t, 'Arn') ?? '';
        if (!TARGET_ID_RE.test(id))
          throw validation(
            `1 validation error detected: Value '${id}' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
          );
        if (!/^arn:aws[a-z-]*:[a-z0-9-]+:/.test(arn)) throw validation(`Parameter ${arn} is not valid. Reason: Provided Arn is not in correct format.`);
        const nInputs = ['Input', 'InputPath', 'InputTransformer'].filter((k) => t[k] !== undefined).length;
        if (nInputs > 1) throw validation('Only one of Input, InputPath, or InputTransformer must be provided.');
        if (optString(t, 'Input') !== undefined) {
          try {
            JSON.parse(optString(t, 'Input')!);
          } catch {
            throw validation(`Input for target ${id} is not valid JSON text.`);
          }
        }
        const idx = r.targets.findIndex((x) => x.Id === id);
        if (idx < 0 && r.targets.length >= 5) {
          failed.push({ TargetId: id, ErrorCode: 'LimitExceededException', ErrorMessage: 'The requested resource exceeds the maximum number allowed.' });
          continue;
        }
        const target = { ...t } as Target;
        if (idx >= 0) r.targets[idx] = target;
        else r.targets.push(target);
      }
      svc.changed();
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    }
    case 'RemoveTargets': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const r = svc.rule(bus, required(body, 'Rule'));
      const ids = Array.isArray(body.Ids) ? body.Ids.filter((x): x is string => typeof x === 'string') : [];
      r.targets = r.targets.filter((t) => !ids.includes(t.Id));
      svc.changed();
      return { FailedEntryCount: 0, FailedEntries: [] };
    }
    case 'ListTargetsByRule': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const r = svc.rule(bus, required(body, 'Rule'));
      const p = page(r.targets, body);
      return { Targets: p.items, NextToken: p.NextToken };
    }
    case 'ListRuleNamesByTarget': {
      const bus = svc.bus(optString(body, 'EventBusName'));
      const arn = required(body, 'TargetArn');
      const names = [...bus.rules.values()]
        .filter((r) => r.targets.some((t) => t.Arn === arn))
        .map((r) => r.Name)
        .sort();
      const p = page(names, body);
      return { RuleNames: p.items, NextToken: p.NextToken };
    }
    case 'PutEvents':
      return putEvents(body, svc);
    case 'TestEventPattern': {
      const pattern = required(body, 'EventPattern');
      checkPattern(pattern);
      let event: unknown;
      try {
        event = JSON.parse(required(body, 'Event'));
      } catch {
        throw validation('Parameter Event is not valid.');
      }
      return { Result: compileEventPattern(pattern)(event) };
    }
    case 'CreateEventBus': {
      const name = required(body, 'Name');
      if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name) || name === 'default') throw validation(`Event bus name ${name} is not valid.`);
      if (svc.buses.has(name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      const arn = svc.busArn(name);
      svc.buses.set(name, { Name: name, Arn: arn, CreationTime: Date.now(), rules: new Map() });
      svc.changed();
      return { EventBusArn: arn };
    }
    case 'DescribeEventBus': {
      const b = svc.bus(optString(body, 'Name'));
      return { Name: b.Name, Arn: b.Arn, CreationTime: b.CreationTime / 1000 };
    }
    case 'ListEventBuses': {
      const prefix = optString(body, 'NamePrefix') ?? '';
      const buses = [...svc.buses.values()].filter((b) => b.Name.startsWith(prefix));
      const p = page(buses, body);
      return { EventBuses: p.items.map((b) => ({ Name: b.Name, Arn: b.Arn, CreationTime: b.CreationTime / 1000 })), NextToken: p.NextToken };
    }
    case 'DeleteEventBus': {
      const name = required(body, 'Name');
      if (name === 'default') throw validation('Cannot delete event bus default.');
      svc.buses.delete(name);
      svc.changed();
      return {};
    }
  }
  throw new AwsError('UnknownOperationException', `Operation ${action} is not supported by local AWS EventBridge.`);
}
