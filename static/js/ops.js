/* MLOps pages: draw the Plotly figures a page carries as JSON, keep the filters in the URL,
   and re-read the page every few seconds, swapping only its [data-refresh] regions in place
   (the URL, and so the filters, stay; so does the scroll position). */
(function () {
  "use strict";

  function drawCharts(root) {
    root.querySelectorAll("[data-figure]").forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source || !window.Plotly) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displayModeBar: false });
    });
  }

  function status(text, failed) {
    var element = document.getElementById("refresh-problem");
    if (!element) return;
    element.textContent = text;
    element.hidden = !text;
    element.classList.toggle("error", Boolean(failed));
  }

  function refresh() {
    if (document.hidden) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "refresh" } })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var regions = document.querySelectorAll("[data-refresh]");
        var swapped = 0;
        regions.forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (!replacement) return;
          region.innerHTML = replacement.innerHTML;
          drawCharts(region);
          swapped += 1;
        });
        if (regions.length && !swapped) throw new Error("the page came back without its figures (signed out?)");
        status("", false);
        document.dispatchEvent(new CustomEvent("ops:refreshed"));
      })
      .catch(function (error) {
        status("Could not refresh: " + error.message + ". The figures shown may be out of date.", true);
      });
  }

  function keepFiltersInUrl(form) {
    var days = form.querySelector("[name=days]");
    var dates = form.querySelectorAll("input[type=date]");
    form.addEventListener("change", function (event) {
      if (event.target === days && days.value) dates.forEach(function (input) { input.value = ""; });
      if (event.target.type === "date") days.value = "";
      if (event.target.type === "date" && Array.prototype.some.call(dates, function (input) { return !input.value; })) return;
      form.requestSubmit();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) { if (value !== "") params.append(name, value); });
      var query = params.toString();
      window.location.assign(window.location.pathname + (query ? "?" + query : ""));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    var box = document.getElementById("filter-box");
    // On a phone the filters fold away under their one-line summary; a tap opens them.
    if (box && window.matchMedia("(max-width: 600px)").matches) box.open = false;
    var form = document.getElementById("filters");
    if (form) keepFiltersInUrl(form);
    var footer = document.getElementById("refresh-status");
    var seconds = footer ? Number(footer.dataset.refreshSeconds) : 0;
    if (seconds > 0) window.setInterval(refresh, seconds * 1000);
  });
})();
