// The bell in the header: how many events arrived since the events list was last opened.
(function () {
  var bell = document.querySelector("a.bell"), badge = bell && bell.querySelector(".badge");
  if (!bell) return;
  function poll() {
    if (document.hidden) return;
    fetch(bell.dataset.unseenUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { badge.textContent = d.more ? "99+" : d.count; badge.hidden = !d.count; } })
      .catch(function () {});
  }
  poll();
  setInterval(poll, 30000);
  document.addEventListener("visibilitychange", poll);
})();
