// The Today page, live: fetch /console/today.json every few seconds and put its words in place.
// Values are set with textContent and attributes only (never as HTML). When the JSON's shape differs
// from the page's (an edition started, a step moved, a feed appeared) the page is loaded again.
(function () {
  "use strict";
  var root = document.getElementById("today");
  if (!root || !window.fetch) return;
  var live = document.getElementById("live");
  var every = (parseInt(root.getAttribute("data-poll"), 10) || 2) * 1000;
  var stopped = false;

  function setText(el, value) {
    var text = value === null || value === undefined ? "" : String(value);
    if (el.textContent !== text) el.textContent = text;
  }

  // Every [data-f] inside scope (but not inside a nested [data-step]) gets data[field].
  function fill(scope, data, nested) {
    var fields = scope.querySelectorAll("[data-f]");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      if (nested && el.closest(nested) !== null && el.closest(nested) !== scope) continue;
      var name = el.getAttribute("data-f");
      if (!(name in data)) continue;
      setText(el, data[name]);
      if (name === "error") el.hidden = !data.error;
      if (name === "status") el.setAttribute("data-status", data.status);
    }
  }

  function setBar(svg, segments, label) {
    if (!svg) return;
    svg.setAttribute("aria-label", label);
    segments.forEach(function (s) {
      var rect = svg.querySelector('[data-seg="' + s.state + '"]');
      if (rect) {
        rect.setAttribute("x", s.x);
        rect.setAttribute("width", s.width);
      }
    });
  }

  function edition(ed) {
    var section = root.querySelector('[data-edition="' + ed.id + '"]');
    if (!section) return;
    fill(section, ed, "[data-step]");
    ed.totals.forEach(function (t) {
      var dd = section.querySelector('[data-total="' + t.state + '"]');
      if (dd) setText(dd, t.words);
    });
    setBar(section.querySelector(":scope > svg.bar"), ed.bar, ed.done_words);
    var verbs = section.querySelectorAll("[data-verb]");
    for (var i = 0; i < verbs.length; i++) {
      verbs[i].hidden = ed.verbs.indexOf(verbs[i].getAttribute("data-verb")) < 0;
    }
    ed.steps.forEach(function (s) {
      var li = section.querySelector('[data-step="' + s.key + '"]');
      if (!li) return;
      li.setAttribute("data-state", s.state);
      fill(li, s, null);
      setBar(li.querySelector("svg.bar"), s.bar, s.summary);
    });
  }

  function problems(list) {
    var ul = document.getElementById("problems");
    if (!ul) return;
    var items = list.map(function (p) {
      var li = document.createElement("li");
      var strong = document.createElement("strong");
      strong.textContent = p.kind === "halted" ? "Halted" : p.count_words + " failed";
      var link = document.createElement("a");
      link.href = "/console/editions/" + p.edition_id;
      link.textContent = p.edition + " #" + p.edition_id;
      var detail = document.createElement("span");
      detail.className = "block";
      var code = document.createElement("code");
      code.textContent = p.text;
      detail.appendChild(code);
      li.append(strong, " · ", link, ", " + p.day_words, detail);
      return li;
    });
    ul.replaceChildren.apply(ul, items);
    var none = document.getElementById("no-problems");
    if (none) none.hidden = list.length > 0;
  }

  function show(view) {
    if (view.shape !== root.getAttribute("data-shape")) {
      stopped = true;
      window.location.reload();
      return;
    }
    fill(root.querySelector(".today-head"), view, null);
    view.editions.forEach(edition);
    view.upcoming.forEach(function (u) {
      var li = root.querySelector('[data-upcoming="' + u.key + '"]');
      if (li) fill(li, u, null);
    });
    ["queued_words", "sending_words"].forEach(function (name) {
      var el = root.querySelector('[data-q="' + name + '"]');
      if (el) setText(el, view.queue[name]);
    });
    (view.queue.broker || []).forEach(function (b) {
      var el = root.querySelector('[data-broker="' + b.queue + '"]');
      if (el) setText(el, b.words);
    });
    var feeds = root.querySelector(".feeds-panel");
    if (feeds) {
      fill(feeds, view.feeds, "[data-feed]");
      view.feeds.list.forEach(function (f) {
        var row = feeds.querySelector('[data-feed="' + f.path + '"]');
        if (row) fill(row, { item_count: f.item_count, newest_relative: f.newest_relative || f.newest_words }, null);
      });
    }
    problems(view.problems);
    live.setAttribute("data-state", "live");
    setText(live, "Live · updated");
  }

  function fail(text) {
    live.setAttribute("data-state", "stale");
    setText(live, text);
  }

  function poll() {
    if (stopped) return;
    fetch("/console/today.json", { credentials: "same-origin", redirect: "manual",
                                   headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401 || response.status === 303) {
          stopped = true;
          fail("Not updating: your session has ended. Reload to log in again. Last updated");
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (view) {
        if (view) show(view);
      })
      .catch(function () {
        fail("Not updating: the server did not answer. Last updated");
      })
      .then(function () {
        if (!stopped) window.setTimeout(poll, every);
      });
  }

  window.setTimeout(poll, every);
})();
