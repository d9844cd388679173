// Small conveniences on top of pages that work without JavaScript:
// copy buttons for links, and dropping a credential file on the verifier form.
(function () {
  "use strict";
  document.querySelectorAll("button.copy").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        button.textContent = button.textContent.replace(/.*/, "✓ " + button.textContent.replace(/^✓ /, ""));
      });
    });
  });
  var drop = document.querySelector("[data-drop]");
  if (drop) {
    var input = drop.querySelector("input[type=file]");
    var form = drop.closest("form");
    var target = form || drop;
    ["dragenter", "dragover"].forEach(function (name) {
      target.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      target.addEventListener(name, function () { drop.classList.remove("dragging"); });
    });
    target.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        form.requestSubmit();
      }
    });
  }
})();
