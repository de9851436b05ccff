// The pharmacist's dose check: the proposal is sent to POST /api/v1/patients/{id}/check and the
// checker's findings are shown; nothing is saved. A result is cleared as soon as an input changes.
(function () {
  "use strict";
  var form = document.getElementById("dose-check");
  if (!form) return;
  var verdict = document.getElementById("dc-verdict");
  var list = document.getElementById("dc-findings");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function clear() {
    verdict.textContent = "No check run yet.";
    list.textContent = "";
  }
  function showFields() {
    var kind = form.kind.value;
    form.querySelectorAll("fieldset[data-for]").forEach(function (set) {
      set.hidden = set.getAttribute("data-for").split(" ").indexOf(kind) < 0;
    });
  }
  function proposal() {
    var kind = form.kind.value;
    var out = { kind: kind, at: form.at.value };
    if (kind === "oral-regimen" || kind === "it-test-dose") {
      if (form.dose.value.trim()) out.dose = form.dose.value.trim();
      if (kind === "oral-regimen" && form.times_per_day.value) {
        out.times_per_day = Number(form.times_per_day.value);
      }
    }
    if (kind === "it-infusion") {
      if (form.daily_dose.value.trim()) out.daily_dose = form.daily_dose.value.trim();
      if (form.concentration.value.trim()) out.concentration = form.concentration.value.trim();
    }
    return out;
  }
  function show(answer) {
    list.textContent = "";
    var findings = answer.findings || [];
    verdict.textContent = "Verdict: " + answer.verdict + " (" + findings.length + " finding" +
      (findings.length === 1 ? "" : "s") + "). Nothing was saved.";
    findings.forEach(function (f) {
      var box = document.createElement("section");
      box.className = "finding " + f.severity;
      var head = document.createElement("p");
      var sev = document.createElement("span");
      sev.className = "sev " + f.severity;
      sev.textContent = f.severity;
      var link = document.createElement("a");
      link.href = "/rules/" + encodeURIComponent(f.rule);
      link.textContent = f.rule;
      head.appendChild(sev);
      head.appendChild(document.createTextNode(" "));
      head.appendChild(link);
      head.appendChild(document.createTextNode(": " + f.message));
      box.appendChild(head);
      if (f.citation && f.citation.quote) {
        var quote = document.createElement("div");
        quote.className = "quote";
        quote.textContent = "“" + f.citation.quote + "”";
        box.appendChild(quote);
      }
      list.appendChild(box);
    });
  }
  form.addEventListener("input", clear);
  form.addEventListener("change", function () { clear(); showFields(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var patient = form.patient.value;
    if (!patient) { verdict.textContent = "Choose a patient first."; return; }
    verdict.textContent = "Checking…";
    fetch("/api/v1/patients/" + encodeURIComponent(patient) + "/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ proposal: proposal() })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok) { show(answer.body); return; }
      var b = answer.body || {};
      verdict.textContent = "Not checked: " + (b.field ? b.field + ": " : "") +
        (b.message || b.detail || "the proposal could not be read");
    }).catch(function () { verdict.textContent = "Not checked: the server did not answer."; });
  });
  showFields();
})();
