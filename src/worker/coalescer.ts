/**
 * Turns many small requests from concurrent tries into one round trip: requests made within
 * `delayMs` of the first one (or until `maxBatch` are waiting) go to `flush` together, and each
 * caller gets its own answer. One flush at a time, in request order, so a batch never overtakes the
 * one before it (a try's log lines and its outcome land in the order they were made).
 *
 * A flush that throws fails every request of its batch; the next batch is unaffected.
 */
export interface CoalescerOptions<Req, Res> {
  /** Answers index-aligned with the requests. */
  flush: (requests: Req[]) => Promise<Res[]>;
  /** How long the first request of a batch waits for company (default 2 ms). */
  delayMs?: number;
  maxBatch?: number;
}

interface Pending<Req, Res> {
  req: Req;
  resolve: (r: Res) => void;
  reject: (e: unknown) => void;
}

export class Coalescer<Req, Res> {
  private waiting: Array<Pending<Req, Res>> = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly delayMs: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: CoalescerOptions<Req, Res>) {
    this.delayMs = opts.delayMs ?? 2;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  request(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ req, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.schedule(0);
      else if (!this.timer) this.schedule(this.delayMs);
    });
  }

  /** Send what is waiting now; resolves when every batch sent so far is done. */
  drain(): Promise<void> {
    if (this.waiting.length) this.schedule(0);
    return this.chain;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const batch = this.waiting.splice(0, this.maxBatch);
      if (this.waiting.length) this.schedule(0);
      if (batch.length) this.chain = this.chain.then(() => this.send(batch));
    }, ms);
  }

  private async send(batch: Array<Pending<Req, Res>>): Promise<void> {
    try {
      const answers = await this.opts.flush(batch.map((p) => p.req));
      for (const [i, p] of batch.entries()) p.resolve(answers[i] as Res);
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
