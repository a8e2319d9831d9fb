// An SVG chart of read throughput (bars, left axis) and p99 latency (lines, right axis) against
// the number of tenants: Silo beside one bare object per tenant at every level (warm: objects
// started before measuring; at one tenant the bare bar is the single-object baseline), then the
// cold reads (each tenant's first request after a restart).
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export function scalingChart(report, levels, cold) {
  const W = 760;
  const H = 420;
  const left = 70;
  const right = 70;
  const top = 70;
  const bottom = 60;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const s = report.scenarios;
  const groups = [
    ...levels.map((n) => ({
      label: n.toLocaleString("en"),
      silo: s[`silo-read-${n}`],
      bare: n === 1 ? s.baseline : s[`bare-${n}`],
    })),
    { label: `${cold.toLocaleString("en")} cold`, silo: s[`cold-silo-${cold}`], bare: s[`cold-bare-${cold}`] },
  ].filter((g) => g.silo || g.bare);
  const all = groups.flatMap((g) => [g.silo, g.bare]).filter(Boolean);
  const maxRps = Math.max(1, ...all.map((x) => x.rps.median)) * 1.15;
  const maxP99 = Math.max(1, ...all.map((x) => x.p99Ms)) * 1.3;
  const slot = plotW / Math.max(1, groups.length);
  const y = (v) => top + plotH - (v / maxRps) * plotH;
  const y2 = (v) => top + plotH - (v / maxP99) * plotH;
  const colors = { silo: "#0b4f9c", bare: "#7a9cc6", siloP99: "#c25400", bareP99: "#e0a060" };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="Read throughput and p99 latency against the number of tenants, Silo and bare objects, warm and cold">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">Record reads spread over N tenants: Silo and a bare object per tenant</text>`,
  ];
  const legend = [
    ["Silo req/s", colors.silo, "rect"],
    ["bare req/s", colors.bare, "rect"],
    ["Silo p99", colors.siloP99, "line"],
    ["bare p99", colors.bareP99, "line"],
  ];
  legend.forEach(([label, color, kind], i) => {
    const x = left + i * 150;
    parts.push(
      kind === "rect"
        ? `<rect x="${x}" y="38" width="14" height="10" fill="${color}"/>`
        : `<line x1="${x}" x2="${x + 14}" y1="43" y2="43" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${x + 20}" y="47">${esc(label)}</text>`,
    );
  });
  for (let i = 0; i <= 4; i++) {
    const v = (maxRps / 4) * i;
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
      `<text x="${W - right + 8}" y="${y2((maxP99 / 4) * i) + 4}">${((maxP99 / 4) * i).toFixed(0)}</text>`,
    );
  }
  const bar = slot * 0.32;
  const siloLine = [];
  const bareLine = [];
  groups.forEach((g, i) => {
    const x0 = left + i * slot + slot * 0.15;
    for (const [k, x] of [
      ["silo", x0],
      ["bare", x0 + bar + 2],
    ]) {
      const m = g[k];
      if (!m) continue;
      parts.push(
        `<rect x="${x}" y="${y(m.rps.median)}" width="${bar}" height="${top + plotH - y(m.rps.median)}" fill="${colors[k]}"/>`,
        `<text x="${x + bar / 2}" y="${y(m.rps.median) - 5}" text-anchor="middle" font-size="10">${Math.round(m.rps.median)}</text>`,
      );
      (k === "silo" ? siloLine : bareLine).push(`${x + bar / 2},${y2(m.p99Ms)}`);
    }
    parts.push(
      `<text x="${left + i * slot + slot / 2}" y="${top + plotH + 18}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  for (const [points, color] of [
    [siloLine, colors.siloP99],
    [bareLine, colors.bareP99],
  ]) {
    parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    for (const p of points) {
      const [cx, cy] = p.split(",");
      parts.push(`<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"/>`);
    }
  }
  parts.push(
    `<text x="${W / 2}" y="${H - 18}" text-anchor="middle">tenants (reads spread uniformly; warm, then each tenant's first read after a restart)</text>`,
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">requests/s (bars)</text>`,
    `<text transform="translate(${W - 16} ${top + plotH / 2}) rotate(90)" text-anchor="middle">p99 ms (lines)</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
