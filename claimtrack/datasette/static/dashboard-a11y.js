// The chart library adds an actions menu to each chart (a <summary> holding only an icon): give each
// one a name a screen reader can say, "Actions for the chart <title>", as the charts are drawn.
(function () {
  function name(summary) {
    if (summary.hasAttribute('aria-label')) return;
    var card = summary.closest('.dashboard-card');
    var title = card && card.querySelector('.dashboard-card-title a, .dashboard-card-title p');
    var label = 'Chart actions' + (title ? ': ' + title.textContent.trim() : '');
    summary.setAttribute('aria-label', label);
    var svg = summary.querySelector('svg');
    if (svg) svg.setAttribute('aria-hidden', 'true');
  }
  function nameAll() { document.querySelectorAll('.vega-embed details > summary').forEach(name); }
  new MutationObserver(nameAll).observe(document.body, {childList: true, subtree: true});
  nameAll();
})();
