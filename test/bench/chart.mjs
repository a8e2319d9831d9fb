// An SVG chart of Silo's read throughput (bars, left axis) and p99 latency (line, right axis)
// against the number of tenants, with the single-tenant baseline and the shared-table
// comparator as reference lines.
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export function scalingChart(report, levels) {
  const W = 720;
  const H = 400;
  const left = 70;
  const right = 70;
  const top = 50;
  const bottom = 60;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const s = report.scenarios;
  const points = levels.map((n) => ({ n, rps: s[`silo-read-${n}`].rps.median, p99: s[`silo-read-${n}`].p99Ms }));
  const baseline = s.baseline?.rps.median ?? 0;
  const shared = Object.entries(s).find(([k]) => k.startsWith("shared-"))?.[1]?.rps.median ?? 0;
  const maxRps = Math.max(baseline, shared, ...points.map((p) => p.rps)) * 1.15;
  const maxP99 = Math.max(...points.map((p) => p.p99)) * 1.3;
  const slot = plotW / points.length;
  const y = (v) => top + plotH - (v / maxRps) * plotH;
  const y2 = (v) => top + plotH - (v / maxP99) * plotH;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="Silo read throughput and p99 latency against the number of tenants">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">Silo record reads spread over N tenants</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (maxRps / 4) * i;
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
      `<text x="${W - right + 8}" y="${y2((maxP99 / 4) * i) + 4}">${((maxP99 / 4) * i).toFixed(1)}</text>`,
    );
  }
  points.forEach((p, i) => {
    const x = left + i * slot + slot * 0.2;
    parts.push(
      `<rect x="${x}" y="${y(p.rps)}" width="${slot * 0.6}" height="${top + plotH - y(p.rps)}" fill="#0b4f9c"/>`,
      `<text x="${x + slot * 0.3}" y="${y(p.rps) - 6}" text-anchor="middle">${Math.round(p.rps)}</text>`,
      `<text x="${x + slot * 0.3}" y="${top + plotH + 18}" text-anchor="middle">${p.n.toLocaleString("en")}</text>`,
    );
  });
  const line = points.map((p, i) => `${left + i * slot + slot / 2},${y2(p.p99)}`).join(" ");
  parts.push(`<polyline points="${line}" fill="none" stroke="#c25400" stroke-width="2.5"/>`);
  for (const [i, p] of points.entries()) {
    parts.push(`<circle cx="${left + i * slot + slot / 2}" cy="${y2(p.p99)}" r="4" fill="#c25400"/>`);
  }
  for (const [label, v, color] of [
    ["single-tenant baseline", baseline, "#0d5c2f"],
    ["shared table (10k tenants)", shared, "#8a1111"],
  ]) {
    if (!v) continue;
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="${color}" stroke-dasharray="6 4" stroke-width="1.5"/>`,
      `<text x="${left + 4}" y="${y(v) - 5}" fill="${color}" font-weight="600">${esc(label)}: ${Math.round(v)} req/s</text>`,
    );
  }
  parts.push(
    `<text x="${W / 2}" y="${H - 18}" text-anchor="middle">tenants (reads spread uniformly)</text>`,
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#0b4f9c">requests/s (bars)</text>`,
    `<text transform="translate(${W - 16} ${top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#c25400">p99 ms (line)</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
