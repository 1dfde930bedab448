/**
 * The XComs one try can pull, loaded on demand instead of the whole run's (issue 10.3): every key
 * of the task's upstream tasks (and of its own task when it resumes) before it starts, plus the
 * (task, key) pairs its templates pull, found by rendering them once while recording what they
 * asked for. `ti.xcom_pull` stays synchronous, as in Airflow: it answers from what was loaded, and
 * a pull of a task that was neither upstream nor asked for by a template fails with what to change.
 */
import { DeferflowError } from '../errors/deferflow-error.ts';
import type { XComDoc } from '../store/schema.ts';
import { fromJsonString } from '../store/repositories/json-safe.ts';

const pairKey = (taskId: string, key: string): string => `${taskId}\u0000${key}`;

export class TryXComs {
  private readonly values = new Map<string, Map<string, unknown>>();
  private readonly wholeTasks = new Set<string>();
  private readonly pairs = new Set<string>();
  private recording: Array<[string, string]> | null = null;

  constructor(private readonly taskId: string) {}

  /** Record `docs` as loaded; every key of `taskIds`, and the `pairs`, count as known (absent = no such XCom). */
  add(docs: ReadonlyArray<XComDoc>, taskIds: Iterable<string>, pairs: Iterable<readonly [string, string]> = []): void {
    for (const t of taskIds) this.wholeTasks.add(t);
    for (const [t, k] of pairs) this.pairs.add(pairKey(t, k));
    for (const d of docs) {
      if (d.map_index !== -1) continue;
      this.set(d.task_id, d.key, fromJsonString(d.value));
    }
  }

  /** A value this try pushed (or loaded). */
  set(taskId: string, key: string, value: unknown): void {
    let m = this.values.get(taskId);
    if (!m) this.values.set(taskId, (m = new Map()));
    m.set(key, value);
    this.pairs.add(pairKey(taskId, key));
  }

  isLoaded(taskId: string, key: string): boolean {
    return this.wholeTasks.has(taskId) || this.pairs.has(pairKey(taskId, key));
  }

  /** Start noting pulls of XComs not loaded (templates being rendered); they read as absent meanwhile. */
  record(): void {
    this.recording = [];
  }

  /** Stop noting; the (task, key) pairs asked for but not loaded. */
  stopRecording(): Array<[string, string]> {
    const out = this.recording ?? [];
    this.recording = null;
    const seen = new Set<string>();
    return out.filter(([t, k]) => !seen.has(pairKey(t, k)) && (seen.add(pairKey(t, k)), true));
  }

  get(taskId: string, key: string): unknown {
    if (this.isLoaded(taskId, key)) return this.values.get(taskId)?.get(key);
    if (this.recording) {
      this.recording.push([taskId, key]);
      return undefined;
    }
    throw new DeferflowError('INVALID_INPUT', `xcom_pull('${taskId}', key='${key}'): XComs of '${taskId}' are not loaded for task '${this.taskId}'`, {
      hint:
        `A try loads the XComs of its upstream tasks and those its templates pull. Make '${taskId}' an upstream of '${this.taskId}' ` +
        `(${taskId} >> ${this.taskId}), or pull it in a templated field.`,
    });
  }
}
