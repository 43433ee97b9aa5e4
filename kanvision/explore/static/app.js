// kanvision explore: the page. It asks the local server (or, in a static report, the answers
// stored in the page) for plotly figures and numbers, and hands the figures to plotly.js.
"use strict";

const BOOT = window.KANVISION || { mode: "live" };
const STATIC = BOOT.mode === "static";
const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString("en-US");
let pending = 0;

function busy(delta) {
  pending += delta;
  document.body.dataset.busy = pending > 0 ? "1" : "0";
}

// every user action runs as a task: the page is busy (body data-busy="1") until its plots are drawn
function task(action) {
  return async (...args) => {
    busy(1);
    try {
      await action(...args);
    } catch (err) {
      showError(err.message);
    } finally {
      busy(-1);
    }
  };
}

function showError(message) {
  const el = $("error");
  el.textContent = message || "";
  el.hidden = !message;
}

function key(route, params) {
  const query = new URLSearchParams(params || {}).toString();
  return query ? `${route}?${query}` : route;
}

async function api(route, params, body) {
  busy(1);
  try {
    if (STATIC) {
      const answer = BOOT.answers[key(route, params)];
      if (answer === undefined) {
        throw new Error("This view is not stored in the static report: open the model with python -m kanvision.explore to see every edge.");
      }
      return answer;
    }
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch(`/api/${key(route, params)}`, options);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    showError("");
    return data;
  } catch (err) {
    showError(err.message);
    throw err;
  } finally {
    busy(-1);
  }
}

async function plot(id, figure) {
  const el = $(id);
  await Plotly.react(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
  if (!el.dataset.clicks) {  // points whose customdata is [layer, out, in] open that edge
    el.dataset.clicks = "1";
    el.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && Array.isArray(point.customdata) && point.customdata.length === 3) {
        const [layer, out, inp] = point.customdata;
        task(openEdge)(layer, out, inp);
      }
    });
  }
}

async function renderState(view) {
  const s = view.state;
  $("stat-params").textContent = fmt(s.params);
  $("stat-nonzero").textContent = `${fmt(s.kan_nonzero)} of ${fmt(s.kan_params)}`;
  $("stat-edges").textContent = fmt(s.edges);
  $("stat-accuracy").textContent = `${s.accuracy.toFixed(2)}%`;
  const delta = s.accuracy - s.accuracy_original;
  $("stat-delta").textContent = s.edits.length
    ? `${delta >= 0 ? "+" : ""}${delta.toFixed(2)} points, ${fmt(s.params - s.params_original)} params, ${s.changed_predictions} predictions changed`
    : "no edits";
  $("stat-delta").className = delta < 0 ? "neg" : (delta > 0 ? "pos" : "");
  const list = $("edits");
  list.innerHTML = "";
  for (const edit of s.edits) {
    const li = document.createElement("li");
    const effect = edit.effect.residual_rms !== undefined && edit.effect.residual_rms !== null
      ? ` (refit residual: rms ${edit.effect.residual_rms.toExponential(2)}, max ${(100 * edit.effect.residual_relative).toFixed(1)}% of its range)`
      : "";
    li.textContent = edit.text + effect;
    list.appendChild(li);
  }
  renderLayers(view.layers);
  await plot("network", view.network);
  await plot("confusion", view.confusion);
}

function renderLayers(layers) {
  const rows = layers.map((l) =>
    `<tr><td>${l.name}</td><td>${l.kind}${l.kernel.length ? " " + l.kernel.join("x") : ""}</td><td>${l.in} -> ${l.out}</td>` +
    `<td>${l.basis} (${l.functions} per edge)</td><td>${fmt(l.edges_nonzero)} of ${fmt(l.edges)}</td><td>${fmt(l.params)}</td></tr>`);
  $("layer-table").innerHTML =
    "<tr><th>layer</th><th>kind</th><th>channels</th><th>functions</th><th>nonzero edges</th><th>params</th></tr>" + rows.join("");
}

function fillLayerSelects(layers) {
  for (const id of ["layer-select", "zero-layer", "prune-scope"]) {
    const select = $(id);
    for (const l of layers) {
      const option = document.createElement("option");
      option.value = l.name;
      option.textContent = id === "prune-scope" ? `layer ${l.name}` : l.name;
      select.appendChild(option);
    }
  }
}

function renderTopEdges(top) {
  const box = $("top-edges");
  box.innerHTML = "";
  for (const [layer, edges] of Object.entries(top)) {
    const line = document.createElement("p");
    line.innerHTML = `<b>${layer}</b>: `;
    for (const [out, inp, value] of edges) {
      const link = document.createElement("a");
      link.className = "edge-link";
      link.dataset.layer = layer; link.dataset.out = out; link.dataset.in = inp;
      link.textContent = `${out} <- ${inp} (${value.toPrecision(3)})`;
      link.addEventListener("click", () => task(openEdge)(layer, out, inp));
      line.appendChild(link);
    }
    box.appendChild(line);
  }
}

async function showLayer() {
  const figure = await api("layer", { name: $("layer-select").value, sort: $("sort-select").value });
  await plot("heatmap", figure);
}

async function openEdge(layer, out, inp) {
  const answer = await api("edge", { layer, out, in: inp });
  const d = answer.detail;
  $("edge-empty").hidden = true;
  const fits = d.fits.map((f, i) =>
    `<tr><td>${f.fn}</td><td><code>${f.formula}</code></td><td>${f.r2.toFixed(4)}</td>` +
    `<td class="live-only"><button class="replace-btn" data-index="${i}">Replace by this</button></td></tr>`).join("");
  $("edge-info").innerHTML =
    `<p><b>${d.layer}</b> (${d.kind}) edge <b>${d.out} <- ${d.in}</b>: importance ${d.importance.toPrecision(4)}, ` +
    `rank ${fmt(d.rank)} of ${fmt(d.edges)} in its layer` +
    `${d.kernel.length ? `; ${d.kernel.join("x")} kernel taps, each its own function` : ""}. ` +
    `Fits over ${d.fit_range[0].toPrecision(3)}..${d.fit_range[1].toPrecision(3)} (1%..99% of the data):</p>` +
    `<table id="fits"><tr><th>f</th><th>best c*f(a*x+b)+d</th><th>R^2</th><th class="live-only"></th></tr>${fits}</table>`;
  for (const button of document.querySelectorAll(".replace-btn")) {
    button.addEventListener("click", () => {
      const f = d.fits[Number(button.dataset.index)];
      task(edit)({ op: "symbolic", layer: d.layer, out: d.out, in: d.in, fn: f.fn });
    });
  }
  await plot("edge-plot", answer.figure);
  $("edge-section").scrollIntoView({ behavior: "instant", block: "start" });
}

async function edit(body) {
  await renderState(await api("edit", undefined, body));
  await refreshViews();
}

async function refreshViews() {
  await showLayer();
  await showImage();
}

async function showImage() {
  const index = Math.max(0, Number($("image-index").value) || 0);
  const answer = await api("image", { index });
  await plot("image-plot", answer.image);
  await plot("channel-plot", answer.channels);
}

function wire() {
  const on = (id, event, action) => $(id).addEventListener(event, task(action));
  const step = (delta) => async () => {
    $("image-index").value = Math.max(0, Number($("image-index").value) + delta);
    await showImage();
  };
  on("layer-select", "change", showLayer);
  on("sort-select", "change", showLayer);
  on("image-index", "change", showImage);
  on("image-prev", "click", step(-1));
  on("image-next", "click", step(1));
  on("prune-btn", "click", () =>
    edit({ op: "prune", threshold: Number($("prune-threshold").value), layer: $("prune-scope").value || null }));
  on("zero-btn", "click", () =>
    edit({ op: "zero_channel", layer: $("zero-layer").value, channel: Number($("zero-channel").value) }));
  on("undo-btn", "click", async () => { await renderState(await api("undo", undefined, {})); await refreshViews(); });
  on("reset-btn", "click", async () => { await renderState(await api("reset", undefined, {})); await refreshViews(); });
  on("export-btn", "click", async () => {
    const paths = await api("export", undefined, {});
    $("export-result").textContent = `written: ${paths.weights} (create_model(name, pretrained=path) loads it) and ${paths.edits}`;
  });
}

async function main() {
  busy(1);
  try {
    if (STATIC) document.body.classList.add("static");
    const summary = await api("summary");
    const src = summary.source;
    $("source").textContent = Object.entries(src).map(([k, v]) => `${k}: ${v}`).join(" | ") +
      ` | importance from ${summary.images} images, accuracy on ${fmt(summary.held_out)} held-out images` +
      (STATIC ? " | static report: the strongest edges of each layer are stored" : "");
    fillLayerSelects(summary.layers);
    await renderState(summary);
    renderTopEdges(summary.top_edges);
    wire();
    await refreshViews();
  } catch (err) {
    showError(err.message);
  } finally {
    busy(-1);
  }
}

main();
