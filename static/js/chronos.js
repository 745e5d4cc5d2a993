// The calendar page's own behaviour, for what htmx attributes cannot say:
// reporting the browser's time zone once, running a sync stream with
// progress, Stop and retries, polling when the live stream is down, and
// opening event details in a dialog.
(function () {
  "use strict";

  // Waits before the first, second and third retry of a failed sync.
  var RETRY_WAITS_MS = [2000, 5000, 10000];
  var POLL_INTERVAL_MS = 60000;
  var HIDE_DONE_AFTER_MS = 4000;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The view is reloaded shortly after a change, once per burst. A change
  // announced while a reload is under way reloads it once more afterwards:
  // the reload replaces the view element, so nothing that waits for the
  // next reload may live on that element.
  var VIEW_REFRESH_DELAY_MS = 150;
  var viewRefresh = { timer: null, loading: false, again: false };

  function refreshView() {
    htmx.trigger(document.body, "chronos-refresh");
  }

  function scheduleViewRefresh() {
    clearTimeout(viewRefresh.timer);
    viewRefresh.timer = setTimeout(reloadView, VIEW_REFRESH_DELAY_MS);
  }

  function reloadView() {
    var view = document.getElementById("view");
    if (!view) {
      return;
    }
    if (viewRefresh.loading) {
      viewRefresh.again = true;
      return;
    }
    viewRefresh.loading = true;
    var url = view.dataset.refreshUrl;
    // Sourced from the view, the reload shares the navigation links' sync
    // on it: a click on Week, Month or Agenda cancels it, and it never
    // lands after a navigation and puts the previous view back.
    htmx
      .ajax("GET", url, { source: view, target: view, swap: "outerHTML" })
      .catch(function () {})
      .finally(function () {
        viewRefresh.loading = false;
        var current = document.getElementById("view");
        // Navigated meanwhile: the new view may predate the change.
        var navigated = current && current.dataset.refreshUrl !== url;
        if (viewRefresh.again || navigated) {
          viewRefresh.again = false;
          reloadView();
        }
      });
  }

  function refreshSidebar() {
    htmx.trigger(document.body, "chronos-sidebar");
  }

  // The time zone, posted once: the server has none for this person yet.
  function reportTimeZone() {
    var url = document.body.dataset.reportTimeZone;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!url || !zone) {
      return;
    }
    var body = new URLSearchParams({ time_zone: zone, reported: "1" });
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      if (response.ok) {
        delete document.body.dataset.reportTimeZone;
        refreshView();
      }
    });
  }

  // Server-Sent Events read from a fetch() body. EventSource hides the
  // status and headers of a refused request, and the polite answer to a
  // rate limit needs Retry-After.
  async function readEvents(response, onMessage) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) {
        return;
      }
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      var end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        var message = parseMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (message) {
          onMessage(message.name, message.data);
        }
      }
    }
  }

  function parseMessage(block) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (!line || line[0] === ":") {
        return;
      }
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") {
        name = value;
      } else if (field === "data") {
        data.push(value);
      }
    });
    return data.length ? { name: name, data: JSON.parse(data.join("\n")) } : null;
  }

  function SyncPanel(panel) {
    this.panel = panel;
    this.url = panel.dataset.syncUrl;
    this.message = panel.querySelector("[data-sync-message]");
    this.progress = panel.querySelector("[data-sync-progress]");
    this.stopButton = panel.querySelector("[data-sync-stop]");
    this.retryButton = panel.querySelector("[data-sync-retry]");
    this.dismissButton = panel.querySelector("[data-sync-dismiss]");
    this.controller = null;
    this.timer = null;
    this.ids = [];
    this.stopButton.addEventListener("click", this.stop.bind(this));
    this.retryButton.addEventListener("click", this.start.bind(this, null));
    this.dismissButton.addEventListener("click", this.hide.bind(this));
  }

  SyncPanel.prototype.start = function (ids) {
    if (ids) {
      this.ids = ids;
    }
    if (!this.ids.length || this.controller) {
      return;
    }
    this.run(0);
  };

  SyncPanel.prototype.run = async function (attempt) {
    var controller = new AbortController();
    this.controller = controller;
    this.done = 0;
    this.failed = {};
    this.events = 0;
    this.show("Starting the sync…", true);
    this.report();
    var outcome;
    try {
      outcome = await this.stream(controller.signal);
    } catch (error) {
      outcome = controller.signal.aborted ? { stopped: true } : { retry: true };
    }
    if (this.controller !== controller) {
      return;
    }
    this.controller = null;
    this.finish(outcome, attempt);
  };

  SyncPanel.prototype.stream = async function (signal) {
    var response = await fetch(this.url + "?calendar_ids=" + this.ids.join(","), {
      credentials: "same-origin",
      headers: { Accept: "text/event-stream" },
      signal: signal,
    });
    if (response.status === 429) {
      var wait = parseInt(response.headers.get("Retry-After"), 10) || 5;
      return { wait: wait };
    }
    if (!response.ok) {
      var detail = await response.json().then(
        function (body) { return body.detail; },
        function () { return ""; }
      );
      return response.status >= 500 ? { retry: true } : { error: detail };
    }
    var outcome = { retry: true };
    var self = this;
    await readEvents(response, function (name, data) {
      if (name === "events") {
        self.events += data.events.length;
        refreshView();
      } else if (name === "sync_token") {
        self.done += 1;
      } else if (name === "sync_error" && data.calendar_id !== null) {
        self.done += 1;
        self.failed[data.calendar_id] = data.message;
      } else if (name === "sync_error") {
        outcome = data.retryable ? { retry: true } : { error: data.message };
      } else if (name === "complete") {
        outcome = { complete: true };
      }
      self.report();
    });
    return outcome;
  };

  SyncPanel.prototype.report = function () {
    var total = this.ids.length;
    this.progress.max = total;
    this.progress.value = this.done;
    this.message.textContent =
      "Syncing: " + this.done + " of " + total + " calendars done, " +
      this.events + " events loaded.";
  };

  SyncPanel.prototype.finish = function (outcome, attempt) {
    refreshView();
    refreshSidebar();
    if (outcome.complete) {
      return this.completed();
    }
    if (outcome.stopped) {
      return this.show("Sync stopped after " + this.events + " events.", false, true);
    }
    if (outcome.wait) {
      return this.waitThenRun(outcome.wait, attempt);
    }
    if (outcome.retry && attempt < RETRY_WAITS_MS.length) {
      var seconds = RETRY_WAITS_MS[attempt] / 1000;
      this.show(
        "The sync was interrupted. Trying again in " + seconds + " s " +
        "(attempt " + (attempt + 1) + " of " + RETRY_WAITS_MS.length + ").",
        true
      );
      this.timer = setTimeout(this.run.bind(this, attempt + 1), seconds * 1000);
      return;
    }
    this.show(
      outcome.error || "The sync failed after several attempts. Check your " +
      "connection, then try again.",
      false,
      true,
      true
    );
  };

  SyncPanel.prototype.completed = function () {
    var failures = Object.keys(this.failed).length;
    var text = "Sync complete: " + this.events + " events loaded.";
    if (failures) {
      text += " " + failures + " calendar(s) failed; see the list of calendars.";
    }
    this.show(text, false, failures > 0);
    if (!failures) {
      this.timer = setTimeout(this.hide.bind(this), HIDE_DONE_AFTER_MS);
    }
  };

  // Rate limited: say how long, count down, then go on by itself.
  SyncPanel.prototype.waitThenRun = function (seconds, attempt) {
    var self = this;
    var left = seconds;
    var tick = function () {
      if (left <= 0) {
        self.run(attempt);
        return;
      }
      self.show("A sync ran moments ago. Please wait " + left + " s.", true);
      left -= 1;
      self.timer = setTimeout(tick, 1000);
    };
    tick();
  };

  SyncPanel.prototype.stop = function () {
    clearTimeout(this.timer);
    if (this.controller) {
      this.controller.abort();
      return;
    }
    this.show("Sync stopped.", false, true);
  };

  SyncPanel.prototype.show = function (text, running, dismissable, retry) {
    clearTimeout(this.timer);
    this.panel.hidden = false;
    this.panel.classList.toggle("failed", Boolean(retry));
    this.message.textContent = text;
    this.progress.hidden = !running;
    this.stopButton.hidden = !running;
    this.retryButton.hidden = !retry;
    this.dismissButton.hidden = !dismissable;
  };

  SyncPanel.prototype.hide = function () {
    clearTimeout(this.timer);
    this.panel.hidden = true;
  };

  function idsOf(text) {
    return (text || "").split(",").filter(Boolean);
  }

  // When the live stream is down, ask for the sync status every minute
  // and refresh the view once Google's data moved on.
  function watchLiveStream(app) {
    var poller = null;
    var lastSync = Date.parse(app.dataset.lastSyncAt) || 0;
    var poll = function () {
      fetch(app.dataset.statusUrl, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          var moment = status && Date.parse(status.lastSyncAt);
          if (moment && moment > lastSync) {
            lastSync = moment;
            refreshView();
            refreshSidebar();
          }
        })
        .catch(function () {});
    };
    app.addEventListener("htmx:sseError", function () {
      if (!poller) {
        poller = setInterval(poll, POLL_INTERVAL_MS);
      }
    });
    app.addEventListener("htmx:sseOpen", function () {
      clearInterval(poller);
      poller = null;
    });
  }

  function openDetailsInDialog() {
    var dialog = document.getElementById("event-dialog");
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target.id === "event-detail" && !dialog.open) {
        dialog.showModal();
      }
    });
  }

  function scrollWeekToMorning() {
    var body = document.querySelector("[data-scroll-to-morning]");
    if (body && !body.dataset.scrolled) {
      body.dataset.scrolled = "1";
      body.scrollTop = body.scrollHeight * (7 / 24);
    }
  }

  function confirmForms() {
    document.body.addEventListener("submit", function (event) {
      var message = event.target.dataset && event.target.dataset.confirm;
      if (message && !window.confirm(message)) {
        event.preventDefault();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panelElement = document.getElementById("sync-panel");
    var app = document.querySelector(".app");
    confirmForms();
    if (!panelElement || !app) {
      return;
    }
    var panel = new SyncPanel(panelElement);
    window.chronosSync = panel;
    document.body.addEventListener("chronos-refresh", scheduleViewRefresh);
    document.body.addEventListener("sse:events", scheduleViewRefresh);
    reportTimeZone();
    watchLiveStream(app);
    openDetailsInDialog();
    scrollWeekToMorning();
    document.body.addEventListener("htmx:afterSettle", scrollWeekToMorning);
    document.body.addEventListener("click", function (event) {
      var button = event.target.closest("[data-sync-now]");
      if (button) {
        panel.start(idsOf(button.dataset.calendarIds));
      }
    });
    panel.start(idsOf(panelElement.dataset.firstSync));
  });
})();
