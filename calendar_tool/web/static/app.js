// calendar-tool serve: filter the page by area and actor without reloading, and copy feed
// addresses. The page works without this script; the controls only appear with it.
(function () {
  "use strict";

  function has(el, attr, value) {
    return !value || (" " + (el.getAttribute(attr) || "") + " ").indexOf(" " + value + " ") >= 0;
  }

  function setUp() {
    var form = document.getElementById("filters");
    var area = document.getElementById("filter-area");
    var actor = document.getElementById("filter-actor");
    if (form && area && actor) {
      form.hidden = false;
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      var wanted = new URLSearchParams(location.hash.slice(1));
      [[area, "area"], [actor, "actor"]].forEach(function (pair) {
        var value = wanted.get(pair[1]);
        if (value && pair[0].querySelector('option[value="' + CSS.escape(value) + '"]')) {
          pair[0].value = value;
        }
      });
      var apply = function () {
        var a = area.value, b = actor.value;
        document.querySelectorAll("[data-filter-list]").forEach(function (list) {
          var items = list.querySelectorAll("li[data-areas]"), shown = 0;
          items.forEach(function (li) {
            var keep = has(li, "data-areas", a) && has(li, "data-actors", b);
            li.hidden = !keep;
            if (keep) { shown += 1; }
          });
          var section = list.parentNode;
          var count = section.querySelector("h2 .count");
          if (count) {
            count.textContent = (a || b) ? shown + " of " + items.length : String(items.length);
          }
          var empty = section.querySelector(".empty");
          if (empty) { empty.hidden = shown > 0; }
        });
        document.querySelectorAll(".tl-mark").forEach(function (mark) {
          var keep = has(mark, "data-areas", a) && has(mark, "data-actors", b);
          mark.classList.toggle("dim", !keep);
        });
        var hash = [];
        if (a) { hash.push("area=" + encodeURIComponent(a)); }
        if (b) { hash.push("actor=" + encodeURIComponent(b)); }
        history.replaceState(null, "", hash.length ? "#" + hash.join("&")
                                                   : location.pathname + location.search);
      };
      area.addEventListener("change", apply);
      actor.addEventListener("change", apply);
      apply();
    }

    // On a narrow screen the timeline scrolls: start it at the recent years.
    document.querySelectorAll(".timeline-wrap").forEach(function (wrap) {
      wrap.scrollLeft = wrap.scrollWidth;
    });

    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        input.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () {});
        } else if (document.execCommand("copy")) {
          done();
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
