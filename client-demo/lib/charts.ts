// Chart.js, registered with only the pieces the reports page draws (bars and lines), so the bundle stays small.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { h } from './dom.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);
Chart.defaults.animation = false;
Chart.defaults.color = '#4a5568';
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';

export const COLORS = {
  brand: '#0b5cad',
  ok: '#11703a',
  warn: '#8a5300',
  danger: '#b3261e',
  muted: '#8896a8',
};

/**
 * A chart in a titled card. The canvas carries an accessible name and a text summary for screen readers
 * (a canvas says nothing by itself).
 */
export function chartCard(title: string, summary: string, config: ChartConfiguration) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${summary}` });
  const card = h(
    'figure',
    { class: 'card chart' },
    h('figcaption', {}, h('h2', {}, title)),
    h('div', { class: 'chart-box' }, canvas),
  );
  queueMicrotask(() => new Chart(canvas, config));
  return card;
}
