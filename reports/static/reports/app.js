// Draw every chart of the page from the JSON the server put beside it (plotly.js is served by the app).
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("script[data-chart]").forEach(function (node) {
    var target = document.getElementById(node.dataset.chart);
    if (!target) return;
    var figure = JSON.parse(node.textContent);
    Plotly.newPlot(target, figure.data, figure.layout, {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]
    }).then(function () { target.dataset.drawn = "1"; });
  });
});
