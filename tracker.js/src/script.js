/*
 * The beacon: a cookieless tracker that speaks Plausible's Events API.
 * Budget: at most 1,000 bytes minified and gzip -9 (tests/test_beacon.py).
 *
 * This is the readable source. analytics/beacon.py minifies it once, at first
 * use, with calmjs.parse (ES5 parser, local names mangled) and serves the
 * result at /js/script.js and /js/script.v1.js. It is plain ES5 because that
 * is what the minifier parses; the few newer APIs it calls (fetch, closest,
 * Object.assign, URL) exist in every browser that has `fetch` with keepalive.
 *
 * Size is a feature (tests/test_beacon.py holds the budget). Local
 * names are mangled but property names and strings are not, so the code
 * leans on a few idioms, each explained where it is used:
 *   - one function, check(), drives pageviews, SPA navigation and engagement;
 *   - one loop wires every listener and both History API wrappers;
 *   - send(name, options) *is* window.plausible, so the public API, the queue
 *     replay and internal events share one code path.
 *
 * Configuration, on the <script> tag:
 *   data-domain     site domain as registered; a comma list sends one request
 *                   that counts for each site (the collector splits it)
 *   data-api        endpoint, e.g. a same-origin proxy path (default: the
 *                   script's own origin + /api/event)
 *   data-exclude    comma list of path patterns; `*` (and `**`) = any
 *                   characters, across segments too; a trailing / is optional
 *   data-hash       hash routing: the #fragment is part of the page
 *   data-webdriver  TEST ONLY: send even when navigator.webdriver is true
 *
 * Privacy: no cookie, no storage write, no request to any host but the API.
 * The only storage access is a read of the owner's opt-out flag,
 * localStorage.plausible_ignore === "true".
 */
(function (w, d, loc) {
  var script = d.currentScript,
    data = script.dataset,
    api = data.api || new URL('/api/event', script.src),
    hashMode = 'hash' in data,
    // data-exclude as one anchored regex. '' + undefined is the string
    // "undefined", which can never match a path (paths start with /).
    exclude = RegExp('^(' + ('' + data.exclude).replace(/\*+/g, '.*').replace(/ *, */g, '|') + ')/?$'),
    queue = w.plausible,
    // Per page: its path (the dedupe key for SPA navigation) and full URL,
    // which its engagement events report even after the URL has changed.
    path, url,
    // Engagement: engaged ms not yet sent, the time of the reader's last
    // action while the page was visible and focused (false otherwise), max
    // scroll depth %, and the page's word count (0 until measured). Nothing
    // engagement-related is sent before the first pageview sets `path`.
    engaged, since, depth, words, off;

  // Why nothing is sent at all: a local page (localhost, 127.*, any port, or
  // no host, i.e. file:), an automated browser without the test switch
  // (true > false: webdriver set and no data-webdriver), or the owner's
  // opt-out flag. Reading localStorage throws when storage is blocked: then
  // the flag counts as unset.
  try {
    off = /^(localhost|127\.|$)/.test(loc.host) ||
      navigator.webdriver > ('webdriver' in data) ||
      localStorage.plausible_ignore == 'true';
  } catch (e) {}

  // Send one event. This is window.plausible(name, options): the options
  // props, revenue and interactive go out under those names, which the Events
  // API accepts as well as p, $ and i; callback (a function) is left out by
  // JSON.stringify. Internal events pass short fields (u, sd, e, p) instead.
  function send(name, body, callback) {
    body = Object.assign({n: name, u: loc.href, d: data.domain, r: d.referrer, w: innerWidth, h: hashMode}, body);
    callback = body.callback;
    if (off || exclude.test(path)) return callback && callback();
    // keepalive lets the request outlive the page, so a link click navigates
    // at once. A string body is sent as text/plain: a simple request, no CORS
    // preflight. The callback gets the Response (its .status, as Plausible).
    // Every browser with keepalive fetch runs this script; older ones (no
    // fetch) get nothing, which saved the bytes the reading features needed.
    fetch(api, {method: 'POST', keepalive: 1, body: JSON.stringify(body)}).then(callback, callback);
  }

  // Runs on load, on every History API change, and on blur,
  // visibilitychange, popstate, scroll, keydown and pointermove. Leaving the
  // page needs no listener of its own: browsers fire visibilitychange
  // (hidden) before unloading.
  function check() {
    var p = loc.pathname + (hashMode ? loc.hash : ''),
      now = +new Date,
      // body, not documentElement: it measures the document in quirks mode too.
      x = (scrollY + innerHeight) * 100 / d.body.scrollHeight | 0;
    if (x > depth) depth = x;
    // Engaged time accrues only while the page is visible and focused, and
    // for at most 30 s (the idle window) after the reader's last action.
    // Every call is one (a scroll, key, pointer or touch move, a tab switch,
    // a navigation), so the time since the previous call counts up to 30 s:
    // a tab left open for an hour adds at most 30 s. x keeps the old `since`.
    engaged += (x = since) && Math.min(now - since, 3e4);
    since = !d.hidden && d.hasFocus() && now;
    // Report the page when the reader stops being engaged (hidden, blurred,
    // unloading: `since` just turned false) or navigates away. Only on that
    // change, so pointer moves over a blurred window send nothing.
    if ((p != path || x && !since) && path) {
      // wc: the page's length in words (the body's rendered text), counted
      // once per pageview, when its first report goes: an SPA has rendered
      // its route by then. Only the number leaves the browser.
      send('engagement', {u: url, sd: depth, e: engaged,
        wc: words = words || d.body.innerText.split(/\s+/).length});
      engaged = 0;
    }
    // A pageview when the path changed. Never while hidden, which also covers
    // prerendering (a prerendered page is hidden until it is activated, and
    // activation fires visibilitychange).
    if (!d.hidden && p != path) {
      path = p;
      url = loc.href;
      engaged = depth = words = 0;
      send('pageview');
    }
  }

  // Clicks (left, or middle via auxclick; ctrl/meta-clicks are clicks too) on
  // links and tagged elements. Never preventDefault: the keepalive request
  // survives the navigation it precedes. Tagged forms are skipped, so a click
  // into a form's fields never counts: tag the form's submit button instead.
  function act(event) {
    var el = event.target.closest('a,[class*=plausible-event-]:not(form)'), props = {}, name;
    // Buttons: 0 left, 1 middle; 2 is a right click (auxclick), not counted.
    if (el && event.button < 2) {
      // class="plausible-event-name=Sign+up plausible-event-plan=pro":
      // `+` stands for a space, as in Plausible.
      ('' + el.className).replace(/plausible-event-(.+?)=(\S+)/g, function (m, key, value) {
        value = value.replace(/\+/g, ' ');
        key == 'name' ? name = value : props[key] = value;
      });
      // A download is a link to a file: its path ends in an extension of 2-4
      // characters that is not a web page's (pdf, docx, xlsx, zip, mp4, ...).
      name = name || (/\.(?!html?$|php$)\w{2,4}$/.test(el.pathname)
        ? 'File Download'
        : el.host && el.host != loc.host && 'Outbound Link: Click');
      props.url = el.href; // undefined, so dropped, for elements other than links
      name && send(name, {p: props});
    }
  }

  // The first two names are History API methods to wrap (SPA navigation);
  // the rest are events: those before `click` drive check(), the last two
  // act(). popstate covers back/forward and, since fragment navigation fires
  // it too, hash routing. keydown and pointermove (mouse, pen and touch)
  // only mark the reader as active; a touch reader also scrolls.
  'pushState replaceState blur visibilitychange popstate scroll keydown pointermove click auxclick'.split(' ').map(function (name, i) {
    var original = history[name];
    i < 2
      ? history[name] = function () {
        original.apply(history, arguments);
        check();
      }
      : addEventListener(name, i > 7 ? act : check);
  });

  w.plausible = send;
  check();
  // Replay calls queued by the standard stub before this script loaded:
  // window.plausible = window.plausible || function () {
  //   (window.plausible.q = window.plausible.q || []).push(arguments) }
  queue && queue.q && queue.q.map(function (args) {
    send.apply(0, args);
  });
})(window, document, location);
