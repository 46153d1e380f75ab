// Tables of the comparison benches, as aligned text for the terminal and as markdown for the README.
import type { ClosedLoopResult } from "./closedLoop.js";

export interface Measurement {
  readonly system: string;
  readonly description: string;
  readonly result: ClosedLoopResult;
  /** CPU time of the system's three server processes over the measured window, in percent of one core. */
  readonly serverCpuPercent: number;
  /** CPU time of the other system's servers, idle meanwhile, over the same window (0 when alone). */
  readonly idleOtherCpuPercent: number;
}

/** One point of a scenario: the same load on YAKt and, when there is one, on the reference. */
export interface PointResult {
  /** e.g. "leader", "follower", "linearizable, leader". */
  readonly label: string;
  readonly concurrency: number;
  readonly yakt: Measurement;
  /** Absent without --vs; `"unsupported"` when the reference offers no such operation. */
  readonly reference: Measurement | "unsupported" | undefined;
}

export interface Table {
  readonly title: string;
  readonly headers: readonly string[];
  /** Per column: right-aligned (numbers) or left. */
  readonly rightAligned: readonly boolean[];
  readonly rows: readonly (readonly string[])[];
}

/** YAKt's throughput over the reference's, e.g. "1.52×"; "—" when there is nothing to divide by. */
export function formatRatio(yaktOpsPerSecond: number, referenceOpsPerSecond: number | undefined): string {
  if (referenceOpsPerSecond === undefined || referenceOpsPerSecond <= 0) return "—";
  return `${(yaktOpsPerSecond / referenceOpsPerSecond).toFixed(2)}×`;
}

export function formatOpsPerSecond(opsPerSecond: number): string {
  return Math.round(opsPerSecond).toLocaleString("en-US");
}

/** Milliseconds with 2 significant decimals below 10 ms, 1 below 100 ms, none above. */
export function formatLatencyMs(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

/** The table of one scenario: a row per point, YAKt's figures, the reference's, and the ratio. */
export function pointsTable(title: string, referenceName: string | undefined, points: readonly PointResult[]): Table {
  const figures = (prefix: string): string[] => [`${prefix} ops/s`, "p50 ms", "p99 ms", "p99.9 ms", "errors", "CPU srv/cli %"];
  const headers = ["point", "c", ...figures("YAKt"), ...(referenceName === undefined ? [] : [...figures(referenceName), "ratio"])];
  const rows = points.map((point) => {
    const reference = point.reference;
    const referenceCells = referenceName === undefined ? [] : reference === undefined || reference === "unsupported" ? [...figures("").map(() => "—"), "—"] : [...measurementCells(reference), formatRatio(point.yakt.result.operationsPerSecond, reference.result.operationsPerSecond)];
    return [point.label, String(point.concurrency), ...measurementCells(point.yakt), ...referenceCells];
  });
  return { title, headers, rightAligned: headers.map((_, i) => i > 0), rows };
}

function measurementCells(m: Measurement): string[] {
  const r = m.result;
  return [formatOpsPerSecond(r.operationsPerSecond), formatLatencyMs(r.latency?.p50Ms), formatLatencyMs(r.latency?.p99Ms), formatLatencyMs(r.latency?.p999Ms), String(r.errorsCount), `${Math.round(m.serverCpuPercent)}/${Math.round(r.clientCpuPercent)}`];
}

/** Columns padded to their widest cell, separated by two spaces, with a rule under the headers. */
export function formatTextTable(table: Table): string {
  const widths = table.headers.map((header, column) => Math.max(header.length, ...table.rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (table.rightAligned[column] === true ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [table.title, line(table.headers), widths.map((w) => "-".repeat(w)).join("  "), ...table.rows.map(line)].join("\n");
}

export function formatMarkdownTable(table: Table): string {
  const escape = (cell: string): string => cell.replaceAll("|", "\\|");
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(" | ")} |`;
  const rule = `| ${table.headers.map((_, column) => (table.rightAligned[column] === true ? "---:" : "---")).join(" | ")} |`;
  return [`**${table.title}**`, "", line(table.headers), rule, ...table.rows.map(line)].join("\n");
}
