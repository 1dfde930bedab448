/**
 * Public types of the embedded local AWS. Kept in their own module so that
 * consumers (runtime, triggerer, tests) can import them without pulling in the
 * server implementation.
 */
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';

export interface FaultConfig {
  /** If set, stretch each simulated/real job to at least this long (spread over the secondary statuses). */
  jobDurationMs: number | null;
  /** Minimum time spent in each SecondaryStatus step. */
  stageDelayMs: number;
  /** Job names (exact, or a regex written as `/.../`) forced to end Failed with a FailureReason. */
  failJobs: string[];
  eventDropRate: number;
  eventDuplicateRate: number;
  eventDelayMs: number;
  eventReorderRate: number;
  /** Fraction of SageMaker API calls answered with ThrottlingException (HTTP 400). */
  throttleRate: number;
  /** true, or a list of name patterns: no child process, the job only walks its statuses on timers. */
  simulateJobs: boolean | string[];
  /** PRNG seed for the random knobs, so tests are reproducible. */
  seed?: number;
}

export interface ScriptImage {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export interface LocalAwsOptions {
  /** 0 = random free port (default 0). */
  port?: number;
  /** Default 127.0.0.1: never bind beyond loopback unless asked to. */
  host?: string;
  /** State and S3 objects live here; created if missing. */
  dataDir: string;
  region?: string;
  accountId?: string;
  faults?: Partial<FaultConfig>;
  /** Image URI (exact, or a regex written as `/.../`) -> local command run in script mode. */
  scriptImages?: Record<string, ScriptImage>;
  logger?: Logger;
}

/** The envelope AWS delivers; shared with the runtime's event streams (one definition). */
import type { EventBridgeEvent } from '../events/eventbridge-event.ts';
export type { EventBridgeEvent };

export interface LocalAws {
  url: string;
  port: number;
  region: string;
  accountId: string;
  setFaults(p: Partial<FaultConfig>): void;
  /** Every event published on the default bus (after fault injection). */
  events$: Observable<EventBridgeEvent>;
  /** Stops the server and kills running job processes. */
  close(): Promise<void>;
}
