// lead-sandbox inspector: actions are same-origin fetches to the control plane; regions marked
// data-live are refreshed from the same page every two seconds. No build step, no dependencies.
"use strict";

const REFRESH_MS = 2000;

function flash(text, ok) {
  const box = document.getElementById("flash");
  box.textContent = text;
  box.className = ok ? "ok" : "bad";
}

function formBody(form) {
  const body = {};
  for (const field of form.querySelectorAll("input[name], select[name]")) {
    if (field.value === "") continue;
    body[field.name] = field.dataset.type === "int" ? parseInt(field.value, 10) : field.value;
  }
  return body;
}

async function act(form) {
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  const [method, url] = form.dataset.action.split(" ");
  const body = formBody(form);
  const init = { method, credentials: "same-origin", headers: {} };
  if (method !== "DELETE" && method !== "GET" && Object.keys(body).length) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    const response = await fetch(url, init);
    const payload = await response.json().catch(() => ({}));
    if (response.ok) {
      const data = payload.data || {};
      const detail = data.state ? `state ${data.state}` : data.now ? `sandbox time ${data.now}` : data.type || data.id || "";
      flash(`${method} ${url}: ${response.status} ${detail}`.trim(), true);
    } else {
      const message = (payload.error && payload.error.message) || response.statusText;
      flash(`${method} ${url}: ${response.status} ${message}`, false);
    }
  } catch (error) {
    flash(`${method} ${url}: ${error}`, false);
  } finally {
    if (button) button.disabled = false;
  }
  await refresh(true);
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-action]");
  if (!form) return;
  event.preventDefault();
  act(form);
});

async function refresh(force) {
  const regions = document.querySelectorAll("[data-live][id]");
  if (!regions.length || (document.hidden && !force)) return;
  let html;
  try {
    const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return;
    html = await response.text();
  } catch (error) {
    return; // the sandbox stopped: keep what is shown
  }
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const region of regions) {
    // Keep what the reader opened or is typing in.
    const typing = document.activeElement && document.activeElement.matches("input, select, textarea");
    if (!force && (region.querySelector("details[open]") || (typing && region.contains(document.activeElement)))) continue;
    const next = fresh.getElementById(region.id);
    if (next && next.innerHTML !== region.innerHTML) region.innerHTML = next.innerHTML;
  }
}

setInterval(() => refresh(false), REFRESH_MS);
