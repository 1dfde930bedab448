/**
 * Runs whose DAG no scheduler can load must not sit `queued` in silence. Each scheduler loop hands
 * its active runs here; a run whose DAG is not in this scheduler's DAG source is flagged on the
 * run (`dag_load_error`, shown by UI, API and CLI) when the DAG processor's records say no
 * scheduler can have it either: the DAG was never parsed (no file defines it, or its file fails
 * to import) or it was deactivated (file deleted, DAG removed from it). A DAG that is active in
 * those records belongs to some other scheduler (embedding) or is about to reach this one, and
 * is left alone. The flag is cleared as soon as the DAG loads again.
 */
import type { Logger } from 'pino';
import { DagRunFlagRepository } from '../store/repositories/dag-run-flag-repository.ts';
import type { DagRunDoc } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { DagSource } from './dag-definition.ts';

export interface RunAvailabilityOptions {
  store: Store;
  logger: Logger;
  /** How long a computed reason is reused before the records are read again (default 5 s). */
  recheckMs?: number;
}

export class RunDagAvailability {
  private readonly flags: DagRunFlagRepository;
  private readonly reasons = new Map<string, { reason: string | null; at: number }>();
  private readonly recheckMs: number;

  constructor(private readonly opts: RunAvailabilityOptions) {
    this.flags = new DagRunFlagRepository(opts.store);
    this.recheckMs = opts.recheckMs ?? 5_000;
  }

  /** Flag the active runs whose DAG cannot be loaded anywhere; clear runs whose DAG loads again. */
  async check(active: ReadonlyArray<DagRunDoc>, source: Pick<DagSource, 'getDag'>, now = new Date()): Promise<void> {
    const missing = new Set<string>();
    for (const run of active) {
      if (source.getDag(run.dag_id)) {
        this.reasons.delete(run.dag_id);
        if (run.dag_load_error) await this.flags.clearUnloadable(run._id, now);
      } else missing.add(run.dag_id);
    }
    if (missing.size === 0) return;
    const reasons = await this.reasonsFor([...missing], now.getTime());
    for (const run of active) {
      if (!missing.has(run.dag_id)) continue;
      const reason = reasons.get(run.dag_id) ?? null;
      if (reason && run.dag_load_error !== reason) {
        if (await this.flags.flagUnloadable(run._id, reason, now)) {
          this.opts.logger.warn({ dag_id: run.dag_id, run_id: run.run_id }, `DAG run cannot start or continue: ${reason}`);
        }
      } else if (!reason && run.dag_load_error) {
        await this.flags.clearUnloadable(run._id, now);
      }
    }
  }

  private async reasonsFor(dagIds: string[], nowMs: number): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    const stale = dagIds.filter((id) => {
      const r = this.reasons.get(id);
      if (r && nowMs - r.at < this.recheckMs) {
        out.set(id, r.reason);
        return false;
      }
      return true;
    });
    if (stale.length === 0) return out;
    const { store } = this.opts;
    const docs = new Map(
      (await store.dags.find({ _id: { $in: stale } }, { projection: { _id: 1, is_active: 1, fileloc: 1 } }).toArray()).map((d) => [d._id, d] as const),
    );
    const errors = await store.importErrors.find({}, { projection: { _id: 1, message: 1, stacktrace: 1 } }).toArray();
    const errorOf = new Map(errors.map((e) => [e._id, (e.message ?? e.stacktrace).split('\n')[0]] as const));
    const brokenFiles = errors.map((e) => e._id);
    for (const id of stale) {
      const doc = docs.get(id);
      let reason: string | null;
      if (!doc) {
        reason =
          `DAG '${id}' is not defined by any DAG file the DAG processor has parsed` +
          (brokenFiles.length
            ? `; ${brokenFiles.length} DAG file(s) fail to import (${brokenFiles.slice(0, 5).join(', ')}${brokenFiles.length > 5 ? ', …' : ''}) — see \`deferflow dags list-import-errors\``
            : '; add its file to the DAGs folder, or check that a DAG processor (scheduler) watches that folder');
      } else if (!doc.is_active) {
        const broken = errorOf.get(doc.fileloc);
        reason = broken
          ? `DAG '${id}' cannot be loaded: its file ${doc.fileloc} fails to import: ${broken}`
          : `DAG '${id}' is no longer defined in ${doc.fileloc} (the file was deleted or the DAG removed from it)`;
      } else {
        reason = null;
      }
      this.reasons.set(id, { reason, at: nowMs });
      out.set(id, reason);
    }
    return out;
  }
}
