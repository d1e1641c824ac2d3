/**
 * Building the page as DOM nodes: every string goes in as a text node or an
 * attribute value, never as HTML, so a dataset, view or function name (chosen
 * by users) cannot inject markup. The pages call these on every render.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
export type Attrs = Readonly<Record<string, string | number | boolean | undefined | ((ev: Event) => void)>>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

/**
 * Event handlers ride on the element as a property, not as listeners: a
 * redraw (morphChildren) keeps the elements on the page and hands them the
 * new render's handlers, so a click always acts on the latest data; one
 * listener on the document dispatches to them.
 */
const HANDLERS = Symbol('handlers');
type WithHandlers = Node & { [HANDLERS]?: Readonly<Record<string, (ev: Event) => void>> };

function setAttrs(el: Element, attrs: Attrs): void {
  const handlers: Record<string, (ev: Event) => void> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') handlers[k.replace(/^on/, '')] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  if (Object.keys(handlers).length > 0) (el as WithHandlers)[HANDLERS] = handlers;
}

function dispatch(ev: Event): void {
  for (let n = ev.target as Node | null; n !== null; n = n.parentNode) {
    const handler = (n as WithHandlers)[HANDLERS]?.[ev.type];
    if (handler !== undefined) {
      handler(ev);
      return;
    }
  }
}

document.addEventListener('click', dispatch);

/**
 * Makes `target`'s children look like `next`'s, keeping every node that is
 * the same element in the same place (only attributes and text change): a
 * live update then leaves the page as the user holds it (a button under the
 * pointer, a selection, the scroll), rather than swapping every node each
 * second. `next` is consumed.
 */
export function morphChildren(target: Node, next: Node): void {
  const old = [...target.childNodes];
  const now = [...next.childNodes];
  now.forEach((n, i) => {
    const o = old[i];
    if (o === undefined) target.appendChild(n);
    else morphNode(o, n);
  });
  for (const o of old.slice(now.length)) target.removeChild(o);
}

function morphNode(o: Node, n: Node): void {
  if (o.nodeType !== n.nodeType || o.nodeName !== n.nodeName) {
    o.parentNode?.replaceChild(n, o);
    return;
  }
  if (!(o instanceof Element) || !(n instanceof Element)) {
    if (o.nodeValue !== n.nodeValue) o.nodeValue = n.nodeValue;
    return;
  }
  for (const a of [...o.attributes]) if (!n.hasAttribute(a.name)) o.removeAttribute(a.name);
  for (const a of [...n.attributes]) {
    if (o.getAttribute(a.name) === a.value) continue;
    // Styles through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    if (a.name === 'style' && o instanceof HTMLElement && n instanceof HTMLElement) o.style.cssText = n.style.cssText;
    else o.setAttribute(a.name, a.value);
  }
  const handlers = (n as WithHandlers)[HANDLERS];
  if (handlers === undefined) delete (o as WithHandlers)[HANDLERS];
  else (o as WithHandlers)[HANDLERS] = handlers;
  morphChildren(o, n);
}

/** An HTML element: h('a', { href }, 'text', child...). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element: s('rect', { x, y, width, height }). */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A link inside the console (plain navigation: each page load opens its own stream). */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href }, ...children);
}

/** A table with a header row; `rows` empty shows `empty` in one cell. */
export function table(headers: readonly string[], rows: readonly (readonly Child[])[], empty = 'none', attrs: Attrs = {}): HTMLTableElement {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, empty))
      : rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

/** A state as a coloured badge (class `state-<STATE>` in app.css). */
export function badge(state: string, text = state): HTMLSpanElement {
  return h('span', { class: `badge state-${state.replace(/[^A-Za-z_-]/g, '')}` }, text);
}

/** A progress bar with its percentage written on it. */
export function progressBar(fraction: number, label: string, state = 'RUNNING'): HTMLDivElement {
  const pct = Math.max(0, Math.min(1, fraction)) * 100;
  const fill = h('div', { class: `progress-fill state-${state.replace(/[^A-Za-z_-]/g, '')}` });
  // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
  fill.style.width = `${pct.toFixed(1)}%`;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': Math.round(pct), 'aria-valuemin': 0, 'aria-valuemax': 100 },
    fill, h('span', { class: 'progress-label' }, label));
}

/** Label/value pairs, as a definition list. */
export function facts(pairs: readonly (readonly [string, Child])[]): HTMLDListElement {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A titled section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}
