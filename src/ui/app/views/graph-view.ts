/** Graph of one run: dagre lays the tasks out left→right, nodes filled with their state's colour. */
import { graphlib, layout } from '@dagrejs/dagre';
import { svg } from '../dom.ts';
import { stateColor, stateTextColor } from '../state-colors.ts';
import { tiKey, type DagModel } from './dag-model.ts';

const NODE_W = 170;
const NODE_H = 38;

export function renderGraph(model: DagModel, runId: string | null, selectTi: (runId: string, taskId: string) => void): SVGSVGElement {
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 60, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of model.tasks) g.setNode(t.task_id, { width: NODE_W, height: NODE_H });
  for (const t of model.tasks) for (const d of t.downstream_task_ids) g.setEdge(t.task_id, d);
  layout(g);
  const graph = g.graph();
  const width = Math.max(200, Math.ceil(graph.width ?? 200));
  const height = Math.max(80, Math.ceil(graph.height ?? 80));
  const root = svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}` });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#888' }),
      ),
    ),
  );
  for (const e of g.edges()) {
    const pts: Array<{ x: number; y: number }> = g.edge(e).points ?? [];
    if (!pts.length) continue;
    root.append(
      svg('path', {
        class: 'edge',
        d: pts.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' '),
        fill: 'none',
        stroke: '#888',
        'stroke-width': 1.5,
        'marker-end': 'url(#arrow)',
      }),
    );
  }
  for (const taskId of model.order) {
    const n = g.node(taskId);
    if (!n) continue;
    const ti = runId ? model.ti(runId, taskId) : undefined;
    const state = ti?.state ?? null;
    const node = svg(
      'g',
      {
        class: 'node',
        transform: `translate(${n.x - NODE_W / 2}, ${n.y - NODE_H / 2})`,
        ...(runId ? { 'data-ti': tiKey(runId, taskId) } : {}),
        'data-task': taskId,
        'data-state': state ?? 'none',
        onclick: () => runId && selectTi(runId, taskId),
      },
      svg('rect', { width: NODE_W, height: NODE_H, rx: 6, fill: stateColor(state), stroke: '#555', 'stroke-width': 1 }),
      svg(
        'text',
        { x: NODE_W / 2, y: NODE_H / 2 + 4, 'text-anchor': 'middle', fill: stateTextColor(state), 'font-size': 12 },
        taskId.length > 24 ? `${taskId.slice(0, 22)}…` : taskId,
      ),
      svg('title', {}, `${taskId}: ${state ?? 'none'}`),
    );
    root.append(node);
  }
  return root;
}

/** Text colour has to follow the fill when a node changes state live. */
export function paintGraphText(container: HTMLElement, runId: string, taskId: string, state: string | null): void {
  const node = container.querySelector(`g[data-ti="${CSS.escape(tiKey(runId, taskId))}"]`);
  node?.querySelector('text')?.setAttribute('fill', stateTextColor(state));
  const title = node?.querySelector('title');
  if (title) title.textContent = `${taskId}: ${state ?? 'none'}`;
}
