/**
 * The API's component schemas: zod schemas registered under an id become
 * `#/components/schemas/<id>` in the OpenAPI document, and routes refer to them. Request bodies are
 * documented as their input (what a client sends: defaults optional), responses as their output.
 * The same zod objects validate requests, type the serializers (z.output) and — in tests — check
 * every response, so the document cannot drift from what the server does.
 */
import { z, type ZodType } from 'zod';

export interface ComponentMeta {
  id: string;
  /** Responses are documented as what the server sends, request bodies as what a client may send. */
  io: 'input' | 'output';
  description?: string;
}

export const apiComponents = z.registry<ComponentMeta>();
/** Which way each component is documented (the generated schemas carry only their id). */
const ioById = new Map<string, ComponentMeta['io']>();

/** Register a response component. */
export function resource<T extends ZodType>(id: string, schema: T, description?: string): T {
  apiComponents.add(schema, { id, io: 'output', description });
  ioById.set(id, 'output');
  return schema;
}

/** Register a request-body component. */
export function requestBody<T extends ZodType>(id: string, schema: T, description?: string): T {
  apiComponents.add(schema, { id, io: 'input', description });
  ioById.set(id, 'input');
  return schema;
}

export const componentRef = (id: string): string => `#/components/schemas/${id}`;

/** Every component as OpenAPI 3.0 schemas (references between components stay references). */
export function componentSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const io of ['output', 'input'] as const) {
    const { schemas } = z.toJSONSchema(apiComponents, { target: 'openapi-3.0', io, unrepresentable: 'any', uri: componentRef });
    for (const [id, s] of Object.entries(schemas)) {
      if (ioById.get(id) !== io) continue; // each component in its own direction
      const json = { ...(s as Record<string, unknown>) };
      delete json.$schema;
      delete json.$id;
      delete json.id;
      delete json.io;
      out[id] = json;
    }
  }
  return out;
}

/**
 * One route part as JSON Schema: a registered component becomes a reference (when `asRef`, e.g. a
 * body or a response; query and path parameters must stay inline objects); anything else is
 * inlined, with the components it contains referenced, never copied.
 */
export function partSchema(schema: ZodType, io: 'input' | 'output', asRef: boolean): Record<string, unknown> {
  const meta = apiComponents.get(schema);
  if (meta && asRef) return { $ref: componentRef(meta.id) };
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any', metadata: apiComponents }) as Record<string, unknown>;
  return clean(json, true) as Record<string, unknown>;
}

/** `#/$defs/X` (zod's local definitions) → `#/components/schemas/X`; $defs and meta fields dropped. */
function clean(v: unknown, top: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => clean(x, false));
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === '$defs' || k === 'definitions' || k === '$schema' || k === '$id') continue;
    if (top && (k === 'id' || k === 'io')) continue;
    if (k === '$ref' && typeof x === 'string') out[k] = x.replace(/^#\/(\$defs|definitions)\//, '#/components/schemas/');
    else out[k] = clean(x, false);
  }
  return out;
}
