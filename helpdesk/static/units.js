/* Units: the successor picker of the "end a unit" form (an ARIA combobox over /don-vi/tim).
   Choosing a unit appends its code to the successor codes field. An enhancement only: without
   it the codes are typed, separated by |. */
(function () {
  "use strict";

  function addDays(iso, days) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) return "";
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + days));
    return isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 10);
  }

  function SuccessorPicker(root) {
    var form = root.closest("form");
    this.root = root;
    this.input = root.querySelector("[role=combobox]");
    this.list = root.querySelector("[role=listbox]");
    this.out = root.querySelector("[data-picked-out]");
    this.codes = form.querySelector("[name=successors]");
    this.day = form.querySelector("[name=last_day]");
    this.url = root.getAttribute("data-search-url");
    this.items = [];
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    var self = this;
    root.hidden = false;
    this.input.addEventListener("input", function () {
      clearTimeout(self.timer);
      self.timer = setTimeout(function () { self.fetch(); }, 150);
    });
    this.input.addEventListener("keydown", function (e) { self.onKey(e); });
    this.input.addEventListener("blur", function () {
      setTimeout(function () { self.close(); }, 150);
    });
    this.list.addEventListener("mousedown", function (e) {
      var li = e.target.closest("[role=option]");
      if (li) { e.preventDefault(); self.choose(Number(li.getAttribute("data-index"))); }
    });
  }

  SuccessorPicker.prototype.fetch = function () {
    var q = this.input.value.trim();
    var self = this;
    if (q.length < 2) { this.render([]); return; }
    var url = this.url + "?q=" + encodeURIComponent(q);
    var on = addDays(this.day && this.day.value, 1);
    if (on) url += "&on=" + on;
    var seq = ++this.seq;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (seq !== self.seq) return;
        // Only units that exist on the day after the last day can succeed.
        self.render(data.filter(function (u) { return u.current; }));
      })
      .catch(function () {});
  };

  SuccessorPicker.prototype.render = function (items) {
    var self = this;
    this.items = items;
    this.active = items.length ? 0 : -1;
    this.list.textContent = "";
    if (!items.length) {
      if (this.input.value.trim().length >= 2) {
        var empty = document.createElement("li");
        empty.className = "combo-empty";
        empty.textContent = "Không có đơn vị nào tồn tại ngày sau ngày cuối cùng khớp tên này.";
        this.list.appendChild(empty);
        this.open();
      } else this.close();
      return;
    }
    items.forEach(function (u, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = self.list.id + "-" + i;
      li.setAttribute("data-index", i);
      li.appendChild(document.createTextNode(u.label + " "));
      var small = document.createElement("small");
      small.textContent = u.code;
      li.appendChild(small);
      self.list.appendChild(li);
    });
    this.open();
    this.highlight();
  };

  SuccessorPicker.prototype.open = function () {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  };

  SuccessorPicker.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  };

  SuccessorPicker.prototype.highlight = function () {
    var self = this;
    Array.prototype.forEach.call(this.list.querySelectorAll("[role=option]"), function (li, i) {
      li.setAttribute("aria-selected", i === self.active ? "true" : "false");
      if (i === self.active) {
        self.input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  };

  SuccessorPicker.prototype.choose = function (i) {
    var u = this.items[i];
    if (!u) return;
    var codes = this.codes.value.split("|").map(function (c) { return c.trim(); })
      .filter(function (c) { return c; });
    if (codes.indexOf(u.code) < 0) codes.push(u.code);
    this.codes.value = codes.join("|");
    this.out.textContent = "Đã thêm " + u.label + " (" + u.code + ").";
    this.input.value = "";
    this.render([]);
    this.close();
  };

  SuccessorPicker.prototype.onKey = function (e) {
    var open = !this.list.hidden && this.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (open) {
        var n = this.items.length;
        this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.highlight();
      } else this.fetch();
      e.preventDefault();
    } else if (e.key === "Enter") {
      // Enter picks; it never submits the form from this box.
      e.preventDefault();
      if (open) this.choose(Math.max(this.active, 0));
    } else if (e.key === "Escape" && open) {
      this.close();
      e.preventDefault();
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-successor-picker]"), function (n) {
      new SuccessorPicker(n);
    });
  });
})();
