/**
 * Trigger kinds by name. Built-ins register themselves when their module is imported
 * (triggers/builtin.ts); DAG files and plugins may register their own with `registerTriggerKind`.
 */
import type { TriggerKind } from './trigger-kind.ts';
import type { SerializedTrigger } from './serialized-trigger.ts';

const kinds = new Map<string, TriggerKind<never>>();

export function registerTriggerKind<K>(def: TriggerKind<K>): void {
  const existing = kinds.get(def.kind);
  if (existing && existing !== (def as unknown as TriggerKind<never>)) {
    throw new Error(`Trigger kind '${def.kind}' is already registered`);
  }
  kinds.set(def.kind, def as unknown as TriggerKind<never>);
}

export function getTriggerKind(kind: string): TriggerKind<unknown> | undefined {
  return kinds.get(kind) as TriggerKind<unknown> | undefined;
}

export function registeredTriggerKinds(): string[] {
  return [...kinds.keys()].sort();
}

/** Routing keys and description to store with a new trigger; empty when the kind is unknown here. */
export function triggerStorageMetadata(t: SerializedTrigger): { routingKeys: string[]; description: string | null } {
  const def = getTriggerKind(t.kind);
  if (!def) return { routingKeys: [], description: null };
  const parsed = def.schema.safeParse(t.kwargs);
  if (!parsed.success) return { routingKeys: [], description: null };
  return {
    routingKeys: def.routingKeys ? def.routingKeys(parsed.data) : [],
    description: def.describe ? def.describe(parsed.data) : null,
  };
}
