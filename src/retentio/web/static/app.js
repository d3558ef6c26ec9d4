// Retentio's page behaviour: charts from data attributes, the phone menu, small form helpers.
// Loaded as a file (the Content-Security-Policy allows no inline script); htmx does the partial updates.
(function () {
  "use strict";

  function formatter(kind, lang, currency) {
    var locale = lang === "de" ? "de-DE" : "en-GB";
    if (kind === "pct") {
      var p = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
      return function (v) { return v == null ? "–" : p.format(v) + (lang === "de" ? " %" : "%"); };
    }
    if (kind === "share") {
      var s = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
      return function (v) { return v == null ? "–" : s.format(v); };
    }
    if (kind === "money") {
      var m = new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR", maximumFractionDigits: 0 });
      return function (v) { return v == null ? "–" : m.format(v); };
    }
    var n = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    return function (v) { return v == null ? "–" : n.format(v); };
  }

  function option(spec) {
    var fmts = (spec.axes || [{ format: "num" }]).map(function (a) { return formatter(a.format, spec.lang, spec.currency); });
    var series = spec.series.map(function (s) {
      var out = {
        name: s.name, type: s.kind || "line", data: s.data, yAxisIndex: s.axis || 0, connectNulls: false,
        showSymbol: (spec.x || []).length < 40, smooth: false,
        tooltip: { valueFormatter: fmts[s.axis || 0] }
      };
      if (s.color) { out.itemStyle = { color: s.color }; out.lineStyle = { color: s.color }; }
      if (s.dashed) { out.lineStyle = Object.assign(out.lineStyle || {}, { type: "dashed" }); }
      return out;
    });
    if (spec.marks && spec.marks.length && series.length) {
      series[0].markArea = {
        silent: true, itemStyle: { color: "rgba(150,150,150,0.12)" },
        data: spec.marks.map(function (i) { return [{ xAxis: spec.x[i] }, { xAxis: spec.x[i] }]; })
      };
    }
    var type = spec.xType || "category";
    return {
      animation: false,
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: type === "category" ? "axis" : "item" },
      xAxis: type === "category" ? { type: "category", data: spec.x } : { type: "value", name: spec.xName || "" },
      yAxis: (spec.axes || [{ format: "num" }]).map(function (a, i) {
        return { type: "value", name: a.name || "", min: a.min, max: a.max,
                 axisLabel: { formatter: fmts[i] }, splitLine: { show: i === 0 } };
      }),
      series: series
    };
  }

  var charts = [];

  function initCharts(root) {
    if (!window.echarts) { return; }
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.ready) { return; }
      var spec;
      try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
      el.dataset.ready = "1";
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec));
      if (spec.links) {
        chart.on("click", function (params) {
          var url = spec.links[params.dataIndex];
          if (url) { window.location.href = url; }
        });
        el.classList.add("clickable");
      }
      charts.push(chart);
    });
  }

  function onReady() {
    initCharts(document);
    var toggle = document.querySelector(".menu-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var open = document.body.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  document.addEventListener("click", function (ev) {
    var remove = ev.target.closest("[data-remove-row]");
    if (remove) {
      ev.preventDefault();
      var row = remove.closest(".cond-row");
      var form = remove.closest("form");
      if (row) { row.remove(); }
      if (form) { form.dispatchEvent(new Event("change", { bubbles: true })); }
      return;
    }
    var all = ev.target.closest("[data-check-all]");
    if (all) {
      var box = all.closest("table");
      if (box) {
        box.querySelectorAll("input[type=checkbox][name=customers]").forEach(function (c) { c.checked = all.checked; });
      }
    }
    // A cohort cell lists its customers below the table (the link itself works without script too).
    var cohortLink = ev.target.closest("table.heat a");
    if (cohortLink && window.htmx) {
      ev.preventDefault();
      var params = new URLSearchParams(cohortLink.getAttribute("href").split("#")[0].replace(/^\?/, ""));
      params.delete("metric");
      window.htmx.ajax("GET", "/cohorts/customers?" + params.toString(), { target: "#cell", swap: "innerHTML" });
      var cell = document.getElementById("cell");
      if (cell) { cell.scrollIntoView({ behavior: "smooth", block: "start" }); }
      return;
    }
    var confirmBtn = ev.target.closest("[data-confirm]");
    if (confirmBtn && !window.confirm(confirmBtn.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", onReady);
  document.addEventListener("htmx:afterSettle", function (ev) { initCharts(ev.target); });
})();
