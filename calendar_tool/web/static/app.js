// calendar-tool serve: small enhancements; the page works without this script (filters are
// a plain form, subscribe links plain links).
(function () {
  "use strict";

  // An address of the earlier page (#area=…&actor=…, filtered in place) becomes the same
  // selection as query parameters, which the server renders.
  function fromOldAddress() {
    // The home page's own path, from its link: "/", or the public URL's path before it.
    var home = document.querySelector("a.home");
    var path = home ? new URL(home.href).pathname : "/";
    if (location.pathname !== path || location.search || location.hash.indexOf("=") < 0) {
      return false;
    }
    var wanted = new URLSearchParams(location.hash.slice(1)), kept = new URLSearchParams();
    ["area", "actor", "kind"].forEach(function (name) {
      wanted.getAll(name).forEach(function (value) { if (value) { kept.append(name, value); } });
    });
    if (!kept.toString()) { return false; }
    location.replace(path + "?" + kept.toString());
    return true;
  }

  // The timeline's plot scrolls under its fixed row labels: open it at today, so that a
  // narrow screen shows what comes rather than the first years.
  function startTimelinesAtToday() {
    document.querySelectorAll(".tl-scroll[data-today-x]").forEach(function (scroller) {
      var x = parseFloat(scroller.getAttribute("data-today-x"));
      if (scroller.scrollWidth > scroller.clientWidth && !isNaN(x)) {
        scroller.scrollLeft = Math.max(0, x - 12);
      }
    });
  }

  function copyButtons() {
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

  function setUp() {
    if (fromOldAddress()) { return; }
    startTimelinesAtToday();
    copyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
