// The inbox list: poll for conversations with new messages and put them on top.
// The page works without this; the server renders the same rows.
(function () {
  var list = document.getElementById("conversations");
  if (!list || !list.dataset.updates) return;
  function poll() {
    if (document.hidden) return;
    fetch(list.dataset.updates + "since=" + encodeURIComponent(list.dataset.latest || "1970-01-01T00:00:00+00:00"),
          {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        data.rows.forEach(function (row) {
          var old = document.getElementById("c-" + row.wa_id);
          if (old) old.remove();
          var empty = list.querySelector("li.empty");
          if (empty) empty.remove();
          list.insertAdjacentHTML("afterbegin", row.html);
        });
        if (data.latest) list.dataset.latest = data.latest;
        var badge = document.getElementById("needs-staff-badge");
        if (badge) { badge.textContent = data.needs_staff; badge.hidden = !data.needs_staff; }
      })
      .catch(function () {});
  }
  setInterval(poll, 5000);
})();
