// togglbridge's dashboard: live parts without reloading, and the small conveniences of the forms.
// Every element marked data-live is refreshed from the same page every few seconds (while the tab is visible);
// rows that were not there before are highlighted. No framework, no build step.
(function () {
  "use strict";
  var REFRESH_MS = 2000;
  var state = document.getElementById("live-state");

  function say(text) { if (state) state.textContent = text; }

  function rowKey(row) { return row.getAttribute("data-event") || row.getAttribute("data-key") || row.textContent; }

  function swap(current, fresh) {
    if (current.innerHTML === fresh.innerHTML) return;
    var seen = {};
    current.querySelectorAll("tr").forEach(function (row) { seen[rowKey(row)] = true; });
    var hadRows = current.querySelector("tr:not(.empty)") !== null;
    current.innerHTML = fresh.innerHTML;
    if (!hadRows) return;
    current.querySelectorAll("tr[data-event], tr[data-key]").forEach(function (row) {
      if (!seen[rowKey(row)]) row.classList.add("fresh");
    });
  }

  function refresh() {
    var live = document.querySelectorAll("[data-live][id]");
    if (!live.length || document.hidden) return;
    fetch(window.location.href, { headers: { "X-Requested-With": "togglbridge-live" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || response.status === 401) { say("signed out: reload to sign in"); return null; }
        if (!response.ok) { say("refresh failed (" + response.status + ")"); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        live.forEach(function (element) {
          var fresh = page.getElementById(element.id);
          if (fresh) swap(element, fresh);
        });
        say("live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("offline: retrying"); });
  }

  function signInFromLink() {
    // `make run` prints /ui/login#token=...: the part after '#' never leaves the browser, so the token reaches
    // no server log. Fill it in, forget it from the address bar, and sign in.
    var form = document.getElementById("login-form");
    var match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
    if (!form || !match) return;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    form.querySelector("[name=token]").value = decodeURIComponent(match[1]);
    form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    signInFromLink();
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    if (document.querySelector("[data-live][id]")) {
      say("live");
      window.setInterval(refresh, REFRESH_MS);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    }
  });
})();
