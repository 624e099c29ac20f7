/* pledgewatch dashboards: behaviour shared by every page (no inline scripts; CSP forbids them). */
(function () {
  "use strict";

  /* A form's problems show in its [data-problem] element, in place; elsewhere as a notice. */
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt.closest("form");
    var slot = form && form.querySelector("[data-problem]");
    if (slot) { slot.innerHTML = ""; }
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status < 400) { return; }
    evt.detail.shouldSwap = false;
    evt.detail.isError = false;
    var elt = evt.detail.requestConfig ? evt.detail.requestConfig.elt : evt.detail.elt;
    var form = elt && elt.closest ? (elt.closest("form") || elt) : null;
    var slot = form && form.querySelector ? form.querySelector("[data-problem]") : null;
    if (!slot) { slot = document.getElementById("page-problem"); }
    if (slot) {
      slot.innerHTML = xhr.responseText;
    } else {
      showNotice(xhr.responseText);
    }
  });

  function showNotice(html) {
    var box = document.getElementById("notices");
    if (!box) { return; }
    var div = document.createElement("div");
    div.className = "notice notice-critical";
    div.innerHTML = html;
    box.prepend(div);
    trimNotices();
  }

  function trimNotices() {
    var box = document.getElementById("notices");
    if (!box) { return; }
    while (box.children.length > 4) { box.removeChild(box.lastElementChild); }
  }

  /* The live stream's state, shown next to the user's name. */
  document.addEventListener("htmx:sseOpen", function () { setLive(true); });
  document.addEventListener("htmx:sseError", function () { setLive(false); });
  document.addEventListener("htmx:sseMessage", function (evt) {
    if (evt.detail && evt.detail.type === "alert") { trimNotices(); }
  });
  function setLive(on) {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    status.classList.toggle("on", on);
    document.body.dataset.live = on ? "on" : "off";
    if (!on) { status.querySelector(".live-text").textContent = "reconnecting…"; }
  }

  /* Charts: a <figure data-chart> holding a JSON data block (type="application/json"). */
  var PALETTE = ["#1f4e8c", "#1c7c4d", "#b3261e", "#a36200", "#6b3fa0", "#0f7c8c"];

  function drawCharts(root) {
    if (typeof uPlot === "undefined") { return; }
    root.querySelectorAll("figure[data-chart]:not([data-drawn])").forEach(function (fig) {
      var source = fig.querySelector("script[type='application/json']");
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      fig.setAttribute("data-drawn", "true");
      var holder = document.createElement("div");
      fig.appendChild(holder);
      if (!spec.x || spec.x.length === 0) {
        holder.className = "empty";
        holder.textContent = spec.empty || "No data yet.";
        return;
      }
      var scales = { x: { time: true } };
      var axes = [{ stroke: "#4a5567", grid: { stroke: "#eef1f5" } }];
      (spec.axes || []).forEach(function (axis, i) {
        scales[axis.scale] = axis.range ? { auto: false, range: axis.range } : {};
        axes.push({
          scale: axis.scale,
          label: axis.label,
          side: i === 0 ? 3 : 1,
          stroke: "#4a5567",
          grid: { show: i === 0, stroke: "#eef1f5" },
          size: 70,
          values: axis.percent
            ? function (u, vals) { return vals.map(function (v) { return (v * 100).toFixed(0) + " %"; }); }
            : function (u, vals) { return vals.map(function (v) { return v.toLocaleString("en"); }); }
        });
      });
      var series = [{ label: "Time" }];
      var data = [spec.x];
      spec.series.forEach(function (s, i) {
        var opts = {
          label: s.label,
          scale: s.scale,
          stroke: s.color || PALETTE[i % PALETTE.length],
          width: s.width || 2,
          spanGaps: true,
          points: { show: spec.x.length < 40 }
        };
        if (s.dash) { opts.dash = [6, 4]; opts.width = 1.5; }
        if (s.step) { opts.paths = uPlot.paths.stepped({ align: 1 }); }
        if (s.fill) { opts.fill = s.fill; }
        series.push(opts);
        data.push(s.values);
      });
      var height = parseInt(fig.dataset.height || "280", 10);
      var plot = new uPlot({
        width: Math.max(fig.clientWidth, 280),
        height: height,
        series: series,
        scales: scales,
        axes: axes,
        legend: { live: false },
        cursor: { drag: { x: true, y: false } }
      }, data, holder);
      fig.setAttribute("data-drawn", "done");
      if (window.ResizeObserver) {
        new ResizeObserver(function () {
          plot.setSize({ width: Math.max(fig.clientWidth, 280), height: height });
        }).observe(fig);
      }
    });
  }

  /* Confirmation steps: forms with data-confirm ask before they are sent. */
  document.addEventListener("htmx:confirm", function (evt) {
    var question = evt.detail.elt.getAttribute("data-confirm");
    if (!question) { return; }
    evt.preventDefault();
    if (window.confirm(question)) { evt.detail.issueRequest(true); }
  });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { drawCharts(evt.detail.elt || document); });
})();
