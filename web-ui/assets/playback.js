// fumidai console: the playback page. Served from the binary under a digest name; no
// inline script (the page's CSP allows scripts from the console only, plus
// 'wasm-unsafe-eval' for asciinema-player's terminal, on this page only).
//
// Everything from the recording reaches this script as data: the cast is fetched by the
// player and written to its terminal; command texts are in the page as escaped text and
// are never read back into HTML here.
(function () {
  "use strict";

  // SSH: asciinema-player, the command list (each jumps to its moment), the speed.
  var box = document.getElementById("player");
  if (box && window.AsciinemaPlayer) {
    var player = null;
    var position = document.getElementById("position");
    var make = function (speed, startAt, play) {
      if (player) { player.dispose(); }
      player = window.AsciinemaPlayer.create(box.dataset.cast, box, {
        speed: speed,
        startAt: startAt,
        autoPlay: play,
        preload: true,
        fit: "width",
        terminalFontFamily: "'Noto Sans Mono CJK JP', ui-monospace, monospace"
      });
    };
    var start = parseFloat(box.dataset.start || "0") || 0;
    make(1, start, false);
    var speed = document.getElementById("speed");
    if (speed) {
      speed.addEventListener("change", function () {
        var at = player.getCurrentTime() || 0;
        make(parseFloat(speed.value) || 1, at, true);
      });
    }
    document.querySelectorAll("button[data-seek]").forEach(function (b) {
      b.addEventListener("click", function () {
        var t = parseFloat(b.dataset.seek);
        if (isNaN(t)) { return; }
        Promise.resolve(player.seek(t)).then(function () { player.play(); });
      });
    });
    // The position, in the page (and for the tests): seconds into the recording.
    window.setInterval(function () {
      if (!player || !position) { return; }
      var t = player.getCurrentTime();
      if (typeof t === "number") {
        position.dataset.t = t.toFixed(3);
        position.textContent = t.toFixed(1) + " s";
      }
    }, 200);
  }

  // RDP: a still of the screen at the slider's position; the keys beside it jump too.
  var frame = document.getElementById("frame");
  var slider = document.getElementById("seek");
  if (frame && slider) {
    var base = frame.dataset.base;
    var shown = document.getElementById("frame-at");
    var show = function (t) {
      slider.value = String(t);
      frame.src = base + "&t=" + encodeURIComponent(Number(t).toFixed(3));
      if (shown) { shown.textContent = Number(t).toFixed(1) + " s"; }
    };
    slider.addEventListener("change", function () { show(parseFloat(slider.value) || 0); });
    document.querySelectorAll("button[data-frame]").forEach(function (b) {
      b.addEventListener("click", function () { show(parseFloat(b.dataset.frame) || 0); });
    });
  }
})();
