/* Tickets: unit picker (ARIA combobox), caller history, category keys, Ctrl+Enter.
   Everything here is an enhancement: every form works without it. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /* An open request's due time, in working time ("còn 2 giờ", "quá hạn 1 ngày"). */
  function dueBadge(t) {
    if (!t.due) return "";
    return el("small", { className: "due due-" + t.due.state, text: t.due.label });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  /* ---- unit picker --------------------------------------------------------------------- */

  function UnitPicker(root) {
    this.root = root;
    this.input = root.querySelector("[data-unit-input]");
    this.hidden = root.querySelector("[data-unit-id]");
    this.list = root.querySelector("[role=listbox]");
    this.url = root.getAttribute("data-search-url");
    // A list filter may name any unit, ended or not; a ticket names one that exists on the
    // call's day (the form's "opened_at", else today): ended units offer their successors.
    this.anyDay = root.hasAttribute("data-any-day");
    var form = root.closest("form");
    this.dayField = form && form.querySelector("[name=opened_at]");
    this.options = [];
    this.active = -1;
    this.seq = 0;
    this.pending = null;
    this.chooseWhenReady = false;
    var self = this;
    this.search = debounce(function () { self.fetch(); }, 120);
    this.input.addEventListener("input", function () {
      self.hidden.value = "";
      self.chooseWhenReady = false;
      self.search();
    });
    this.input.addEventListener("keydown", function (e) { self.onKey(e); });
    this.input.addEventListener("blur", function () {
      setTimeout(function () { self.close(); }, 150);
    });
    this.list.addEventListener("mousedown", function (e) {
      var li = e.target.closest("[role=option]");
      if (li && li.hasAttribute("data-id")) {
        e.preventDefault();
        self.choose(Number(li.getAttribute("data-index")));
      } else if (e.target.closest("[role=group]")) {
        e.preventDefault();  // an ended unit's heading: keep the list open
      }
    });
  }

  UnitPicker.prototype.day = function () {
    var value = this.dayField ? this.dayField.value.slice(0, 10) : "";
    return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : "";
  };

  UnitPicker.prototype.fetch = function () {
    var q = this.input.value.trim();
    var self = this;
    if (q.length < 2) { this.render([]); this.close(); return; }
    var seq = ++this.seq;
    var url = this.url + "?q=" + encodeURIComponent(q);
    var day = this.anyDay ? "" : this.day();
    if (day) url += "&on=" + day;
    this.pending = getJSON(url).then(function (data) {
      if (seq !== self.seq) return;
      self.pending = null;
      self.render(data);
      if (self.chooseWhenReady) {
        self.chooseWhenReady = false;
        // Only a unit of that day is picked blind; an ended one is shown with its successors.
        if (self.options.length && (self.anyDay || data[0].current !== false)) {
          self.choose(Math.max(self.active, 0));
        }
      }
    }).catch(function () { self.pending = null; });
  };

  UnitPicker.prototype.option = function (u, tag, extra) {
    var i = this.options.length;
    this.options.push(u);
    return el(tag, {
      role: "option", id: this.list.id + "-" + i, "data-id": u.id, "data-index": i,
      "aria-selected": "false", className: extra.className || ""
    }, extra.before.concat([u.label, " ", el("small", { text: u.code })], extra.after));
  };

  UnitPicker.prototype.render = function (items) {
    var self = this;
    var list = this.list;
    this.options = [];
    list.textContent = "";
    if (!items.length) {
      this.active = -1;
      if (this.input.value.trim().length >= 2) {
        list.appendChild(el("li", { className: "combo-empty", text: "Không tìm thấy đơn vị." }));
        this.open();
      }
      return;
    }
    items.forEach(function (u, n) {
      var ended = u.current === false;
      if (!ended || self.anyDay) {
        var mark = ended ? [" ", el("span", { className: "ended-mark", text: u.ended })] : [];
        list.appendChild(self.option(u, "li", { before: [], after: mark }));
        return;
      }
      // An ended unit: a heading (not choosable), its successors under it.
      var head = list.id + "-g" + n;
      var group = el("li", { role: "group", className: "combo-group", "aria-labelledby": head });
      group.appendChild(el("div", { id: head, className: "combo-ended" }, [
        u.label, " ", el("small", { text: u.code }), " ",
        el("span", { className: "ended-mark", text: u.ended })
      ]));
      (u.successors || []).forEach(function (s) {
        group.appendChild(self.option(s, "div", {
          className: "combo-successor",
          before: [el("span", { className: "succ-arrow", "aria-hidden": "true", text: "↳ " })],
          after: [" ", el("span", { className: "succ-mark", text: "đơn vị kế thừa" })]
        }));
      });
      if (!(u.successors || []).length) {
        group.appendChild(el("div", { className: "combo-note", text: "Không có đơn vị kế thừa để chọn." }));
      }
      list.appendChild(group);
    });
    this.active = this.options.length ? 0 : -1;
    this.open();
    this.highlight();
  };

  UnitPicker.prototype.open = function () {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  };

  UnitPicker.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  };

  UnitPicker.prototype.highlight = function () {
    var self = this;
    Array.prototype.forEach.call(this.list.querySelectorAll("[role=option]"), function (li, i) {
      li.setAttribute("aria-selected", i === self.active ? "true" : "false");
      if (i === self.active) {
        self.input.setAttribute("aria-activedescendant", li.id);
        // The first successor under an ended unit: bring its heading into view too.
        var prev = li.previousElementSibling;
        var first = prev && prev.classList.contains("combo-ended");
        (first ? li.parentNode : li).scrollIntoView({ block: "nearest" });
      }
    });
  };

  UnitPicker.prototype.choose = function (i) {
    var u = this.options[i];
    if (!u) return;
    this.input.value = u.label;
    this.hidden.value = u.id;
    this.close();
    this.input.dispatchEvent(new CustomEvent("unit-chosen", { bubbles: true, detail: u }));
  };

  UnitPicker.prototype.onKey = function (e) {
    var open = !this.list.hidden && this.options.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) { if (this.options.length) { this.open(); this.highlight(); } else this.fetch(); }
      else {
        var n = this.options.length;
        this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.highlight();
      }
      e.preventDefault();
    } else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
      if (open) { this.choose(Math.max(this.active, 0)); e.preventDefault(); }
      else if (this.pending || (!this.hidden.value && this.input.value.trim().length >= 2)) {
        // Typed faster than the search answered: pick the best match when it arrives.
        this.chooseWhenReady = true;
        if (!this.pending) this.fetch();
        e.preventDefault();
      }
    } else if (e.key === "Tab" && open && !e.shiftKey) {
      this.choose(Math.max(this.active, 0));
    } else if (e.key === "Escape" && open) {
      this.close();
      e.preventDefault();
    }
  };

  /* ---- caller history ------------------------------------------------------------------ */

  function digitsOf(value) {
    var d = value.replace(/[^\d+]/g, "");
    if (d.indexOf("+84") === 0) d = "0" + d.slice(3);
    else if (d.indexOf("84") === 0 && d.length >= 11) d = "0" + d.slice(2);
    return d.replace(/\D/g, "");
  }

  function CallerHistory(panel, phone, name) {
    this.panel = panel;
    this.phone = phone;
    this.name = name;
    this.form = phone.form;
    this.dossier = this.form && this.form.querySelector("[name=dossier_code]");
    this.url = panel.getAttribute("data-caller-url");
    this.seq = 0;
    this.last = null;
    this.data = null;
    var self = this;
    var lookup = debounce(function () { self.lookup(); }, 150);
    phone.addEventListener("input", lookup);
    if (this.dossier) this.dossier.addEventListener("input", lookup);
    // Alt+1..5: add this call to that open request; Alt+L: the last request's unit and dossier.
    if (this.form) this.form.addEventListener("keydown", function (e) {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      var n = /^Digit([1-5])$/.exec(e.code || "");
      var button = null;
      if (n) button = panel.querySelector('[data-add-key="' + n[1] + '"]');
      else if (e.code === "KeyL") button = panel.querySelector("[data-reuse]");
      if (button) { e.preventDefault(); button.click(); }
    });
    if (phone.value || (this.dossier && this.dossier.value)) this.lookup();
  }

  CallerHistory.prototype.lookup = function () {
    var digits = digitsOf(this.phone.value);
    var dossier = this.dossier ? this.dossier.value.trim() : "";
    var self = this;
    var tail = digits.length >= 6 && digits.length < 10;
    if (digits.length < 10 && !tail && dossier.length < 10) {
      if (this.last !== null) this.showHint();
      this.last = null;
      return;
    }
    var key = digits + "|" + dossier;
    if (key === this.last) return;
    this.last = key;
    var seq = ++this.seq;
    this.panel.setAttribute("aria-busy", "true");
    var q = "?phone=" + encodeURIComponent(this.phone.value) + "&dossier=" + encodeURIComponent(dossier);
    getJSON(this.url + q).then(function (data) {
      if (seq !== self.seq) return;
      self.panel.removeAttribute("aria-busy");
      self.render(data, digits);
    }).catch(function () { self.panel.removeAttribute("aria-busy"); });
  };

  CallerHistory.prototype.showHint = function () {
    this.panel.textContent = "";
    this.panel.appendChild(el("p", { className: "muted", text: "Nhập số điện thoại để xem các yêu cầu trước." }));
  };

  CallerHistory.prototype.renderDuplicates = function (data) {
    if (!data.duplicates || !data.duplicates.length) return;
    var box = el("div", { className: "duplicates", role: "group", "aria-labelledby": "dup-title" });
    box.appendChild(el("h3", { id: "dup-title", text: "Đang mở: cùng người gọi hoặc cùng hồ sơ" }));
    var list = el("ol", { className: "caller-list" });
    data.duplicates.forEach(function (t, i) {
      var key = String(i + 1);
      var button = el("button", {
        type: "submit", name: "add_to", value: String(t.id), form: "quick-form",
        className: "add-to", "data-add-key": key, "aria-keyshortcuts": "Alt+" + key
      }, ["Thêm cuộc gọi này vào " + t.ref + " ", el("kbd", { text: "Alt+" + key })]);
      list.appendChild(el("li", {}, [
        el("a", { href: t.url, text: t.ref }), " ",
        el("span", { className: "badge", text: t.status_label }), " ",
        dueBadge(t), " ",
        el("small", { className: "muted", text: t.same === "phone" ? "cùng số điện thoại" : "cùng mã hồ sơ" }),
        el("br"), el("span", { text: t.summary }),
        el("br"), el("small", { className: "muted", text: t.opened_at + " · " + t.category }),
        el("br"), button
      ]));
    });
    box.appendChild(list);
    this.panel.appendChild(box);
  };

  CallerHistory.prototype.renderReuse = function (data) {
    var last = data.last;
    if (!last || !this.form) return;
    var unitInput = this.form.querySelector("[data-unit-input]");
    var unitId = this.form.querySelector("[data-unit-id]");
    var dossier = this.dossier;
    var parts = [];
    if (last.unit && last.unit_current) parts.push(last.unit);
    if (last.dossier_code) parts.push(last.dossier_code);
    if (!parts.length) return;
    var button = el("button", { type: "button", className: "reuse", "data-reuse": "1", "aria-keyshortcuts": "Alt+L" },
      ["Dùng lại như lần trước (" + last.ref + "): " + parts.join(" · ") + " ", el("kbd", { text: "Alt+L" })]);
    button.addEventListener("click", function () {
      if (last.unit && last.unit_current && unitInput && !unitInput.value) {
        unitInput.value = last.unit;
        if (unitId) unitId.value = String(last.unit_id);
      }
      if (last.dossier_code && dossier && !dossier.value) dossier.value = last.dossier_code;
      button.disabled = true;
      button.textContent = "Đã điền đơn vị và mã hồ sơ của lần trước.";
    });
    this.panel.appendChild(el("p", { className: "reuse-line" }, [button]));
  };

  CallerHistory.prototype.renderTail = function (data, digits) {
    var self = this;
    if (!data.tail || !data.tail.length) {
      this.panel.appendChild(el("p", { className: "muted", text: "Không có số nào kết thúc bằng " + digits + "." }));
      return;
    }
    this.panel.appendChild(el("p", { text: "Các số kết thúc bằng " + digits + ":" }));
    var list = el("ul", { className: "tail-list" });
    data.tail.forEach(function (c) {
      var b = el("button", { type: "button", className: "use-number" },
        [c.display + (c.name ? " · " + c.name : "") + " (" + c.total + " yêu cầu)"]);
      b.addEventListener("click", function () {
        self.phone.value = c.display;
        self.phone.dispatchEvent(new Event("input", { bubbles: true }));
        self.phone.focus();
      });
      list.appendChild(el("li", {}, [b]));
    });
    this.panel.appendChild(list);
  };

  CallerHistory.prototype.render = function (data, digits) {
    var panel = this.panel;
    panel.textContent = "";
    if (!data.phone) {
      if (digits && digits.length >= 6 && digits.length < 10) {
        this.renderTail(data, digits);
      } else if (digits && digits.length >= 10) {
        panel.appendChild(el("p", { className: "muted", text: "Số điện thoại chưa đúng dạng." }));
      }
      this.renderDuplicates(data);
      return;
    }
    this.renderDuplicates(data);
    if (!data.tickets.length) {
      panel.appendChild(el("p", { text: "Số " + data.display + " chưa gọi lần nào." }));
      return;
    }
    this.renderReuse(data);
    panel.appendChild(el("p", { className: "caller-sum" }, [
      el("strong", { text: data.name || "Chưa rõ tên" }), " · " + data.display + " · ",
      el("a", { href: data.list_url, text: data.total + " yêu cầu trước" })
    ]));
    var list = el("ol", { className: "caller-list" });
    data.tickets.forEach(function (t) {
      var meta = [t.opened_at, t.category];
      if (t.unit) meta.push(t.unit);
      if (t.dossier_code) meta.push(t.dossier_code);
      list.appendChild(el("li", {}, [
        el("a", { href: t.url, text: t.ref }), " ",
        el("span", { className: "badge status-" + t.status, text: t.status_label }), " ",
        dueBadge(t),
        t.merged ? el("span", { className: "badge badge-merged", text: "Đã gộp" }) : "",
        el("br"), el("span", { text: t.summary }),
        el("br"), el("small", { className: "muted", text: meta.join(" · ") })
      ]));
    });
    panel.appendChild(list);
    // The name from the caller's last request, unless the operator typed one.
    if (this.name && data.name && (!this.name.value || this.name.value === this.name.dataset.autofilled)) {
      this.name.value = data.name;
      this.name.dataset.autofilled = data.name;
    }
  };

  /* ---- categories: one key each ---------------------------------------------------------- */

  function nextFocusable(after) {
    var all = Array.prototype.filter.call(
      document.querySelectorAll("input:not([type=hidden]):not([type=radio]), select, textarea, button"),
      function (n) { return !n.disabled && n.offsetParent !== null; });
    for (var i = 0; i < all.length; i++) {
      if (after.compareDocumentPosition(all[i]) & Node.DOCUMENT_POSITION_FOLLOWING &&
          !after.contains(all[i])) return all[i];
    }
    return null;
  }

  function CategoryGroup(group) {
    var out = group.querySelector("[data-audience-out]");
    var form = group.closest("form");
    var summary = form && form.querySelector("[name=summary]");
    var labels = { citizen: "Công dân", agency: "Cơ quan, đơn vị" };
    function update() {
      var checked = group.querySelector("input[type=radio]:checked");
      if (!checked) return;
      if (out) out.textContent = "Đối tượng: " + labels[checked.getAttribute("data-audience")];
      if (summary) summary.placeholder = checked.getAttribute("data-label");
    }
    group.addEventListener("change", update);
    KeyGroup(group);
    update();
  }

  /* A group of radios with data-key: while it has focus, the key picks the radio, then the
     focus moves on to the next control (categories, the caller's satisfaction). */
  function KeyGroup(group) {
    group.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
      var radio = group.querySelector('input[data-key="' + e.key.toLowerCase() + '"]');
      if (!radio) return;
      e.preventDefault();
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      var next = nextFocusable(group);
      if (next) next.focus(); else radio.focus();
    });
  }

  /* ---- Ctrl+Enter and double submits ------------------------------------------------------- */

  function CtrlEnter(form) {
    var name = form.getAttribute("data-ctrl-enter");
    form.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        var button = form.querySelector('[type=submit][name="' + name + '"]');
        if (form.requestSubmit) form.requestSubmit(button || undefined); else form.submit();
      }
    });
    form.addEventListener("submit", function (e) {
      if (form.dataset.submitting) { e.preventDefault(); return; }
      form.dataset.submitting = "1";
    });
    // Coming back with the browser's Back button: the form may be sent again.
    window.addEventListener("pageshow", function () { delete form.dataset.submitting; });
  }


  /* ---- Canned answers: Alt+M (or the button) in a textarea[data-answers] ------------------- */

  function AnswerPicker(tpl) {
    var url = tpl.getAttribute("data-url");
    var fixedCategory = tpl.getAttribute("data-category");
    var dialog = tpl.content.firstElementChild.cloneNode(true);
    document.body.appendChild(dialog);
    var input = dialog.querySelector("input[type=search]");
    var list = dialog.querySelector("[role=listbox]");
    var status = dialog.querySelector("[data-answer-status]");
    var target = null, items = [], active = -1, timer = null, seq = 0;
    var csrf = document.querySelector("input[name=csrf_token]");

    function category() {
      if (fixedCategory) return fixedCategory;
      var form = target && target.closest("form");
      var checked = form && form.querySelector("input[name=category]:checked");
      return checked ? checked.value : "";
    }
    function show(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, k) {
        li.setAttribute("aria-selected", k === i ? "true" : "false");
        if (k === i) li.scrollIntoView({ block: "nearest" });
      });
      if (i >= 0 && list.children[i]) input.setAttribute("aria-activedescendant", list.children[i].id);
      else input.removeAttribute("aria-activedescendant");
    }
    function load() {
      var mine = ++seq;
      var q = "?category=" + encodeURIComponent(category()) + "&q=" + encodeURIComponent(input.value);
      fetch(url + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) {
          if (mine !== seq) return;
          items = found;
          list.textContent = "";
          found.forEach(function (a, k) {
            var li = document.createElement("li");
            li.id = "answer-option-" + a.id;
            li.setAttribute("role", "option");
            var title = document.createElement("strong");
            title.textContent = a.title;
            var text = document.createElement("span");
            text.textContent = a.text;
            li.appendChild(title);
            li.appendChild(text);
            li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(k); });
            list.appendChild(li);
          });
          status.textContent = found.length ? found.length + " câu trả lời" : "Không có câu trả lời phù hợp.";
          show(found.length ? 0 : -1);
        });
    }
    function choose(k) {
      var answer = items[k];
      if (!answer || !target) return;
      var start = target.selectionStart, end = target.selectionEnd;
      var before = target.value.slice(0, start);
      var glue = before && !/\s$/.test(before) ? " " : "";
      target.setRangeText(glue + answer.text, start, end, "end");
      target.dispatchEvent(new Event("input", { bubbles: true }));
      dialog.close();
      target.focus();
      fetch(url + "/" + answer.id + "/dung", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "" }
      });
    }
    function open(area) {
      target = area;
      input.value = "";
      dialog.showModal();
      input.focus();
      load();
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); show(Math.min(active + 1, items.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); show(Math.max(active - 1, 0)); }
      else if (e.key === "Enter") { e.preventDefault(); choose(active); }
    });
    dialog.addEventListener("close", function () { if (target) target.focus(); });
    var button = document.getElementById("answer-button");
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-answers]"), function (area) {
      area.addEventListener("keydown", function (e) {
        if (e.altKey && !e.ctrlKey && (e.key === "m" || e.key === "M" || e.code === "KeyM")) {
          e.preventDefault();
          open(area);
        }
      });
      if (button) {
        var b = button.content.firstElementChild.cloneNode(true);
        b.setAttribute("aria-controls", area.id);
        b.addEventListener("click", function () { open(area); });
        area.insertAdjacentElement("afterend", b);
      }
    });
  }

  /* ---- the list's bulk actions: select all, and how many are ticked ---------------------- */

  function BulkSelect(all) {
    var boxes = document.querySelectorAll('input[name=ids][form=bulk]');
    var out = document.querySelector("[data-bulk-count]");
    function count() {
      var n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      if (out) out.textContent = n ? "(" + n + " đã chọn)" : "";
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (b) { b.checked = all.checked; });
      count();
    });
    Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", count); });
    count();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-unit-picker]"), function (n) {
      new UnitPicker(n);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-category-group]"), CategoryGroup);
    Array.prototype.forEach.call(document.querySelectorAll("[data-key-group]"), KeyGroup);
    var all = document.querySelector("[data-bulk-all]");
    if (all) BulkSelect(all);
    var answers = document.getElementById("answer-picker");
    if (answers && answers.content) AnswerPicker(answers);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-ctrl-enter]"), CtrlEnter);
    // A form that came back with errors: start at the first field to fix, not at the top.
    var bad = document.querySelector(
      "form .has-error input:not([type=hidden]), form .has-error select, form .has-error textarea");
    if (bad) {
      var details = bad.closest("details");
      if (details) details.open = true;
      bad.focus();
    }
    var panel = document.getElementById("caller-history");
    var phone = document.getElementById("requester_phone");
    if (panel && phone) new CallerHistory(panel, phone, document.getElementById("requester_name"));
  });
})();
