/**
 * Issue 14 point 8: a triggerer killed hard (kill -9 of its process) has its triggers adopted
 * within 10 s of its last heartbeat — and not before its lease ran out (never a live one's).
 *
 * The victim runs in a child process with the default heartbeat (2 s) and lease (8 s); the
 * adopter runs here with the same defaults. Its claim loop wakes exactly when the victim's lease
 * runs out, so adoption = last heartbeat + lease + one write per shard.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerJobTrigger } from '../../../src/providers/aws/deferral/sagemaker-job-trigger.ts';
import type { TriggerShardDoc } from '../../../src/store/schema.ts';
import { ROOT } from '../../cli/cli-harness.ts';
import { MONGODB_URI, TriggererHarness, type Deferred } from './triggerer-harness.ts';

let h: TriggererHarness;
let child: ChildProcess | null = null;

beforeAll(async () => {
  h = await TriggererHarness.create('adoption_kill');
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await h?.close();
});

/** Starts the victim triggerer process; resolves once it holds `n` triggers. */
function startVictim(id: string, n: number): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    ['--conditions=deferflow-source', '--import', 'tsx', join(ROOT, 'test/fixtures/processes/triggerer-child.ts'), MONGODB_URI, h.store.db.databaseName, id],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child = p;
  let out = '';
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`HOLDS ${n}\n`)) resolve(p);
    });
    p.on('exit', (code) => reject(new Error(`victim exited with ${code}: ${err.slice(-2000)}`)));
  });
}

describe('adoption after kill -9', () => {
  it('takes the victim’s shards within 10 s of its last heartbeat, never before its lease ran out, and runs every trigger', async () => {
    const ds: Deferred[] = [];
    for (let i = 0; i < 24; i++) ds.push(await h.deferTask(new SageMakerJobTrigger({ job_type: 'training', job_name: `kill-${i}`, check_on_start: false })));
    const victim = await startVictim('victim', ds.length);
    const adopter = h.triggerer({ id: 'adopter', heartbeatMs: 2_000, adoptAfterMs: 8_000, pollIntervalMs: 1_000, sweepIntervalMs: 3_600_000 });
    await adopter.start();

    victim.kill('SIGKILL');
    await new Promise<void>((r) => (victim.exitCode !== null || victim.signalCode !== null ? r() : victim.once('exit', () => r())));
    // What the victim left: its last heartbeat, and the leases it still holds (a write it sent just
    // before dying may still land: read after a moment).
    await new Promise((r) => setTimeout(r, 200));
    const job = await h.store.jobs.findOne({ _id: 'victim' });
    const lastHeartbeat = job!.latest_heartbeat.getTime();
    const left = new Map((await h.store.triggerShards.find({ holder: 'victim' }).toArray()).map((s: TriggerShardDoc) => [s.shard, s]));
    expect(left.size).toBeGreaterThan(0);

    await h.waitFor('the adopter runs every trigger', () => ds.every((d) => adopter.holds(d.trigger._id)), 60_000);
    const allHeldAt = Date.now();
    const taken = await h.store.triggerShards.find({ shard: { $in: [...left.keys()] } }).toArray();
    for (const s of taken) {
      expect(s.holder).toBe('adopter');
      // Never while the victim's lease was still valid.
      expect(s.acquired_at!.getTime()).toBeGreaterThanOrEqual(left.get(s.shard)!.expires_at.getTime());
    }
    const lastTaken = Math.max(...taken.map((s) => s.acquired_at!.getTime()));
    const adoptedAfterMs = lastTaken - lastHeartbeat;
    process.stdout.write(
      `[adoption-kill] victim's last heartbeat → its ${left.size} shards taken: ${adoptedAfterMs} ms; → all ${ds.length} triggers running: ${allHeldAt - lastHeartbeat} ms\n`,
    );
    expect(adoptedAfterMs).toBeLessThanOrEqual(10_000);
    await adopter.stop();
  });
});
