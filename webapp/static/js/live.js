// Pages that update themselves: the count of open tasks in the menu, the inbox when a new task
// arrives (its list is fetched again and swapped in, the filter form is left alone), and a
// case page when its next step happened (reloaded, unless a comment is being written).
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.user || !body.dataset.inboxState) { return; }
  var every = Math.max(1, parseFloat(body.dataset.poll || "10")) * 1000;
  var badge = document.querySelector("[data-inbox-count]");
  var inbox = document.getElementById("inbox-live");
  var caseHead = document.querySelector("[data-case-state]");

  function json(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok && !r.redirected ? r.json() : null; })
      .catch(function () { return null; });
  }
  function refreshInbox(state) {
    if (!inbox || state.tasks.join(",") === inbox.dataset.inboxIds) { return; }
    var added = state.tasks.some(function (id) { return inbox.dataset.inboxIds.split(",").indexOf(id) === -1; });
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-live");
      if (!fresh) { return; }
      inbox.innerHTML = fresh.innerHTML;
      inbox.dataset.inboxIds = fresh.dataset.inboxIds;
      var h1meta = document.querySelector(".page-head .meta");
      var freshMeta = new DOMParser().parseFromString(html, "text/html").querySelector(".page-head .meta");
      if (h1meta && freshMeta) { h1meta.textContent = freshMeta.textContent; }
      if (added) {
        var news = inbox.querySelector("[data-inbox-news]");
        if (news) { news.textContent = inbox.dataset.newText; news.hidden = false; }
      }
    }).catch(function () {});
  }
  function tick() {
    if (document.hidden) { return; }
    json(body.dataset.inboxState).then(function (state) {
      if (!state) { return; }
      if (badge) { badge.textContent = state.count; badge.hidden = !state.count; }
      refreshInbox(state);
    });
    if (caseHead) {
      json(caseHead.dataset.caseState).then(function (state) {
        if (!state || String(state.seq) === caseHead.dataset.caseSeq) { return; }
        var comment = document.getElementById("comment-text");
        if (comment && comment.value.trim()) { return; }
        location.reload();
      });
    }
  }
  setInterval(tick, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); } });
})();
