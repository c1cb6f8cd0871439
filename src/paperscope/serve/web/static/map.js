// The /map page: the papers' 2-D layout drawn with deck.gl (static/vendor/deckgl), loaded a
// viewport at a time from /api/v1/map, topic labels from /api/v1/map/labels, and highlights
// (a search through /api/v1/search, the reader's library, today's feed) from
// /api/v1/map/points. Clicking a point opens the paper. See docs/map.md.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.deck) return;
  var deck = window.deck;
  var status = document.getElementById("map-status");
  var hits = document.getElementById("map-hits");

  // world units of the unit square: deck's orthographic zoom 0 is one unit per pixel
  var SIZE = 1024;
  // tile zoom = log2(1 / visible share of the map) + DETAIL: ~16 x 16 tiles in view, at most
  // 256 points each, so one request returns at most ~65k points
  var DETAIL = 4;
  var MAX_LOADED = 200000;
  var PALETTE = [
    [31, 119, 180], [44, 160, 44], [148, 103, 189], [140, 86, 75], [227, 119, 194],
    [23, 190, 207], [188, 189, 34], [127, 127, 127], [57, 59, 121], [99, 121, 57],
    [140, 109, 49], [132, 60, 57]
  ];
  var NO_TOPIC = [90, 110, 150];
  var SETS = {
    search: { color: [230, 85, 13], label: "search results" },
    library: { color: [0, 150, 60], label: "your library" },
    today: { color: [200, 30, 140], label: "today's feed" }
  };

  var loaded = new Map(); // id -> point
  var points = [];
  var labels = [];
  var shownLabels = []; // the labels drawn at the current zoom: none overlaps another
  var labelZoom = null;
  var LABEL_FONT = "system-ui, sans-serif";
  var LABEL_SIZE = 13;
  var measure = document.createElement("canvas").getContext("2d");
  if (measure) measure.font = LABEL_SIZE + "px " + LABEL_FONT;
  var highlighted = { search: [], library: [], today: [] };
  var pending = null;
  var builtAt = null; // the build the loaded points are of
  var labelsAt = null; // the builds the labels are of
  var labelsNo = 0;
  var highlightUrls = {}; // set name -> the requests that made it, asked again after a rebuild
  var lastKey = "";
  var requestNo = 0;

  function say(text) {
    if (status) status.textContent = text;
  }

  function colorOf(p) {
    return p.t === null || p.t === undefined ? NO_TOPIC : PALETTE[p.t % PALETTE.length];
  }

  function highlightPoints() {
    var out = [];
    Object.keys(highlighted).forEach(function (name) {
      highlighted[name].forEach(function (p) {
        out.push({ id: p.id, x: p.x, y: p.y, t: p.t, set: name });
      });
    });
    return out;
  }

  function layers() {
    var marked = highlightPoints();
    return [
      new deck.ScatterplotLayer({
        id: "papers",
        data: points,
        getPosition: function (p) { return [p.x * SIZE, p.y * SIZE]; },
        getFillColor: colorOf,
        opacity: 0.75,
        radiusUnits: "pixels",
        getRadius: 2.2,
        radiusMinPixels: 1.5,
        pickable: true,
        autoHighlight: true,
        highlightColor: [255, 200, 0, 255]
      }),
      new deck.ScatterplotLayer({
        id: "highlights",
        data: marked,
        getPosition: function (p) { return [p.x * SIZE, p.y * SIZE]; },
        getFillColor: function (p) { return SETS[p.set].color; },
        getLineColor: [255, 255, 255],
        stroked: true,
        lineWidthUnits: "pixels",
        getLineWidth: 1,
        radiusUnits: "pixels",
        getRadius: 5,
        pickable: true
      }),
      new deck.TextLayer({
        id: "topics",
        data: shownLabels,
        getPosition: function (t) { return [t.x * SIZE, t.y * SIZE]; },
        getText: function (t) { return t.label; },
        characterSet: "auto",
        getSize: LABEL_SIZE,
        getColor: [20, 20, 40],
        background: true,
        getBackgroundColor: [255, 255, 255, 210],
        backgroundPadding: [3, 1],
        fontFamily: LABEL_FONT
      })
    ];
  }

  // Labels, largest topic first, each drawn only where it overlaps no label already placed
  // (boxes in screen pixels, as the TextLayer draws them: centred, padded). Overlap depends
  // on the zoom alone, so the choice is made again when the zoom changes.
  function labelBox(vp, t) {
    var xy = vp.project([t.x * SIZE, t.y * SIZE]);
    var w = (measure ? measure.measureText(t.label).width : t.label.length * 7) + 8;
    var h = LABEL_SIZE + 6;
    return [xy[0] - w / 2, xy[1] - h / 2, xy[0] + w / 2, xy[1] + h / 2];
  }

  function placeLabels(vp) {
    var placed = [];
    var boxes = [];
    labels.slice().sort(function (a, b) { return b.size - a.size; }).forEach(function (t) {
      var box = labelBox(vp, t);
      var free = boxes.every(function (o) {
        return box[2] <= o[0] || box[0] >= o[2] || box[3] <= o[1] || box[1] >= o[3];
      });
      if (free) {
        placed.push(t);
        boxes.push(box);
      }
    });
    return placed;
  }

  function updateLabels() {
    if (!view) return; // a first frame drawn while the Deck is being made
    var viewports = view.getViewports();
    if (!viewports.length) return;
    var z = Math.round(viewports[0].zoom * 16) / 16;
    if (z === labelZoom) return;
    labelZoom = z;
    shownLabels = placeLabels(viewports[0]);
    el.dataset.labels = String(shownLabels.length);
    redraw();
  }

  function redraw() {
    view.setProps({ layers: layers() });
    el.dataset.highlighted = String(highlightPoints().length);
  }

  function initialZoom() {
    var side = Math.max(100, Math.min(el.clientWidth, el.clientHeight));
    return Math.log2((side / SIZE) * 0.95);
  }

  // A hovered point shows its paper's title. Tiles carry ids only, so a title is asked for
  // once the pointer rests on a point, and kept (a highlight's list brings its titles too).
  var titles = new Map();
  var tip = document.createElement("div");
  tip.className = "map-tip";
  tip.id = "map-tip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  el.appendChild(tip);
  var hovered = null;
  var tipTimer = null;

  function showTip(info) {
    var id = info && info.object && info.object.id;
    clearTimeout(tipTimer);
    hovered = id || null;
    if (!id) {
      tip.hidden = true;
      return;
    }
    tip.style.left = Math.min(info.x + 12, Math.max(0, el.clientWidth - 240)) + "px";
    tip.style.top = info.y + 14 + "px";
    tip.textContent = titles.get(id) || "…";
    tip.hidden = false;
    if (titles.has(id)) return;
    tipTimer = setTimeout(function () {
      getJSON("/api/v1/paper/" + encodeURIComponent(id))
        .then(function (paper) { titles.set(id, paper.title || id); })
        .catch(function () { titles.set(id, id); })
        .then(function () { if (hovered === id) tip.textContent = titles.get(id); });
    }, 120);
  }

  var view = new deck.Deck({
    parent: el,
    views: new deck.OrthographicView({ id: "map", flipY: true }),
    initialViewState: {
      target: [SIZE / 2, SIZE / 2, 0],
      zoom: initialZoom(),
      minZoom: initialZoom() - 1,
      maxZoom: 14
    },
    controller: { doubleClickZoom: true, inertia: true },
    layers: [],
    getCursor: function (s) { return s.isHovering ? "pointer" : "grab"; },
    onHover: function (info) { showTip(info); },
    onViewStateChange: function () { schedule(); },
    onAfterRender: function () {
      el.dataset.drawn = String(points.length);
      updateLabels();
    },
    onClick: function (info) {
      if (info && info.object && info.object.id) {
        window.location.assign("/paper/" + encodeURIComponent(info.object.id));
      }
    }
  });

  // the canvas takes the keys (arrows pan, + and - zoom) once focused: name it and point to
  // the instructions, for a screen reader as for the eye
  var canvas = el.querySelector("canvas");
  if (canvas) {
    canvas.setAttribute("role", "application");
    canvas.setAttribute("aria-roledescription", "map");
    canvas.setAttribute("aria-label", el.dataset.label || "Map of the papers");
    canvas.setAttribute("aria-describedby", "map-keys");
  }

  function visibleBox() {
    var viewports = view.getViewports();
    if (!viewports.length) return null;
    var b = viewports[0].getBounds();
    var clamp = function (v) { return Math.min(1, Math.max(0, v / SIZE)); };
    var box = [clamp(b[0]), clamp(b[1]), clamp(b[2]), clamp(b[3])];
    var share = Math.max(box[2] - box[0], box[3] - box[1], 1e-6);
    var zoom = Math.max(0, Math.min(24, Math.floor(Math.log2(1 / share)) + DETAIL));
    return { box: box, zoom: zoom };
  }

  function schedule() {
    if (pending) clearTimeout(pending);
    pending = setTimeout(load, 150);
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.ok) return r.json();
        // the API's error says what was wrong: show it rather than the bare status
        return r.json().then(function (body) {
          var e = body && body.error;
          throw new Error(e && e.message ? e.message : "HTTP " + r.status);
        }, function () { throw new Error("HTTP " + r.status); });
      });
  }

  // /api/v1/map/points takes at most 100 ids and 1,900 characters a request: a page of 100
  // results named by DOIs is longer, so the ids go in as many requests as they need
  var IDS_PER_REQUEST = 100;
  var CHARS_PER_REQUEST = 1800;

  function pointUrls(ids) {
    var urls = [];
    var part = [];
    var length = 0;
    ids.forEach(function (id) {
      if (part.length && (part.length >= IDS_PER_REQUEST ||
                          length + id.length + 1 > CHARS_PER_REQUEST)) {
        urls.push("/api/v1/map/points?ids=" + encodeURIComponent(part.join(",")));
        part = [];
        length = 0;
      }
      part.push(id);
      length += id.length + 1;
    });
    if (part.length) urls.push("/api/v1/map/points?ids=" + encodeURIComponent(part.join(",")));
    return urls;
  }

  function columns(data) {
    var out = [];
    for (var i = 0; i < data.ids.length; i++) {
      out.push({ id: data.ids[i], x: data.x[i], y: data.y[i], t: data.topic[i] });
    }
    return out;
  }

  function load() {
    pending = null;
    var v = visibleBox();
    if (!v) return;
    var box = v.box.map(function (n) { return n.toFixed(5); }).join(",");
    var key = box + "@" + v.zoom;
    if (key === lastKey) return;
    lastKey = key;
    var mine = ++requestNo;
    getJSON("/api/v1/map?bbox=" + box + "&zoom=" + v.zoom)
      .then(function (data) {
        if (mine !== requestNo) return;
        var fresh = columns(data);
        // a map rebuild, or a topics rebuild under the same layout (new labels and colours)
        var stamp = (data.built_at || "") + " " + (data.topics_built_at || "");
        var rebuilt = builtAt !== null && data.built_at && stamp !== builtAt;
        builtAt = data.built_at ? stamp : builtAt;
        if (rebuilt) {
          // `map rebuild` ran while the page was open: the points loaded so far, the labels
          // and the highlights are of the old layout
          loaded = new Map();
          loadLabels();
          Object.keys(highlightUrls).forEach(function (name) {
            if (highlighted[name].length) showSet(name, highlightUrls[name]);
          });
        } else if (data.built_at && labelsAt !== null && stamp !== labelsAt) {
          // the labels came before a rebuild and these first points after it
          loadLabels();
        }
        if (loaded.size + fresh.length > MAX_LOADED) loaded = new Map();
        fresh.forEach(function (p) { loaded.set(p.id, p); });
        points = Array.from(loaded.values());
        redraw();
        say(points.length + " of " + el.dataset.points + " papers shown" +
            (data.complete ? "" : "; zoom in for more"));
      })
      .catch(function (err) { say("Could not load the map: " + err.message); });
  }

  function listHits(items) {
    if (!hits) return;
    hits.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/paper/" + encodeURIComponent(item.id);
      a.textContent = item.title || item.id;
      if (item.title) titles.set(item.id, item.title);
      li.appendChild(a);
      hits.appendChild(li);
    });
  }

  function showSet(name, urls) {
    highlightUrls[name] = urls;
    return Promise.all(urls.map(getJSON)).then(function (parts) {
      highlighted[name] = [].concat.apply([], parts.map(columns));
      redraw();
      return highlighted[name].length;
    });
  }

  var form = document.getElementById("map-search");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = document.getElementById("map-q").value.trim();
      if (!q) {
        highlighted.search = [];
        listHits([]);
        redraw();
        return;
      }
      say("Searching…");
      getJSON("/api/v1/search?limit=100&q=" + encodeURIComponent(q))
        .then(function (data) {
          var results = data.results || [];
          listHits(results);
          var ids = results.map(function (r) { return r.id; });
          if (!ids.length) {
            highlighted.search = [];
            redraw();
            say("No papers match " + q);
            return null;
          }
          return showSet("search", pointUrls(ids)).then(function (n) {
            say(n + " of " + results.length + (results.length === 1 ? " result" : " results") +
                " for " + q + " on the map");
          });
        })
        .catch(function (err) { say("Search failed: " + err.message); });
    });
  }

  [["library", "map-library"], ["today", "map-today"]].forEach(function (pair) {
    var box = document.getElementById(pair[1]);
    if (!box) return;
    box.addEventListener("change", function () {
      if (!box.checked) {
        highlighted[pair[0]] = [];
        redraw();
        return;
      }
      showSet(pair[0], ["/api/v1/map/points?set=" + pair[0]])
        .then(function (n) {
          say(n + (n === 1 ? " paper of " : " papers of ") + SETS[pair[0]].label + " on the map");
        })
        .catch(function (err) { say("Could not load " + SETS[pair[0]].label + ": " + err.message); });
    });
  });

  function loadLabels() {
    var mine = ++labelsNo;
    getJSON("/api/v1/map/labels")
      .then(function (data) {
        if (mine !== labelsNo) return; // a later request is of a newer build
        labelsAt = (data.built_at || "") + " " + (data.topics_built_at || "");
        labels = data.topics || [];
        labelZoom = null;
        updateLabels();
      })
      .catch(function () { /* a map without labels still works */ });
  }
  loadLabels();

  // for tests and scripts: where a paper's point is on the page, in CSS pixels; the topic
  // labels drawn, with their page position
  window.paperscopeMap = {
    ids: function () { return Array.from(loaded.keys()); },
    labels: function () {
      var viewports = view.getViewports();
      if (!viewports.length) return [];
      var rect = el.getBoundingClientRect();
      return shownLabels.map(function (t) {
        var xy = viewports[0].project([t.x * SIZE, t.y * SIZE]);
        return { id: t.id, label: t.label, x: rect.left + xy[0], y: rect.top + xy[1] };
      });
    },
    screenPosition: function (id) {
      var p = loaded.get(id);
      if (!p) {
        Object.keys(highlighted).forEach(function (name) {
          highlighted[name].forEach(function (h) { if (h.id === id) p = h; });
        });
      }
      var viewports = view.getViewports();
      if (!p || !viewports.length) return null;
      var xy = viewports[0].project([p.x * SIZE, p.y * SIZE]);
      var rect = el.getBoundingClientRect();
      return [rect.left + xy[0], rect.top + xy[1]];
    }
  };

  schedule();
})();
