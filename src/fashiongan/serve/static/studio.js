// fashiongan studio: plain JS over the studio's REST API (no framework, no build step).
"use strict";

const MAX_SEED = 2 ** 31;
const MORPH_STEPS = 16;
const $ = (id) => document.getElementById(id);
const state = { info: null, cls: "", picks: [], frames: [], request: 0, mixed: false };

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  return q.toString();
}

// an API answer's JSON body, or its error message as an Error (upload.js uses it too)
async function readJson(res) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const d = body.detail;
    throw new Error(Array.isArray(d) ? d.map((e) => `${e.loc.at(-1)}: ${e.msg}`).join("; ") : d || res.statusText);
  }
  return body;
}

async function api(path, params) {
  return readJson(await fetch(`${path}?${query(params)}`));
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").style.color = isError ? "#b00020" : "";
}

function className(index) {
  return index === null || index === undefined ? "" : state.info.classes[index].name;
}

function designUrl(seed, cls, scale = 8) {
  return `api/generate?${query({ class: cls, n: 1, seed, format: "png", scale })}`;
}

function chip(value, label, thumb) {
  const b = document.createElement("button");
  b.className = "chip";
  b.type = "button";
  b.dataset.class = value;
  b.setAttribute("role", "radio");
  b.setAttribute("aria-checked", String(value === state.cls));
  if (thumb) {
    const img = document.createElement("img");
    img.src = thumb;
    img.alt = "";
    b.append(img);
  } else {
    const s = document.createElement("span");
    s.className = "any";
    s.textContent = value === "" ? "✦" : label[0];
    b.append(s);
  }
  b.append(label);
  b.disabled = !state.info.conditional && value !== "";
  b.addEventListener("click", () => selectClass(value));
  return b;
}

function selectClass(value) {
  state.cls = value;
  for (const b of $("classes").children) b.setAttribute("aria-checked", String(b.dataset.class === value));
}

function renderClasses() {
  const box = $("classes");
  box.replaceChildren(chip("", "Any", null));
  for (const c of state.info.classes) {
    const thumb = state.info.conditional ? designUrl(0, c.index, 2) : null;
    box.append(chip(String(c.index), c.name, thumb));
    const opt = document.createElement("option");
    opt.value = String(c.index);
    opt.textContent = c.name;
    $("mix-class").append(opt);
  }
  $("uncond-note").hidden = state.info.conditional;
  $("mix-box").hidden = $("mix-amount-box").hidden = !state.info.conditional;
}

function readControls() {
  const n = Math.min(64, Math.max(1, parseInt($("count").value, 10) || 16));
  let seed = Math.max(0, parseInt($("seed").value, 10) || 0);
  seed = Math.min(seed, MAX_SEED - n);
  $("count").value = n;
  $("seed").value = seed;
  const mixClass = state.info.conditional ? $("mix-class").value : "";
  return { class: state.cls, n, seed, mix_class: mixClass, mix: mixClass ? $("mix").value : "" };
}

function designFigure(img) {
  const fig = document.createElement("figure");
  fig.className = "design";
  fig.dataset.seed = img.seed;
  fig.dataset.class = img.class ?? "";
  const pic = document.createElement("img");
  pic.src = `data:image/png;base64,${img.png}`;
  pic.alt = `${img.class_name || "design"}, seed ${img.seed}`;
  const cap = document.createElement("figcaption");
  const label = document.createElement("span");
  label.textContent = `seed ${img.seed}${img.class_name ? " · " + img.class_name : ""}`;
  const dl = document.createElement("a");
  dl.href = designUrl(img.seed, img.class ?? "");
  dl.download = `fashiongan-seed${img.seed}${img.class_name ? "-" + img.class_name.replace(/\W+/g, "") : ""}.png`;
  dl.textContent = "PNG";
  dl.title = "download this design";
  dl.addEventListener("click", (e) => e.stopPropagation());
  cap.append(label, dl);
  fig.append(pic, cap);
  fig.tabIndex = 0; // keyboard: Tab to a design, Enter or Space picks it
  fig.addEventListener("click", () => togglePick(fig));
  fig.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); togglePick(fig); }
  });
  return fig;
}

async function generate() {
  const params = readControls();
  location.hash = query({ class: params.class, n: params.n, seed: params.seed });
  setStatus("generating…");
  const mine = ++state.request;
  try {
    const t0 = performance.now();
    const body = await api("api/generate", { ...params, format: "json" });
    if (mine !== state.request) return; // a newer request was made meanwhile: it will draw
    $("grid").replaceChildren(...body.images.map(designFigure));
    $("download-grid").href = `api/generate?${query({ ...params, format: "png", scale: 4 })}`;
    $("download-grid").download = `fashiongan-grid-seed${params.seed}.png`;
    state.picks = [];
    state.mixed = Boolean(params.mix_class);
    const what = params.class === "" ? "every category" : className(Number(params.class));
    setStatus(`${body.images.length} designs, ${what}, seeds ${params.seed}–${params.seed + params.n - 1} ` +
      `(${Math.round(performance.now() - t0)} ms)`);
  } catch (err) {
    if (mine === state.request) setStatus(err.message, true);
  }
}

function surprise() {
  $("seed").value = Math.floor(Math.random() * (MAX_SEED - 64));
  if (state.info.conditional) selectClass(String(Math.floor(Math.random() * state.info.classes.length)));
  generate();
}

function togglePick(fig) {
  const pick = { seed: Number(fig.dataset.seed), cls: fig.dataset.class, fig };
  const i = state.picks.findIndex((p) => p.fig === fig);
  if (i >= 0) state.picks.splice(i, 1);
  else {
    if (state.picks.length === 2) state.picks.shift();
    state.picks.push(pick);
  }
  for (const f of $("grid").children) f.classList.toggle("picked", state.picks.some((p) => p.fig === f));
  if (state.picks.length === 2) morph();
}

async function morph() {
  const [a, b] = state.picks;
  const params = { seed_a: a.seed, seed_b: b.seed, class_a: a.cls, class_b: b.cls, steps: MORPH_STEPS };
  setStatus("morphing…");
  try {
    const body = await api("api/interpolate", { ...params, format: "json" });
    state.frames = body.frames;
    $("morph").hidden = false;
    $("morph-a").src = `data:image/png;base64,${body.frames[0].png}`;
    $("morph-b").src = `data:image/png;base64,${body.frames.at(-1).png}`;
    // a morph runs between the designs' own classes, without the grid's mix
    const note = state.mixed ? " (unmixed)" : "";
    $("morph-a-cap").textContent = `A: seed ${a.seed} ${className(body.class_a)}${note}`;
    $("morph-b-cap").textContent = `B: seed ${b.seed} ${className(body.class_b)}${note}`;
    $("morph-slider").max = body.frames.length - 1;
    $("morph-slider").value = Math.floor((body.frames.length - 1) / 2);
    showFrame();
    $("download-morph").href = `api/interpolate?${query({ ...params, format: "png", scale: 4 })}`;
    $("download-morph").download = `fashiongan-morph-${a.seed}-${b.seed}.png`;
    setStatus(`morph from seed ${a.seed} to seed ${b.seed} in ${body.frames.length} frames`);
    $("morph").scrollIntoView({ behavior: "smooth", block: "nearest" });
  } catch (err) {
    setStatus(err.message, true);
  }
}

function showFrame() {
  const f = state.frames[Number($("morph-slider").value)];
  if (!f) return;
  $("morph-image").src = `data:image/png;base64,${f.png}`;
  $("morph-t").textContent = `t = ${f.t.toFixed(2)}`;
}

function clearPicks() {
  state.picks = [];
  for (const f of $("grid").children) f.classList.remove("picked");
  $("morph").hidden = true;
}

function restoreFromHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.has("n")) $("count").value = h.get("n");
  if (h.has("seed")) $("seed").value = h.get("seed");
  if (h.has("class") && state.info.conditional) selectClass(h.get("class"));
}

// The generators this server offers (GET /api/generators at the root, when it serves several):
// each lives under its own path with the same page and API; picking one opens its page.
async function listGenerators() {
  let list;
  try {
    const res = await fetch("/api/generators");
    if (!res.ok) return;
    list = (await res.json()).generators;
  } catch (err) {
    return;
  }
  if (!list || list.length < 2) return;
  const here = location.pathname.endsWith("/") ? location.pathname : `${location.pathname}/`;
  const select = $("generator");
  for (const g of list) {
    const opt = document.createElement("option");
    opt.value = g.path;
    opt.textContent = g.name;
    opt.selected = g.path === here;
    select.append(opt);
  }
  select.addEventListener("change", () => { location.href = select.value; });
  $("generator-box").hidden = false;
}

async function init() {
  await listGenerators();
  try {
    let health;
    [state.info, health] = await Promise.all([api("api/classes", {}), api("healthz", {})]);
    $("version").textContent = `fashiongan ${health.version}`;
  } catch (err) {
    $("model-info").textContent = `cannot reach the API: ${err.message}`;
    return;
  }
  const kind = state.info.conditional ? "class-conditional" : "unconditional";
  const look = `${state.info.resolution} px ${state.info.channels === 3 ? "colour" : "grey"}`;
  $("model-info").textContent = `${state.info.model} generator, ${kind}, ${look}, ` +
    `${state.info.latent_dim}-d latent, trained on ${state.info.dataset || "?"}`;
  renderClasses();
  restoreFromHash();
  $("generate").addEventListener("click", generate);
  $("surprise").addEventListener("click", surprise);
  $("morph-slider").addEventListener("input", showFrame);
  $("morph-clear").addEventListener("click", clearPicks);
  for (const id of ["count", "seed"]) {
    $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") generate(); });
  }
  $("mix").addEventListener("input", () => { $("mix-out").textContent = Number($("mix").value).toFixed(2); });
  document.body.dataset.ready = "true";
  generate();
}

init();
