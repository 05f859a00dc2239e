// The studio's "Upload a photo" panel: self-contained, over POST /api/project and /api/restyle.
"use strict";

(() => {
  const MAX_BYTES = 8 * 2 ** 20; // the server's limit too (serve/upload.py): told before sending
  const FRAMES = 9;
  const el = (id) => document.getElementById(id);
  const png = (b64) => `data:image/png;base64,${b64}`;
  const panel = { design: null, frames: [], info: null };

  function status(text, isError = false) {
    el("upload-status").textContent = text;
    el("upload-status").classList.toggle("error", isError);
  }

  async function post(url, body, type) { // readJson: studio.js's
    return readJson(await fetch(url, { method: "POST", body, headers: { "Content-Type": type } }));
  }

  async function upload(file) {
    if (!file) return;
    if (file.size > MAX_BYTES) {
      status(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; the limit is 8 MB`, true);
      return;
    }
    status(`projecting ${file.name}…`);
    const q = query({ steps: el("upload-steps").value, strength: el("upload-strength").value,
      variations: 6 }); // query: studio.js's
    try {
      const t0 = performance.now();
      const d = await post(`api/project?${q}`, file, file.type || "application/octet-stream");
      panel.design = d;
      el("upload-input").src = png(d.input);
      el("upload-recon").src = png(d.reconstruction);
      el("upload-recon-cap").textContent = d.class_name ? `reconstruction · ${d.class_name}` : "reconstruction";
      el("upload-variations").replaceChildren(...d.variations.map((v, i) => {
        const img = document.createElement("img");
        img.src = png(v);
        img.alt = `variation ${i + 1}`;
        return img;
      }));
      el("upload-result").hidden = false;
      el("upload-restyle").hidden = d.class_weights === null;
      status(`${file.name}: distance ${d.distance.toFixed(3)} (${Math.round(performance.now() - t0)} ms)`);
      if (d.class_weights !== null) await restyle();
    } catch (err) {
      status(`${file.name}: ${err.message}`, true);
    }
  }

  async function restyle() {
    const d = panel.design;
    const body = JSON.stringify({ latent: d.latent, class_weights: d.class_weights,
      class_to: el("upload-class-to").value, steps: FRAMES, scale: 4 });
    try {
      const r = await post("api/restyle", body, "application/json");
      panel.frames = r.frames;
      el("upload-restyle").dataset.classTo = r.class_to; // which morph is shown (tests wait on it)
      el("upload-slider").max = r.frames.length - 1;
      showFrame();
    } catch (err) {
      status(err.message, true);
    }
  }

  function showFrame() {
    const f = panel.frames[Number(el("upload-slider").value)];
    if (!f) return;
    el("upload-morph").src = png(f.png);
    el("upload-t").textContent = `t = ${f.t.toFixed(2)}`;
  }

  async function init() {
    const res = await fetch("api/classes");
    if (!res.ok) return;
    panel.info = await res.json();
    for (const c of panel.info.classes) {
      const opt = document.createElement("option");
      opt.value = String(c.index);
      opt.textContent = c.name;
      el("upload-class-to").append(opt);
    }
    el("upload-file").addEventListener("change", (e) => upload(e.target.files[0]));
    const drop = el("upload-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      upload(e.dataTransfer.files[0]);
    });
    el("upload-class-to").addEventListener("change", restyle);
    el("upload-slider").addEventListener("input", showFrame);
    document.body.dataset.uploadReady = "true";
  }

  init();
})();
