// digitrec drawing page: draw (pointer events or keyboard) or drop a photo or PDF,
// send it to POST /v1/read, show what was read. For a photo or PDF, each page is shown
// with its lines' boxes and readings; each reading can be corrected and the answer
// (corrected) downloaded as JSON.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const INK = "#000000";
const BASE_WIDTH = 22; // in canvas pixels (560 x 280): close to MNIST's stroke/size ratio

let strokes = []; // each: {width, points: [[x, y], ...]}
let current = null;
let timer = null;
let inflight = null;

// ---- drawing ---------------------------------------------------------------

function paper() {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.restore();
}

function drawStroke(s) {
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = s.width;
  const p = s.points;
  if (p.length === 1) {
    ctx.beginPath();
    ctx.arc(p[0][0], p[0][1], s.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(p[0][0], p[0][1]);
  for (let i = 1; i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
  ctx.stroke();
}

function redraw() {
  paper();
  strokes.forEach(drawStroke);
  if (keyPen.active) drawCursor();
}

function toCanvas(ev) {
  const r = pad.getBoundingClientRect();
  return [((ev.clientX - r.left) * pad.width) / r.width, ((ev.clientY - r.top) * pad.height) / r.height];
}

pad.addEventListener("pointerdown", (ev) => {
  if (ev.button !== 0) return;
  ev.preventDefault();
  pad.setPointerCapture(ev.pointerId);
  // A pen's pressure thickens the stroke a little; mouse and touch report 0.5.
  const pressure = ev.pointerType === "pen" && ev.pressure > 0 ? ev.pressure : 0.5;
  current = { width: BASE_WIDTH * (0.7 + 0.6 * pressure), points: [toCanvas(ev)] };
  strokes.push(current);
  clearTimeout(timer);
  redraw();
});

pad.addEventListener("pointermove", (ev) => {
  if (!current || !pad.hasPointerCapture(ev.pointerId)) return;
  const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
  for (const e of events.length ? events : [ev]) current.points.push(toCanvas(e));
  redraw();
});

function endStroke(ev) {
  if (!current) return;
  if (pad.hasPointerCapture(ev.pointerId)) pad.releasePointerCapture(ev.pointerId);
  current = null;
  scheduleRead();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

// ---- keyboard drawing: arrows move a pen, Space lowers/lifts it -------------

const keyPen = { active: false, down: false, x: 280, y: 140 };

function drawCursor() {
  ctx.save();
  ctx.strokeStyle = keyPen.down ? "#2d4fd6" : "#7a8294";
  ctx.lineWidth = 2;
  ctx.setLineDash(keyPen.down ? [] : [4, 3]);
  ctx.beginPath();
  ctx.arc(keyPen.x, keyPen.y, BASE_WIDTH / 2 + 3, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
}

pad.addEventListener("focus", () => { keyPen.active = true; redraw(); });
pad.addEventListener("blur", () => { keyPen.active = false; keyPen.down = false; redraw(); });
pad.addEventListener("keydown", (ev) => {
  const step = ev.shiftKey ? 40 : 10;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (ev.key in moves) {
    ev.preventDefault();
    const [dx, dy] = moves[ev.key];
    keyPen.x = Math.min(pad.width, Math.max(0, keyPen.x + dx));
    keyPen.y = Math.min(pad.height, Math.max(0, keyPen.y + dy));
    if (keyPen.down) strokes[strokes.length - 1].points.push([keyPen.x, keyPen.y]);
    redraw();
  } else if (ev.key === " ") {
    ev.preventDefault();
    keyPen.down = !keyPen.down;
    if (keyPen.down) strokes.push({ width: BASE_WIDTH, points: [[keyPen.x, keyPen.y]] });
    else scheduleRead();
    setStatus(keyPen.down ? "Pen down: arrow keys draw." : "Pen up.");
    redraw();
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    readPad();
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    clearPad();
  }
});

// ---- buttons ---------------------------------------------------------------

function clearPad() {
  strokes = [];
  keyPen.down = false;
  redraw();
  showResult(null);
  setStatus("Cleared. Draw something to start.");
}

$("clear").addEventListener("click", clearPad);
$("undo").addEventListener("click", () => {
  strokes.pop();
  keyPen.down = false;
  redraw();
  if (strokes.length) scheduleRead();
  else showResult(null);
});
$("read").addEventListener("click", () => readPad());

function scheduleRead() {
  clearTimeout(timer);
  if ($("auto").checked) timer = setTimeout(readPad, 350);
}

// ---- photos: file input, drag and drop, paste -------------------------------

const drop = $("drop");
$("file").addEventListener("change", (ev) => {
  const f = ev.target.files[0];
  if (f) readBlob(f, f.name);
  ev.target.value = "";
});
["dragenter", "dragover"].forEach((t) =>
  drop.addEventListener(t, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) =>
  drop.addEventListener(t, () => drop.classList.remove("over")));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  const f = [...ev.dataTransfer.files].find((x) => x.type.startsWith("image/") || x.type === "application/pdf") || ev.dataTransfer.files[0];
  if (f) readBlob(f, f.name);
});
document.addEventListener("paste", (ev) => {
  const item = [...(ev.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) readBlob(item.getAsFile(), "pasted image");
});

// ---- talking to the API ----------------------------------------------------

function setStatus(text) { $("status").textContent = text; }

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

function readPad() {
  clearTimeout(timer);
  if (!strokes.length) { setStatus("The pad is empty: draw a digit first."); return; }
  // Draw once without the keyboard cursor so it is not read as ink.
  const had = keyPen.active;
  keyPen.active = false;
  redraw();
  pad.toBlob((blob) => { keyPen.active = had; redraw(); readBlob(blob, "drawing", true); }, "image/png");
}

async function readBlob(blob, name, fromPad = false) {
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  showError(null);
  setStatus(`Reading ${name}…`);
  $("read").disabled = true;
  showPages(null); // shown once the service has read the file: a bad upload shows no broken image
  const t0 = performance.now();
  try {
    // A photo or PDF comes back with its pages as images, to draw the boxes on,
    // read by the line reader chosen for documents.
    const url = fromPad ? "/v1/read" : `/v1/read?page_images=true&reader=${$("reader").value}`;
    const res = await fetch(url, {
      method: "POST",
      body: blob,
      headers: { "Content-Type": blob.type || "application/octet-stream" },
      signal: controller.signal,
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const msg = body?.error?.message || `the server answered ${res.status}`;
      throw new Error(msg);
    }
    showResult(body);
    if (!fromPad) showPages(body, name);
    const ms = Math.round(performance.now() - t0);
    setStatus(body.text ? `Read “${body.text.replaceAll("\n", " ")}” in ${ms} ms.` : `No number found${body.reason ? `: ${body.reason}` : "."}`);
  } catch (err) {
    if (err.name === "AbortError") return;
    showResult(null);
    showPages(null);
    showError(`Could not read ${name}: ${err.message}`);
    setStatus("");
  } finally {
    if (inflight === controller) { inflight = null; $("read").disabled = false; }
  }
}

const pct = (p) => `${Math.round(p * 100)}%`;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

function level(p) { return p >= 0.9 ? "" : p >= 0.6 ? " mid" : " low"; }

// One card per character, left to right, for a one-line reading (a drawing, a photo of
// one number); a page of several lines shows its lines instead (showPages).
function showResult(r) {
  $("result-text").textContent = r ? (r.text || "—") : "—";
  $("result-confidence").textContent = r && r.text ? pct(r.confidence) : "—";
  const list = $("digits");
  list.replaceChildren();
  if (!r) return;
  const lines = r.pages.flatMap((p) => p.lines);
  const chars = lines.length === 1 ? lines[0].chars : [];
  chars.forEach((c) => {
    const top3 = el("ul", { class: "top3", "aria-label": "Top 3" },
      ...c.top3.map(([ch, p]) => el("li", {}, el("b", { text: String(ch) }), ` ${pct(p)}`)));
    const bar = el("span");
    bar.style.width = pct(c.confidence); // CSSOM, not a style attribute: the CSP forbids inline styles
    const meter = el("div", { class: `meter${level(c.confidence)}`, role: "img", "aria-label": `confidence ${pct(c.confidence)}` }, bar);
    list.append(el("li", { class: "digit", "data-digit": c.char },
      el("span", { class: "big", text: c.char }), el("span", { class: "conf", text: `${pct(c.confidence)} sure` }),
      meter, top3));
  });
}

// ---- pages: each line's box and reading, corrections, JSON download ------------

let answer = null; // the service's answer, with the user's corrections applied
let answerName = "reading";

function showPages(r, name = "") {
  const box = $("pages");
  box.replaceChildren();
  box.hidden = !r;
  answer = r ? structuredClone(r) : null;
  if (!r) return;
  answerName = (name || "reading").replace(/\.[^.]*$/, "") || "reading";
  if (name) { // sent as a raw body ("body"): name it as the user knows it
    answer.filename = name;
    for (const p of answer.pages) p.path = name;
  }
  for (const p of answer.pages) box.append(pageView(p));
  const download = el("button", { type: "button", id: "download", text: "Download JSON" });
  download.addEventListener("click", downloadJson);
  box.append(el("div", { class: "row" }, download));
}

function pageView(p) {
  const fig = el("figure", { class: "page", "data-page": String(p.page) });
  const view = el("div", { class: "page-view" });
  const img = el("img", { src: `data:image/png;base64,${p.image}`, alt: `Page ${p.page} as read` });
  // Boxes and labels in percent of the page, placed once the picture's size is known.
  const overlay = el("div", { class: "boxes", "aria-hidden": "true" });
  const labels = p.lines.map((ln) => {
    const box = el("div", { class: `box${level(ln.confidence)}` });
    const label = el("span", { class: `label${level(ln.confidence)}`, text: ln.text });
    box.append(label);
    overlay.append(box);
    return label;
  });
  img.addEventListener("load", () => {
    const [W, H] = [img.naturalWidth, img.naturalHeight];
    p.lines.forEach((ln, i) => {
      const [x, y, w, h] = ln.box;
      const s = labels[i].parentElement.style; // CSSOM: the CSP forbids style attributes
      s.left = `${(100 * x) / W}%`; s.top = `${(100 * y) / H}%`;
      s.width = `${(100 * w) / W}%`; s.height = `${(100 * h) / H}%`;
    });
  }, { once: true });
  view.append(img, overlay);
  const list = el("ol", { class: "lines", "aria-label": `Lines read on page ${p.page}` });
  p.lines.forEach((ln, i) => {
    const input = el("input", { type: "text", value: ln.text, class: "line-text", "aria-label": `Page ${p.page}, line ${i + 1}` });
    input.addEventListener("input", () => correct(p, i, input.value, labels[i]));
    list.append(el("li", {}, input, el("span", { class: "conf", text: `${pct(ln.confidence)} sure` })));
  });
  const caption = el("figcaption", { text: p.lines.length ? `Page ${p.page}` : `Page ${p.page}: nothing read${p.reason ? ` (${p.reason})` : ""}` });
  fig.append(caption, view, list);
  return fig;
}

function correct(p, i, text, label) {
  const ln = p.lines[i];
  if (!("read" in ln)) ln.read = ln.text; // what the model read, kept beside the correction
  ln.text = text;
  ln.corrected = text !== ln.read;
  label.textContent = text;
  p.text = p.lines.map((l) => l.text).join("\n");
  answer.text = answer.pages.filter((q) => q.text).map((q) => q.text).join("\n");
  $("result-text").textContent = answer.text || "—";
}

function downloadJson() {
  const out = structuredClone(answer);
  for (const p of out.pages) delete p.image; // the picture was only for the boxes
  const blob = new Blob([JSON.stringify(out, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `${answerName}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- model card --------------------------------------------------------------

fetch("/v1/model").then((r) => (r.ok ? r.json() : Promise.reject(r.status))).then((m) => {
  const acc = typeof m.accuracy === "number" ? `, ${(m.accuracy * 100).toFixed(2)}% on the test set` : "";
  $("model").textContent = `model: ${m.name}${acc}`;
}).catch(() => { $("model").textContent = "model: unavailable"; });

redraw();
