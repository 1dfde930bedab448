/**
 * Gantt of one run. Unfinished task instances draw up to now, so the chart grows while the run
 * runs; a deferred task shows its running part and its deferred part (purple) separately. Tasks
 * that have not started are listed without a bar.
 */
import type { ApiTaskInstance } from '../../../api/serializers.ts';
import { fmtDuration, svg } from '../dom.ts';
import { deferralWindows } from '../deferral-windows.ts';
import { stateColor, STATE_COLORS } from '../state-colors.ts';
import { tiKey, type DagModel } from './dag-model.ts';

const ROW_H = 24;
const LABEL_W = 180;
const CHART_W = 720;

interface Segment {
  from: number;
  to: number;
  color: string;
  label: string;
}

function segments(ti: ApiTaskInstance, now: number): Segment[] {
  const t = (s: string | null) => (s ? Date.parse(s) : NaN);
  const start = t(ti.start_date);
  if (!Number.isFinite(start)) return [];
  const end = Number.isFinite(t(ti.end_date)) && ti.state !== 'running' && ti.state !== 'deferred' ? t(ti.end_date) : now;
  const out: Segment[] = [];
  // The try's first queueing (a resumed task's queued_when is its re-queue, after it started).
  const queued = t(ti.try_queued_at ?? ti.queued_when);
  if (Number.isFinite(queued) && queued < start) out.push({ from: queued, to: start, color: STATE_COLORS.queued!, label: 'queued' });
  // Where the try waited deferred: the windows the row's history keeps (so a reload keeps them),
  // else those this tab saw; clipped to the bar.
  const stored = (ti.deferrals ?? []).map((w) => ({ from: Date.parse(w.from), to: w.to ? Date.parse(w.to) : null }));
  const windows = (stored.length ? stored : deferralWindows.windows(ti))
    .map((w) => ({ from: Math.max(start, w.from), to: Math.min(end, w.to ?? (ti.state === 'deferred' ? now : end)) }))
    .filter((w) => w.to > w.from);
  if (windows.length) {
    let cursor = start;
    for (const w of windows) {
      if (w.from > cursor) out.push({ from: cursor, to: w.from, color: STATE_COLORS.running!, label: 'running' });
      out.push({ from: w.from, to: w.to, color: STATE_COLORS.deferred!, label: 'deferred' });
      cursor = w.to;
    }
    if (cursor < end) out.push({ from: cursor, to: end, color: stateColor(ti.state === 'deferred' ? 'running' : ti.state), label: ti.state ?? 'none' });
  } else {
    // A try that finished before this tab saw it defer keeps only its deferred total: say it in
    // the label rather than guess where in the bar it was.
    const label = ti.deferred_ms > 0 ? `${ti.state ?? 'none'}, ${fmtDuration(ti.deferred_ms)} of it deferred (slot free)` : (ti.state ?? 'none');
    out.push({ from: start, to: end, color: stateColor(ti.state), label });
  }
  return out;
}

export function renderGantt(model: DagModel, runId: string | null, selectTi: (runId: string, taskId: string) => void): SVGSVGElement {
  const now = Date.now();
  const rows = model.order.map((taskId) => ({ taskId, ti: runId ? model.ti(runId, taskId) : undefined }));
  const segs = rows.map((r) => (r.ti ? segments(r.ti, now) : []));
  const all = segs.flat();
  const min = all.length ? Math.min(...all.map((s) => s.from)) : now;
  const max = all.length ? Math.max(...all.map((s) => s.to), min + 1000) : now + 1000;
  const x = (ms: number) => LABEL_W + ((ms - min) / (max - min)) * CHART_W;
  const height = rows.length * ROW_H + 30;
  const root = svg('svg', { class: 'gantt', width: LABEL_W + CHART_W + 20, height, 'data-run': runId ?? '' });
  // axis: 5 ticks, relative to the first start
  for (let i = 0; i <= 4; i++) {
    const ms = min + ((max - min) * i) / 4;
    root.append(
      svg('line', { x1: x(ms), x2: x(ms), y1: 0, y2: height - 20, stroke: '#ddd' }),
      svg('text', { x: x(ms), y: height - 6, 'font-size': 10, 'text-anchor': 'middle', fill: '#666' }, `+${fmtDuration(ms - min)}`),
    );
  }
  rows.forEach((r, i) => {
    const y = i * ROW_H;
    const row = svg('g', {
      class: 'gantt-row',
      'data-task': r.taskId,
      ...(runId ? { 'data-gantt-ti': tiKey(runId, r.taskId) } : {}),
      onclick: () => runId && selectTi(runId, r.taskId),
    });
    row.append(svg('text', { x: 4, y: y + 16, 'font-size': 12 }, r.taskId));
    for (const s of segs[i]!) {
      row.append(
        svg(
          'rect',
          {
            x: x(s.from),
            y: y + 4,
            width: Math.max(2, x(s.to) - x(s.from)),
            height: ROW_H - 8,
            fill: s.color,
            stroke: '#666',
            'stroke-width': 0.5,
            'data-segment': s.label.split(',')[0]!,
          },
          svg('title', {}, `${r.taskId} ${s.label}: ${fmtDuration(s.to - s.from)}`),
        ),
      );
    }
    root.append(row);
  });
  return root;
}
