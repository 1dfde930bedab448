/**
 * What every command's action gets: settings, the output format and writer, and the store —
 * opened lazily on first use, so `--help`, validation errors and commands that never touch the
 * database (local-aws) need no MongoDB.
 */
import { DeferflowError } from '../errors/deferflow-error.ts';
import { Store } from '../store/store.ts';
import { resolveMongo, type MongoTarget } from '../store/embedded-mongo.ts';
import { loadSettings, type SettingKey, type Settings } from '../config/settings.ts';
import { readStandaloneState } from '../standalone/standalone-state-file.ts';
import { processWriter, type Writer } from './output/renderer.ts';
import type { OutputFormat } from './output/output-format.ts';

export class CliContext {
  private storePromise: Promise<Store> | null = null;
  private embedded: MongoTarget | null = null;
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(
    readonly settings: Settings,
    readonly format: OutputFormat,
    readonly writer: Writer = processWriter,
  ) {}

  /**
   * The MongoDB URI commands use: MONGODB_URI, else the database of a running
   * `deferflow standalone`. Commands that only make sense against shared state fail here with a
   * hint rather than silently writing into a throwaway embedded database.
   */
  mongoUri(): string {
    if (this.settings.mongoUri) return this.settings.mongoUri;
    const standalone = readStandaloneState(this.settings.home);
    if (standalone) return standalone.mongoUri;
    throw new DeferflowError('CONFIG_ERROR', 'No MongoDB configured: MONGODB_URI is not set and no `deferflow standalone` is running', {
      hint: 'Set MONGODB_URI=mongodb://host:port/db (MongoDB ≥ 6 or FerretDB), or start `deferflow standalone` in another terminal.',
    });
  }

  /** The store on the configured database (see mongoUri), connected once. */
  store(): Promise<Store> {
    this.storePromise ??= Store.connect({ uri: this.mongoUri() }).catch((e: unknown) => {
      this.storePromise = null;
      throw connectError(e);
    });
    return this.storePromise;
  }

  /**
   * For in-process commands (`dags test`, `tasks test`, `standalone`, `start`): the configured
   * database when there is one, else an embedded mongodb-memory-server stopped on close.
   */
  async storeOrEmbedded(): Promise<{ store: Store; uri: string; embedded: boolean }> {
    let uri = this.settings.mongoUri ?? readStandaloneState(this.settings.home)?.mongoUri;
    let embedded = false;
    if (!uri) {
      this.embedded = await resolveMongo(undefined);
      uri = this.embedded.uri;
      embedded = true;
    }
    const target = uri;
    this.storePromise ??= Store.connect({ uri: target }).catch((e: unknown) => {
      this.storePromise = null;
      throw connectError(e);
    });
    return { store: await this.storePromise, uri: target, embedded };
  }

  /** Run `fn` when the command ends (servers to stop, files to remove). Last registered runs first. */
  onClose(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn().catch(() => undefined);
    this.cleanups.length = 0;
    if (this.storePromise) {
      const p = this.storePromise;
      this.storePromise = null;
      await p.then((s) => s.close()).catch(() => undefined);
    }
    if (this.embedded) {
      await this.embedded.stop().catch(() => undefined);
      this.embedded = null;
    }
  }
}

function connectError(e: unknown): unknown {
  if (e instanceof DeferflowError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new DeferflowError('CONFIG_ERROR', `Cannot connect to MongoDB: ${msg}`, {
    cause: e,
    hint: 'Check that MONGODB_URI points at a running MongoDB or FerretDB (e.g. mongodb://127.0.0.1:27017/deferflow).',
  });
}

export function createContext(
  opts: { output?: string },
  overrides: Partial<Record<SettingKey, string | number | undefined>> = {},
  writer: Writer = processWriter,
): CliContext {
  return new CliContext(loadSettings(overrides), (opts.output ?? 'table') as OutputFormat, writer);
}
