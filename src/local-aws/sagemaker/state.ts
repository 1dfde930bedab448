/**
 * SageMaker resource records. Each record keeps the Describe-shaped document
 * (`d`, timestamps in epoch millis), its tags, and private bookkeeping
 * (`meta`) that never appears on the wire. Keys are lower-cased names because
 * SageMaker names are unique case-insensitively (ARNs are lower-cased).
 */
import type { Rec, Tag } from './common.ts';

export interface Entry {
  name: string;
  d: Rec;
  tags: Tag[];
  meta: Rec;
}

export const COLLECTIONS = ['training', 'transform', 'processing', 'tuning', 'models', 'endpointConfigs', 'endpoints'] as const;
export type Collection = (typeof COLLECTIONS)[number];

export class SageMakerState {
  readonly training = new Map<string, Entry>();
  readonly transform = new Map<string, Entry>();
  readonly processing = new Map<string, Entry>();
  readonly tuning = new Map<string, Entry>();
  readonly models = new Map<string, Entry>();
  readonly endpointConfigs = new Map<string, Entry>();
  readonly endpoints = new Map<string, Entry>();

  get(c: Collection, name: string): Entry | undefined {
    return this[c].get(name.toLowerCase());
  }

  set(c: Collection, name: string, e: Entry): void {
    this[c].set(name.toLowerCase(), e);
  }

  delete(c: Collection, name: string): void {
    this[c].delete(name.toLowerCase());
  }

  /** Finds a resource by ARN across collections (for AddTags/ListTags). */
  byArn(arnValue: string): Entry | undefined {
    for (const c of COLLECTIONS) {
      for (const e of this[c].values()) {
        for (const [k, v] of Object.entries(e.d)) if (k.endsWith('Arn') && v === arnValue && !k.startsWith('Role') && !k.startsWith('Tuning')) return e;
      }
    }
    return undefined;
  }

  snapshot(): unknown {
    const out: Record<string, Entry[]> = {};
    for (const c of COLLECTIONS) out[c] = [...this[c].values()];
    return out;
  }

  /** The same JSON as snapshot(), one record at a time (batched), so large states stream to disk. */
  *snapshotChunks(): Iterable<string> {
    yield '{';
    let firstCollection = true;
    for (const c of COLLECTIONS) {
      yield `${firstCollection ? '' : ','}${JSON.stringify(c)}:[`;
      firstCollection = false;
      let batch: string[] = [];
      let first = true;
      for (const e of this[c].values()) {
        batch.push(JSON.stringify(e));
        if (batch.length >= 500) {
          yield (first ? '' : ',') + batch.join(',');
          first = false;
          batch = [];
        }
      }
      if (batch.length) yield (first ? '' : ',') + batch.join(',');
      yield ']';
    }
    yield '}';
  }

  restore(data: unknown): void {
    const d = data as Partial<Record<Collection, Entry[]>>;
    for (const c of COLLECTIONS) {
      for (const e of d[c] ?? []) {
        if (typeof e.name === 'string') this[c].set(e.name.toLowerCase(), { name: e.name, d: e.d, tags: e.tags ?? [], meta: e.meta ?? {} });
      }
    }
  }
}
