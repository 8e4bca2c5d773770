(function () {
  "use strict";
  var form = document.getElementById("filter");
  var table = document.getElementById("users");
  if (form && table && table.tBodies.length) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    var query = form.elements.namedItem("q");
    var status = form.elements.namedItem("status");
    var count = document.getElementById("filter-count");
    var apply = function () {
      var q = query.value.trim().toLowerCase();
      var s = status.value;
      var shown = 0;
      rows.forEach(function (r, i) {
        var ok = (s === "" || r.getAttribute("data-status") === s) &&
          (q === "" || texts[i].indexOf(q) !== -1);
        r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown === rows.length ? "" :
        "Showing " + shown + " of " + rows.length + " rows; a printout shows them all.";
    };
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (params.has("q")) { query.value = params.get("q"); }
    if (params.has("status")) { status.value = params.get("status"); }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.hidden = false;
    apply();
  }
  document.documentElement.setAttribute("data-js", "ready");
})();
