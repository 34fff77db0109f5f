// Draws the chart chooseChart picked (chart_choice.js) with Chart.js, or big-number cards for a
// total. The figure carries what the chart actually plots (data-labels, data-values, read back
// from the Chart.js instance) so that tests and assistive technology can check it against the
// result; the canvas gets a text alternative.
import { useEffect, useRef } from 'preact/hooks';
import {
  Chart, BarController, BarElement, LineController, LineElement, PointElement, CategoryScale,
  LinearScale, Tooltip,
} from 'chart.js';
import { html } from './ui.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement,
               CategoryScale, LinearScale, Tooltip);

const formatNumber = (value) => {
  const number = Number(value);
  return Number.isFinite(number) ? number.toLocaleString('en-US') : String(value);
};

function CanvasChart({ chart }) {
  const canvas = useRef(null);
  const figure = useRef(null);
  useEffect(() => {
    const instance = new Chart(canvas.current, {
      type: chart.kind,
      data: {
        labels: chart.labels,
        datasets: [{
          label: chart.measure,
          data: chart.values,
          backgroundColor: '#2e6da4',
          borderColor: '#1f4e79',
          borderWidth: chart.kind === 'line' ? 2 : 0,
        }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { callback: formatNumber } } },
      },
    });
    figure.current.dataset.labels = JSON.stringify(instance.data.labels);
    figure.current.dataset.values = JSON.stringify(instance.data.datasets[0].data);
    return () => instance.destroy();
  }, [chart]);
  const description = `${chart.kind === 'bar' ? 'Bar chart' : 'Line chart'} of ${chart.measure}` +
    (chart.dimension ? ` by ${chart.dimension}` : '') + ': ' +
    chart.labels.map((label, i) => `${label} ${formatNumber(chart.values[i])}`).join('; ');
  return html`<figure class="chart" ref=${figure} data-testid="chart" data-kind=${chart.kind}>
    <div class="canvas-box"><canvas ref=${canvas} role="img" aria-label=${description}></canvas></div>
    <figcaption>${chart.measure}${chart.dimension ? ` by ${chart.dimension}` : ''}</figcaption>
  </figure>`;
}

export function ChartView({ chart }) {
  if (chart.kind === 'number') {
    return html`<div class="cards" data-testid="chart" data-kind="number">
      ${chart.cards.map((card) => html`<div class="big-number" key=${card.label}>
        <span class="value" data-value=${card.value}>${formatNumber(card.value)}</span>
        <span class="label">${card.label}</span></div>`)}</div>`;
  }
  if (chart.kind === 'bar' || chart.kind === 'line') return html`<${CanvasChart} chart=${chart} />`;
  return null;
}
