// Follows a running job without reloading the page: new log lines by polling the API's
// jobs/logs/list with afterId, the job's status and its attempt's records and bytes with jobs/get; when the job ends the page
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

  function size(count) {
    var units = ["B", "kB", "MB", "GB"];
    for (var i = 0; i < units.length; i++) {
      if (count < 1000) return i === 0 ? count.toFixed(0) + " B" : count.toFixed(1) + " " + units[i];
      count /= 1000;
    }
    return count.toFixed(1) + " TB";
  }

  // the running attempt's records and bytes so far, as the page renders them
  function showStats(number, attempt) {
    var stats = attempt.totalStats || {};
    var records = attempt.recordsSynced !== undefined ? attempt.recordsSynced : stats.recordsEmitted;
    var bytes = attempt.bytesSynced !== undefined ? attempt.bytesSynced : stats.bytesEmitted;
    var recordsCell = document.querySelector('td.records[data-attempt="' + number + '"]');
    var bytesCell = document.querySelector('td.bytes[data-attempt="' + number + '"]');
    if (recordsCell && records !== undefined) {
      recordsCell.textContent = records + (stats.estimatedRecords ? " / ~" + stats.estimatedRecords : "");
    }
    if (bytesCell && bytes !== undefined) bytesCell.textContent = size(bytes);
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
          var table = document.getElementById("attempts");
          var known = table ? Number(table.dataset.count) : 0;
          if (info.attempts.length !== known) {
            window.location.reload(); // a new attempt: show it whole
            return null;
          }
          if (known) showStats(known, info.attempts[known - 1].attempt);
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
