// Vigil – a little progressive enhancement. Every page works without it.
(function () {
  'use strict';

  // Organisation tree: opening a level that the server did not render
  // fetches it (the same template, as an HTML fragment) instead of
  // following the "Show the N organisations" link.
  document.addEventListener('toggle', function (e) {
    var d = e.target;
    if (!d || d.tagName !== 'DETAILS' || !d.open || !d.dataset.load || d.dataset.loaded) {
      return;
    }
    d.dataset.loaded = 'loading';
    var body = d.querySelector('.node-body');
    var more = body && body.querySelector('.node-more');
    if (!more) {
      return;
    }
    var link = more.querySelector('a');
    var fallback = link ? link.href : null;
    body.setAttribute('aria-busy', 'true');
    more.textContent = 'Loading…';
    fetch(d.dataset.load, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (res) {
        // A redirect means the session ended: let the full page handle it.
        if (!res.ok || res.redirected) { throw new Error('status ' + res.status); }
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var list = doc.querySelector('ul.tree');
        if (!list) { throw new Error('no tree in reply'); }
        body.replaceChild(document.importNode(list, true), more);
        body.removeAttribute('aria-busy');
        d.dataset.loaded = 'yes';
      })
      .catch(function () {
        if (fallback) { window.location.href = fallback; }
      });
  }, true);

  // Copy buttons for one-time secrets: shown only when copying can work.
  function setupCopy() {
    var buttons = document.querySelectorAll('.js-copy');
    Array.prototype.forEach.call(buttons, function (b) {
      var input = document.getElementById(b.dataset.copy);
      if (!input || !navigator.clipboard) { return; }
      b.hidden = false;
      b.addEventListener('click', function () {
        navigator.clipboard.writeText(input.value).then(function () {
          var s = document.getElementById('copy-status');
          b.textContent = 'Copied';
          if (s) { s.textContent = 'Token copied to the clipboard.'; }
        }, function () {
          input.select();
        });
      });
    });
    // Selecting the whole secret on focus makes manual copying easy too.
    Array.prototype.forEach.call(document.querySelectorAll('input[readonly]'), function (i) {
      i.addEventListener('focus', function () { i.select(); });
    });
  }

  // Forms that change access ask first.
  document.addEventListener('submit', function (e) {
    var msg = e.target && e.target.dataset ? e.target.dataset.confirm : '';
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });

  // Move focus to the error summary, so screen readers announce the problem.
  function focusErrors() {
    var s = document.querySelector('.error-summary');
    if (s) { s.focus(); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { setupCopy(); focusErrors(); });
  } else {
    setupCopy();
    focusErrors();
  }
})();

// The account menu closes with Escape (focus returns to its button) and
// when the pointer goes elsewhere, like any menu.
(function () {
  'use strict';
  function menus() { return document.querySelectorAll('details.user-menu[open]'); }
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') { return; }
    Array.prototype.forEach.call(menus(), function (d) {
      d.open = false;
      var s = d.querySelector('summary');
      if (s) { s.focus(); }
    });
  });
  document.addEventListener('click', function (e) {
    Array.prototype.forEach.call(menus(), function (d) {
      if (!d.contains(e.target)) { d.open = false; }
    });
  });
})();

// Dependency graph: hovering or focusing a box highlights it, its links
// and its neighbours, and fades the rest. The picture is an inline SVG
// whose boxes are links, so it works without this (and by keyboard).
(function () {
  'use strict';
  function clear(g) {
    g.classList.remove('vz-focus');
    Array.prototype.forEach.call(g.querySelectorAll('.vz-hl'), function (el) { el.classList.remove('vz-hl'); });
  }
  function highlight(g, node) {
    clear(g);
    var id = node.getAttribute('data-node');
    if (!id) { return; }
    g.classList.add('vz-focus');
    node.classList.add('vz-hl');
    Array.prototype.forEach.call(g.querySelectorAll('.vz-edge'), function (e) {
      var from = e.getAttribute('data-from'), to = e.getAttribute('data-to'), other = null;
      if (from === id) { other = to; } else if (to === id) { other = from; }
      if (other === null) { return; }
      e.classList.add('vz-hl');
      Array.prototype.forEach.call(g.querySelectorAll('.vz-node'), function (n) {
        if (n.getAttribute('data-node') === other) { n.classList.add('vz-hl'); }
      });
    });
  }
  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-graph]'), function (g) {
      var on = function (e) {
        var n = e.target.closest ? e.target.closest('.vz-node') : null;
        if (n && g.contains(n)) { highlight(g, n); }
      };
      g.addEventListener('mouseover', on);
      g.addEventListener('focusin', on);
      g.addEventListener('mouseleave', function () { clear(g); });
      g.addEventListener('focusout', function (e) {
        if (!e.relatedTarget || !g.contains(e.relatedTarget)) { clear(g); }
      });
      g.addEventListener('keydown', function (e) {
        if (e.key === 'Escape') { clear(g); }
      });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();

// Data tables. A <table class="data-table"> is a plain, readable table;
// with this script each column heading with a name becomes a button that
// sorts the rows by that column (again: the other way), with aria-sort on
// the heading saying how. Cells with data-sort (a raw number: a count, a
// Unix time) sort numerically, cells without a number before those with
// one; other columns sort their text with localeCompare (British English,
// numbers within text in numeric order). A table of five rows or more gets
// a filter box above it that hides the rows not containing what is typed,
// and a live count of what is shown ("12 of 40 rows").
(function () {
  'use strict';
  var serial = 0;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function rowsWord(n) { return n.toLocaleString('en-GB') + (n === 1 ? ' row' : ' rows'); }

  function sortValue(cell, numeric) {
    if (!cell) { return numeric ? -Infinity : ''; }
    if (numeric) {
      var raw = cell.getAttribute('data-sort');
      var n = raw === null || raw === '' ? NaN : Number(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return (cell.getAttribute('data-sort') || cell.textContent).replace(/\s+/g, ' ').trim();
  }

  function sortBy(table, th, col) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.some(function (r) {
      var c = r.cells[col];
      return c && c.hasAttribute('data-sort') && c.getAttribute('data-sort') !== '' && !isNaN(Number(c.getAttribute('data-sort')));
    });
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    var sign = dir === 'ascending' ? 1 : -1;
    var keyed = rows.map(function (r, i) { return { row: r, key: sortValue(r.cells[col], numeric), i: i }; });
    keyed.sort(function (a, b) {
      var d;
      if (numeric) {
        d = a.key === b.key ? 0 : (a.key < b.key ? -1 : 1);
      } else {
        d = a.key.localeCompare(b.key, 'en-GB', { numeric: true, sensitivity: 'base' });
      }
      return d * sign || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k.row); });
    body.appendChild(frag);
    each(table.tHead.rows[0].cells, function (h) {
      if (h !== th) { h.removeAttribute('aria-sort'); }
    });
    th.setAttribute('aria-sort', dir);
  }

  function filterRows(table, input, count) {
    var q = input.value.replace(/\s+/g, ' ').trim().toLocaleLowerCase('en-GB');
    var rows = table.tBodies[0].rows;
    var shown = 0;
    each(rows, function (r) {
      var hit = q === '' || r.textContent.replace(/\s+/g, ' ').toLocaleLowerCase('en-GB').indexOf(q) !== -1;
      r.hidden = !hit;
      if (hit) { shown++; }
    });
    count.textContent = q === '' ? rowsWord(rows.length) : shown.toLocaleString('en-GB') + ' of ' + rowsWord(rows.length);
  }

  function enhance(table) {
    var head = table.tHead, body = table.tBodies[0];
    if (!head || !head.rows.length || !body || table.getAttribute('data-enhanced')) { return; }
    table.setAttribute('data-enhanced', 'yes');
    table.classList.add('is-enhanced');
    var n = body.rows.length;
    if (n > 1) {
      table.classList.add('is-sortable');
      each(head.rows[0].cells, function (th) {
        // A heading only screen readers hear (an actions column) does not sort.
        var visible = th.cloneNode(true);
        each(visible.querySelectorAll('.visually-hidden'), function (v) { v.remove(); });
        if (visible.textContent.trim() === '') { return; }
        var col = th.cellIndex;
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'sort-button';
        while (th.firstChild) { b.appendChild(th.firstChild); }
        th.appendChild(b);
        th.classList.add('sortable');
        b.addEventListener('click', function () { sortBy(table, th, col); });
      });
    }
    if (n < 5) { return; }
    serial++;
    var id = 'table-filter-' + serial;
    var tools = document.createElement('div');
    tools.className = 'table-tools';
    var label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = 'Filter rows';
    var input = document.createElement('input');
    input.type = 'search';
    input.id = id;
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.setAttribute('aria-describedby', id + '-count');
    var count = document.createElement('p');
    count.className = 'table-count';
    count.id = id + '-count';
    count.setAttribute('aria-live', 'polite');
    count.textContent = rowsWord(n);
    tools.appendChild(label);
    tools.appendChild(input);
    tools.appendChild(count);
    var wrap = table.parentNode.classList.contains('table-wrap') ? table.parentNode : table;
    wrap.parentNode.insertBefore(tools, wrap);
    input.addEventListener('input', function () { filterRows(table, input, count); });
  }

  function setup() { each(document.querySelectorAll('table.data-table'), enhance); }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();

// The navigation on a phone: folded behind a Menu button (aria-expanded
// says which) that Enter, Space or a tap opens and Escape closes. Without
// this script the button stays hidden and the navigation is a bar of links
// under the header, so it is reachable either way.
(function () {
  'use strict';
  function setup() {
    var button = document.querySelector('.menu-button');
    var nav = button && document.getElementById(button.getAttribute('aria-controls'));
    if (!nav) { return; }
    var set = function (open) {
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      nav.classList.toggle('is-open', open);
    };
    button.hidden = false;
    document.body.classList.add('nav-collapsible');
    set(false);
    button.addEventListener('click', function () { set(button.getAttribute('aria-expanded') !== 'true'); });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && button.getAttribute('aria-expanded') === 'true') {
        set(false);
        button.focus();
      }
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();

// The inbox: a "select all" box in the tick-box column's heading ticks or
// clears every alert shown in that table (rows hidden by the filter box
// are left alone). Without the script each alert is ticked on its own.
(function () {
  'use strict';
  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll('table.table-alerts'), function (table) {
      var th = table.tHead && table.tHead.querySelector('th.select-col');
      if (!th) { return; }
      var all = document.createElement('input');
      all.type = 'checkbox';
      all.className = 'select-all';
      all.setAttribute('aria-label', 'Select every alert in this table');
      th.appendChild(all);
      var boxes = function () {
        return Array.prototype.filter.call(table.querySelectorAll('tbody input[name="ids"]'), function (b) {
          return !b.closest('tr').hidden;
        });
      };
      all.addEventListener('change', function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
      });
      table.addEventListener('change', function (e) {
        if (e.target === all) { return; }
        var bs = boxes();
        var n = bs.filter(function (b) { return b.checked; }).length;
        all.checked = n > 0 && n === bs.length;
        all.indeterminate = n > 0 && n < bs.length;
      });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setup);
  } else {
    setup();
  }
})();
