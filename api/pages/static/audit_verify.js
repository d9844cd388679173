// The verification progress page: asks the server how far the run got and shows it;
// reloads the page for the report when the run is over. Without JavaScript the page
// refreshes itself (a meta refresh inside <noscript>).
(function () {
  "use strict";
  var box = document.getElementById("verify-run");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress");
  var bar = document.getElementById("verify-progress");
  var done = document.getElementById("verify-done");
  var total = document.getElementById("verify-total");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        // Signed out meanwhile (sent on to sign in): let the page itself go there.
        if (response.redirected) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (progress) {
        if (progress === null) { window.setTimeout(poll, 5000); return; }
        bar.value = progress.percent;
        bar.textContent = progress.percent + " %";
        if (done) { done.textContent = progress.done; }
        if (total) { total.textContent = progress.total; }
        if (progress.state !== "running") { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
