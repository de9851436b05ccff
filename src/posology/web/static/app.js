// Posology pages: one form per event kind, live checks before saving, override reasons, the
// refill review, screening, dose-change limits, the flex profile editor, saving plans.
// No framework. Every clinical number shown comes from the server; the script only converts
// µg/day to µg/h for display and adds up a profile to show the clinician what they typed.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const $ = (id) => document.getElementById(id);

  // One Idempotency-Key per form fill: the same fill sent twice (a double click, a retry) is
  // stored once by the server; a new key is made when an input of the form changes.
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const fillKeys = new WeakMap();
  function keyFor(form) {
    if (!fillKeys.has(form)) fillKeys.set(form, newKey());
    return fillKeys.get(form);
  }
  function newFill(form) { fillKeys.delete(form); }

  // An expired session: back to the login page, which returns here after login.
  function toLogin() {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  async function api(method, url, body, key) {
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
    if (method === "POST") headers["Idempotency-Key"] = key || newKey();
    const response = await fetch(url, {
      method, credentials: "same-origin", headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) { toLogin(); return { status: 401, data: null }; }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { status: response.status, data };
  }

  function text(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function errorText(result, fallback) {
    const e = result && result.data && result.data.error;
    return e ? `${e.field ? e.field + ": " : ""}${e.message}` : fallback;
  }

  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // An instant of the API (already in the clinic's zone) as the clinic reads it; the browser's
  // own zone plays no part.
  function fmtWhen(iso, dateOnly) {
    if (!iso) return "—";
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(iso);
    if (!m) return iso;
    const day = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay();
    const date = `${DAYS[day]} ${m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}`;
    return dateOnly || m[4] === undefined ? date : `${date}, ${m[4]}:${m[5]}`;
  }

  // A quantity code of the API ("250 ug/d") in the words people read ("250 µg/day").
  function qty(code) {
    if (code === null || code === undefined || code === "") return "—";
    return String(code).replace(/\bug\b/g, "µg").replace(/\/d$/, "/day").replace(/\/d\b/, "/day");
  }
  const num = (code) => (code === null || code === undefined ? NaN : parseFloat(String(code)));

  function showFindings(container, findings, keep) {
    if (!keep) container.replaceChildren();
    if (!findings.length) { container.append(text("p", "ok-box", "No finding: the checker has nothing to report.")); return; }
    for (const f of findings) {
      const box = document.createElement("div");
      box.className = "finding " + f.severity;
      box.setAttribute("role", "status");
      box.append(text("span", "sev " + f.severity, f.severity), document.createTextNode(" " + f.message + " "), text("span", "rule-id", "(" + f.rule + ")"));
      if (f.citation) box.append(text("div", "quote", "“" + f.citation.quote + "” (" + f.citation.source + ")"));
      container.append(box);
    }
  }

  // ---- the flex profile editor and the programme (daily dose, simple or flex) -------------
  const eventForm = $("event-form");
  const places = eventForm ? Number(eventForm.dataset.places || "1") : 1;
  const tolerance = eventForm ? Number(eventForm.dataset.tolerance || "0.01") : 0.01;
  const status = eventForm ? JSON.parse($("pump-status-data").textContent) : null;
  const running = status && status.infusion;
  const hourly = (perDay) => (perDay / 24).toFixed(places);
  const minutes = (hhmm) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };

  function profileMean(rows) {
    const sorted = rows.slice().sort((a, b) => minutes(a.start) - minutes(b.start));
    let total = 0;
    sorted.forEach((seg, i) => {
      const end = minutes(sorted[(i + 1) % sorted.length].start);
      let span = (end - minutes(seg.start) + 1440) % 1440;
      if (sorted.length === 1) span = 1440;
      total += seg.rate * span / 1440;
    });
    return total;
  }

  function programme(prefix) {
    const daily = $(prefix + "-daily");
    const mode = $(prefix + "-mode");
    const editor = $(prefix + "-flex");
    const body = editor.querySelector("tbody");
    const totalBox = $(prefix + "-flex-total");
    const hourlyBox = $(prefix + "-hourly");

    function addRow(start, rate) {
      const tr = document.createElement("tr");
      const n = body.children.length + 1;
      tr.innerHTML = `<td><input type="time" step="60" class="seg-start" aria-label="Start of segment ${n}"></td>` +
        `<td><span class="with-unit"><input type="number" min="0" step="any" inputmode="decimal" class="seg-rate" aria-label="Daily rate of segment ${n} in µg/day"><span class="unit">µg/day</span></span></td>` +
        `<td class="seg-hourly qty"></td><td><button type="button" class="secondary small remove-segment" aria-label="Remove segment ${n}">Remove</button></td>`;
      tr.querySelector(".seg-start").value = start || "";
      tr.querySelector(".seg-rate").value = rate === undefined ? "" : rate;
      tr.querySelector(".remove-segment").addEventListener("click", () => { tr.remove(); refresh(); });
      tr.querySelectorAll("input").forEach((i) => i.addEventListener("input", refresh));
      body.append(tr);
    }

    function rows() {
      return Array.from(body.querySelectorAll("tr")).map((tr) => ({
        start: tr.querySelector(".seg-start").value,
        rate: parseFloat(tr.querySelector(".seg-rate").value),
      }));
    }

    function refresh() {
      const d = parseFloat(daily.value);
      hourlyBox.textContent = Number.isFinite(d) ? `${d} µg/day = ${hourly(d)} µg/h` : "µg/day and µg/h are shown side by side here.";
      editor.hidden = mode.value !== "flex";
      for (const tr of body.querySelectorAll("tr")) {
        const r = parseFloat(tr.querySelector(".seg-rate").value);
        tr.querySelector(".seg-hourly").textContent = Number.isFinite(r) ? `${hourly(r)} µg/h` : "";
      }
      if (mode.value !== "flex") { totalBox.textContent = ""; return; }
      const segs = rows().filter((s) => s.start && Number.isFinite(s.rate));
      if (!segs.length) { totalBox.textContent = "Add the profile's segments."; totalBox.className = "flex-total bad"; return; }
      const mean = profileMean(segs);
      const shown = Math.round(mean * 100) / 100;
      const ok = Number.isFinite(d) && Math.abs(mean - d) <= tolerance;
      totalBox.className = "flex-total " + (ok ? "good" : "bad");
      totalBox.textContent = `Time-weighted daily total: ${shown} µg/day (${hourly(mean)} µg/h on average) — ` +
        (ok ? "matches the daily dose." : `does NOT match the daily dose of ${Number.isFinite(d) ? d : "?"} µg/day. It will not be saved.`);
    }

    // a flex profile pre-filled from the infusion running, else two segments at the daily dose
    const profile = running && running.profile && running.profile.length ? running.profile : null;
    if (profile) profile.forEach((s) => addRow(s.start, num(s.daily_rate)));
    else { addRow("07:00", daily.value); addRow("22:00", daily.value); }
    editor.querySelector(".add-segment").addEventListener("click", () => { addRow("", ""); refresh(); });
    daily.addEventListener("input", refresh);
    mode.addEventListener("change", refresh);
    refresh();

    return {
      daily, refresh,
      // the programme as the it-infusion event's fields; refuses a profile whose mean is not
      // the daily dose (the reader refuses it too)
      fields() {
        const d = parseFloat(daily.value);
        if (!Number.isFinite(d) || d <= 0) throw new Error("Give the daily dose in µg/day.");
        const out = { daily_dose: `${d} ug/d` };
        if (mode.value === "flex") {
          const segs = rows();
          if (segs.some((s) => !s.start || !Number.isFinite(s.rate))) throw new Error("Every profile segment needs a start time and a daily rate in µg/day.");
          if (new Set(segs.map((s) => s.start)).size !== segs.length) throw new Error("Two profile segments start at the same time.");
          const mean = profileMean(segs);
          if (Math.abs(mean - d) > tolerance) {
            throw new Error(`Not saved: the profile's time-weighted daily total is ${Math.round(mean * 100) / 100} µg/day, not the daily dose of ${d} µg/day. Correct the profile or the daily dose.`);
          }
          out.schedule = segs.slice().sort((a, b) => minutes(a.start) - minutes(b.start)).map((s) => ({ start: s.start, daily_rate: `${s.rate} ug/d` }));
        }
        return out;
      },
      // whether the programme differs from the infusion running now
      changed() {
        if (!running) return true;
        const f = this.fields();
        if (num(f.daily_dose) !== num(running.daily_dose)) return true;
        const now = (running.profile || []).map((s) => `${s.start}=${num(s.daily_rate)}`).join(",");
        const then = (f.schedule || []).map((s) => `${s.start}=${num(s.daily_rate)}`).join(",");
        return now !== then;
      },
    };
  }

  // ---- the event form: one set of fields per kind ------------------------------------------
  if (eventForm) {
    const pid = eventForm.dataset.patient;
    const defaultMedicine = eventForm.dataset.medicine || "baclofen";
    const out = $("check-result");
    const overrideBox = $("override-box");
    const errorBox = $("event-error");
    const kindSelect = $("kind");
    const saveButton = $("save-button");
    const programmes = { refill: programme("refill"), inf: programme("inf") };
    const v = (id) => ($(id) ? $(id).value.trim() : "");
    const SAVE_LABELS = { "pump-refill": "Save the refill", "it-infusion": "Save the infusion", "it-test-dose": "Save the test dose" };

    function showKind() {
      for (const fs of eventForm.querySelectorAll("fieldset[data-kind]")) {
        const on = fs.dataset.kind === kindSelect.value;
        fs.hidden = !on;
        fs.disabled = !on;
      }
      saveButton.textContent = SAVE_LABELS[kindSelect.value] || "Save";
      out.replaceChildren();
      errorBox.textContent = "";
      if (kindSelect.value === "it-infusion" || kindSelect.value === "oral-regimen") loadLimits();
    }
    kindSelect.addEventListener("change", showKind);

    function need(id, what) {
      const n = parseFloat(v(id));
      if (!Number.isFinite(n) || n < 0) throw new Error(`Give ${what}.`);
      return n;
    }

    // the events the form records, in order (a refill may bring an infusion change with it)
    function eventsFromForm() {
      const kind = kindSelect.value;
      const at = v("at");
      if (!at) throw new Error("Give the time it happened.");
      const event = { at, kind };
      if (kind === "oral-regimen") {
        event.dose = `${need("oral-dose", "the dose per administration")} ${v("oral-unit")}`;
        event.times_per_day = Number(v("oral-times") || "3");
        if (v("oral-medicine") && v("oral-medicine") !== defaultMedicine) event.medicine = v("oral-medicine");
      } else if (kind === "injection-session") {
        event.product = v("bt-product");
        event.injections = [];
        for (let i = 0; $(`bt-muscle-${i}`); i++) {
          const muscle = v(`bt-muscle-${i}`);
          if (!muscle) continue;
          const injection = { muscle, dose: `${need(`bt-dose-${i}`, `the Units injected into the ${muscle.replace(/-/g, " ")}`)} U` };
          const sites = Number(v(`bt-sites-${i}`) || "1");
          if (sites !== 1) injection.sites = sites;
          if (v(`bt-side-${i}`)) injection.side = v(`bt-side-${i}`);
          event.injections.push(injection);
        }
        if (!event.injections.length) throw new Error("Choose at least one muscle and give its Units.");
      } else if (kind === "oral-stop") {
        if (v("stop-medicine") && v("stop-medicine") !== defaultMedicine) event.medicine = v("stop-medicine");
      } else if (kind === "it-test-dose") {
        event.dose = `${need("td-dose", "the bolus dose")} ${v("td-unit")}`;
        const effect = v("td-effect");
        if (effect === "yes") event.response = { effect: true, duration_h: need("td-duration", "how many hours the effect lasted") };
        if (effect === "no") event.response = { effect: false };
      } else if (kind === "it-infusion") {
        Object.assign(event, programmes.inf.fields());
      } else if (kind === "review") {
        event.note = v("review-note") || "review";
      } else if (kind === "pump-refill") {
        event.concentration = `${need("refill-conc", "the new concentration in µg/mL")} ug/mL`;
        event.volume_ml = need("refill-volume", "the volume filled in mL");
        if (v("refill-residual")) event.residual_ml = need("refill-residual", "the volume withdrawn in mL");
        if (v("refill-lot")) event.lot = v("refill-lot");
        if (v("refill-checked")) event.checked_by = v("refill-checked");
        if (v("refill-bridge")) event.bridge_volume_ml = need("refill-bridge", "the bridge volume in mL");
        if (v("refill-alarm")) event.alarm_ml = need("refill-alarm", "the alarm volume in mL");
        const events = [event];
        if (v("refill-daily") && programmes.refill.changed()) events.push({ at, kind: "it-infusion", ...programmes.refill.fields() });
        return events;
      }
      return [event];
    }

    function collect() {
      errorBox.textContent = "";
      try { return eventsFromForm(); } catch (e) { errorBox.textContent = e.message; return null; }
    }

    async function checkAll(events) {
      out.replaceChildren();
      let all = [];
      for (const e of events) {
        const checked = await api("POST", `/api/v1/patients/${pid}/check`, { proposal: e });
        if (checked.status !== 200) { errorBox.textContent = errorText(checked, "The check failed."); return null; }
        all = all.concat(checked.data.findings);
      }
      lastFindings = all;
      showFindings(out, all);
      limitsAfterCheck();
      return all;
    }

    $("check-button").addEventListener("click", async () => {
      const events = collect();
      if (events) await checkAll(events);
    });

    // ---- overrides: a coded reason plus words; a critical finding needs the dose typed again
    // and a co-signer. The safer action (change the dose) is the default button.
    let lastFindings = [];
    let reasonCodes = null;  // null: the server lists no codes (an older server): words only
    api("GET", "/api/v1/override-reasons").then((r) => {
      if (r.status !== 200 || !Array.isArray(r.data)) return;
      reasonCodes = r.data;
      const select = $("override_code");
      for (const c of r.data) {
        const code = typeof c === "string" ? c : c.code;
        const label = typeof c === "string" ? c : (c.display || c.code);
        const o = document.createElement("option");
        o.value = code; o.textContent = label;
        select.append(o);
      }
    });

    function showOverride(findings) {
      const critical = findings.some((f) => f.severity === "critical");
      overrideBox.hidden = false;
      $("critical-box").hidden = !critical;
      $("change-button").hidden = false;
      saveButton.classList.add("secondary");
      saveButton.textContent = "Record it anyway (override)";
      $("change-button").focus();
    }

    function hideOverride() {
      overrideBox.hidden = true;
      $("change-button").hidden = true;
      saveButton.classList.remove("secondary");
      saveButton.textContent = SAVE_LABELS[kindSelect.value] || "Save";
    }

    $("change-button").addEventListener("click", () => {
      hideOverride();
      out.replaceChildren();
      const first = eventForm.querySelector("fieldset.kind-fields:not([hidden]) input:not([type=hidden])");
      (first || $("at")).focus();
    });

    // the override part of a body, or an error text saying what is missing
    function overrideFields(findings) {
      const serious = findings.filter((f) => f.severity === "error" || f.severity === "critical");
      if (!serious.length) return {};
      const code = v("override_code");
      const reason = v("override_reason");
      if (reasonCodes === null) {
        if (!reason) throw new Error("Not saved: the checker found a problem of severity error or critical. Change the dose, or give a reason to record it anyway.");
        return { override_reason: reason };
      }
      if (!code || !reason) throw new Error("Not saved: the checker found a problem of severity error or critical. Change the dose, or choose a reason and say why in words to record it anyway.");
      const out = { override: { code, text: reason } };
      if (serious.some((f) => f.severity === "critical")) {
        if (!v("retyped_dose")) throw new Error("Not saved: a critical finding. Type the dose again, as written, to record it anyway.");
        out.retyped_dose = v("retyped_dose");
        if ($("cosigner_email")) {
          if (!v("cosigner_email") || !$("cosigner_password").value) throw new Error("Not saved: a critical finding needs a second clinician's co-signature (e-mail and password).");
          out.cosigner = { email: v("cosigner_email"), password: $("cosigner_password").value };
        }
      }
      return out;
    }

    // ---- a correction of an entry: the form filled with it, saved as a superseding event
    const history = $("history-data") ? JSON.parse($("history-data").textContent) : {};
    let correcting = null;
    function setValue(id, value) { if ($(id) && value !== undefined && value !== null) $(id).value = value; }
    function fillFrom(event) {
      kindSelect.value = event.kind;
      showKind();
      setValue("at", String(event.at).slice(0, 16));
      const amount = (q) => String(q).split(" ");
      if (event.kind === "oral-regimen") { const [n, u] = amount(event.dose); setValue("oral-medicine", event.medicine || defaultMedicine); setValue("oral-dose", n); setValue("oral-unit", u); setValue("oral-times", event.times_per_day); loadLimits(); }
      if (event.kind === "oral-stop") setValue("stop-medicine", event.medicine || defaultMedicine);
      if (event.kind === "injection-session") {
        setValue("bt-product", event.product);
        const rows = eventForm.querySelectorAll("tr.bt-row");
        (event.injections || []).forEach((injection, i) => {
          if (!rows[i]) return;
          rows[i].hidden = false;
          setValue(`bt-muscle-${i}`, injection.muscle);
          setValue(`bt-side-${i}`, injection.side || "");
          // a dose written in another product's Units is not carried over as this product's:
          // the field stays empty, to be given again
          const [units, ...rest] = String(injection.dose).split(" ");
          $(`bt-dose-${i}`).value = rest.join(" ") === "U" ? units : "";
          setValue(`bt-sites-${i}`, injection.sites || 1);
        });
      }
      if (event.kind === "it-test-dose") { const [n, u] = amount(event.dose); setValue("td-dose", n); setValue("td-unit", u); }
      if (event.kind === "it-infusion") { setValue("inf-daily", parseFloat(event.daily_dose)); programmes.inf.refresh(); }
      if (event.kind === "review") setValue("review-note", event.note);
      if (event.kind === "pump-refill") { setValue("refill-conc", parseFloat(event.concentration)); setValue("refill-volume", event.volume_ml); }
    }
    for (const button of document.querySelectorAll(".correct-entry")) {
      button.addEventListener("click", () => {
        const id = button.dataset.id;
        correcting = Number(id);
        fillFrom(history[id]);
        $("correction-box").hidden = false;
        $("correction-what").textContent = `Correcting the entry of ${fmtWhen(history[id].at)}: change what was wrong, say why, and save. Both entries stay in the history.`;
        newFill(eventForm);
        $("event-title").scrollIntoView();
        $("correction-text").focus();
      });
    }
    $("correction-cancel").addEventListener("click", () => { correcting = null; $("correction-box").hidden = true; newFill(eventForm); });
    for (const button of document.querySelectorAll(".error-entry")) {
      button.addEventListener("click", () => { $("void-" + button.dataset.id).hidden = false; $("void-text-" + button.dataset.id).focus(); });
    }
    for (const button of document.querySelectorAll(".void-save")) {
      const key = newKey();  // one per entry's form
      button.addEventListener("click", async () => {
        const id = button.dataset.id;
        const why = v("void-text-" + id);
        const err = $("void-error-" + id);
        if (!why) { err.textContent = "Say why the entry was entered in error."; return; }
        button.disabled = true;
        const body = { supersedes: Number(id), correction: { kind: "entered-in-error", text: why } };
        const result = await api("POST", `/api/v1/patients/${pid}/events`, body, key);
        if (result.status === 201 || result.status === 200) { window.location.reload(); return; }
        button.disabled = false;
        err.textContent = errorText(result, "Not recorded.");
      });
    }

    // any change to what the form says clears the check's answer: it answered another question
    const outside = new Set(["override_code", "override_reason", "retyped_dose", "cosigner_email", "cosigner_password", "correction-text"]);
    function inputChanged(e) {
      newFill(eventForm);
      if (outside.has(e.target.id)) return;
      out.replaceChildren();
      hideOverride();
    }
    eventForm.addEventListener("input", inputChanged);
    eventForm.addEventListener("change", inputChanged);

    let busy = false;
    eventForm.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      if (busy) return;  // a double click sends the form once
      busy = true;
      saveButton.disabled = true;
      try { await saveEvents(); } finally { busy = false; saveButton.disabled = false; }
    });

    async function saveEvents() {
      const events = collect();
      if (!events) return;
      const key = keyFor(eventForm);
      if (correcting !== null && !v("correction-text")) { errorBox.textContent = "Say why the entry is corrected."; return; }
      const findings = await checkAll(events);
      if (findings === null) return;
      let extra;
      try { extra = overrideFields(findings); }
      catch (e) { showOverride(findings); errorBox.textContent = e.message; return; }
      for (let i = 0; i < events.length; i++) {
        const body = { event: events[i], ...extra };
        if (i === 0 && correcting !== null) { body.supersedes = correcting; body.correction = { kind: "correction", text: v("correction-text") }; }
        const result = await api("POST", `/api/v1/patients/${pid}/events`, body, `${key}-${i}`);
        if (result.status === 201 || result.status === 200) continue;
        const saved = i > 0 ? "The refill is saved; the programme change is not. " : "";
        if (result.status === 422 && result.data && result.data.findings) {
          showFindings(out, result.data.findings);
          showOverride(result.data.findings);
          errorBox.textContent = saved + "Not saved: " + errorText(result, "findings of severity error or critical. Change the dose, or give a reason to record it anyway.");
        } else errorBox.textContent = saved + errorText(result, "Not saved.");
        return;
      }
      window.location.reload();
    }

    // ---- the refill review: before / after, discrepancy, bridge bolus, new dates --------------
    $("refill-review").addEventListener("click", async () => {
      const events = collect();
      if (!events) return;
      const box = $("refill-preview");
      const body = { event: events[0] };
      if (events[1]) body.infusion = events[1];
      const result = await api("POST", `/api/v1/patients/${pid}/refill-preview`, body);
      box.replaceChildren();
      if (result.status !== 200) { box.append(text("p", "error-box", errorText(result, "The review is not available."))); return; }
      renderPreview(box, result.data);
    });

    function settingsRows(before, after) {
      const line = (s, f) => (s ? f(s) : "—");
      const rate = (s) => `${qty(s.daily_dose)} = ${qty(s.hourly_rate)}`;
      const mode = (s) => (s.mode === "flex" ? "Flex: " + s.profile.map((p) => `from ${p.start} ${qty(p.daily_rate)} (${qty(p.hourly_rate)})`).join("; ") : "Simple: the same rate all day");
      return [
        ["Concentration", line(before, (s) => qty(s.concentration)), qty(after.concentration), "conc"],
        ["Volume in the reservoir", line(before, (s) => qty(s.volume)), qty(after.volume), "volume"],
        ["Low-reservoir alarm volume", line(before, (s) => qty(s.alarm_volume)), qty(after.alarm_volume), "alarm"],
        ["Daily dose and hourly rate", line(before, rate), rate(after), "rate"],
        ["Delivery", line(before, mode), mode(after), "mode"],
      ];
    }

    function renderPreview(box, p) {
      box.append(text("h3", "", "Review: before and after the refill"));
      const resid = text("p", "residual", "");
      resid.id = "preview-residual";
      resid.textContent = p.residual
        ? `Volume withdrawn ${qty(p.residual)}; expected ${qty(p.expected_residual)}` + (p.discrepancy ? `; difference ${p.discrepancy}.` : ".")
        : `Expected residual: ${qty(p.expected_residual)} (no withdrawn volume entered).`;
      box.append(resid);
      const table = document.createElement("table");
      table.className = "before-after";
      table.id = "preview-settings";
      table.innerHTML = "<thead><tr><th scope='col'>Setting</th><th scope='col'>Before</th><th scope='col'>After</th></tr></thead>";
      const tbody = document.createElement("tbody");
      for (const [name, b, a, key] of settingsRows(p.before, p.after)) {
        const tr = document.createElement("tr");
        if (b !== a && b !== "—") tr.className = "changed";
        tr.append(text("th", "", name), text("td", "", b), text("td", "after-" + key, a));
        tr.firstChild.setAttribute("scope", "row");
        tbody.append(tr);
      }
      table.append(tbody);
      box.append(table);
      if (p.bridge) {
        const b = document.createElement("div");
        b.className = "finding warning bridge";
        b.id = "preview-bridge";
        b.append(text("strong", "", "Bridge bolus"));
        // the words are the pack's (its `intrathecal.pump.bridge` rule); the figures are the engine's
        if (p.bridge.text) b.append(text("div", "", p.bridge.text));
        b.append(text("div", "bridge-figures", `Bolus ${qty(p.bridge.dose)} · volume ${qty(p.bridge.volume)} of ${qty(p.bridge.old_concentration)} · over ${p.bridge.duration_h} h · then ${qty(p.bridge.new_concentration)}`));
        box.append(b);
      }
      const n = p.next || {};
      const dl = document.createElement("dl");
      dl.className = "next-dates";
      dl.id = "preview-next";
      const add = (term, value, id) => { dl.append(text("dt", "", term)); const dd = text("dd", "", value); dd.id = id; dl.append(dd); };
      add("New low-reservoir alarm", fmtWhen(n.alarm_at), "preview-alarm");
      add("Book the next refill", n.booking_window ? `${fmtWhen(n.booking_window.opens, true)} to ${fmtWhen(n.booking_window.closes, true)}` : "—", "preview-window");
      add("Reservoir empty", fmtWhen(n.empty_at), "preview-empty");
      add("Longest refill interval reached", fmtWhen(n.limit_at, true), "preview-limit");
      box.append(text("h3", "", "After this refill"), dl);
      const findings = document.createElement("div");
      findings.id = "preview-findings";
      box.append(findings);
      showFindings(findings, p.findings || []);
      box.append(text("p", "hint", "Nothing is saved yet: press “Save the refill” to record it."));
    }

    // ---- dose-change limits: the allowed range and earliest time, the largest as one click ---
    // the server's medicine's limits (its infusion and its tablets), and each other oral
    // medicine's by its own pack, asked for once each
    let limits = null;
    let limitsAsked = false;
    const oralLimits = {};
    const oralMedicine = () => v("oral-medicine") || defaultMedicine;
    async function loadLimits() {
      const medicine = oralMedicine();
      if (!limitsAsked) {
        limitsAsked = true;
        const result = await api("GET", `/api/v1/patients/${pid}/change-limits`);
        if (result.status === 200) limits = result.data;
      }
      if (medicine !== defaultMedicine && !(medicine in oralLimits)) {
        oralLimits[medicine] = null;
        const result = await api("GET", `/api/v1/patients/${pid}/change-limits?medicine=${encodeURIComponent(medicine)}`);
        if (result.status === 200) oralLimits[medicine] = result.data.oral;
      }
      renderLimits();
    }

    function limitBox(id, lines, suggestion, apply) {
      const box = $(id);
      if (!box) return;
      box.replaceChildren();
      for (const l of lines) box.append(text("p", l.cls || "", l.text));
      if (suggestion) {
        const b = text("button", "suggest", suggestion);
        b.type = "button";
        b.id = id.replace("-limits", "-use-largest");
        b.addEventListener("click", () => { apply(); renderLimits(); });
        box.append(b);
      }
    }

    function earliestLine(iso) {
      if (!iso) return null;
      const early = v("at") && v("at") < iso.slice(0, 16);
      return { text: `The next increase is allowed from ${fmtWhen(iso)}` + (early ? " — the time chosen is earlier." : "."), cls: early ? "error-box" : "" };
    }

    function renderLimits() {
      if (!limits) return;
      const it = limits.intrathecal;
      if (it) {
        const typed = parseFloat(programmes.inf.daily.value);
        const largest = num(it.largest);
        const lines = [{ text: `Now ${qty(it.daily_dose)} (${it.phase === "titration" ? "titration" : "maintenance"}). Allowed up to ${qty(it.largest)}` + (it.smallest_without_warning ? `; down to ${qty(it.smallest_without_warning)} without a warning.` : ".") }];
        const e = earliestLine(it.earliest_increase);
        if (e) lines.push(e);
        const over = Number.isFinite(typed) && typed > largest;
        if (over) lines.push({ text: `${typed} µg/day is more than the largest allowed change.`, cls: "error-box" });
        limitBox("inf-limits", lines, over ? `Use ${qty(it.largest)} (the largest allowed)` : null, () => {
          programmes.inf.daily.value = String(largest);
          programmes.inf.refresh();
        });
      } else limitBox("inf-limits", [{ text: "No infusion running: the first dose follows the screening." }]);
      const medicine = oralMedicine();
      const oral = medicine === defaultMedicine ? limits.oral : oralLimits[medicine];
      const named = medicine.charAt(0).toUpperCase() + medicine.slice(1);
      if (oral) {
        const dose = parseFloat(v("oral-dose"));
        const times = Number(v("oral-times") || "3");
        const factor = v("oral-unit") === "ug" ? 0.001 : 1;
        const typed = Number.isFinite(dose) ? dose * factor * times : NaN;
        const largest = num(oral.largest);
        const lines = [{ text: `${named} now ${qty(oral.daily_dose)}. Allowed up to ${qty(oral.largest)}` + (oral.maximum ? ` (maximum ${qty(oral.maximum)}).` : ".") }];
        const e = earliestLine(oral.earliest_increase);
        if (e) lines.push(e);
        const over = Number.isFinite(typed) && typed > largest + 1e-9;
        if (over) lines.push({ text: `${Math.round(typed * 1000) / 1000} mg/day is more than the largest allowed.`, cls: "error-box" });
        const per = Math.floor((largest / times) * 100) / 100;
        limitBox("oral-limits", lines, over ? `Use ${per} mg ${times} times a day (${qty(oral.largest)} at most)` : null, () => {
          $("oral-dose").value = String(per);
          $("oral-unit").value = "mg";
        });
      } else limitBox("oral-limits", [{ text: `No ${medicine} regimen in force: a first start is checked against its starting dose (press “Check first”).` }]);
      const d = parseFloat(v("oral-dose"));
      $("oral-total").textContent = Number.isFinite(d) ? `${Math.round(d * Number(v("oral-times") || "3") * 1000) / 1000} ${v("oral-unit") === "ug" ? "µg" : "mg"}/day in all` : "";
    }
    function limitsAfterCheck() { if (limits) renderLimits(); }
    for (const id of ["inf-daily", "oral-dose", "oral-times", "oral-unit", "at"]) $(id).addEventListener("input", renderLimits);
    $("oral-medicine").addEventListener("change", loadLimits);
    if ($("bt-add")) {
      $("bt-add").addEventListener("click", () => {
        const next = eventForm.querySelector("tr.bt-row[hidden]");
        if (next) { next.hidden = false; next.querySelector("select").focus(); }
        if (!eventForm.querySelector("tr.bt-row[hidden]")) $("bt-add").hidden = true;
      });
    }

    // ---- screening: the ladder, responses, the next dose, the conclusion, the first infusion --
    const testDoses = JSON.parse($("test-doses-data").textContent);
    const screening = $("screening");

    function prefill(kind, values) {
      kindSelect.value = kind;
      showKind();
      for (const [id, value] of Object.entries(values)) { $(id).value = value; $(id).dispatchEvent(new Event("input")); }
      programmes.inf.refresh();
      kindSelect.scrollIntoView({ behavior: "instant", block: "start" });
      $(Object.keys(values)[0] || "at").focus();
    }

    async function loadScreening() {
      const result = await api("GET", `/api/v1/patients/${pid}/screening`);
      if (result.status !== 200) return;
      const s = result.data;
      // once the infusion runs, the screening is history: shown only while it is open
      if (running && !["pending", "in-progress"].includes(s.state)) return;
      screening.hidden = false;
      const body = $("screening-body");
      body.replaceChildren();
      const STATES = { none: "No test dose yet", pending: "Waiting for a response", "in-progress": "In progress", responder: "Responder", "non-responder": "Non-responder" };
      const badge = text("p", "", "");
      badge.append(text("span", "state screen-" + s.state, STATES[s.state] || s.state));
      badge.id = "screening-state";
      body.append(badge);
      if (s.doses.length) {
        const table = document.createElement("table");
        table.id = "screening-ladder";
        table.innerHTML = "<thead><tr><th scope='col'>#</th><th scope='col'>Given</th><th scope='col'>Bolus</th><th scope='col'>Response</th></tr></thead>";
        const tbody = document.createElement("tbody");
        s.doses.forEach((d, i) => {
          const tr = document.createElement("tr");
          const bolus = document.createElement("td");
          bolus.append(text("span", "qty unit-ug", qty(d.dose)));
          tr.append(text("td", "", String(i + 1)), text("td", "", fmtWhen(d.at)), bolus);
          const cell = document.createElement("td");
          if (d.response) cell.textContent = d.response.effect ? `Effect seen for ${d.response.duration_h} h` : "No effect";
          else if (eventForm && testDoses[String(d.event_id)]) cell.append(responseForm(d));
          else cell.textContent = "not recorded";
          tr.append(cell);
          tbody.append(tr);
        });
        table.append(tbody);
        body.append(table);
      }
      if (s.next) {
        const p = text("p", "next-dose", `Next allowed test dose: ${qty(s.next.dose)}, not before ${fmtWhen(s.next.earliest)}. `);
        p.id = "screening-next";
        const b = text("button", "secondary", "Prefill the test-dose form");
        b.type = "button";
        b.id = "screening-prefill-dose";
        const now = v("at");
        const at = s.next.earliest && s.next.earliest.slice(0, 16) > now ? s.next.earliest.slice(0, 16) : now;
        b.addEventListener("click", () => prefill("it-test-dose", { "td-dose": String(num(s.next.dose)), "td-unit": "ug", at }));
        p.append(b);
        body.append(p);
      }
      if (s.conclusion) { const c = text("p", "conclusion", s.conclusion); c.id = "screening-conclusion"; body.append(c); }
      if (s.infusion_start) {
        const st = s.infusion_start;
        const box = document.createElement("div");
        box.className = "finding info";
        box.id = "screening-start";
        box.append(text("strong", "", "First infusion after the implant: "), document.createTextNode(`${qty(st.daily_dose)} = ${qty(st.hourly_rate)}` + (st.prolonged ? " (the test dose's effect lasted long)." : ".")));
        if (st.text) box.append(text("div", "", st.text));
        const implant = text("button", "secondary", "Record the pump implant");
        implant.type = "button";
        implant.id = "screening-implant";
        implant.addEventListener("click", () => prefill("pump-implant", {}));
        const start = text("button", "", "Prefill the first infusion");
        start.type = "button";
        start.id = "screening-start-infusion";
        start.addEventListener("click", () => prefill("it-infusion", { "inf-daily": String(num(st.daily_dose)), "inf-mode": "simple" }));
        box.append(document.createElement("br"), implant, document.createTextNode(" "), start);
        body.append(box);
      }
    }

    function responseForm(d) {
      const wrap = document.createElement("div");
      wrap.className = "response-form";
      const id = d.event_id;
      wrap.innerHTML = `<label for="resp-effect-${id}">Response to this dose</label>` +
        `<select id="resp-effect-${id}"><option value="yes">effect seen</option><option value="no">no effect</option></select>` +
        `<label for="resp-duration-${id}">Duration of the effect</label>` +
        `<span class="with-unit"><input id="resp-duration-${id}" type="number" min="0" max="72" step="0.5" inputmode="decimal"><span class="unit">hours</span></span>` +
        `<button type="button" id="resp-save-${id}">Record the response</button><p class="error-box" role="alert" id="resp-error-${id}"></p>`;
      const key = newKey();  // one per response form
      wrap.querySelector("button").addEventListener("click", async () => {
        const effect = $(`resp-effect-${id}`).value === "yes";
        const hours = parseFloat($(`resp-duration-${id}`).value);
        const err = $(`resp-error-${id}`);
        if (effect && !(hours > 0)) { err.textContent = "Give how many hours the effect lasted."; return; }
        const event = { ...testDoses[String(id)], response: effect ? { effect: true, duration_h: hours } : { effect: false } };
        let extra = {};
        try { extra = overrideFields(lastFindings); } catch (e) { extra = {}; }
        const body = { event, supersedes: id, ...extra };
        const result = await api("POST", `/api/v1/patients/${pid}/events`, body, key);
        if (result.status === 201) { window.location.reload(); return; }
        if (result.status === 422 && result.data && result.data.findings) {
          lastFindings = result.data.findings;
          showFindings(out, result.data.findings);
          showOverride(result.data.findings);
          err.textContent = "Not recorded: the checker found a problem. Give a reason below the event form to record it anyway.";
        } else err.textContent = errorText(result, "Not recorded.");
      });
      return wrap;
    }

    showKind();
    if (screening) loadScreening();
  }

  // ---- other pages ----------------------------------------------------------------------------
  const patientForm = $("patient-form");
  if (patientForm) {
    const f = patientForm.elements;
    const pumpOnly = patientForm.querySelector(".pump-only");
    const showPump = () => { pumpOnly.hidden = !(f["programmable"].value === "yes" || f["programmable"].value === "no"); };
    f["programmable"].addEventListener("change", showPump);
    patientForm.addEventListener("input", () => newFill(patientForm));
    patientForm.addEventListener("change", () => newFill(patientForm));
    let busy = false;
    patientForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = $("patient-error");
      box.textContent = "";
      const missing = [["name", "the name"], ["birth_date", "the birth date"], ["record_number", "the record number"], ["sex", "the sex"], ["diagnosis", "the diagnosis"], ["programmable", "whether there is an implanted pump"]]
        .filter(([k]) => !f[k].value.trim()).map(([, what]) => what);
      const hasPump = f["programmable"].value === "yes" || f["programmable"].value === "no";
      if (hasPump && !f["reservoir_ml"].value) missing.push("the pump's reservoir volume");
      if (missing.length) { box.textContent = "Give " + missing.join(", ") + "."; return; }
      const patient = { diagnosis: f["diagnosis"].value, sex: f["sex"].value, birth_date: f["birth_date"].value };
      if (f["weight_kg"].value) patient.weight_kg = Number(f["weight_kg"].value);
      if (hasPump) patient.pump = { programmable: f["programmable"].value === "yes", reservoir_ml: Number(f["reservoir_ml"].value) };
      const body = { patient, name: f["name"].value.trim(), birth_date: f["birth_date"].value, record_number: f["record_number"].value.trim(), label: f["name"].value.trim() };
      if ($("confirm_duplicate").checked) body.confirm_duplicate = true;
      if (busy) return;
      busy = true;
      const result = await api("POST", "/api/v1/patients", body, keyFor(patientForm));
      busy = false;
      if (result.status === 201 || result.status === 200) { window.location.href = `/patients/${result.data.id}`; return; }
      const e = result.data && result.data.error;
      if (result.status === 409 && e && e.field === "name") {
        $("duplicate-box").hidden = false;
        $("duplicate-text").textContent = e.message;
        box.textContent = "Not saved yet: confirm that this is a different patient.";
        return;
      }
      box.textContent = errorText(result, "Not saved.");
    });
  }

  const profileForm = $("profile-form");
  if (profileForm) {
    const val = (id) => ($(id) ? $(id).value.trim() : "");
    const pumpFields = profileForm.querySelectorAll(".pf-pump");
    const showPump = () => { for (const d of pumpFields) d.hidden = val("pf-has_pump") !== "yes"; };
    $("pf-has_pump").addEventListener("change", showPump);
    showPump();
    profileForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = $("profile-error");
      box.textContent = "";
      const doc = { diagnosis: val("pf-diagnosis") };
      if ($("pf-birth_date")) {
        if (!val("pf-birth_date")) { box.textContent = "birth_date: give the birth date."; return; }
        doc.birth_date = val("pf-birth_date");
      } else doc.age_years = Number(val("pf-age_years"));
      for (const k of ["sex", "origin", "setting"]) if (val("pf-" + k)) doc[k] = val("pf-" + k);
      for (const k of ["weight_kg", "creatinine_clearance_ml_min"]) if (val("pf-" + k)) doc[k] = Number(val("pf-" + k));
      for (const sel of profileForm.querySelectorAll("select[data-type=bool]")) if (sel.value) doc[sel.dataset.field] = sel.value === "yes";
      for (const k of ["conditions", "medications"]) {
        const ticked = Array.from(profileForm.querySelectorAll(`input[name=pf-${k}]:checked`), (i) => i.value);
        if (ticked.length) doc[k] = ticked;
      }
      if (val("pf-has_pump") === "yes") {
        if (!val("pf-programmable") || !val("pf-reservoir_ml")) { box.textContent = "pump: say whether the pump is programmable and give its reservoir volume."; return; }
        doc.pump = { programmable: val("pf-programmable") === "yes", reservoir_ml: Number(val("pf-reservoir_ml")) };
        if (val("pf-model")) doc.pump.model = val("pf-model");
        if (val("pf-withdrawal")) doc.pump.withdrawal_before_alarm = val("pf-withdrawal") === "yes";
      }
      const response = await fetch(`/api/v1/patients/${profileForm.dataset.patient}`, {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "If-Match": `"${profileForm.dataset.version}"` },
        body: JSON.stringify({ patient: doc }),
      });
      if (response.status === 401) { toLogin(); return; }
      if (response.ok) { window.location.reload(); return; }
      const data = await response.json().catch(() => null);
      box.textContent = data && data.error ? `${data.error.field}: ${data.error.message}` : "Not saved.";
    });
  }

  // ---- saved plans: "Step done" records the step (the server checks it again first) ----------
  for (const button of document.querySelectorAll(".step-done")) {
    const key = newKey();
    button.addEventListener("click", async () => {
      const d = button.dataset;
      const err = button.nextElementSibling;
      button.disabled = true;
      const result = await api("POST", `/api/v1/patients/${d.patient}/plans/${d.plan}/steps/${d.position}/confirm`, {}, key);
      if (result.status === 201 || result.status === 200) { window.location.reload(); return; }
      button.disabled = false;
      err.textContent = errorText(result, "Not recorded.");
    });
  }

  // ---- the plan form: each goal's own options -------------------------------------------------
  const planForm = $("plan-form");
  if (planForm) {
    const goal = $("goal");
    const showOptions = () => {
      for (const div of planForm.querySelectorAll("[data-goals]")) {
        const on = div.dataset.goals.split(" ").includes(goal.value);
        div.hidden = !on;
        for (const i of div.querySelectorAll("input, select")) i.disabled = !on;
      }
      $("onset").required = goal.value === "it-flex";
    };
    goal.addEventListener("change", showOptions);
    showOptions();
  }

  const savePlan = $("save-plan");
  if (savePlan) {
    savePlan.addEventListener("click", async () => {
      const goal = JSON.parse(savePlan.dataset.goal);
      if (savePlan.disabled) return;
      savePlan.disabled = true;
      const key = savePlan.dataset.key || (savePlan.dataset.key = newKey());
      const result = await api("POST", `/api/v1/patients/${savePlan.dataset.patient}/plans`, { goal, start: savePlan.dataset.start }, key);
      savePlan.disabled = result.status === 201;
      $("save-result").textContent = result.status === 201 ? `Saved as plan ${result.data.id}.` : "Not saved.";
    });
  }
})();
