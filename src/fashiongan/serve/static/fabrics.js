// The studio's Fabrics panel: self-contained, over api/fabrics* (relative, so that a page under
// /g/<name>/ dresses that generator's designs). Pick a fabric, preview its seamless tile
// repeated 3 x 3, download a tile, dress the page's designs in it; train a new one from a swatch
// as a background job (one at a time: a second is refused with the server's words).
"use strict";

(() => {
  const el = (id) => document.getElementById(id);
  const PREVIEW_TILES = 3;
  let polling = null;

  function say(text, isError = false) {
    el("fabric-status").textContent = text;
    el("fabric-status").classList.toggle("error", isError);
  }

  async function json(res) { // readJson: studio.js's, for the server's error sentence
    return readJson(res);
  }

  const picked = () => el("fabric-pick").value;
  const tileUrl = (size) => `api/fabrics/tile?${query({ name: picked(),
    seed: el("fabric-seed").value, size })}`;

  function show() {
    const name = picked();
    for (const id of ["fabric-download", "fabric-dress"]) el(id).toggleAttribute("disabled", !name);
    if (!name) return;
    el("fabric-swatch").src = `api/fabrics/swatch?${query({ name })}`;
    const size = el("fabric-size").value;
    el("fabric-download").href = tileUrl(size);
    el("fabric-download").download = `${name}-tile-${size}.png`;
    const preview = el("fabric-preview");
    const url = tileUrl(Math.min(Number(size), 512));
    const img = el("fabric-tile");
    img.onload = () => {
      const cell = preview.clientWidth / PREVIEW_TILES;
      preview.style.backgroundImage = `url("${url}")`;
      preview.style.backgroundSize = `${cell}px ${cell}px`;
      preview.dataset.tile = url; // which tile is shown (tests wait on it)
    };
    img.src = url;
  }

  function dressDesigns() {
    const figs = [...document.querySelectorAll("#grid figure")].slice(0, 8);
    el("fabric-dressed").replaceChildren(...figs.map((f) => {
      const img = document.createElement("img");
      img.src = `api/fabrics/dress?${query({ name: picked(), seed: f.dataset.seed,
        class: f.dataset.class, fabric_seed: el("fabric-seed").value })}`;
      img.alt = `design seed ${f.dataset.seed} in ${picked()}`;
      return img;
    }));
  }

  async function refresh(select) {
    const d = await json(await fetch("api/fabrics"));
    const keep = select || picked();
    const opts = d.fabrics.map((n) => { const o = document.createElement("option");
      o.value = o.textContent = n; return o; });
    if (!opts.length) { const o = document.createElement("option"); o.value = "";
      o.textContent = "none yet"; opts.push(o); }
    el("fabric-pick").replaceChildren(...opts);
    if (d.fabrics.includes(keep)) el("fabric-pick").value = keep;
    show();
    job(d.job);
  }

  function job(j) {
    const running = j.state === "running";
    el("fabric-cancel").hidden = !running;
    el("fabric-progress").hidden = j.state === "idle";
    if (j.state === "idle") return;
    el("fabric-progress").value = j.progress;
    el("fabric-status").dataset.state = j.state;
    const where = `${j.name}: iteration ${j.step}, ${Math.round(j.elapsed_s)} of ${j.budget_s} s`;
    if (running) say(`training ${where}`);
    else if (j.state === "finished") say(`${j.name} is ready (${j.step} iterations)`);
    else if (j.state === "cancelled") say(`stopped ${where}; the fabric so far is kept`);
    else say(`${j.name} failed: ${j.message}`, true);
    if (running && !polling) polling = setInterval(poll, 1000);
    if (!running && polling) { clearInterval(polling); polling = null; }
  }

  async function poll() {
    try {
      const j = await json(await fetch("api/fabrics/job"));
      job(j);
      if (j.state !== "running") await refresh(j.state === "finished" ? j.name : undefined);
    } catch (err) { say(err.message, true); }
  }

  async function train() {
    const file = el("fabric-file").files[0];
    if (!file) { say("choose a swatch photo first", true); return; }
    const budget = Math.round(Number(el("fabric-minutes").value) * 60);
    try {
      const j = await json(await fetch(`api/fabrics/train?${query({ name: el("fabric-name").value,
        budget })}`, { method: "POST", body: file,
        headers: { "Content-Type": file.type || "application/octet-stream" } }));
      job(j);
    } catch (err) { say(err.message, true); }
  }

  async function cancel() {
    try { job(await json(await fetch("api/fabrics/job", { method: "DELETE" }))); }
    catch (err) { say(err.message, true); }
  }

  async function init() {
    el("fabric-pick").addEventListener("change", show);
    el("fabric-seed").addEventListener("change", show);
    el("fabric-size").addEventListener("change", show);
    el("fabric-dress").addEventListener("click", dressDesigns);
    el("fabric-train").addEventListener("click", train);
    el("fabric-cancel").addEventListener("click", cancel);
    await refresh();
    document.body.dataset.fabricsReady = "true";
  }

  init();
})();
