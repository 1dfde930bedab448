/**
 * What the database costs a piece of work, counted from the driver's command monitoring (clients
 * created with `monitorCommands: true`), so the figures do not depend on the machine's load:
 *   - round trips: commands sent;
 *   - documents read: documents the server returned (cursor batches of find / aggregate / getMore,
 *     the document of a findAndModify) — what the client had to decode;
 *   - write statements: documents inserted, update and delete statements, findAndModify — a
 *     batched write of k rows counts k here and 1 round trip;
 *   - write statements by label, when a classifier says which piece of work a statement belongs to
 *     (e.g. 'defer' / 'resume').
 * Counting happens only between start() and stop().
 */
import type { CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';

export interface CommandCounts {
  roundTrips: number;
  docsRead: number;
  writeStatements: number;
  byCommand: Record<string, number>;
  byLabel: Record<string, number>;
}

/** A write statement as the classifier sees it: the collection, and its filter and update (if any). */
export interface WriteStatement {
  command: 'insert' | 'update' | 'delete' | 'findAndModify';
  collection: string;
  filter?: Record<string, unknown>;
  update?: Record<string, unknown>;
}

export type StatementClassifier = (s: WriteStatement) => string | null;

const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify']);

export class CommandCounter {
  private counting = false;
  private counts: CommandCounts = empty();
  private readonly started = new Set<number>();

  constructor(
    clients: MongoClient[],
    private readonly classify: StatementClassifier = () => null,
  ) {
    for (const c of clients) {
      c.on('commandStarted', (e) => this.onStarted(e));
      c.on('commandSucceeded', (e) => this.onSucceeded(e));
      c.on('commandFailed', (e) => this.started.delete(e.requestId));
    }
  }

  start(): void {
    this.counts = empty();
    this.counting = true;
  }

  stop(): CommandCounts {
    this.counting = false;
    return this.snapshot();
  }

  snapshot(): CommandCounts {
    return { ...this.counts, byCommand: { ...this.counts.byCommand }, byLabel: { ...this.counts.byLabel } };
  }

  private onStarted(e: CommandStartedEvent): void {
    if (!this.counting) return;
    this.started.add(e.requestId);
    const c = this.counts;
    c.roundTrips += 1;
    c.byCommand[e.commandName] = (c.byCommand[e.commandName] ?? 0) + 1;
    if (!WRITE_COMMANDS.has(e.commandName)) return;
    for (const s of statementsOf(e.commandName as WriteStatement['command'], e.command as Record<string, unknown>)) {
      c.writeStatements += 1;
      const label = this.classify(s);
      if (label) c.byLabel[label] = (c.byLabel[label] ?? 0) + 1;
    }
  }

  private onSucceeded(e: CommandSucceededEvent): void {
    if (!this.started.delete(e.requestId)) return;
    const reply = e.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] }; value?: unknown };
    if (reply.cursor) this.counts.docsRead += (reply.cursor.firstBatch ?? reply.cursor.nextBatch ?? []).length;
    else if (e.commandName === 'findAndModify' && reply.value) this.counts.docsRead += 1;
  }
}

function empty(): CommandCounts {
  return { roundTrips: 0, docsRead: 0, writeStatements: 0, byCommand: {}, byLabel: {} };
}

function statementsOf(command: WriteStatement['command'], cmd: Record<string, unknown>): WriteStatement[] {
  const collection = String(cmd[command]);
  const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  switch (command) {
    case 'insert':
      return ((cmd.documents as unknown[]) ?? []).map(() => ({ command, collection }));
    case 'update':
      return ((cmd.updates as Array<{ q?: unknown; u?: unknown }>) ?? []).map((u) => ({ command, collection, filter: obj(u.q), update: obj(u.u) }));
    case 'delete':
      return ((cmd.deletes as Array<{ q?: unknown }>) ?? []).map((d) => ({ command, collection, filter: obj(d.q) }));
    default:
      return [{ command, collection, filter: obj(cmd.query), update: obj(cmd.update) }];
  }
}

/** The state a task-instance write statement sets and the state(s) its filter names. */
export function tiStates(s: WriteStatement): { from: unknown; to: unknown } {
  const set = s.update?.$set as Record<string, unknown> | undefined;
  return { from: s.filter?.state, to: set?.state };
}

export const per = (n: number, d: number, digits = 2): number => Math.round((n / Math.max(1, d)) * 10 ** digits) / 10 ** digits;
