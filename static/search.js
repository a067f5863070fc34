// Search page: Pagefind's JavaScript API behind a plain form (no third-party requests).
// Reads the form's state from the URL, so a submitted form and a shared link both work.
const form = document.querySelector("form.search-form");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const input = document.getElementById("search-q");
const sortSelect = document.getElementById("search-sort");
const filterSelects = [...form.querySelectorAll("select[data-filter]")];
const PAGE = 20;
const pageDirection = document.documentElement.dir === "rtl" ? "rtl" : "ltr";
const pageLanguage = document.documentElement.lang || undefined;
const RIGHT_TO_LEFT = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]|\ud802[\udc00-\udfff]|\ud83a[\udd00-\udd5f]/;

// A name written against the page's direction, between FIRST STRONG ISOLATE and POP DIRECTIONAL
// ISOLATE: an <option> takes no markup, and "غزة (2)" showed as "(2) غزة" on a left-to-right page.
function isolated(text) {
  return RIGHT_TO_LEFT.test(text) !== (pageDirection === "rtl") && /\p{L}/u.test(text) ? `\u2068${text}\u2069` : text;
}

// The page's words (the site's labels, digest/labels.py); these English ones stand in for a
// site template without them.
const MESSAGES = {
  prompt: "Type a word, or choose a topic, source or month.",
  searching: "Searching…",
  none: "No stories found.",
  one: "{n} story found.",
  other: "{n} stories found.",
  more: "{n} stories found, the first {shown} shown.",
  unavailable: "The search index is not available on this copy of the site.",
};
let given = {};
try {
  given = JSON.parse(form.dataset.messages || "{}");
} catch (error) {
  given = {};
}

// A message with its {n} and {shown} put in (plain replacement, one pass).
function message(name, values = {}) {
  const text = typeof given[name] === "string" ? given[name] : MESSAGES[name];
  return text.replace(/\{([a-z]+)\}/g, (whole, key) => (Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole));
}

document.getElementById("search-nojs").hidden = true;

function say(text) {
  status.textContent = text;
}

// Copy Pagefind's excerpt (escaped text with <mark>) as text nodes and <mark> elements only.
function excerptNode(html) {
  const out = document.createElement("p");
  out.dir = "auto";
  const doc = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      out.append(mark);
    } else {
      out.append(document.createTextNode(node.textContent));
    }
  }
  return out;
}

function resultItem(data) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = data.url;
  link.dir = "auto";
  link.textContent = (data.meta && data.meta.title) || data.url;
  heading.append(link);
  item.append(heading);
  if (data.meta && data.meta.date) {
    const time = document.createElement("time");
    time.dateTime = data.meta.date;
    time.textContent = data.meta.date.slice(0, 10);
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.append(time);
    item.append(meta);
  }
  item.append(excerptNode(data.excerpt || ""));
  return item;
}

function fillFilters(filters, params) {
  for (const select of filterSelects) {
    const values = Object.keys(filters[select.dataset.filter] || {});
    values.sort((a, b) => (select.dataset.filter === "month" ? b.localeCompare(a) : a.localeCompare(b, pageLanguage)));
    for (const value of values) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = `${isolated(value)} (${filters[select.dataset.filter][value]})`;
      select.append(option);
    }
    select.value = params.get(select.name) || "";
  }
}

let pagefind = null;
let generation = 0;

async function run() {
  const mine = ++generation;
  const query = input.value.trim();
  const filters = {};
  for (const select of filterSelects) {
    if (select.value) filters[select.dataset.filter] = select.value;
  }
  const options = { filters };
  if (sortSelect.value === "newest") options.sort = { date: "desc" };
  if (sortSelect.value === "oldest") options.sort = { date: "asc" };
  if (!query && !Object.keys(filters).length) {
    list.replaceChildren();
    say(message("prompt"));
    return;
  }
  say(message("searching"));
  const search = await pagefind.search(query || null, options);
  if (mine !== generation || !search) return;
  const shown = await Promise.all(search.results.slice(0, PAGE).map((r) => r.data()));
  if (mine !== generation) return;
  list.replaceChildren(...shown.map(resultItem));
  const total = search.results.length;
  say(message(total === 0 ? "none" : total === 1 ? "one" : total > PAGE ? "more" : "other", { n: total, shown: PAGE }));
}

function remember() {
  const params = new URLSearchParams();
  if (input.value.trim()) params.set("q", input.value.trim());
  for (const select of [...filterSelects, sortSelect]) {
    if (select.value) params.set(select.name, select.value);
  }
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

async function start() {
  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  sortSelect.value = params.get("sort") || "";
  try {
    pagefind = await import(`${form.dataset.bundle}pagefind.js`);
    await pagefind.options({ baseUrl: form.dataset.base });
    await pagefind.init();
    fillFilters(await pagefind.filters(), params);
  } catch (error) {
    say(message("unavailable"));
    return;
  }
  let timer = null;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { remember(); run(); }, 150);
  };
  input.addEventListener("input", later);
  for (const select of [...filterSelects, sortSelect]) select.addEventListener("change", later);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    remember();
    run();
  });
  run();
}

start();
