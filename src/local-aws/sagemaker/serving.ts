/**
 * A serving container process (built-in KNN `serve`), spoken to over IPC in
 * place of SageMaker's HTTP port 8080. Endpoints keep one per variant; batch
 * transform starts one per job, exactly like SageMaker runs its model
 * container behind a transform job.
 */
import type { ProcessRunner, RunningProcess } from '../jobs/runner.ts';
import { tsNodeCommand } from '../jobs/runner.ts';

export interface InvokeResult {
  status: number;
  body: Buffer;
  contentType: string;
}

interface Pending {
  resolve: (r: InvokeResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

// The sibling module as this one runs: container.ts from the sources, container.js compiled (dist/).
const KNN_CONTAINER = new URL(`../algorithms/knn/container.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

export class ServingContainer {
  private proc: RunningProcess;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  readonly ready: Promise<void>;
  private dead: string | null = null;

  constructor(runner: ProcessRunner, opts: { jobDir: string; modelDir: string; env?: Record<string, string>; onLine: (l: string) => void }) {
    this.proc = runner.start({
      command: tsNodeCommand(KNN_CONTAINER, 'serve'),
      cwd: opts.jobDir,
      env: { ...(process.env as Record<string, string>), ...opts.env, SM_OPT_ML: opts.jobDir, SM_MODEL_DIR: opts.modelDir },
      onLine: opts.onLine,
      ipc: true,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.proc.child.on('message', (m: unknown) => {
        const msg = m as { type?: string; id?: number; status?: number; body?: string; contentType?: string };
        if (msg.type === 'ready') return resolve();
        if (typeof msg.id !== 'number') return;
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        p.resolve({ status: msg.status ?? 500, body: Buffer.from(msg.body ?? '', 'base64'), contentType: msg.contentType ?? 'application/octet-stream' });
      });
      void this.proc.exited.then((info) => {
        this.dead = `container exited (code ${info.code}${info.signal ? `, signal ${info.signal}` : ''})`;
        reject(new Error(this.dead));
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(this.dead));
        }
        this.pending.clear();
      });
    });
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return this.dead === null;
  }

  invoke(body: Buffer, contentType: string | undefined, accept: string | undefined, timeoutMs = 60_000): Promise<InvokeResult> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const id = this.nextId++;
    return new Promise<InvokeResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`model container did not respond within ${timeoutMs / 1000} seconds`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.child.send({ id, body: body.toString('base64'), contentType, accept });
    });
  }

  async stop(): Promise<void> {
    await this.proc.kill(1000);
  }
}
