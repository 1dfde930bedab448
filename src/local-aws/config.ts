/**
 * Fault knobs: defaults, validation and the seeded random source that every
 * random knob draws from (so a test that sets `seed` sees the same drops,
 * duplicates and throttles on every run).
 */
import { z } from 'zod';
import type { FaultConfig } from './types.ts';
import { mulberry32 } from '../util/prng.ts';

export const DEFAULT_FAULTS: FaultConfig = {
  jobDurationMs: null,
  // Small on purpose: the seed pipeline (train -> transform -> endpoint) should finish in seconds.
  stageDelayMs: 150,
  failJobs: [],
  eventDropRate: 0,
  eventDuplicateRate: 0,
  eventDelayMs: 0,
  eventReorderRate: 0,
  throttleRate: 0,
  simulateJobs: false,
};

const rate = z.number().min(0).max(1);
const faultSchema = z
  .object({
    jobDurationMs: z.number().int().min(0).nullable(),
    stageDelayMs: z.number().int().min(0).max(3_600_000),
    failJobs: z.array(z.string()),
    eventDropRate: rate,
    eventDuplicateRate: rate,
    eventDelayMs: z.number().int().min(0).max(3_600_000),
    eventReorderRate: rate,
    throttleRate: rate,
    simulateJobs: z.union([z.boolean(), z.array(z.string())]),
    seed: z.number().int().optional(),
  })
  .partial()
  .strict();

/** Validates a partial fault config (from options, setFaults or the admin endpoint); throws with a readable message. */
export function parseFaults(input: unknown): Partial<FaultConfig> {
  const r = faultSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Invalid fault config: ${msg}`);
  }
  const out: Partial<FaultConfig> = {};
  for (const [k, v] of Object.entries(r.data)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

const regexCache = new Map<string, RegExp | null>();

/** A name pattern is an exact string, or a regular expression written as `/.../flags`. */
export function matchesNamePattern(pattern: string, name: string): boolean {
  if (pattern.length >= 2 && pattern.startsWith('/')) {
    let re = regexCache.get(pattern);
    if (re === undefined) {
      const last = pattern.lastIndexOf('/');
      try {
        re = last > 0 ? new RegExp(pattern.slice(1, last), pattern.slice(last + 1)) : null;
      } catch {
        re = null;
      }
      regexCache.set(pattern, re);
    }
    if (re) return re.test(name);
  }
  return pattern === name;
}

/** Live fault state shared by every service. */
export class Faults {
  private cfg: FaultConfig;
  private rng: () => number;

  constructor(initial?: Partial<FaultConfig>) {
    this.cfg = { ...DEFAULT_FAULTS, ...(initial ? parseFaults(initial) : {}) };
    this.rng = mulberry32(this.cfg.seed ?? Date.now() ^ (process.pid << 8));
  }

  get current(): Readonly<FaultConfig> {
    return this.cfg;
  }

  set(p: Partial<FaultConfig>): void {
    const parsed = parseFaults(p);
    this.cfg = { ...this.cfg, ...parsed };
    if (parsed.seed !== undefined) this.rng = mulberry32(parsed.seed);
  }

  /** Uniform [0,1) from the seeded source. */
  random(): number {
    return this.rng();
  }

  /** True with probability `p` (0 never draws, so a zero rate does not perturb the sequence). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.rng() < p;
  }

  shouldFail(jobName: string): boolean {
    return this.cfg.failJobs.some((p) => matchesNamePattern(p, jobName));
  }

  shouldSimulate(jobName: string): boolean {
    const s = this.cfg.simulateJobs;
    if (typeof s === 'boolean') return s;
    return s.some((p) => matchesNamePattern(p, jobName));
  }

  /** Time one status step takes: at least stageDelayMs, more when jobDurationMs is spread over `steps`. */
  stageMs(steps: number): number {
    const spread = this.cfg.jobDurationMs != null ? Math.ceil(this.cfg.jobDurationMs / Math.max(1, steps)) : 0;
    return Math.max(this.cfg.stageDelayMs, spread);
  }
}
