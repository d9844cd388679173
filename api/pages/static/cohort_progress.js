// The CSV import's progress: poll the progress endpoint, update the bar and the
// status text, and reload the page when the import has ended (its result or its
// refusal is drawn by the server). Without JavaScript the page has a link instead.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("import-bar");
  var status = document.getElementById("import-status");
  var link = document.getElementById("show-progress");
  if (link) { link.parentNode.hidden = true; }
  var shown = "";
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { setTimeout(poll, 2000); return; }
        if (state.state === "issued" || state.state === "failed") {
          window.location.reload();
          return;
        }
        if (state.total) { bar.max = state.total; }
        if (state.state === "reading" && state.done) {
          bar.value = state.done;
        } else if (state.state === "issuing") {
          bar.removeAttribute("value");  // one transaction: no steps to count
        }
        var text = status.getAttribute("data-" + state.state);
        if (text && text !== shown) { status.textContent = text; shown = text; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
