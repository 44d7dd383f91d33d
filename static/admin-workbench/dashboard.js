// Draws the dashboard's charts from the tables beside them (the tables are what screen readers
// and anyone without JavaScript read; the charts are drawn from exactly those figures).
(function () {
  "use strict";

  function figures(tableId) {
    var rows = document.querySelectorAll("#" + tableId + " tbody tr");
    var labels = [];
    var values = [];
    rows.forEach(function (row) {
      var cell = row.querySelector("td[data-value]");
      if (!cell || cell.hasAttribute("data-not-charted")) {
        return;
      }
      labels.push(row.querySelector("th").textContent.trim());
      values.push(Number(cell.getAttribute("data-value")));
    });
    return { labels: labels, values: values };
  }

  function pounds(value) {
    return "£" + Number(value).toLocaleString("en-GB", { maximumFractionDigits: 0 });
  }

  function draw(canvas) {
    var data = figures(canvas.getAttribute("data-source"));
    if (!data.values.length) {
      canvas.hidden = true;
      return;
    }
    var money = canvas.getAttribute("data-money") === "true";
    var type = canvas.getAttribute("data-chart");
    new window.Chart(canvas, {
      type: type,
      data: {
        labels: data.labels,
        datasets: [
          {
            data: data.values,
            backgroundColor: type === "line" ? "rgba(0, 94, 184, 0.15)" : "#005eb8",
            borderColor: "#005eb8",
            fill: type === "line",
            tension: 0.2,
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: money
              ? {
                  label: function (item) {
                    return pounds(item.parsed.y);
                  },
                }
              : {},
          },
        },
        scales: {
          y: {
            beginAtZero: true,
            ticks: money ? { callback: pounds } : { precision: 0 },
          },
        },
      },
    });
    canvas.setAttribute("data-drawn", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
