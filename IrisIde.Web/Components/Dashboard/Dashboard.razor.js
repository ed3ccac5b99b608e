// The admin dashboard's charts: the last hour of sessions, queued batch jobs and runs per minute, one
// uPlot chart each. The page pushes the whole series whenever a point is added (every 10 s).
import uPlot from "/lib/uplot/uPlot.esm.js";

const series = [
    { key: "sessions", label: "Interactive sessions", stroke: "#3b82f6" },
    { key: "queue", label: "Batch jobs queued", stroke: "#f59e0b" },
    { key: "runs", label: "Runs ended per minute", stroke: "#10b981" },
];

function ensureStyles() {
    if (document.querySelector("link[data-uplot]")) {
        return;
    }
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "/lib/uplot/uPlot.min.css";
    link.dataset.uplot = "";
    document.head.appendChild(link);
}

/** Draws one chart per series into `host`; returns an object with update(data) and dispose(). */
export function createCharts(host, data) {
    ensureStyles();
    const width = () => Math.max(280, Math.floor((host.clientWidth || 900) / series.length) - 16);
    const charts = series.map(s => {
        const box = document.createElement("figure");
        box.className = "dashboard-chart";
        box.dataset.testid = `chart-${s.key}`;
        host.appendChild(box);
        return new uPlot({
            title: s.label,
            width: width(),
            height: 160,
            scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
            series: [{}, { label: s.label, stroke: s.stroke, width: 2 }],
        }, [data.t, data[s.key]], box);
    });
    const resize = () => charts.forEach(c => c.setSize({ width: width(), height: 160 }));
    window.addEventListener("resize", resize);
    return {
        update(next) {
            charts.forEach((c, i) => c.setData([next.t, next[series[i].key]]));
        },
        points() {
            return charts[0].data[0].length;
        },
        dispose() {
            window.removeEventListener("resize", resize);
            charts.forEach(c => c.destroy());
            host.replaceChildren();
        },
    };
}
