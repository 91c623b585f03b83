// A small line chart on a canvas: a few series over steps, y from 0 to the largest value (or a fixed top).

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

/** Draws `series` into `canvas`; `yMax` fixes the top of the y axis (e.g. 1 for accuracies). */
export function drawChart(canvas: HTMLCanvasElement, series: Series[], options: { yMax?: number } = {}): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  const pad = { l: 44, r: 10, t: 10, b: 28 };
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  const yMax = options.yMax ?? (all.length > 0 ? Math.max(1e-6, ...all.map((p) => p[1])) * 1.05 : 1);
  const X = (x: number) => pad.l + (x / xMax) * (w - pad.l - pad.r);
  const Y = (y: number) => h - pad.b - (Math.min(y, yMax) / yMax) * (h - pad.t - pad.b);
  ctx.strokeStyle = '#d0d7de';
  ctx.fillStyle = '#57606a';
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const y = (yMax * k) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, Y(y));
    ctx.lineTo(w - pad.r, Y(y));
    ctx.stroke();
    ctx.fillText(y >= 10 ? y.toFixed(0) : y.toFixed(2), 4, Y(y) + 4);
  }
  ctx.fillText('0', pad.l, h - 10);
  ctx.fillText(`step ${xMax}`, w - pad.r - 60, h - 10);
  let legendX = pad.l + 6;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dashed ? [5, 4] : []);
    ctx.beginPath();
    for (const [i, [x, y]] of s.points.entries()) {
      if (i === 0) ctx.moveTo(X(x), Y(y));
      else ctx.lineTo(X(x), Y(y));
    }
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillRect(legendX, pad.t + 2, 12, 3);
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(s.name, legendX + 16, pad.t + 7);
    legendX += 22 + ctx.measureText(s.name).width;
  }
  ctx.setLineDash([]);
}
