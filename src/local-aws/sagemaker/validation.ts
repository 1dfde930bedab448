/**
 * Request validation with SageMaker's wording: constraint violations are
 * collected and reported together as
 * "N validation error(s) detected: Value 'x' at 'path' failed to satisfy constraint: ...".
 */
import { validationError } from '../errors.ts';
import { isObject } from '../util.ts';

export const NAME_PATTERN = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}';
export const NAME_RE = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
export const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
export const S3_URI_RE = /^(https|s3):\/\/([^/]+)\/?(.*)$/;

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `'${v}'`;
  return `'${JSON.stringify(v)}'`;
}

export class Validator {
  readonly errors: string[] = [];

  private add(value: unknown, path: string, constraint: string): void {
    this.errors.push(`Value ${show(value)} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  /** Required member: records "must not be null" and returns false when absent. */
  required(value: unknown, path: string): boolean {
    if (value === undefined || value === null) {
      this.errors.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      return false;
    }
    return true;
  }

  string(value: unknown, path: string, opts: { min?: number; max?: number; re?: RegExp; pattern?: string; required?: boolean } = {}): value is string {
    if (value === undefined || value === null) {
      if (opts.required) this.required(value, path);
      return false;
    }
    if (typeof value !== 'string') {
      this.add(value, path, 'Member must be a string');
      return false;
    }
    let ok = true;
    if (opts.re && !opts.re.test(value)) {
      this.add(value, path, `Member must satisfy regular expression pattern: ${opts.pattern ?? opts.re.source}`);
      ok = false;
    }
    if (opts.max !== undefined && value.length > opts.max) {
      this.add(value, path, `Member must have length less than or equal to ${opts.max}`);
      ok = false;
    }
    if (opts.min !== undefined && value.length < opts.min) {
      this.add(value, path, `Member must have length greater than or equal to ${opts.min}`);
      ok = false;
    }
    return ok;
  }

  name(value: unknown, path: string, max = 63): value is string {
    if (!this.required(value, path)) return false;
    const pattern = max === 63 ? NAME_PATTERN : `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,${max - 1}}`;
    return this.string(value, path, { re: new RegExp(`${pattern}$`), pattern, max, min: 1 });
  }

  number(value: unknown, path: string, opts: { min?: number; max?: number; int?: boolean; required?: boolean } = {}): value is number {
    if (value === undefined || value === null) {
      if (opts.required) this.required(value, path);
      return false;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || (opts.int && !Number.isInteger(value))) {
      this.add(value, path, `Member must be ${opts.int ? 'an integer' : 'a number'}`);
      return false;
    }
    if (opts.min !== undefined && value < opts.min) {
      this.add(value, path, `Member must have value greater than or equal to ${opts.min}`);
      return false;
    }
    if (opts.max !== undefined && value > opts.max) {
      this.add(value, path, `Member must have value less than or equal to ${opts.max}`);
      return false;
    }
    return true;
  }

  enumOf(value: unknown, path: string, values: readonly string[], required = false): boolean {
    if (value === undefined || value === null) {
      if (required) this.required(value, path);
      return false;
    }
    if (typeof value !== 'string' || !values.includes(value)) {
      this.add(value, path, `Member must satisfy enum value set: [${values.join(', ')}]`);
      return false;
    }
    return true;
  }

  object(value: unknown, path: string, required = false): value is Record<string, unknown> {
    if (value === undefined || value === null) {
      if (required) this.required(value, path);
      return false;
    }
    if (!isObject(value)) {
      this.add(value, path, 'Member must be a structure');
      return false;
    }
    return true;
  }

  array(value: unknown, path: string, opts: { min?: number; max?: number; required?: boolean } = {}): value is unknown[] {
    if (value === undefined || value === null) {
      if (opts.required) this.required(value, path);
      return false;
    }
    if (!Array.isArray(value)) {
      this.add(value, path, 'Member must be a list');
      return false;
    }
    if (opts.min !== undefined && value.length < opts.min) {
      this.add(value, path, `Member must have length greater than or equal to ${opts.min}`);
      return false;
    }
    if (opts.max !== undefined && value.length > opts.max) {
      this.add(value, path, `Member must have length less than or equal to ${opts.max}`);
      return false;
    }
    return true;
  }

  stringMap(value: unknown, path: string, opts: { maxEntries?: number; maxKey?: number; maxValue?: number } = {}): void {
    if (value === undefined || value === null) return;
    if (!isObject(value)) {
      this.add(value, path, 'Member must be a map');
      return;
    }
    const entries = Object.entries(value);
    if (opts.maxEntries !== undefined && entries.length > opts.maxEntries)
      this.add(value, path, `Member must have length less than or equal to ${opts.maxEntries}`);
    for (const [k, v] of entries) {
      if (typeof v !== 'string') this.add(v, `${path}.${k}`, 'Member must be a string');
      else if (opts.maxValue !== undefined && v.length > opts.maxValue)
        this.add(v, `${path}.${k}`, `Member must have length less than or equal to ${opts.maxValue}`);
      if (opts.maxKey !== undefined && k.length > opts.maxKey) this.add(k, `${path}`, `Map keys must have length less than or equal to ${opts.maxKey}`);
    }
  }

  /** Throws the combined ValidationException, if anything failed. */
  done(): void {
    if (this.errors.length === 0) return;
    const n = this.errors.length;
    throw validationError(`${n} validation error${n > 1 ? 's' : ''} detected: ${this.errors.join('; ')}`);
  }
}

export function validateTags(v: Validator, tags: unknown): void {
  if (!v.array(tags, 'tags', { max: 50 })) return;
  tags.forEach((t, i) => {
    const p = `tags.${i + 1}.member`;
    if (!v.object(t, p, true)) return;
    v.string(t.Key, `${p}.key`, { required: true, min: 1, max: 128 });
    v.string(t.Value, `${p}.value`, { max: 256 });
  });
}
