/**
 * The UI's one live connection: /api/v1/events read with fetch (not EventSource, so it can send
 * the bearer token), parsed as SSE, reconnecting with a short back-off. Pages subscribe; every
 * change goes to every subscriber, which repaint in place.
 */
import type { LiveChange } from '../../api/live/live-changes.ts';
import { authHeaders } from './api-client.ts';

type Listener = (c: LiveChange) => void;
const listeners = new Set<Listener>();
let statusEl: HTMLElement | null = null;

export function onLiveChange(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setStatus(text: string, ok: boolean): void {
  statusEl ??= document.getElementById('live-status');
  if (!statusEl) return;
  statusEl.textContent = `● ${text}`;
  statusEl.classList.toggle('ok', ok);
}

function dispatch(block: string): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (event === 'hello') {
    setStatus('live', true);
    return;
  }
  if (!data.length) return;
  let change: LiveChange;
  try {
    change = JSON.parse(data.join('\n')) as LiveChange;
  } catch {
    return;
  }
  for (const fn of listeners) {
    try {
      fn(change);
    } catch (e) {
      console.error('live listener failed', e);
    }
  }
}

export async function connectLive(): Promise<void> {
  for (;;) {
    try {
      const res = await fetch('/api/v1/events', { headers: { accept: 'text/event-stream', ...authHeaders() } });
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch {
      /* reconnect below */
    }
    setStatus('reconnecting', false);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
