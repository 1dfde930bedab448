/**
 * State persistence: one JSON file per service under `<dataDir>/state/`,
 * written atomically (temp file + rename, so a crash never leaves half a file)
 * and debounced. The debounce adapts to the snapshot cost: when a write takes
 * long (100k simulated jobs), the next one waits proportionally longer, so
 * serialisation never eats more than ~10% of the event loop.
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface Persistable {
  snapshot(): unknown;
  /** Optional: the snapshot's JSON text in pieces, so 100k-job states never become one giant string. */
  snapshotChunks?(): Iterable<string>;
  restore(data: unknown): void;
}

function* chunksOf(target: Persistable): Iterable<string> {
  if (target.snapshotChunks) yield* target.snapshotChunks();
  else yield JSON.stringify(target.snapshot());
}

/** Streams chunks to a file, yielding to the event loop whenever the stream asks us to wait. */
async function writeChunks(file: string, chunks: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  for (const c of chunks) {
    if (!out.write(c)) await new Promise<void>((r) => out.once('drain', r));
  }
  out.end();
  await done;
}

interface Slot {
  name: string;
  target: Persistable;
  dirty: boolean;
  lastCostMs: number;
}

export class Persistence {
  private readonly dir: string;
  private slots = new Map<string, Slot>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    private readonly baseDelayMs = 100,
  ) {
    this.dir = join(dataDir, 'state');
    mkdirSync(this.dir, { recursive: true });
  }

  register(name: string, target: Persistable): void {
    this.slots.set(name, { name, target, dirty: false, lastCostMs: 0 });
  }

  /** Loads a registered slot's file, if present. A corrupt file is set aside rather than crashing startup. */
  load(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    const file = join(this.dir, `${name}.json`);
    if (!existsSync(file)) return;
    try {
      slot.target.restore(JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      const aside = `${file}.corrupt-${Date.now()}`;
      this.logger.warn({ err, file, aside }, 'local-aws: unreadable state file set aside');
      try {
        renameSync(file, aside);
      } catch {
        /* ignore */
      }
    }
  }

  markDirty(name: string): void {
    const slot = this.slots.get(name);
    if (!slot || this.closed) return;
    slot.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.writing || this.closed) return;
    const cost = Math.max(...[...this.slots.values()].map((s) => s.lastCostMs), 0);
    this.timer = setTimeout(() => void this.flushDirty(), Math.max(this.baseDelayMs, cost * 10));
  }

  private async flushDirty(): Promise<void> {
    this.timer = null;
    const p = (async () => {
      for (const slot of this.slots.values()) {
        if (!slot.dirty) continue;
        slot.dirty = false;
        const t0 = Date.now();
        try {
          const file = join(this.dir, `${slot.name}.json`);
          const tmp = `${file}.tmp-${process.pid}`;
          await writeChunks(tmp, chunksOf(slot.target));
          await rename(tmp, file);
        } catch (err) {
          this.logger.error({ err, slot: slot.name }, 'local-aws: state write failed');
          slot.dirty = true;
        }
        slot.lastCostMs = Date.now() - t0;
      }
    })();
    this.writing = p;
    await p;
    this.writing = null;
    if ([...this.slots.values()].some((s) => s.dirty)) this.schedule();
  }

  /** Final synchronous write of every slot, used on close so nothing is lost. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing) await this.writing;
    this.closed = true;
    for (const slot of this.slots.values()) {
      try {
        const file = join(this.dir, `${slot.name}.json`);
        const tmp = `${file}.tmp-${process.pid}`;
        const fd = openSync(tmp, 'w');
        try {
          for (const c of chunksOf(slot.target)) writeSync(fd, c);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, file);
      } catch (err) {
        this.logger.error({ err, slot: slot.name }, 'local-aws: final state write failed');
      }
    }
  }
}
