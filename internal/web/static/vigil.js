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
