// Never lose typed work. What is typed in a form (task or new case) is copied to this
// browser's localStorage as it is typed, and a task's draft is saved on the server a moment
// later. When the person was signed out meanwhile (another tab, an expired session), sending
// the form leads to the sign-in page and back to the form, where the copy is put back. The
// copy is removed once the form went through (the next signed-in page is another page).
(function () {
  "use strict";
  var PREFIX = "aftersales:typed:";
  var SUBMITTED = PREFIX + "submitted";
  var store, session;
  try { store = window.localStorage; session = window.sessionStorage; } catch (e) { return; }
  var user = document.body.dataset.user || "";
  var form = document.querySelector("form[data-keep]");

  // A live count where a text has a limit; over it the count says by how much (never cut).
  document.querySelectorAll("textarea[data-counter], input[data-counter]").forEach(function (el) {
    var counter = el.parentNode.querySelector(".counter");
    if (!counter) { return; }
    var limit = parseInt(el.dataset.counter, 10);
    var shown = counter.querySelector("[data-count]");
    var over = document.createElement("span");
    over.className = "over";
    counter.appendChild(over);
    function update() {
      var length = Array.from(el.value.replace(/\r\n/g, "\n")).length;
      shown.textContent = length;
      var excess = length - limit;
      counter.classList.toggle("is-over", excess > 0);
      over.textContent = excess > 0 ? " " + counter.dataset.overText.replace("{n}", excess) : "";
      if (excess > 0) { el.setAttribute("aria-invalid", "true"); } else if (!el.closest(".has-error")) { el.removeAttribute("aria-invalid"); }
    }
    el.addEventListener("input", update);
    update();
  });

  var pending = session.getItem(SUBMITTED);
  if (pending && user) {
    var sameForm = form && form.dataset.keep === pending;
    if (!sameForm && !document.querySelector("[data-keep-typed]")) {
      store.removeItem(PREFIX + pending);
      session.removeItem(SUBMITTED);
    } else if (sameForm) {
      session.removeItem(SUBMITTED);
    }
  }
  if (!form) { return; }
  var key = PREFIX + form.dataset.keep;

  function kept(el) {
    return el.name && el.name !== "csrf_token" && el.name.charAt(0) !== "_" &&
      el.type !== "file" && el.type !== "hidden" && el.type !== "submit" && el.type !== "button";
  }
  function snapshot() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) { return; }
      var list = values[el.name] || (values[el.name] = []);
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) { list.push(el.value); } }
      else { list.push(el.value); }
    });
    return values;
  }
  function restore(values) {
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el) || !(el.name in values)) { return; }
      var list = values[el.name];
      if (el.type === "radio" || el.type === "checkbox") { el.checked = list.indexOf(el.value) !== -1; return; }
      var index = seen[el.name] = (seen[el.name] === undefined ? 0 : seen[el.name] + 1);
      if (index < list.length) { el.value = list[index]; }
    });
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var saved = null;
  try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
  if (saved && saved.values && !document.getElementById("error-summary") && !same(saved.values, snapshot())) {
    restore(saved.values);
    var note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "status");
    note.dataset.restored = "1";
    note.textContent = form.dataset.restoredText || "";
    form.insertBefore(note, form.firstChild);
  }

  var status = form.querySelector("[data-draft-status]");
  var timer = null;
  function signedOut() {
    if (!status) { return; }
    status.textContent = "";
    var text = document.createElement("span");
    text.className = "signed-out";
    text.textContent = form.dataset.signedOutText + " ";
    var link = document.createElement("a");
    link.href = "/login?next=" + encodeURIComponent(location.pathname);
    link.textContent = form.dataset.signInText;
    status.appendChild(text);
    status.appendChild(link);
  }
  function saveOnServer() {
    var body = new FormData(form);
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (el) { body.delete(el.name); });
    fetch(form.dataset.autosave, { method: "POST", body: body, credentials: "same-origin",
                                   headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/login") !== -1) { signedOut(); return null; }
        return response.json().catch(function () { return null; });
      })
      .then(function (answer) {
        if (answer && answer.saved && status) { status.textContent = answer.message; }
      })
      .catch(function () { /* offline: the copy in this browser stays */ });
  }
  function typed() {
    store.setItem(key, JSON.stringify({ at: Date.now(), values: snapshot() }));
    if (form.dataset.autosave) {
      clearTimeout(timer);
      timer = setTimeout(saveOnServer, 1500);
    }
  }
  form.addEventListener("input", typed);
  form.addEventListener("change", typed);
  form.addEventListener("submit", function () {
    clearTimeout(timer);
    store.setItem(key, JSON.stringify({ at: Date.now(), values: snapshot() }));
    session.setItem(SUBMITTED, form.dataset.keep);
  });
})();
