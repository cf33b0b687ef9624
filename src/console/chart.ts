/** chart.js with only the parts the console draws (bar and line charts), registered once. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Filler);

export function drawChart(
  canvas: HTMLCanvasElement,
  data: { kind: "bar" | "line"; labels: string[]; series: string; values: (number | null)[] },
): { destroy(): void } {
  const color = "#1f5fbf";
  return new Chart(canvas, {
    type: data.kind,
    data: {
      labels: data.labels,
      datasets: [
        {
          label: data.series,
          data: data.values,
          backgroundColor: data.kind === "bar" ? "rgba(31, 95, 191, 0.75)" : "rgba(31, 95, 191, 0.15)",
          borderColor: color,
          borderWidth: data.kind === "bar" ? 0 : 2,
          pointRadius: data.labels.length > 60 ? 0 : 2,
          fill: data.kind === "line",
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: data.kind === "bar" && data.labels.length > 12 ? "y" : "x",
      // Counts and averages are read against zero: an axis starting at the smallest value exaggerates every change.
      scales: {
        x: { beginAtZero: true, ticks: { autoSkip: true } },
        y: { beginAtZero: true, ticks: { autoSkip: data.kind !== "bar" || data.labels.length > 40 } },
      },
      plugins: { tooltip: { enabled: true } },
    },
  });
}
