/**
 * Trigger kinds by name, as an instance: the composition root builds one from the built-in kinds
 * and the deferral providers' kinds (see deferral-provider.ts) and hands it to the worker (which
 * stores each new trigger's routing keys) and the triggerer (which runs triggers by kind).
 * Nothing registers itself on import.
 *
 * `registerTriggerKind` (exported from 'deferflow') stays for users' own kinds: it registers into
 * `userTriggerKinds`, a registry every composed registry consults after its own kinds. That is the
 * one module-level registry left, kept on purpose — a kind defined in a DAG file or plugin has no
 * handle on the composition root — and it only ever holds user registrations.
 */
import type { AnyTriggerKind, TriggerKind } from './trigger-kind.ts';
import { anyTriggerKind } from './trigger-kind.ts';
import type { SerializedTrigger } from './serialized-trigger.ts';

export class TriggerKindRegistry {
  private readonly kinds = new Map<string, AnyTriggerKind>();

  /** `fallback` is consulted for kinds this registry does not define (the user registry). */
  constructor(
    kinds: Iterable<AnyTriggerKind> = [],
    private readonly fallback: TriggerKindRegistry | null = null,
  ) {
    for (const k of kinds) this.add(k);
  }

  register<K>(def: TriggerKind<K>): void {
    this.add(anyTriggerKind(def));
  }

  get(kind: string): TriggerKind<unknown> | undefined {
    return (this.kinds.get(kind) ?? this.fallback?.get(kind)) as TriggerKind<unknown> | undefined;
  }

  /** Every kind name known here (own and fallback), sorted, for error messages. */
  names(): string[] {
    return [...new Set([...this.kinds.keys(), ...(this.fallback?.names() ?? [])])].sort();
  }

  /** Routing keys and description to store with a new trigger; empty when the kind is unknown here. */
  storageMetadata(t: SerializedTrigger): { routingKeys: string[]; description: string | null } {
    const def = this.get(t.kind);
    if (!def) return { routingKeys: [], description: null };
    const parsed = def.schema.safeParse(t.kwargs);
    if (!parsed.success) return { routingKeys: [], description: null };
    return {
      routingKeys: def.routingKeys ? def.routingKeys(parsed.data) : [],
      description: def.describe ? def.describe(parsed.data) : null,
    };
  }

  private add(def: AnyTriggerKind): void {
    const existing = this.kinds.get(def.kind);
    if (existing && existing !== def) throw new Error(`Trigger kind '${def.kind}' is already registered`);
    this.kinds.set(def.kind, def);
  }
}

/** Kinds users register with `registerTriggerKind`; see the file comment. */
export const userTriggerKinds = new TriggerKindRegistry();

/** Register your own trigger kind (a DAG file or plugin); every triggerer and worker in this process sees it. */
export function registerTriggerKind<K>(def: TriggerKind<K>): void {
  userTriggerKinds.register(def);
}
