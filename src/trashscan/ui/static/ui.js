// trashscan ui: selecting tiles (click, shift-click for a range, "select this group").
// Viewing works without this file; it only adds the conveniences of selection. No eval, no
// inline handlers (the Content-Security-Policy allows neither): events are delegated from the
// document, so tiles that htmx adds later are covered too.
(function () {
  "use strict";
  var last = null; // the checkbox clicked last, the anchor of a shift-click range

  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("input.pick"));
  }

  function refresh() {
    var count = picks().filter(function (box) { return box.checked; }).length;
    var label = document.getElementById("selected-count");
    var none = document.getElementById("select-none");
    if (label) { label.hidden = false; label.textContent = count + " selected"; }
    if (none) { none.hidden = count === 0; }
    var restore = document.getElementById("restore-selected");
    if (restore) { restore.disabled = count === 0; } // without JavaScript it stays enabled
    document.querySelectorAll(".tile").forEach(function (tile) {
      var box = tile.querySelector("input.pick");
      tile.classList.toggle("selected", !!(box && box.checked));
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.pick")) {
      if (event.shiftKey && last && last !== target && document.contains(last)) {
        var all = picks();
        var a = all.indexOf(last), b = all.indexOf(target);
        var lo = Math.min(a, b), hi = Math.max(a, b);
        for (var i = lo; i <= hi; i++) { all[i].checked = target.checked; }
      }
      last = target;
      refresh();
    } else if (target.matches && target.matches("button.select-group")) {
      var group = target.getAttribute("data-group");
      var boxes = picks().filter(function (box) { return box.getAttribute("data-group") === group; });
      var every = boxes.every(function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !every; });
      refresh();
    } else if (target.id === "select-none") {
      picks().forEach(function (box) { box.checked = false; });
      refresh();
    }
  });

  // "select this group" selects the tiles loaded so far; when the group holds more (pages load
  // as you scroll), the button says how many it selects, never more than it does.
  function reveal() {
    // A heading whose tiles were all restored (its count came again from the server) is hidden
    // until tiles of its group load again (the next page may hold more of them).
    document.querySelectorAll("h2.group-head").forEach(function (head) {
      var group = head.getAttribute("data-group");
      head.hidden = !document.querySelector("#grid .tile[data-group='" + group + "']");
    });
    document.querySelectorAll("button.select-group").forEach(function (button) {
      var group = button.getAttribute("data-group");
      var head = document.getElementById("group-" + group);
      var total = head ? parseInt(head.getAttribute("data-count") || "", 10) : NaN;
      var loaded = picks().filter(function (box) {
        return box.getAttribute("data-group") === group;
      }).length;
      button.textContent = (isNaN(total) || loaded >= total)
        ? "select this group"
        : "select the " + loaded + " loaded (of " + total + ")";
      button.hidden = false;
    });
    refresh();
  }
  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:afterSettle", reveal);
})();
