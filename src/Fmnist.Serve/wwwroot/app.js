// fmnist serve page: plain JS, no dependencies. Every input path ends in show() or showError().
"use strict";
const $ = (id) => document.getElementById(id);

// `serve --api-key`: the API wants `Authorization: Bearer KEY`. The key comes from the address's fragment
// (#key=..., which browsers never send to the server) or from the form shown after a 401; it is kept in
// sessionStorage, so it lives only as long as this tab.
const KEY_ITEM = "fmnist-api-key";
if (location.hash.startsWith("#key=")) {
  sessionStorage.setItem(KEY_ITEM, decodeURIComponent(location.hash.slice(5)));
  history.replaceState(null, "", location.pathname + location.search);
}

async function call(url, options = {}) {
  const started = performance.now();
  const key = sessionStorage.getItem(KEY_ITEM);
  if (key) options = { ...options, headers: { ...(options.headers || {}), Authorization: "Bearer " + key } };
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new Error("The server did not answer (" + e.message + ").");
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_ITEM);
    $("key-form").hidden = false;
    $("key-input").focus();
  }
  if (!response.ok) {
    throw new Error(body && body.message ? body.message : "Request failed with HTTP " + response.status + ".");
  }
  body.roundTripMs = performance.now() - started;
  return body;
}

function busy(text) {
  $("status").textContent = text;
  $("error").hidden = true;
  document.querySelectorAll("button").forEach((b) => (b.disabled = true));
}

function idle() {
  document.querySelectorAll("button").forEach((b) => (b.disabled = false));
}

function showError(message) {
  $("result").hidden = true;
  $("status").textContent = "";
  $("error").textContent = "Error: " + message;
  $("error").hidden = false;
}

function show(prediction, timing, trueClass) {
  $("error").hidden = true;
  $("why").hidden = true;
  $("why-button").setAttribute("aria-expanded", "false");
  $("model-input").src = prediction.image;
  // The model always has a top-3; when the photo is not a garment it can classify, it says so first.
  const warning = $("unrecognized");
  warning.hidden = prediction.recognized !== false;
  warning.textContent = prediction.recognized === false
    ? "Not recognized as a garment: " + prediction.reason + ". The guesses below are unreliable. " +
      "For a better answer, photograph one garment, flat or hanging, filling most of the frame, on a plain background."
    : "";
  const list = $("top");
  list.replaceChildren();
  prediction.top.forEach((t) => {
    const li = document.createElement("li");
    const pct = (t.probability * 100).toFixed(1) + "%";
    li.innerHTML = '<div class="label"><span class="class"></span><span class="pct"></span></div>' +
      '<div class="bar" role="img"><span></span></div>';
    li.querySelector(".class").textContent = t.class;
    li.querySelector(".pct").textContent = pct;
    li.querySelector(".bar").setAttribute("aria-label", t.class + " " + pct);
    li.querySelector(".bar span").style.width = pct;
    list.appendChild(li);
  });
  const truth = $("true-label");
  truth.hidden = trueClass === undefined;
  truth.textContent = trueClass === undefined ? "" : "True class: " + trueClass;
  $("timing").textContent = "Server " + timing.total_ms.toFixed(1) + " ms (inference " + timing.inference_ms.toFixed(1) +
    " ms, batch of " + timing.batch_images + "); round trip " + timing.roundTripMs.toFixed(0) + " ms.";
  $("status").textContent = prediction.name;
  $("result").hidden = false;
  // On a phone the result sits below the inputs: bring it into view.
  if (window.matchMedia("(max-width: 40rem)").matches) $("result").scrollIntoView({ block: "nearest" });
}

// What "Why?" explains: the last image sent (a random test image is sent as the 28x28 PNG the model saw).
let lastImage = null;

async function predictBlob(blob, name) {
  lastImage = { blob, name };
  busy("Classifying " + name + "…");
  try {
    const form = new FormData();
    form.append("file", blob, name);
    const body = await call("/api/predict", { method: "POST", body: form });
    show(body.predictions[0], body);
  } catch (e) {
    showError(e.message);
  } finally {
    idle();
  }
}

// File chooser and drag-and-drop.
const drop = $("drop-zone");
$("file-input").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (file) predictBlob(file, file.name);
});
drop.addEventListener("keydown", (e) => {
  if (e.target === drop && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); $("file-input").click(); }
});
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) predictBlob(file, file.name);
});

// Drawing: dark strokes on white, like a photo of a garment on a light background.
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
function clearCanvas() { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
clearCanvas();
let drawing = false;
function point(e) {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
}
canvas.addEventListener("pointerdown", (e) => {
  drawing = true;
  canvas.setPointerCapture(e.pointerId);
  ctx.beginPath();
  ctx.moveTo(...point(e));
});
canvas.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";
  ctx.lineTo(...point(e));
  ctx.stroke();
});
canvas.addEventListener("pointerup", () => (drawing = false));
$("clear-drawing").addEventListener("click", clearCanvas);
$("classify-drawing").addEventListener("click", () =>
  canvas.toBlob((blob) => predictBlob(blob, "drawing.png"), "image/png"));

// A random test image: the server predicts it as stored (already 28x28) and tells its true class.
$("random-button").addEventListener("click", async () => {
  busy("Fetching a random test image…");
  try {
    const body = await call("/api/samples/random");
    lastImage = { blob: await (await fetch(body.prediction.image)).blob(), name: "test-image-" + body.index + ".png" };
    show(body.prediction, body, body.true_class);
  } catch (e) {
    showError(e.message);
  } finally {
    idle();
  }
});

// "Why?": the same image again with explain=true; the occlusion map is drawn over the 28x28 image as the
// figures of `fmnist explain` draw it (red where blacking out a square lowers the class's probability, blue where it raises it).
const FOR = [202, 0, 32], AGAINST = [5, 113, 176];
function drawWhy(prediction) {
  const e = prediction.explanation;
  const c = $("why-map").getContext("2d");
  const scale = c.canvas.width / 28;
  const image = new Image();
  image.onload = () => {
    c.imageSmoothingEnabled = false;
    c.drawImage(image, 0, 0, c.canvas.width, c.canvas.height);
    const max = Math.max(1e-9, ...e.occlusion.flat().map(Math.abs));
    e.occlusion.forEach((row, y) => row.forEach((v, x) => {
      const [r, g, b] = v >= 0 ? FOR : AGAINST;
      c.fillStyle = "rgba(" + r + "," + g + "," + b + "," + (0.85 * Math.min(1, Math.abs(v) / max)).toFixed(3) + ")";
      c.fillRect(x * scale, y * scale, scale, scale);
    }));
    $("why-caption").textContent = "Red: blacking out a " + e.patch + "×" + e.patch + " square there lowers P(" + e.class +
      "), by up to " + max.toFixed(3) + "; blue: raises it.";
  };
  image.src = prediction.image;
  const list = $("neighbours");
  list.replaceChildren();
  e.neighbours.forEach((n) => {
    const li = document.createElement("li");
    li.innerHTML = '<img alt=""><span class="class"></span><br><span class="muted"></span>';
    li.querySelector("img").src = n.image;
    li.querySelector("img").alt = "Training image " + n.index + ", " + n.class;
    li.querySelector(".class").textContent = n.class;
    li.querySelector(".muted").textContent = "#" + n.index + ", d=" + n.distance;
    list.appendChild(li);
  });
  $("why").hidden = false;
  $("why-button").setAttribute("aria-expanded", "true");
}

$("why-button").addEventListener("click", async () => {
  if (!lastImage) return;
  if (!$("why").hidden) {
    $("why").hidden = true;
    $("why-button").setAttribute("aria-expanded", "false");
    return;
  }
  const status = $("status").textContent;
  busy("Explaining " + lastImage.name + "…");
  try {
    const form = new FormData();
    form.append("file", lastImage.blob, lastImage.name);
    const body = await call("/api/predict?explain=true", { method: "POST", body: form });
    $("status").textContent = status;
    drawWhy(body.predictions[0]);
  } catch (e) {
    showError(e.message);
  } finally {
    idle();
  }
});

function loadModelInfo() {
  call("/api/model").then((m) => {
    const acc = m.test_accuracy == null ? "not scored" : (m.test_accuracy * 100).toFixed(2) + "% test accuracy";
    $("model-info").textContent = "Model " + m.source + " (" + m.runtime + ", " + m.parameters.toLocaleString("en") +
      " parameters, " + acc + ")";
    $("error").hidden = true;
  }).catch((e) => showError(e.message));
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY_ITEM, $("key-input").value.trim());
  $("key-input").value = "";
  $("key-form").hidden = true;
  loadModelInfo();
});

loadModelInfo();
