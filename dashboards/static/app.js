/* Dashboard enhancements. Everything works without this file; it adds the
 * realtime refresh, the live view's refresh, the chart tooltip (mouse and keyboard), label placement,
 * the Headline check's details, copy buttons and a time-zone guess. It never builds HTML from data: values
 * go in through textContent only. */
(function () {
  'use strict';

  function realtime() {
    var out = document.querySelector('[data-realtime]');
    if (!out || !window.fetch) return;
    var every = parseInt(out.getAttribute('data-interval'), 10) || 15000;
    function tick() {
      if (document.hidden) return;
      fetch(out.getAttribute('data-realtime'), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body && typeof body.text === 'string') out.textContent = body.text; })
        .catch(function () {});
    }
    setInterval(tick, every);
    document.addEventListener('visibilitychange', tick);
  }

  // The live view: every few seconds, its figures from .../live/data, written with textContent.
  function live() {
    var root = document.getElementById('live');
    if (!root || !window.fetch) return;
    var every = parseInt(root.getAttribute('data-interval'), 10) || 5000;
    var nowField = document.querySelector('[data-live-field="now"]');
    var svgNS = root.querySelector('svg').namespaceURI; // the page's own: no address in this file

    function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }

    function cell(tr, text, cls) {
      var td = document.createElement('td');
      if (cls) td.className = cls;
      td.textContent = text;
      tr.appendChild(td);
      return td;
    }

    function rows(key, list, hiddenCount) {
      var body = root.querySelector('[data-live-rows="' + key + '"]');
      if (!body) return;
      while (body.firstChild) body.removeChild(body.firstChild);
      if (!list.length) {
        var empty = document.createElement('tr');
        var td = cell(empty, 'Nobody in the last 30 minutes', 'muted empty');
        td.setAttribute('colspan', '2');
        body.appendChild(empty);
      }
      list.forEach(function (row) {
        var tr = document.createElement('tr');
        var label = cell(tr, '', 'label-cell');
        label.title = row.label;
        var svg = document.createElementNS(svgNS, 'svg');
        svg.setAttribute('class', 'bar');
        svg.setAttribute('viewBox', '0 0 100 1');
        svg.setAttribute('preserveAspectRatio', 'none');
        svg.setAttribute('aria-hidden', 'true');
        var rect = document.createElementNS(svgNS, 'rect');
        rect.setAttribute('width', String(row.bar));
        rect.setAttribute('height', '1');
        svg.appendChild(rect);
        label.appendChild(svg);
        var span = document.createElement('span');
        span.className = 'row-text';
        var bdi = document.createElement('bdi');
        bdi.textContent = row.label;
        span.appendChild(bdi);
        label.appendChild(span);
        cell(tr, String(row.visitors), 'num');
        body.appendChild(tr);
      });
      var note = root.querySelector('[data-live-hidden="' + key + '"]');
      if (note) {
        note.hidden = !hiddenCount;
        setText(note, hiddenCount + ' row(s) hidden (fewer than the minimum of visitors, or needed to keep them hidden).');
      }
    }

    function apply(data) {
      setText(nowField, data.now);
      ['current', 'visitors', 'pageviews'].forEach(function (name) {
        setText(root.querySelector('[data-live-field="' + name + '"]'), data[name]);
      });
      var bars = root.querySelectorAll('rect.live-bar');
      data.minutes.forEach(function (m, i) {
        var bar = bars[i];
        if (!bar) return;
        bar.setAttribute('y', String(100 - m.bar));
        bar.setAttribute('height', String(m.bar));
        bar.classList.toggle('hidden', m.hidden);
        var title = bar.querySelector('title');
        if (title) setText(title, m.label + ': ' + m.text);
      });
      if (data.minutes.length) {
        setText(root.querySelector('[data-live-axis="first"]'), data.minutes[0].label);
        setText(root.querySelector('[data-live-axis="last"]'), data.minutes[data.minutes.length - 1].label);
      }
      var table = root.querySelector('[data-live-minutes]');
      if (table) {
        while (table.firstChild) table.removeChild(table.firstChild);
        data.minutes.forEach(function (m) {
          var tr = document.createElement('tr');
          cell(tr, m.label);
          cell(tr, m.hidden ? m.text : String(m.visitors));
          cell(tr, m.hidden ? '' : String(m.pageviews));
          table.appendChild(tr);
        });
      }
      rows('pages', data.pages, data.pages_hidden);
      rows('sources', data.sources, data.sources_hidden);
    }

    function tick() {
      if (document.hidden) return;
      fetch(root.getAttribute('data-live'), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && data.minutes) apply(data); })
        .catch(function () {});
    }
    setInterval(tick, every);
    document.addEventListener('visibilitychange', tick);
  }

  function placeLabels(wrap) {
    var xs = wrap.querySelector('.x-labels');
    if (xs) {
      xs.classList.add('placed');
      Array.prototype.forEach.call(xs.children, function (span) {
        span.style.left = (parseFloat(span.getAttribute('data-x')) * 100).toFixed(2) + '%';
      });
    }
  }

  function chart(wrap) {
    var svg = wrap.querySelector('svg.chart');
    var tip = wrap.querySelector('.tooltip');
    var cursor = svg && svg.querySelector('.cursor');
    if (!svg || !tip) return;
    var hits = svg.querySelectorAll('.hits rect');
    var current = -1;

    function line(cls, text) {
      var div = document.createElement('div');
      div.className = cls;
      div.textContent = text;
      tip.appendChild(div);
    }

    function show(i) {
      if (i < 0 || i >= hits.length) return;
      current = i;
      var r = hits[i];
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      line('tt-label', r.getAttribute('data-label'));
      line('tt-value', r.getAttribute('data-value'));
      if (r.getAttribute('data-prev-label')) {
        line('tt-prev', r.getAttribute('data-prev-label') + ': ' + (r.getAttribute('data-prev-value') || '–'));
      }
      tip.hidden = false;
      var cx = parseFloat(r.getAttribute('data-cx'));
      if (cursor) {
        cursor.setAttribute('x1', cx);
        cursor.setAttribute('x2', cx);
        cursor.classList.add('on');
      }
      var width = wrap.clientWidth;
      var px = cx / 720 * width;
      var left = Math.max(0, Math.min(px + 12, width - tip.offsetWidth));
      if (px + 12 + tip.offsetWidth > width) left = Math.max(0, px - 12 - tip.offsetWidth);
      tip.style.left = left + 'px';
    }

    function hide() {
      tip.hidden = true;
      current = -1;
      if (cursor) cursor.classList.remove('on');
    }

    Array.prototype.forEach.call(hits, function (r, i) {
      r.addEventListener('mouseenter', function () { show(i); });
      var title = r.querySelector('title');
      if (title) r.removeChild(title); // our tooltip replaces the browser's
      r.setAttribute('aria-hidden', 'true');
    });
    svg.addEventListener('mouseleave', hide);
    svg.addEventListener('blur', hide);
    svg.addEventListener('focus', function () { if (current < 0) show(hits.length - 1); });
    svg.addEventListener('keydown', function (e) {
      var next = current;
      if (e.key === 'ArrowRight') next = Math.min(hits.length - 1, current + 1);
      else if (e.key === 'ArrowLeft') next = Math.max(0, current - 1);
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = hits.length - 1;
      else if (e.key === 'Escape') { hide(); return; }
      else return;
      e.preventDefault();
      show(next);
    });
  }

  // The Headline check: its listed pages' channels and median times, which read raw
  // events, from .../headlines after the page; links and text set as properties only.
  function headlineDetails() {
    var panel = document.querySelector('[data-headlines]');
    if (!panel || !window.fetch) return;
    panel.setAttribute('aria-busy', 'true');
    fetch(panel.getAttribute('data-headlines'), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var trs = panel.querySelectorAll('tr[data-headline-row]');
        if (!body || !Array.isArray(body.rows) || body.rows.length !== trs.length) return;
        body.rows.forEach(function (row, i) {
          var channels = trs[i].querySelector('[data-headline-channels]');
          while (channels.firstChild) channels.removeChild(channels.firstChild);
          row.channels.forEach(function (ch, j) {
            if (j) channels.appendChild(document.createTextNode(' · '));
            var holder = channels;
            if (ch.link) {
              holder = document.createElement('a');
              holder.href = ch.link;
              channels.appendChild(holder);
            }
            var name = document.createElement('bdi');
            name.textContent = ch.label;
            holder.appendChild(name);
            holder.appendChild(document.createTextNode(' ' + ch.value));
          });
          trs[i].querySelector('[data-headline-time]').textContent = row.time;
        });
        var more = panel.querySelector('[data-headline-more]');
        if (more) more.hidden = true;
      })
      .catch(function () {})
      .then(function () { panel.removeAttribute('aria-busy'); });
  }

  function copyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (button) {
      button.addEventListener('click', function () {
        var source = document.getElementById(button.getAttribute('data-copy'));
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = 'Copied';
        }, function () {});
      });
    });
  }

  function guessTimezone() {
    var select = document.querySelector('select[data-guess-tz]');
    if (!select || select.value !== 'UTC' || !window.Intl) return;
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === tz) { select.value = tz; return; }
    }
  }

  function init() {
    realtime();
    live();
    Array.prototype.forEach.call(document.querySelectorAll('.chart-wrap'), function (wrap) {
      placeLabels(wrap);
      chart(wrap);
    });
    headlineDetails();
    copyButtons();
    guessTimezone();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
