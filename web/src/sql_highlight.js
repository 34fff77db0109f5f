// Where each violation points in the SQL: the API gives positions as "line L, column C"
// (1-based, columns in characters). The part highlighted starts there and runs over the
// expression that begins there (a qualified name, with its call parentheses), so the reader sees
// `r.hashed_email` or `COUNT(*)`, not one letter.

export function offsetOf(sql, position) {
  const match = /line (\d+), column (\d+)/.exec(position || '');
  if (!match) return -1;
  const line = Number(match[1]);
  const column = Number(match[2]);
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const newline = sql.indexOf('\n', offset);
    if (newline < 0) return -1;
    offset = newline + 1;
  }
  offset += column - 1;
  return offset >= 0 && offset < sql.length ? offset : -1;
}

// The length of the expression that starts at `offset`.
export function extentAt(sql, offset) {
  const rest = sql.slice(offset);
  const name = /^(?:"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*|\*))*/.exec(rest);
  let length = name ? name[0].length : 0;
  if (name && rest[length] === '(') {
    let depth = 0;
    for (let i = length; i < rest.length; i++) {
      if (rest[i] === '(') depth++;
      if (rest[i] === ')' && --depth === 0) {
        length = i + 1;
        break;
      }
    }
  }
  return Math.max(length, 1);
}

// The SQL cut into plain and highlighted pieces: [{text, violations: [indexes]}]. Overlapping
// violations at one place share a piece.
export function highlightPieces(sql, violations) {
  const marks = [];
  violations.forEach((violation, index) => {
    const start = offsetOf(sql, violation.position);
    if (start < 0) return;
    marks.push({ start, end: start + extentAt(sql, start), index });
  });
  const cuts = new Set([0, sql.length]);
  for (const mark of marks) {
    cuts.add(mark.start);
    cuts.add(Math.min(mark.end, sql.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [from, to] = [points[i], points[i + 1]];
    const covering = marks.filter((m) => m.start <= from && m.end >= to).map((m) => m.index);
    pieces.push({ text: sql.slice(from, to), violations: covering });
  }
  return pieces;
}
