import { type BenchSection, type ModuleResult, ratioTo, SESSIONKIT } from "./harness.js";

const WIDTH = 900;
const LABEL_WIDTH = 330;
const VALUE_WIDTH = 70;
const ROW = 18;
const BAR = 12;
const HEADING = 30;
const PLOT = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;

type Row = { label: string; ratio: number; sessionkit: boolean };

/**
 * A horizontal bar chart of every measurement's ratio to its section's baseline, one block per
 * section, on a log scale centred on 1× (so 0.5× and 2× are the same distance from the line).
 */
export function renderSvg(results: ModuleResult[]): string {
  const blocks = results.flatMap((r) => r.sections).map((s) => ({ title: s.title, rows: rowsOf(s) }));
  const shown = blocks.filter((b) => b.rows.length > 0);
  const maxSpan = Math.max(1, ...shown.flatMap((b) => b.rows.map((row) => Math.ceil(Math.abs(Math.log2(row.ratio))))));
  const span = Math.min(maxSpan, 6); // beyond 64× either way, bars are clipped (the value is still printed)
  const x = (ratio: number) => {
    const clamped = Math.max(-span, Math.min(span, Math.log2(ratio)));
    return LABEL_WIDTH + ((clamped + span) / (2 * span)) * PLOT;
  };
  const height = 40 + shown.reduce((h, b) => h + HEADING + b.rows.length * ROW + 10, 0) + 20;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">Throughput relative to each section's baseline (log scale; right of the line is faster)</text>`,
  );
  let y = 40;
  for (const block of shown) {
    out.push(`<text x="10" y="${y + 18}" font-size="13" font-weight="bold">${xml(block.title)}</text>`);
    y += HEADING;
    const one = x(1);
    out.push(
      `<line x1="${one.toFixed(1)}" y1="${y - 6}" x2="${one.toFixed(1)}" y2="${y + block.rows.length * ROW}" stroke="#555" stroke-dasharray="3 2"/>`,
    );
    out.push(`<text x="${(one + 3).toFixed(1)}" y="${y - 8}" fill="#555">1×</text>`);
    for (const row of block.rows) {
      const end = x(row.ratio);
      const left = Math.min(one, end);
      const width = Math.max(1, Math.abs(end - one));
      const colour = row.sessionkit ? "#3b5bdb" : "#9aa3b5";
      out.push(`<text x="${LABEL_WIDTH - 6}" y="${y + BAR - 2}" text-anchor="end">${xml(row.label)}</text>`);
      out.push(
        `<rect x="${left.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" fill="${colour}"><title>${xml(`${row.label}: ${row.ratio.toFixed(2)}×`)}</title></rect>`,
      );
      out.push(`<text x="${WIDTH - VALUE_WIDTH}" y="${y + BAR - 2}">${row.ratio.toFixed(2)}×</text>`);
      y += ROW;
    }
    y += 10;
  }
  if (shown.length === 0) out.push(`<text x="10" y="60">No measurements.</text>`);
  out.push("</svg>", "");
  return out.join("\n");
}

function rowsOf(section: BenchSection): Row[] {
  const rows: Row[] = [];
  for (const m of section.measurements) {
    if (m.contender === section.baseline) continue;
    const ratio = ratioTo(section, m, section.baseline);
    if (ratio === undefined || !(ratio > 0)) continue;
    rows.push({ label: `${m.op} · ${m.contender}`, ratio, sessionkit: m.contender.startsWith(SESSIONKIT) });
  }
  return rows;
}

/** Text safe in SVG content and attributes. */
export function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
