// Progressive enhancement only: every page works without this script.
// 1. The order page follows its order through server-sent events.
// 2. The content picker's add/remove forms update the page (and its total) in place.
// 3. "Open network" disables the passphrase field.
"use strict";
(function () {
  var status = document.querySelector("[data-events]");
  if (status && window.EventSource) {
    var source = new EventSource(status.getAttribute("data-events"));
    source.addEventListener("state", function (message) {
      var order = JSON.parse(message.data);
      var state = document.getElementById("order-state");
      var before = state.getAttribute("data-state");
      state.textContent = order.label;
      state.setAttribute("data-state", order.state);
      var step = document.getElementById("order-step-name");
      if (step && order.progress.step) step.textContent = order.progress.step;
      var bar = document.getElementById("order-progress");
      if (bar && order.progress.fraction != null) bar.value = Math.round(order.progress.fraction * 100);
      // A new state shows other parts (download, reason): the server renders them.
      if (before !== order.state) { source.close(); window.location.reload(); }
    });
    source.onerror = function () { if (source.readyState === 2) source.close(); };
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("swap") || !window.fetch || !window.DOMParser) return;
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        var main = page.getElementById("main");
        if (main) document.getElementById("main").replaceWith(main);
        var total = document.getElementById("total");
        if (total) total.focus && total.setAttribute("tabindex", "-1");
      })
      .catch(function () { form.submit(); });
  });
  var open = document.getElementById("open");
  var passphrase = document.getElementById("passphrase");
  if (open && passphrase) {
    var sync = function () { passphrase.disabled = open.checked; };
    open.addEventListener("change", sync);
    sync();
  }
})();
