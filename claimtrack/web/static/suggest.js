// As-you-type suggestions of similar recorded claims on the new-claim form and the link form's new statement.
// Without this script the "Check for similar ..." button does the same in one round trip; this only saves the
// click. On the link form (data-pick) each suggestion is a radio button of the form's own pick (target_id).
(function () {
  "use strict";
  var box = document.querySelector("[data-similar-url]");
  if (!box) { return; }
  var text = document.getElementById("text");
  var speaker = document.getElementById("speaker");
  var results = document.getElementById("similar-results");
  if (!text || !results) { return; }
  var url = box.getAttribute("data-similar-url");
  var pick = box.getAttribute("data-pick");
  var exclude = box.getAttribute("data-exclude");
  var timer = null;
  var latest = 0;

  function el(tag, attrs, content) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (content !== undefined) { node.textContent = content; }  // text only: never markup from the data
    return node;
  }

  function show(data) {
    results.textContent = "";
    data.results = data.results.filter(function (s) { return String(s.id) !== exclude; });
    if (!data.results.length) {
      results.appendChild(el("p", { "class": "empty" }, "No recorded statement is like it."));
      return;
    }
    results.appendChild(el("p", {}, "Recorded statements like this one, closest first:"));
    var list = el("ol", { "class": "similar", "id": "similar-list" });
    data.results.forEach(function (s) {
      var item = el("li", { "data-claim-id": String(s.id) });
      var p = el("p", { "class": "text" });
      p.appendChild(el("a", { "href": s.url }, s.text));
      item.appendChild(p);
      var meta = [s.speaker + (s.affiliation ? " (" + s.affiliation + ")" : "")];
      if (s.stated_on) { meta.push(s.stated_on); }
      if (s.event) { meta.push(s.event); }
      meta.push(s.verdict ? s.verdict : "no verdict yet");
      item.appendChild(el("p", { "class": "meta" }, meta.join(" · ")));
      var actions = el("p", { "class": "similar-actions" });
      if (pick) {
        var id = "typed-pick-" + s.id;
        actions.appendChild(el("input", { "type": "radio", "name": pick, "value": String(s.id), "id": id }));
        actions.appendChild(el("label", { "for": id }, "Pick statement #" + s.id + " instead of recording it again"));
      } else {
        actions.appendChild(el("a", { "href": s.url }, "This is the same claim: open #" + s.id));
      }
      item.appendChild(actions);
      list.appendChild(item);
    });
    results.appendChild(list);
  }

  function ask() {
    var typed = text.value.trim();
    if (typed.length < 3) { results.textContent = ""; return; }
    var query = "?format=json&text=" + encodeURIComponent(typed);
    if (speaker && speaker.value.trim()) { query += "&speaker=" + encodeURIComponent(speaker.value.trim()); }
    var mine = ++latest;
    fetch(url + query, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === latest) { show(data); } })
      .catch(function () { /* the button still works */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  }
  text.addEventListener("input", later);
  if (speaker) { speaker.addEventListener("input", later); }
})();

// Names as you type: a field marked data-suggest="speaker|source|event" gets its own <datalist>, filled from
// the suggest address (#suggest-urls) with the existing names most like what is typed, each with its kind and
// whom it speaks for (or outlet, or dates). Without this script the fields are ordinary text fields.
(function () {
  "use strict";
  var urls = document.getElementById("suggest-urls");
  if (!urls) { return; }
  var fields = document.querySelectorAll("input[data-suggest]");
  Array.prototype.forEach.call(fields, function (input) {
    var url = urls.getAttribute("data-" + input.getAttribute("data-suggest"));
    if (!url || !input.id) { return; }
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    input.parentNode.appendChild(list);
    var timer = null;
    var latest = 0;

    function fill(data) {
      list.textContent = "";
      data.results.forEach(function (m) {
        var option = document.createElement("option");
        option.value = m.name;  // a property, never markup from the data
        var label = m.details || "";
        if (m.also_known_as) { label += (label ? " · " : "") + "also known as " + m.also_known_as; }
        if (label) { option.label = label; option.textContent = label; }
        list.appendChild(option);
      });
      if (data.results.length) { input.setAttribute("list", list.id); }
    }

    function ask() {
      var typed = input.value.trim();
      if (typed.length < 2) { return; }
      var mine = ++latest;
      fetch(url + "?q=" + encodeURIComponent(typed), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === latest) { fill(data); } })
        .catch(function () { /* the field still works as typed */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
  });
})();
