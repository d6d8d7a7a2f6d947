/*
 * text.js - how the live page shows text that a program wrote: as text
 * nodes only, never markup, with every control character replaced by a
 * visible stand-in first, so that neither the browser nor a reader's eye is
 * fooled by what a log line contains (app.js uses it for every record).
 */

// The same stand-ins as `ulog tail` (cli/neutralise.c), but for ESC, which is
// shown as the control picture so that an escape sequence reads as one:
// C0 controls and DEL as \xNN, C1 controls and bidi overrides as \uNNNN.
// Newlines and tabs stay: the message cell keeps them (white-space: pre-wrap).
export const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function neutralise(text) {
  return String(text).replace(ACTIVE, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x1b) return "\u241b";
    if (code < 0x80) return "\\x" + code.toString(16).padStart(2, "0");
    return "\\u" + code.toString(16).padStart(4, "0");
  });
}

export function textOf(value) {
  if (value === undefined || value === null) return "";
  return neutralise(typeof value === "string" ? value : JSON.stringify(value));
}

// A message appended to `parent` as nodes: plain runs as text nodes, each
// stand-in for a control character in a span of its own (so it reads as
// one, not as the characters "\x07" a program might have written), and the
// text `search` marked. Only text nodes and textContent: nothing here is
// parsed as markup.
export function appendMessage(parent, message, search) {
  const raw = message === undefined || message === null ? ""
    : typeof message === "string" ? message : JSON.stringify(message);
  const pieces = [];  // [text, is a stand-in]
  let from = 0;
  for (const match of raw.matchAll(ACTIVE)) {
    if (match.index > from) pieces.push([raw.slice(from, match.index), false]);
    pieces.push([neutralise(match[0]), true]);
    from = match.index + match[0].length;
  }
  if (from < raw.length) pieces.push([raw.slice(from), false]);

  const needle = (search || "").toLowerCase();
  const marks = [];   // [start, end) in the shown text
  if (needle) {
    const shown = pieces.map((p) => p[0]).join("").toLowerCase();
    for (let at = shown.indexOf(needle); at >= 0; at = shown.indexOf(needle, at + needle.length))
      marks.push([at, at + needle.length]);
  }
  let offset = 0, m = 0;
  for (const [text, standIn] of pieces) {
    let start = 0;
    while (start < text.length) {
      while (m < marks.length && marks[m][1] <= offset + start) m++;
      const mark = marks[m];
      let end = text.length, marked = false;
      if (mark && mark[0] <= offset + start) {
        marked = true;
        end = Math.min(end, mark[1] - offset);
      } else if (mark) {
        end = Math.min(end, mark[0] - offset);
      }
      let node = document.createTextNode(text.slice(start, end));
      if (standIn) {
        const span = document.createElement("span");
        span.className = "ctl";
        span.appendChild(node);
        node = span;
      }
      if (marked) {
        const wrap = document.createElement("mark");
        wrap.appendChild(node);
        node = wrap;
      }
      parent.appendChild(node);
      start = end;
    }
    offset += text.length;
  }
}
