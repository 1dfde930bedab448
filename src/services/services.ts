/**
 * The services a process hands to the tasks it runs (`ctx.services`) and the triggers it holds
 * (`ctx.services` of a trigger run): AWS clients, the task-log writer, a provider's watchers … — a
 * typed object built once by the composition root (Runtime, the CLI's processes, standalone), never
 * looked up by string and cast.
 *
 * Providers add their own entries by augmenting this interface (TypeScript declaration merging,
 * the way Fastify plugins type their decorators), so `src/services` depends on no provider:
 *
 *   declare module '../../services/services.ts' {
 *     interface Services { awsClients?: AwsClientFactory }
 *   }
 *
 * The index signature keeps embedding applications' own services (`Runtime.create({ services:
 * { myQueue } })`) working; they read them as `unknown` unless they augment the interface too.
 */
import type { TaskLogRepository } from '../store/repositories/task-log-repository.ts';

export interface Services {
  [name: string]: unknown;
  /** Appends to a task's log from outside its worker (the triggerer, while the task is deferred). */
  taskLogs?: TaskLogRepository;
  /**
   * The deployment's id (one per database: store/repositories/deployment-repository.ts). Providers
   * tag what they create in shared accounts with it, and route only their own events.
   */
  deploymentId?: () => Promise<string>;
}
