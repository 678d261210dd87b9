// Follows a running job without reloading the page: new log lines by polling the API's
// jobs/logs/list with afterId, and the job's status with jobs/get; when the job ends the page
// reloads once to show its final attempts and stats. (With JavaScript off, a meta refresh in a
// <noscript> reloads the page instead.) Same origin, so the browser sends the page's Basic credentials.
(function () {
  "use strict";
  var logs = document.getElementById("logs");
  if (!logs || logs.dataset.live !== "true") return;
  var jobId = Number(logs.dataset.jobId);
  var afterId = logs.dataset.afterId === "" ? null : Number(logs.dataset.afterId);
  var statusCell = document.getElementById("job-status");
  var FINAL = ["succeeded", "failed", "cancelled"];

  function post(path, body) {
    return fetch("/api/v1/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error(path + ": " + response.status);
      return response.json();
    });
  }

  function when(epoch) {
    return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function append(lines) {
    var atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    lines.forEach(function (line) {
      var span = document.createElement("span");
      span.className = "log log-" + line.level.toLowerCase();
      span.textContent = when(line.timestamp) + " " + line.level + " [" + line.attemptNumber + "] " + line.message;
      logs.appendChild(span);
      logs.appendChild(document.createTextNode("\n"));
    });
    if (lines.length) {
      var none = document.getElementById("no-logs");
      if (none) none.remove();
    }
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  }

  function tick() {
    var body = { jobId: jobId, pageSize: 1000 };
    if (afterId !== null) body.afterId = afterId;
    post("jobs/logs/list", body)
      .then(function (page) {
        append(page.logs);
        if (page.nextAfterId !== undefined && page.nextAfterId !== null) afterId = page.nextAfterId;
        if (page.logs.length === 1000) return true; // more are waiting: fetch them now
        return post("jobs/get", { id: jobId }).then(function (info) {
          var status = info.job.status;
          if (statusCell && statusCell.dataset.status !== status) {
            statusCell.dataset.status = status;
            statusCell.innerHTML = "";
            var badge = document.createElement("span");
            badge.className = "status status-" + status;
            badge.textContent = status;
            statusCell.appendChild(badge);
          }
          if (FINAL.indexOf(status) >= 0) {
            window.location.reload();
            return null;
          }
          return false;
        });
      })
      .then(function (again) {
        if (again === null) return;
        setTimeout(tick, again ? 0 : 1000);
      })
      .catch(function () {
        setTimeout(tick, 3000);
      });
  }
  setTimeout(tick, 1000);
})();
