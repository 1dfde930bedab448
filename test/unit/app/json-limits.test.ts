/** Limits on user JSON: depth and prototype keys, refused with the path (issue 14.6), from any front door. */
import { describe, expect, it } from 'vitest';
import { checkJsonValue, MAX_JSON_DEPTH } from '../../../src/app/json-limits.ts';

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

describe('checkJsonValue', () => {
  it('accepts up to the limit and refuses 5,000 levels with the path, without overflowing the stack', () => {
    expect(() => checkJsonValue(nested(MAX_JSON_DEPTH - 1), { what: 'conf' })).not.toThrow();
    expect(() => checkJsonValue(nested(5000), { what: 'The run conf', root: 'conf' })).toThrow(
      /The run conf is nested too deeply: conf(\.a)+: nests more than 100 levels/,
    );
  });

  it('refuses prototype keys with their path', () => {
    const v = JSON.parse('{"x": [{"__proto__": {"admin": true}}]}') as unknown;
    expect(() => checkJsonValue(v, { what: 'Body' })).toThrow(/x\.0\.__proto__: the key '__proto__' is not accepted/);
    expect(() => checkJsonValue({ constructor: { prototype: {} } }, { what: 'Body' })).toThrow(/constructor/);
    expect(() => checkJsonValue({ constructor: 'fine', proto: 1 }, { what: 'Body' })).not.toThrow();
  });
});
