// LSQ portal, reports area: draws each chart from the JSON beside it (no inline script: the CSP
// allows only files). Vendored Apache ECharts, SVG renderer (labels stay text that tests and
// screen magnifiers can read), the Chinese locale on Chinese pages. Every chart has its data
// table next to it in the page, so nothing here is the only way to read a figure.
(function () {
  "use strict";
  var COLOURS = ["#1f5fa8", "#9aa5b1", "#2e7d4f", "#c0392b", "#b7791f"];

  function read(id) {
    var node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
  }

  function axisLabel(spec) {
    return spec.percent ? { formatter: "{value}%" } : {};
  }

  function bars(spec) {
    var horizontal = spec.categories.length > 4;
    var category = { type: "category", data: spec.categories, axisLabel: { interval: 0, width: 150, overflow: "break" } };
    var value = { type: "value", axisLabel: axisLabel(spec) };
    return {
      color: COLOURS, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category, yAxis: horizontal ? Object.assign(category, { inverse: true }) : value,
      series: spec.series.map(function (s) {
        return { type: "bar", name: s.name, data: s.values,
                 label: { show: true, position: horizontal ? "right" : "top", formatter: spec.percent ? "{c}%" : "{c}" } };
      })
    };
  }

  function line(spec) {
    return {
      color: COLOURS, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.categories }, yAxis: { type: "value", axisLabel: axisLabel(spec) },
      series: spec.series.map(function (s) { return { type: "line", name: s.name, data: s.values, connectNulls: false, symbolSize: 6 }; })
    };
  }

  function radar(spec) {
    return {
      color: ["#b7791f", "#1f5fa8", "#2e7d4f"], tooltip: {}, legend: { top: 0 },
      radar: { indicator: spec.categories.map(function (name) { return { name: name, min: 1, max: spec.max || 9 }; }),
               radius: "58%", center: ["50%", "56%"], axisName: { width: 110, overflow: "break", color: "#333" } },
      series: [{ type: "radar", data: spec.series.map(function (s) { return { name: s.name, value: s.values }; }) }]
    };
  }

  // The zone of tolerance as a floating bar from the minimum to the desired mean, with the
  // perceived mean as a marker on it: the same dimensions, in the same order, as the radar.
  function zone(spec) {
    var minimum = spec.series[0].values, desired = spec.series[1].values, perceived = spec.series[2].values;
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0, data: [spec.labels.zone, spec.labels.perceived] },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "value", min: 1, max: spec.max || 9, interval: 1 },
      yAxis: { type: "category", data: spec.categories, inverse: true, axisLabel: { width: 150, overflow: "break" } },
      series: [
        // stacked bars start at 0: an invisible one up to the minimum, the axis starting at 1
        { type: "bar", stack: "zone", data: minimum, itemStyle: { color: "transparent" },
          tooltip: { show: false }, silent: true, name: "" },
        { type: "bar", stack: "zone", name: spec.labels.zone, barWidth: 18, itemStyle: { color: "#9ec5ea" },
          data: desired.map(function (v, i) { return Math.round((v - minimum[i]) * 100) / 100; }) },
        { type: "scatter", name: spec.labels.perceived, symbol: "diamond", symbolSize: 16,
          data: perceived.map(function (v, i) { return [v, spec.categories[i]]; }),
          itemStyle: { color: "#1f2933" }, label: { show: true, position: "right", formatter: function (p) { return p.value[0].toFixed(2); } } }
      ]
    };
  }

  var BUILD = { bars: bars, line: line, radar: radar, zone: zone };

  function draw() {
    if (!window.echarts) { return; }
    var locale = (document.documentElement.lang || "").indexOf("zh") === 0 ? "ZH" : "EN";
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = read(el.getAttribute("data-chart"));
      if (!spec || !BUILD[spec.kind]) { return; }
      if (spec.kind === "bars" && spec.categories.length > 4) { el.classList.add("tall"); }
      var chart = window.echarts.init(el, null, { renderer: "svg", locale: locale });
      var option = BUILD[spec.kind](spec);
      option.animation = false;  // figures, not a show: and the print and the tests see the end state
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
