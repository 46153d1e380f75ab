/** Spaces between two columns. */
const columnGapText = "  ";

/**
 * Rows as aligned text columns, one line per row (the first row is usually the header): every column is
 * as wide as its widest cell, and lines end without trailing spaces. Cells are one line each.
 */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join(columnGapText).trimEnd()).join("\n");
}
