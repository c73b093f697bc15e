// One conversation: poll for new messages, delivery ticks and the customer's state, and tell the
// server (POST) what staff have seen while the page is on screen. The page works without this:
// it opens at the newest message, and "Mark as read" and the reply form do the same by POST.
(function () {
  var list = document.getElementById("transcript");
  var read = document.getElementById("mark-read");
  if (!list || !list.dataset.updates) return;
  var unread = !!read && !read.hidden;
  function shown() { return Array.prototype.slice.call(list.querySelectorAll("li.msg")); }
  function latestId() {
    return Math.max.apply(null, [0].concat(shown().map(function (li) { return +li.dataset.id; })));
  }
  function markRead() {
    if (document.hidden || !read || !unread) return;
    var body = new FormData(read);
    body.set("upto", latestId());
    fetch(read.action, {method: "POST", body: body, credentials: "same-origin",
                        headers: {Accept: "application/json"}})
      .then(function (r) { if (r.ok) { unread = false; read.hidden = true; } })
      .catch(function () {});
  }
  function poll() {
    if (document.hidden) return;
    var watching = shown().filter(function (li) { return li.dataset.open === "1"; })
      .map(function (li) { return li.dataset.id + "." + li.dataset.status; }).join(",");
    fetch(list.dataset.updates + "?after=" + latestId() + "&watching=" + watching,
          {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        var inbound = false;
        data.messages.forEach(function (m) {
          var old = document.getElementById("m-" + m.id);
          if (old) { old.outerHTML = m.html; return; }
          var placeholder = list.querySelector("li.hint");
          if (placeholder) placeholder.remove();
          list.insertAdjacentHTML("beforeend", m.html);
          inbound = inbound || m.inbound;
        });
        if (inbound) { unread = true; if (read) read.hidden = false; markRead(); }
        document.getElementById("state").outerHTML = data.state;
        var badge = document.getElementById("needs-staff-badge");
        if (badge) { badge.textContent = data.needs_staff; badge.hidden = !data.needs_staff; }
      })
      .catch(function () {});
  }
  markRead();
  document.addEventListener("visibilitychange", markRead);
  setInterval(poll, 4000);
})();
