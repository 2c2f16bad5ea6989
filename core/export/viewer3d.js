// SketchMotion 3D sketch player: canvas 2D, no dependencies, no network.
// Reads the stroke JSON document (core/export/strokes3d.py) from <script id="sketch-data">
// and the view options from <script id="viewer-options">. Camera conventions follow
// core/camera.py: the orbit is computed z up (azimuth 0 on the -y side) and turned by
// opts.orbit_basis (camera.up_rotation) into the world whose up axis is opts.up; horizontal field of view.
// Drag (mouse or one finger) orbits, the wheel or a pinch zooms, double-click resets.
(function () {
  "use strict";
  var doc = JSON.parse(document.getElementById("sketch-data").textContent);
  var opts = JSON.parse(document.getElementById("viewer-options").textContent);
  var canvas = document.getElementById("view");
  var ctx = canvas.getContext("2d");
  var W = opts.width, H = opts.height, SUB = opts.subdivide, NEAR = 1e-3;
  var ROTATE = 0.5; // degrees per CSS pixel dragged
  var F = doc.num_frames, fps = doc.fps, loop = doc.loop;
  var home = {azimuth: opts.azimuth, elevation: opts.elevation, distance: opts.distance};
  var view = {azimuth: home.azimuth, elevation: home.elevation, distance: home.distance};
  var playing = true, time = 0, last = null, info = {strokes: 0};
  var dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.width = W + "px";
  canvas.style.height = H + "px";

  function rgba(c) {
    return "rgba(" + Math.round(c[0] * 255) + "," + Math.round(c[1] * 255) + "," + Math.round(c[2] * 255) + "," + c[3] + ")";
  }
  var strokes = doc.strokes.map(function (s) {
    return {closed: s.closed, k: s.num_segments, width: s.width, color: rgba(s.color), stroke: s.width > 0 && s.color[3] > 0,
            fill: s.closed && s.fill[3] > 0 ? rgba(s.fill) : null, frames: s.points};
  });

  function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
  function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
  function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
  function unit(a) { var n = Math.sqrt(dot(a, a)) || 1; return [a[0] / n, a[1] / n, a[2] / n]; }
  function lerp(a, b, w) { return [a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w, a[2] + (b[2] - a[2]) * w]; }

  function camera() {
    var az = view.azimuth * Math.PI / 180, el = view.elevation * Math.PI / 180, t = opts.target;
    var e = [view.distance * Math.cos(el) * Math.sin(az), -view.distance * Math.cos(el) * Math.cos(az),
             view.distance * Math.sin(el)];
    var B = opts.orbit_basis || [[1, 0, 0], [0, 1, 0], [0, 0, 1]], up = opts.up || [0, 0, 1];
    var eye = [t[0] + dot(B[0], e), t[1] + dot(B[1], e), t[2] + dot(B[2], e)];
    var z = unit(sub(eye, t));
    var x = cross(up, z);
    if (Math.sqrt(dot(x, x)) < 1e-6) x = cross(Math.abs(up[1]) > 0.9 ? [0, 0, -1] : [0, 1, 0], z);
    x = unit(x);
    var f = 0.5 * W / Math.tan(opts.fov * Math.PI / 360);
    return {eye: eye, x: x, y: cross(z, x), z: z, f: f};
  }
  function project(cam, p) { // -> [u, v, depth]
    var d = sub(p, cam.eye), depth = -dot(d, cam.z), s = cam.f / Math.max(depth, NEAR);
    return [W / 2 + dot(d, cam.x) * s, H / 2 - dot(d, cam.y) * s, depth];
  }
  function blossom(P, u1, u2, u3) { // a control point of the sub-curve, by de Casteljau steps at u1, u2, u3
    var p = P;
    [u1, u2, u3].forEach(function (u) {
      var q = [];
      for (var i = 0; i + 1 < p.length; i++) q.push(lerp(p[i], p[i + 1], u));
      p = q;
    });
    return p[0];
  }
  function pointsAt(frames) { // control points at the current time: frame i at i/fps, linear in between
    var u = time * fps, i0 = Math.floor(u), w = u - i0, i1;
    if (loop) { i0 = ((i0 % F) + F) % F; i1 = (i0 + 1) % F; }
    else if (i0 >= F - 1) { i0 = F - 1; i1 = F - 1; w = 0; }
    else { i1 = i0 + 1; }
    var a = frames[i0], b = frames[i1];
    if (w === 0 || i0 === i1) return a;
    return a.map(function (p, j) { return lerp(p, b[j], w); });
  }

  function draw() {
    var cam = camera(), items = [];
    strokes.forEach(function (s) {
      var pts = pointsAt(s.frames), n = pts.length, depth = 0, visible = true;
      var proj = pts.map(function (p) { var q = project(cam, p); depth += q[2]; if (q[2] <= NEAR) visible = false; return q; });
      if (visible) items.push({s: s, pts: pts, depth: depth / n});
    });
    items.sort(function (a, b) { return b.depth - a.depth; }); // far strokes first
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = opts.background;
    ctx.fillRect(0, 0, W, H);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    items.forEach(function (it) {
      var s = it.s, pts = it.pts, n = pts.length;
      ctx.beginPath();
      for (var j = 0; j < s.k; j++) {
        var P = [pts[3 * j], pts[3 * j + 1], pts[3 * j + 2], pts[(3 * j + 3) % n]];
        for (var i = 0; i < SUB; i++) {
          var a = i / SUB, b = (i + 1) / SUB;
          var c = [blossom(P, a, a, a), blossom(P, a, a, b), blossom(P, a, b, b), blossom(P, b, b, b)].map(
            function (p) { return project(cam, p); });
          if (j === 0 && i === 0) ctx.moveTo(c[0][0], c[0][1]);
          ctx.bezierCurveTo(c[1][0], c[1][1], c[2][0], c[2][1], c[3][0], c[3][1]);
        }
      }
      if (s.closed) ctx.closePath();
      if (s.fill) { ctx.fillStyle = s.fill; ctx.fill(); }
      if (s.stroke) { ctx.lineWidth = s.width; ctx.strokeStyle = s.color; ctx.stroke(); }
    });
    info.strokes = items.length;
    var duration = loop ? F / fps : Math.max(F - 1, 1) / fps;
    slider.value = String(Math.min(time / duration, 1));
    label.textContent = "frame " + (Math.floor(time * fps) % F + 1) + " / " + F;
  }

  // ------------------------------------------------------------------ controls
  var button = document.getElementById("play"), slider = document.getElementById("time");
  var label = document.getElementById("frame");
  function setPlaying(p) { playing = p; last = null; button.textContent = p ? "pause" : "play"; }
  button.addEventListener("click", function () { setPlaying(!playing); });
  slider.addEventListener("input", function () {
    setPlaying(false);
    time = parseFloat(slider.value) * (loop ? F / fps : Math.max(F - 1, 1) / fps);
    draw();
  });
  window.addEventListener("keydown", function (e) { if (e.key === " ") { setPlaying(!playing); e.preventDefault(); } });

  var pointers = new Map(), pinch = null;
  function spread() {
    var p = Array.from(pointers.values());
    return Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1;
  }
  canvas.addEventListener("pointerdown", function (e) {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, {x: e.clientX, y: e.clientY});
    pinch = pointers.size === 2 ? spread() : null;
  });
  canvas.addEventListener("pointermove", function (e) {
    var p = pointers.get(e.pointerId);
    if (!p) return;
    var dx = e.clientX - p.x, dy = e.clientY - p.y;
    p.x = e.clientX; p.y = e.clientY;
    if (pointers.size === 1) {
      view.azimuth -= dx * ROTATE;
      view.elevation = Math.max(-89, Math.min(89, view.elevation + dy * ROTATE));
    } else if (pointers.size === 2 && pinch) {
      var s = spread();
      zoom(pinch / s);
      pinch = s;
    }
    draw();
  });
  function release(e) { pointers.delete(e.pointerId); pinch = pointers.size === 2 ? spread() : null; }
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  function zoom(factor) {
    view.distance = Math.max(home.distance * 0.05, Math.min(home.distance * 20, view.distance * factor));
  }
  canvas.addEventListener("wheel", function (e) { e.preventDefault(); zoom(Math.exp(e.deltaY * 0.001)); draw(); },
                          {passive: false});
  canvas.addEventListener("dblclick", function () {
    view.azimuth = home.azimuth; view.elevation = home.elevation; view.distance = home.distance; draw();
  });

  function tick(ts) {
    if (playing) {
      if (last !== null) time += (ts - last) / 1000;
      last = ts;
      var duration = loop ? F / fps : (F - 1) / fps;
      if (loop) time = time % duration;
      else if (time >= duration) { time = duration; setPlaying(false); }
      draw();
    }
    requestAnimationFrame(tick);
  }

  // a small handle for scripts and tests
  window.sketchViewer = {
    frames: F, fps: fps,
    play: function () { setPlaying(true); },
    pause: function () { setPlaying(false); },
    setTime: function (t) { time = t; draw(); },
    getView: function () { return {azimuth: view.azimuth, elevation: view.elevation, distance: view.distance}; },
    setView: function (v) { Object.assign(view, v); draw(); },
    drawnStrokes: function () { return info.strokes; }
  };
  setPlaying(opts.autoplay);
  draw();
  requestAnimationFrame(tick);
})();
