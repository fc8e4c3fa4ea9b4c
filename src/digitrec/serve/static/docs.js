// A small, offline API reference rendered from /openapi.json (no CDN):
// operations, parameters, request bodies, responses, schemas, and "try it".
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined));
  return e;
}

// Text with `code` spans (the only markup the descriptions use), built as DOM nodes.
function prose(tag, text) {
  const e = el(tag);
  String(text).split("`").forEach((part, i) => e.append(i % 2 ? el("code", { text: part }) : part));
  return e;
}

function typeOf(schema, spec) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(s, spec)).join(" | ");
  if (schema.type === "array") return `array of ${typeOf(schema.items, spec)}`;
  if (schema.format === "binary" || schema.contentMediaType) return "file";
  return schema.type || "any";
}

function table(head, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))));
}

function tryIt(method, path, op) {
  const form = el("form", { class: "try" });
  const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, "-");
  const params = (op.parameters || []).filter((p) => p.in === "query");
  const inputs = params.map((p) => {
    const input = el("input", { type: "text", id: `${id}-${p.name}`, name: p.name, placeholder: String(p.schema?.default ?? "") });
    form.append(el("label", { for: input.id }, `${p.name} (${typeOf(p.schema)})`, input));
    return input;
  });
  const content = op.requestBody?.content || {};
  let file = null;
  if (content["multipart/form-data"]) {
    const field = Object.keys(content["multipart/form-data"].schema?.properties || { file: 1 })[0];
    file = el("input", { type: "file", id: `${id}-file`, accept: "image/*,application/pdf,.pdf", "data-field": field });
    if (field === "files") file.multiple = true;
    form.append(el("label", { for: file.id }, `${field} (image or PDF file${file.multiple ? "s" : ""})`, file));
  }
  const out = el("pre", { "aria-live": "polite" }, el("code", { text: "" }));
  form.append(el("div", {}, el("button", { type: "submit", class: "primary", text: `Send ${method.toUpperCase()}` })), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const qs = new URLSearchParams();
    inputs.forEach((i) => { if (i.value) qs.set(i.name, i.value); });
    const init = { method: method.toUpperCase() };
    if (file) {
      const fd = new FormData();
      [...file.files].forEach((f) => fd.append(file.dataset.field, f));
      init.body = fd;
    }
    out.firstChild.textContent = "…";
    try {
      const res = await fetch(path + (qs.toString() ? `?${qs}` : ""), init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON */ }
      out.firstChild.textContent = `${res.status} ${res.statusText}\n${shown}`;
    } catch (err) {
      out.firstChild.textContent = String(err);
    }
  });
  return el("details", {}, el("summary", { text: "Try it" }), form);
}

function operation(path, method, op, spec) {
  const sec = el("section", { class: "card op", "aria-label": `${method.toUpperCase()} ${path}` });
  sec.append(el("h2", {},
    el("span", { class: `method ${method}`, text: method }),
    el("span", { class: "path", text: path }),
    el("span", { class: "summary", text: op.summary || "" })));
  if (op.description) sec.append(prose("p", op.description));
  if (op.parameters?.length) {
    sec.append(el("h3", { text: "Parameters" }), table(["name", "in", "type", "description"],
      op.parameters.map((p) => [p.name, p.in, typeOf(p.schema, spec) + (p.required ? " (required)" : ""), p.description || p.schema?.description || ""])));
  }
  if (op.requestBody) {
    sec.append(el("h3", { text: "Request body" }), table(["content type", "body"],
      Object.entries(op.requestBody.content).map(([ct, c]) => {
        const props = c.schema?.properties;
        const body = props ? Object.entries(props).map(([k, s]) => `${k}: ${typeOf(s, spec)}`).join(", ") : typeOf(c.schema, spec);
        return [ct, body];
      })));
  }
  sec.append(el("h3", { text: "Responses" }), table(["status", "meaning", "body"],
    Object.entries(op.responses || {}).map(([code, r]) => [code, r.description || "", typeOf(r.content?.["application/json"]?.schema, spec)])));
  sec.append(tryIt(method, path, op));
  return sec;
}

function schemaBlock(name, schema, spec) {
  const props = schema.properties || {};
  const req = new Set(schema.required || []);
  return el("div", { class: "schema" },
    el("h3", { id: `schema-${name}`, text: name }),
    schema.description ? el("p", { text: schema.description }) : null,
    table(["field", "type", "description"], Object.entries(props).map(([k, s]) =>
      [k + (req.has(k) ? " *" : ""), typeOf(s, spec), s.description || ""])));
}

fetch("/openapi.json").then((r) => r.json()).then((spec) => {
  document.title = `${spec.info.title} ${spec.info.version} — API docs`;
  $("title").textContent = `${spec.info.title} API ${spec.info.version}`;
  $("summary").textContent = spec.info.summary || "";
  $("intro").replaceWith(prose("p", spec.info.description || ""));
  const ops = $("ops");
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) ops.append(operation(path, method, op, spec));
  }
  const schemas = spec.components?.schemas || {};
  $("schemas").replaceChildren(...Object.entries(schemas).map(([n, s]) => schemaBlock(n, s, spec)));
}).catch((err) => { $("summary").textContent = `Could not load /openapi.json: ${err}`; });
