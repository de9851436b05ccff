// Posology pages: live checks before saving, override reasons, saving plans. No framework.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { status: response.status, data };
  }

  function text(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  }

  function showFindings(container, findings) {
    container.replaceChildren();
    if (!findings.length) { container.append(text("p", "", "No finding: the checker has nothing to report.")); return; }
    for (const f of findings) {
      const box = document.createElement("div");
      box.className = "finding " + f.severity;
      box.setAttribute("role", "status");
      box.append(text("span", "sev " + f.severity, f.severity), document.createTextNode(" " + f.rule + ": " + f.message));
      box.append(text("div", "quote", "“" + f.citation.quote + "” (" + f.citation.source + ")"));
      container.append(box);
    }
  }

  function eventFromForm(form) {
    const v = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    const event = { at: v("at"), kind: v("kind") };
    const kind = event.kind;
    if (kind === "oral-regimen") { event.dose = v("dose"); event.times_per_day = Number(v("times_per_day") || "3"); }
    if (kind === "it-test-dose") { event.dose = v("dose"); }
    if (kind === "it-infusion") { event.daily_dose = v("daily_dose"); }
    if (kind === "pump-refill") { event.concentration = v("concentration"); event.volume_ml = Number(v("volume_ml")); }
    if (kind === "review") { event.note = v("note") || "review"; }
    return event;
  }

  const eventForm = document.getElementById("event-form");
  if (eventForm) {
    const pid = eventForm.dataset.patient;
    const out = document.getElementById("check-result");
    const overrideBox = document.getElementById("override-box");
    const errorBox = document.getElementById("event-error");
    document.getElementById("check-button").addEventListener("click", async () => {
      errorBox.textContent = "";
      const result = await api("POST", `/api/v1/patients/${pid}/check`, { proposal: eventFromForm(eventForm) });
      if (result.status === 200) showFindings(out, result.data.findings);
      else errorBox.textContent = (result.data && result.data.error) ? `${result.data.error.field}: ${result.data.error.message}` : "The check failed.";
    });
    eventForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.textContent = "";
      const body = { event: eventFromForm(eventForm) };
      const reason = eventForm.elements["override_reason"].value.trim();
      if (reason) body.override_reason = reason;
      // check first: findings of severity error or critical are shown, and saving them needs a reason
      const checked = await api("POST", `/api/v1/patients/${pid}/check`, { proposal: body.event });
      if (checked.status !== 200) {
        errorBox.textContent = (checked.data && checked.data.error) ? `${checked.data.error.field}: ${checked.data.error.message}` : "The check failed.";
        return;
      }
      showFindings(out, checked.data.findings);
      const serious = checked.data.findings.some((f) => f.severity === "error" || f.severity === "critical");
      if (serious && !reason) {
        overrideBox.hidden = false;
        errorBox.textContent = "Not saved: findings of severity error or critical. Give an override reason to record it anyway.";
        return;
      }
      const result = await api("POST", `/api/v1/patients/${pid}/events`, body);
      if (result.status === 201) { window.location.reload(); return; }
      if (result.status === 422 && result.data && result.data.findings) {
        showFindings(out, result.data.findings);
        overrideBox.hidden = false;
        errorBox.textContent = "Not saved: findings of severity error or critical. Give an override reason to record it anyway.";
        return;
      }
      errorBox.textContent = (result.data && result.data.error) ? `${result.data.error.field}: ${result.data.error.message}` : "Not saved.";
    });
  }

  const patientForm = document.getElementById("patient-form");
  if (patientForm) {
    patientForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = patientForm.elements;
      const patient = { diagnosis: f["diagnosis"].value, sex: f["sex"].value, age_years: Number(f["age_years"].value) };
      if (f["weight_kg"].value) patient.weight_kg = Number(f["weight_kg"].value);
      if (f["programmable"].value) patient.pump = { programmable: f["programmable"].value === "yes", reservoir_ml: Number(f["reservoir_ml"].value || "20") };
      const result = await api("POST", "/api/v1/patients", { patient, label: f["label"].value || "patient" });
      const box = document.getElementById("patient-error");
      if (result.status === 201) { window.location.href = `/patients/${result.data.id}`; return; }
      box.textContent = (result.data && result.data.error) ? `${result.data.error.field}: ${result.data.error.message}` : "Not saved.";
    });
  }

  const profileForm = document.getElementById("profile-form");
  if (profileForm) {
    profileForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = document.getElementById("profile-error");
      const typed = profileForm.elements["profile"].value;
      try { JSON.parse(typed); }
      catch (e) { box.textContent = "profile: not valid JSON"; return; }
      const response = await fetch(`/api/v1/patients/${profileForm.dataset.patient}`, {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "If-Match": `"${profileForm.dataset.version}"` },
        body: `{"patient": ${typed}}`,  // as typed: the server refuses a repeated key
      });
      if (response.ok) { window.location.reload(); return; }
      const data = await response.json().catch(() => null);
      box.textContent = data && data.error ? `${data.error.field}: ${data.error.message}` : "Not saved.";
    });
  }

  const saveButton = document.getElementById("save-plan");
  if (saveButton) {
    saveButton.addEventListener("click", async () => {
      const goal = JSON.parse(saveButton.dataset.goal);
      const result = await api("POST", `/api/v1/patients/${saveButton.dataset.patient}/plans`, { goal, start: saveButton.dataset.start });
      const box = document.getElementById("save-result");
      box.textContent = result.status === 201 ? `Saved as plan ${result.data.id}.` : "Not saved.";
    });
  }
})();
