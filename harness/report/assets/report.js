// Draws the timeline, latency and throughput charts of a report from compact columns.
// Hand-written canvas code: no library, so the report stays one small offline file,
// and canvas (not SVG) so 100,000 ops draw in a few milliseconds.
"use strict";
(function () {
  var T0 = performance.now();
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e));
    document.body.setAttribute("data-js-errors", String(errors.length));
    var box = document.getElementById("js-errors");
    if (box) { box.hidden = false; box.textContent = "Report script error: " + errors.join("; "); }
  });
  var el = document.getElementById("chart-data");
  if (!el) { document.body.setAttribute("data-ready", "no-data"); return; }
  var D = JSON.parse(el.textContent);

  function decode(b64, Kind) {
    var bin = atob(b64), n = bin.length, bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) bytes[i] = bin.charCodeAt(i);
    return new Kind(bytes.buffer);
  }
  var N = D.n;
  var S = decode(D.start, Int32Array), E = decode(D.stop, Int32Array);
  var L = decode(D.lane, Int32Array), TY = decode(D.type, Int8Array);
  var F = decode(D.f, Int32Array), ND = decode(D.node, Int32Array);
  var V = decode(D.val, Int32Array), IX = decode(D.idx, Int32Array);
  var UNIT_S = D.scale / 1e9; // seconds per stored unit
  var END = Math.max(D.end, 1);
  var TYPE_NAMES = ["ok", "fail", "info", "never completed"];
  var TYPE_COLORS = ["#5bb565", "#e0606c", "#e8b730", "#f3d98a"];
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var FAULT_COLORS = { partition: "rgba(214,39,40,0.13)", kill: "rgba(80,80,80,0.16)", pause: "rgba(148,103,189,0.16)",
    clock: "rgba(31,119,180,0.13)", packet: "rgba(44,160,44,0.14)" };
  function faultColor(kind) {
    for (var k in FAULT_COLORS) if (String(kind).indexOf(k) >= 0) return FAULT_COLORS[k];
    return "rgba(255,127,14,0.15)";
  }

  // One view (time window) shared by every time chart, so zooming one zooms all.
  var view = { a: 0, b: END };
  var charts = [];
  function redrawAll() { for (var i = 0; i < charts.length; i++) charts[i].draw(); }

  function setupCanvas(cv, cssH) {
    var dpr = window.devicePixelRatio || 1;
    var w = cv.parentNode.clientWidth || 900;
    cv.style.width = w + "px"; cv.style.height = cssH + "px";
    cv.width = Math.round(w * dpr); cv.height = Math.round(cssH * dpr);
    var ctx = cv.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx: ctx, w: w, h: cssH };
  }

  function niceStep(span, target) {
    var raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }
  function fmtSec(s, step) {
    var dec = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return s.toFixed(dec) + " s";
  }
  // Draws the time axis and fault shading for a plot area [x0,x1] x [y0,y1].
  function timeFrame(ctx, x0, x1, y0, y1, showLabels) {
    var span = (view.b - view.a) * UNIT_S, step = niceStep(span, Math.max(2, (x1 - x0) / 110));
    var first = Math.ceil(view.a * UNIT_S / step) * step;
    ctx.strokeStyle = "#e6e6e6"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (var s = first; s <= view.b * UNIT_S + 1e-12; s += step) {
      var x = x0 + (s / UNIT_S - view.a) / (view.b - view.a) * (x1 - x0);
      ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, y0); ctx.lineTo(Math.round(x) + 0.5, y1); ctx.stroke();
      ctx.fillText(fmtSec(s, step), x, y1 + 3);
    }
    for (var i = 0; i < D.faults.length; i++) {
      var f = D.faults[i];
      var fa = x0 + (f.s - view.a) / (view.b - view.a) * (x1 - x0);
      var fb = x0 + (f.e - view.a) / (view.b - view.a) * (x1 - x0);
      if (fb < x0 || fa > x1) continue;
      fa = Math.max(fa, x0); fb = Math.min(fb, x1);
      ctx.fillStyle = faultColor(f.kind); ctx.fillRect(fa, y0, Math.max(2, fb - fa), y1 - y0);
      if (showLabels) faultLabel(ctx, f, fa, y0);
    }
    ctx.textAlign = "left";
  }
  // A fault's kind on a white tag, drawn last so the bars never hide it.
  function faultLabel(ctx, f, x, y) {
    var label = f.kind + (f.healed ? "" : " (not healed)") + (f.nodes ? ": " + f.nodes : "");
    if (label.length > 60) label = label.slice(0, 59) + "\u2026";
    ctx.font = "bold 11px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
    var w = ctx.measureText(label).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(x + 1, y + 1, w + 6, 14);
    ctx.fillStyle = "#8a1c1c"; ctx.fillText(label, x + 4, y + 2);
    ctx.font = "11px sans-serif";
  }
  function faultLabels(ctx, x0, x1, y0) {
    for (var i = 0; i < D.faults.length; i++) {
      var f = D.faults[i], fa = x0 + (f.s - view.a) / (view.b - view.a) * (x1 - x0);
      var fb = x0 + (f.e - view.a) / (view.b - view.a) * (x1 - x0);
      if (fb < x0 || fa > x1) continue;
      faultLabel(ctx, f, Math.max(fa, x0), y0);
    }
  }

  // Zoom with the wheel, pan by dragging; shared by all time charts.
  function interactive(cv, x0fn, x1fn, onHover, onClick) {
    var drag = null;
    cv.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = cv.getBoundingClientRect(), x0 = x0fn(), x1 = x1fn();
      var frac = Math.min(1, Math.max(0, (ev.clientX - r.left - x0) / (x1 - x0)));
      var t = view.a + frac * (view.b - view.a);
      var k = ev.deltaY > 0 ? 1.25 : 0.8, span = Math.max(2, (view.b - view.a) * k);
      span = Math.min(span, END * 1.02);
      view.a = Math.max(-END * 0.01, t - frac * span); view.b = view.a + span;
      redrawAll();
    }, { passive: false });
    cv.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, a: view.a, b: view.b, moved: false }; });
    window.addEventListener("mouseup", function () { setTimeout(function () { drag = null; }, 0); });
    cv.addEventListener("mousemove", function (ev) {
      var r = cv.getBoundingClientRect();
      if (drag && ev.buttons) {
        var dx = ev.clientX - drag.x;
        if (Math.abs(dx) > 2) drag.moved = true;
        var dt = dx / (x1fn() - x0fn()) * (drag.b - drag.a);
        view.a = drag.a - dt; view.b = drag.b - dt; redrawAll(); return;
      }
      if (onHover) onHover(ev.clientX - r.left, ev.clientY - r.top, ev);
    });
    cv.addEventListener("mouseleave", function () { hideTip(); });
    cv.addEventListener("click", function (ev) {
      if (drag && drag.moved) return;
      var r = cv.getBoundingClientRect();
      if (onClick) onClick(ev.clientX - r.left, ev.clientY - r.top);
    });
  }

  var tip = document.getElementById("tooltip");
  function showTip(html, ev) {
    tip.innerHTML = html; tip.hidden = false;
    tip.style.left = Math.min(ev.pageX + 14, document.documentElement.scrollWidth - 380) + "px";
    tip.style.top = (ev.pageY + 14) + "px";
  }
  function hideTip() { if (tip) tip.hidden = true; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function fmtDur(units) {
    var s = units * UNIT_S;
    return s >= 1 ? s.toFixed(3) + " s" : s >= 1e-3 ? (s * 1e3).toFixed(2) + " ms" : (s * 1e6).toFixed(0) + " \u00b5s";
  }
  function opHtml(i) {
    var done = TY[i] !== 3;
    var h = "<b>" + esc(D.fs[F[i]]) + "</b> by process " + esc(D.lanes[L[i]]) +
      " \u2014 <span style='color:" + TYPE_COLORS[TY[i]] + "'>\u25a0</span> " + TYPE_NAMES[TY[i]] +
      "<br>value: <code>" + esc(D.vals[V[i]] || (D.valuesShortenedTo ? "null" : "(values omitted for size)")) + "</code>" +
      "<br>invoked at " + fmtSec(S[i] * UNIT_S, 1e-6) + (done ? ", took " + fmtDur(E[i] - S[i]) : ", no completion recorded") +
      (ND[i] >= 0 ? "<br>node: " + esc(D.nodes[ND[i]]) : "") +
      "<br>history event index " + IX[i];
    return h;
  }

  // ---------- timeline ----------
  var laneOps = [];
  (function () {
    var counts = new Int32Array(D.lanes.length);
    for (var i = 0; i < N; i++) counts[L[i]]++;
    for (var l = 0; l < D.lanes.length; l++) laneOps.push(new Int32Array(counts[l]));
    var fill = new Int32Array(D.lanes.length);
    for (var j = 0; j < N; j++) laneOps[L[j]][fill[L[j]]++] = j;
  })();
  function timelineChart() {
    var cv = document.getElementById("timeline");
    if (!cv) return null;
    var lanes = D.lanes.length, laneH = Math.max(2, Math.min(18, Math.floor(520 / Math.max(1, lanes))));
    var LEFT = 70, TOP = 4, selected = -1;
    var c = { draw: null, cv: cv };
    function x0() { return LEFT; } function x1() { return (cv.clientWidth || 900) - 10; }
    c.draw = function () {
      var g = setupCanvas(cv, TOP + lanes * laneH + 22), ctx = g.ctx, X1 = g.w - 10, y1 = TOP + lanes * laneH;
      ctx.clearRect(0, 0, g.w, g.h);
      timeFrame(ctx, LEFT, X1, TOP, y1, false);
      ctx.fillStyle = "#333"; ctx.font = Math.min(11, laneH) + "px sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = "right";
      var every = Math.ceil(11 / laneH);
      for (var l = 0; l < lanes; l += every) ctx.fillText(D.lanes[l], LEFT - 6, TOP + l * laneH + laneH / 2);
      ctx.textAlign = "left";
      var k = (X1 - LEFT) / (view.b - view.a), drawn = 0, pad = laneH > 4 ? 1 : 0;
      for (var t = 0; t < 4; t++) {
        ctx.fillStyle = TYPE_COLORS[t];
        for (var i = 0; i < N; i++) {
          if (TY[i] !== t || E[i] < view.a || S[i] > view.b) continue;
          var xa = LEFT + (S[i] - view.a) * k, xb = LEFT + (E[i] - view.a) * k;
          if (xa < LEFT) xa = LEFT; if (xb > X1) xb = X1;
          ctx.fillRect(xa, TOP + L[i] * laneH + pad, Math.max(1, xb - xa), laneH - 2 * pad);
          drawn++;
        }
      }
      faultLabels(ctx, LEFT, X1, TOP);
      if (selected >= 0) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
        var sa = LEFT + (S[selected] - view.a) * k, sb = LEFT + (E[selected] - view.a) * k;
        ctx.strokeRect(sa - 1, TOP + L[selected] * laneH, Math.max(3, sb - sa + 2), laneH);
      }
      cv.setAttribute("data-drawn", String(drawn));
    };
    function find(x, y) {
      var l = Math.floor((y - TOP) / laneH);
      if (l < 0 || l >= lanes || x < LEFT) return -1;
      var k = (x1() - LEFT) / (view.b - view.a), t = view.a + (x - LEFT) / k, tol = 3 / k;
      var arr = laneOps[l], lo = 0, hi = arr.length - 1, best = -1;
      while (lo <= hi) { var m = (lo + hi) >> 1; if (S[arr[m]] <= t + tol) { best = m; lo = m + 1; } else hi = m - 1; }
      if (best < 0) return -1;
      var i = arr[best];
      return E[i] + tol >= t ? i : -1;
    }
    interactive(cv, x0, x1, function (x, y, ev) {
      var i = find(x, y);
      if (i >= 0) showTip(opHtml(i), ev); else hideTip();
      cv.style.cursor = i >= 0 ? "pointer" : "grab";
    }, function (x, y) {
      var i = find(x, y), box = document.getElementById("op-detail");
      selected = i;
      if (box) box.innerHTML = i >= 0 ? opHtml(i) : "Click an operation to see it here.";
      c.draw();
    });
    return c;
  }

  // ---------- latency / throughput ----------
  var filt = { node: -1, f: -1 };
  function passes(i) { return (filt.node < 0 || ND[i] === filt.node) && (filt.f < 0 || F[i] === filt.f); }
  function yAxis(ctx, x0, y0, y1, ticks, label) {
    ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.strokeStyle = "#eee";
    for (var i = 0; i < ticks.length; i++) {
      ctx.fillText(ticks[i][1], x0 - 5, ticks[i][0]);
      ctx.beginPath(); ctx.moveTo(x0, Math.round(ticks[i][0]) + 0.5); ctx.lineTo(x0 + 4000, Math.round(ticks[i][0]) + 0.5); ctx.stroke();
    }
    ctx.save(); ctx.translate(12, (y0 + y1) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
    ctx.fillText(label, 0, 0); ctx.restore(); ctx.textAlign = "left";
  }
  function msLabel(ms) { return ms >= 1000 ? (ms / 1000) + " s" : ms >= 1 ? ms + " ms" : (ms * 1000) + " \u00b5s"; }

  function latencyChart() {
    var cv = document.getElementById("latency");
    if (!cv) return null;
    var LEFT = 70, TOP = 8, H = 300, c = { cv: cv };
    var lo = Infinity, hi = 0;
    for (var i = 0; i < N; i++) if (TY[i] !== 3) { var d = (E[i] - S[i]) * UNIT_S * 1e3; if (d > 0) { if (d < lo) lo = d; if (d > hi) hi = d; } }
    if (!isFinite(lo)) { lo = 0.1; hi = 1000; }
    var la = Math.floor(Math.log10(lo)), lb = Math.ceil(Math.log10(hi)); if (lb <= la) lb = la + 1;
    c.draw = function () {
      var g = setupCanvas(cv, H), ctx = g.ctx, X1 = g.w - 10, Y1 = H - 22;
      ctx.clearRect(0, 0, g.w, g.h);
      var ticks = [];
      for (var p = la; p <= lb; p++) ticks.push([Y1 - (p - la) / (lb - la) * (Y1 - TOP), msLabel(+Math.pow(10, p).toPrecision(1))]);
      yAxis(ctx, LEFT, TOP, Y1, ticks, "latency (log)");
      timeFrame(ctx, LEFT, X1, TOP, Y1, false);
      var k = (X1 - LEFT) / (view.b - view.a), drawn = 0;
      for (var i = 0; i < N; i++) {
        if (TY[i] === 3 || !passes(i) || S[i] < view.a || S[i] > view.b) continue;
        var d = Math.max((E[i] - S[i]) * UNIT_S * 1e3, Math.pow(10, la));
        var x = LEFT + (S[i] - view.a) * k, y = Y1 - (Math.log10(d) - la) / (lb - la) * (Y1 - TOP);
        var col = PALETTE[F[i] % PALETTE.length];
        if (TY[i] === 0) { ctx.fillStyle = col; ctx.fillRect(x - 1, y - 1, 2.5, 2.5); }
        else if (TY[i] === 1) { ctx.strokeStyle = col; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(x - 2.5, y - 2.5); ctx.lineTo(x + 2.5, y + 2.5); ctx.moveTo(x + 2.5, y - 2.5); ctx.lineTo(x - 2.5, y + 2.5); ctx.stroke(); }
        else { ctx.strokeStyle = col; ctx.lineWidth = 1; ctx.strokeRect(x - 2.5, y - 2.5, 5, 5); }
        drawn++;
      }
      cv.setAttribute("data-drawn", String(drawn));
    };
    interactive(cv, function () { return LEFT; }, function () { return (cv.clientWidth || 900) - 10; }, null, null);
    return c;
  }

  // Windows over the whole run; quantiles and rates computed on the filtered ops.
  var W = Math.max(10, Math.min(200, Math.round(N / 50) || 10));
  function windows() {
    var wlen = END / W, buckets = [], thr = [new Float64Array(W), new Float64Array(W), new Float64Array(W)];
    for (var w = 0; w < W; w++) buckets.push([]);
    for (var i = 0; i < N; i++) {
      if (TY[i] === 3 || !passes(i)) continue;
      var w2 = Math.min(W - 1, Math.floor(E[i] / wlen));
      thr[TY[i]][w2] += 1;
      if (TY[i] === 0) buckets[w2].push((E[i] - S[i]) * UNIT_S * 1e3);
    }
    var qs = [0.5, 0.95, 0.99, 1], q = qs.map(function () { return new Float64Array(W).fill(NaN); });
    for (var b = 0; b < W; b++) {
      var arr = buckets[b]; if (!arr.length) continue;
      arr.sort(function (x, y) { return x - y; });
      for (var j = 0; j < qs.length; j++) q[j][b] = arr[Math.min(arr.length - 1, Math.floor(qs[j] * arr.length))];
    }
    var secs = wlen * UNIT_S;
    for (var t = 0; t < 3; t++) for (var b2 = 0; b2 < W; b2++) thr[t][b2] /= secs;
    return { wlen: wlen, q: q, thr: thr };
  }
  var WIN = null;
  function lineChart(id, H, series, colors, names, logY, yLabel) {
    var cv = document.getElementById(id);
    if (!cv) return null;
    var LEFT = 70, TOP = 8, c = { cv: cv };
    c.draw = function () {
      var g = setupCanvas(cv, H), ctx = g.ctx, X1 = g.w - 10, Y1 = H - 22, S2 = series();
      ctx.clearRect(0, 0, g.w, g.h);
      var lo = Infinity, hi = 0;
      for (var s = 0; s < S2.length; s++) for (var b = 0; b < W; b++) { var v = S2[s][b]; if (v > 0) { if (v < lo) lo = v; if (v > hi) hi = v; } }
      if (!isFinite(lo)) { lo = 1; hi = 10; }
      var yOf, ticks = [];
      if (logY) {
        var la = Math.floor(Math.log10(lo)), lb = Math.max(la + 1, Math.ceil(Math.log10(hi)));
        yOf = function (v) { return Y1 - (Math.log10(v) - la) / (lb - la) * (Y1 - TOP); };
        for (var p = la; p <= lb; p++) ticks.push([yOf(Math.pow(10, p)), msLabel(+Math.pow(10, p).toPrecision(1))]);
      } else {
        var top = hi * 1.1, st = niceStep(top, 4);
        yOf = function (v) { return Y1 - v / top * (Y1 - TOP); };
        for (var tv = 0; tv <= top; tv += st) ticks.push([yOf(tv), String(+tv.toPrecision(3))]);
      }
      yAxis(ctx, LEFT, TOP, Y1, ticks, yLabel);
      timeFrame(ctx, LEFT, X1, TOP, Y1, false);
      var k = (X1 - LEFT) / (view.b - view.a), drawn = 0;
      ctx.save(); ctx.beginPath(); ctx.rect(LEFT, TOP - 2, X1 - LEFT, Y1 - TOP + 4); ctx.clip();
      for (var s3 = 0; s3 < S2.length; s3++) {
        ctx.strokeStyle = colors[s3]; ctx.lineWidth = 1.6; ctx.beginPath(); var pen = false;
        for (var b3 = 0; b3 < W; b3++) {
          var v3 = S2[s3][b3];
          if (!(v3 > 0) && logY) { pen = false; continue; }
          if (isNaN(v3)) { pen = false; continue; }
          var x = LEFT + ((b3 + 0.5) * WIN.wlen - view.a) * k, y = yOf(logY ? v3 : v3 || 0);
          if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
          pen = true; drawn++;
        }
        ctx.stroke();
      }
      ctx.restore();
      cv.setAttribute("data-drawn", String(drawn));
    };
    interactive(cv, function () { return LEFT; }, function () { return (cv.clientWidth || 900) - 10; }, null, null);
    return c;
  }

  function legend(id, items) {
    var box = document.getElementById(id);
    if (!box) return;
    box.innerHTML = items.map(function (it) {
      return "<span class='key'><span class='sw' style='background:" + it[1] + "'></span>" + esc(it[0]) + "</span>";
    }).join(" ");
  }

  function init() {
    WIN = windows();
    var tl = timelineChart(), lat = latencyChart();
    var qc = lineChart("quantiles", 220, function () { return WIN.q; }, ["#2ca02c", "#ff7f0e", "#d62728", "#555"],
      ["p50", "p95", "p99", "max"], true, "latency of ok ops");
    var th = lineChart("throughput", 200, function () { return WIN.thr; }, [TYPE_COLORS[0], TYPE_COLORS[1], "#c99400"],
      ["ok", "fail", "info"], false, "ops / s");
    [tl, lat, qc, th].forEach(function (c) { if (c) charts.push(c); });
    legend("timeline-legend", TYPE_NAMES.map(function (n, i) { return [n, TYPE_COLORS[i]]; })
      .concat(D.faults.length ? [["fault interval (shaded)", "rgba(214,39,40,0.3)"]] : []));
    legend("latency-legend", D.fs.map(function (f, i) { return [f, PALETTE[i % PALETTE.length]]; })
      .concat([["\u25aa ok  \u00d7 fail  \u25a1 info", "transparent"]]));
    legend("quantiles-legend", [["p50", "#2ca02c"], ["p95", "#ff7f0e"], ["p99", "#d62728"], ["max", "#555"]]);
    legend("throughput-legend", [["ok", TYPE_COLORS[0]], ["fail", TYPE_COLORS[1]], ["info", "#c99400"]]);
    var ns = document.getElementById("node-filter"), fsel = document.getElementById("f-filter");
    if (ns) {
      D.nodes.forEach(function (n, i) { var o = document.createElement("option"); o.value = i; o.textContent = n; ns.appendChild(o); });
      ns.addEventListener("change", function () { filt.node = +ns.value; WIN = windows(); redrawAll(); });
    }
    if (fsel) {
      D.fs.forEach(function (n, i) { var o = document.createElement("option"); o.value = i; o.textContent = n; fsel.appendChild(o); });
      fsel.addEventListener("change", function () { filt.f = +fsel.value; WIN = windows(); redrawAll(); });
    }
    var reset = document.querySelectorAll(".reset-zoom");
    for (var r = 0; r < reset.length; r++) reset[r].addEventListener("click", function () { view.a = 0; view.b = END; redrawAll(); });
    redrawAll();
    var resizeT = null;
    window.addEventListener("resize", function () { clearTimeout(resizeT); resizeT = setTimeout(redrawAll, 100); });
    document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - T0)));
    document.body.setAttribute("data-ready", "yes");
  }
  if (N === 0) {
    var sec = document.getElementById("charts-body");
    if (sec) sec.innerHTML = "<p class='muted'>The history has no client operations, so there is nothing to draw.</p>";
    document.body.setAttribute("data-ready", "yes");
    return;
  }
  init();
})();
