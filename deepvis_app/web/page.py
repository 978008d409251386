"""The page of `deepvis web`: the picture, and around it as HTML text what the window draws as text.

The layer list above the picture (click a name to select the layer), the text the window draws over
a pane (top-5 labels, a unit's value) over that pane, the status line and message below, the help
beside them. The page polls ``GET /state`` (JSON) and builds the text with ``textContent`` only, so a
label can hold any Unicode and no markup. Keys go to ``POST /key`` as the browser names them (the
server maps them with the key table the window uses), clicks on the picture to ``POST /click`` in
picture pixels. Browser shortcuts (Ctrl, Alt, Meta) stay the browser's.
"""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>deepvis</title>
<style>
body{margin:0;background:#333;color:#ddd;font-family:sans-serif}
#layers{padding:4px 6px;line-height:1.7}
#layers span{margin-right:14px;cursor:pointer;white-space:nowrap}
#layers span.selected{color:#fff;font-weight:bold}
#layers span.origin{color:#8cbeff}
#main{display:flex;align-items:flex-start;gap:10px}
#picture{position:relative;flex:none}
#picture img{display:block;cursor:crosshair}
.over{position:absolute;font-size:14px;line-height:18px;white-space:pre-wrap;overflow-wrap:anywhere;
  text-shadow:0 0 3px #000,0 0 2px #000;pointer-events:none}
#status{font-family:monospace;white-space:pre-wrap;padding:4px 6px}
#message{color:#fc6;padding:0 6px}
#help{padding:4px;min-width:20em}
#help td{padding:1px 8px;vertical-align:top}
#help td.keys{font-family:monospace;white-space:nowrap;text-align:right;color:#fff}
</style></head>
<body>
<div id="layers"></div>
<div id="main">
<div><div id="picture"><img id="frame" width="@W@" height="@H@" alt="the deepvis window">
<div id="over"></div></div>
<div id="status">loading...</div><div id="message"></div></div>
<div id="help" hidden><table><tbody id="help-rows"></tbody></table></div>
</div>
<script>
"use strict";
const SIZE = [@W@, @H@];
const $ = id => document.getElementById(id);
const post = (path, fields) => fetch(path, {method: "POST", body: new URLSearchParams(fields)});
const MODIFIERS = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock"]);
document.addEventListener("keydown", e => {
  if (e.ctrlKey || e.metaKey || e.altKey || MODIFIERS.has(e.key)) return;
  e.preventDefault();
  post("/key", {k: e.key, shift: e.shiftKey ? "1" : ""});
});
$("frame").addEventListener("click", e => {
  const img = $("frame"), box = img.getBoundingClientRect();
  post("/click", {x: (e.clientX - box.left) * SIZE[0] / box.width,
                  y: (e.clientY - box.top) * SIZE[1] / box.height});
});
function element(tag, text, cls) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (cls) node.className = cls;
  return node;
}
function render(s) {
  $("status").textContent = s.status;
  $("message").textContent = s.message || "";
  const layers = (s.layers || []).map((layer, index) => {
    const span = element("span", layer.pretty, layer.selected ? "selected" : layer.origin ? "origin" : "");
    span.title = layer.name;
    span.addEventListener("click", () => post("/click", {layer: index}));
    return span;
  });
  $("layers").replaceChildren(...layers);
  const over = (s.text || []).map(pane => {
    const [x, y, w] = pane.rect, div = element("div", "", "over");
    div.style.left = (x + 6) + "px"; div.style.top = (y + 4) + "px"; div.style.maxWidth = (w - 12) + "px";
    div.dataset.pane = pane.pane;
    for (const [line, value] of pane.lines) {
      const shade = Math.round(120 + 135 * Math.max(0, Math.min(1, value)));
      const row = element("div", line);
      row.style.color = `rgb(${shade},${shade},${shade})`;
      div.append(row);
    }
    return div;
  });
  $("over").replaceChildren(...over);
  $("help").hidden = !s.help;
  $("help-rows").replaceChildren(...(s.help || []).map(([keys, text]) => {
    const row = document.createElement("tr");
    row.append(element("td", keys, "keys"), element("td", text));
    return row;
  }));
}
let last = "";
async function poll() {
  let text;
  try {
    const response = await fetch("/state", {cache: "no-store"});
    text = response.ok ? await response.text() : null;
    if (!response.ok) { $("status").textContent = "refused: " + response.status + " " + await response.text(); }
  } catch (error) {
    $("status").textContent = "deepvis web has stopped";
    return;
  }
  if (text !== null && text !== last) {
    last = text;
    const s = JSON.parse(text);
    render(s);
    if (s.quit) { $("status").textContent = "deepvis web has stopped (q)"; return; }
  }
  setTimeout(poll, 250);
}
poll();
// The stream never ends loading: start it after the page's load event, so the page counts as loaded.
window.addEventListener("load", () => { $("frame").src = "/stream"; });
</script>
</body></html>
"""


def page_html(size: tuple[int, int]) -> str:
    """The page for a picture of ``size`` (width, height) pixels."""
    return PAGE.replace("@W@", str(int(size[0]))).replace("@H@", str(int(size[1])))
