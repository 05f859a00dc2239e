// fashiongan studio: "nearest training image" for any design in the grid (POST /api/nearest).
// Self-contained: it adds a small button to each design's caption as the grid is drawn, and
// its own panel after the grid, without touching studio.js.
"use strict";

(() => {
  const grid = document.getElementById("grid");
  if (!grid) return;
  const panel = document.createElement("section");
  panel.id = "nearest";
  panel.className = "panel";
  panel.hidden = true;
  panel.innerHTML = `<h2>Nearest training image</h2>
    <div class="row"><figure><img id="nearest-design" alt="design" width="112" height="112">
    <figcaption id="nearest-design-cap" class="muted"></figcaption></figure>
    <figure><img id="nearest-train" alt="nearest training image" width="112" height="112">
    <figcaption id="nearest-train-cap" class="muted"></figcaption></figure></div>
    <p id="nearest-verdict" role="status" aria-live="polite"></p>`;
  grid.closest("section").after(panel);
  const $ = (id) => document.getElementById(id);

  async function lookUp(fig) {
    const seed = Number(fig.dataset.seed);
    const cls = fig.dataset.class;
    panel.hidden = false;
    $("nearest-verdict").textContent = "searching the training images… (the first search indexes them)";
    try {
      const res = await fetch("api/nearest", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ seed, class: cls === "" ? null : cls, scale: 4 }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(Array.isArray(body.detail) ? body.detail.map((e) => e.msg).join("; ") : body.detail);
      $("nearest-design").src = `data:image/png;base64,${body.design_png}`;
      $("nearest-train").src = `data:image/png;base64,${body.png}`;
      $("nearest-design-cap").textContent = `design: seed ${seed}`;
      $("nearest-train-cap").textContent = `training image #${body.train_index}`;
      $("nearest-verdict").textContent = `distance ${body.distance.toFixed(3)} ` +
        (body.closer_than_unseen ? `— closer than 95% of real unseen images come (< ${body.threshold.toFixed(3)}): looks like a copy`
          : `— farther than 5% of real unseen images come (${body.threshold.toFixed(3)}): not a copy`);
      panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
    } catch (err) {
      $("nearest-verdict").textContent = `nearest training image: ${err.message}`;
    }
  }

  function addButtons() {
    for (const fig of grid.querySelectorAll("figure.design")) {
      const cap = fig.querySelector("figcaption");
      if (!cap || cap.querySelector(".nearest")) continue;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "nearest";
      b.textContent = "nearest";
      b.title = "nearest training image";
      b.style.cssText = "padding:0 4px;font-size:.75rem;border-radius:4px";
      b.addEventListener("click", (e) => { e.stopPropagation(); lookUp(fig); });
      cap.append(b);
    }
  }

  new MutationObserver(addButtons).observe(grid, { childList: true });
  addButtons();
})();
