// Building the page: a small element helper, focus kept across re-renders, and time formats.

/** What an element can hold: nodes, text, and nothing (skipped). */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes: strings and booleans become attributes, functions `on*` become listeners. */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element with attributes and children (text is always text, never HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/**
 * Replaces `el`'s content, keeping keyboard focus: the focused element inside it (identified
 * by its `data-key`) is focused again in the new content, so live updates never throw a
 * keyboard user out of a list.
 */
export function render(el: HTMLElement, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && el.contains(active) ? active.dataset.key : undefined;
  const frag = document.createDocumentFragment();
  append(frag, children);
  el.replaceChildren(frag);
  if (key !== undefined) {
    const again = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);
    again?.focus();
  }
}

/** A duration in words: `4 s`, `2 min 5 s`, `3 h 10 min`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  return m % 60 === 0 ? `${hours} h` : `${hours} h ${m % 60} min`;
}

/** A time of day, `14:03:27`. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

/** A date and time for a tooltip. */
export function stamp(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { hour12: false });
}

/** A user's initials for an avatar placeholder. */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter((p) => p.length > 0);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0] ?? "?"];
  return letters
    .map((p) => (p ?? "").charAt(0))
    .join("")
    .toUpperCase();
}

/** An avatar: the image, or the initials when there is none (or it fails to load). */
export function avatar(name: string, url: string): HTMLElement {
  const box = h("span", { class: "avatar", "aria-hidden": "true" }, initials(name));
  if (url !== "") {
    const img = h("img", { src: url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.remove());
    box.appendChild(img);
  }
  return box;
}
