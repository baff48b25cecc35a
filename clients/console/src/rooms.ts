// The rooms page: every room with its seats, members and pending requests, most recently
// changed first, filtered by id, updated live from the server's rooms feed.

import type { RoomSummary } from "../../typescript/src/index.js";
import { duration, h, render, stamp } from "./dom.js";
import { refusal, type Session } from "./session.js";

/** Shows the rooms page in `root`; returns what stops it. */
export function roomsPage(root: HTMLElement, session: Session): () => void {
  const filter = h("input", {
    id: "room-filter",
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "room id",
    "data-testid": "room-filter",
  });
  const count = h("p", { class: "muted", "aria-live": "polite", "data-testid": "room-count" });
  const body = h("tbody", { "data-testid": "rooms" });
  const error = h("p", { role: "alert", class: "error" });
  render(
    root,
    h(
      "section",
      { "aria-labelledby": "rooms-title" },
      h("div", { class: "page-head" }, h("h1", { id: "rooms-title" }, "Rooms"), count),
      h("div", { class: "field" }, h("label", { for: "room-filter" }, "Filter by room id"), filter),
      error,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "rooms" },
          h("caption", { class: "visually-hidden" }, "Rooms, most recently changed first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Room"),
              h("th", { scope: "col" }, "Seated"),
              h("th", { scope: "col" }, "Members"),
              h("th", { scope: "col" }, "Applications"),
              h("th", { scope: "col" }, "Invitations"),
              h("th", { scope: "col" }, "Mode"),
              h("th", { scope: "col" }, "Last change"),
            ),
          ),
          body,
        ),
      ),
    ),
  );

  let rooms: readonly RoomSummary[] = [];
  let loaded = false;
  const draw = (): void => {
    const q = filter.value.trim().toLowerCase();
    const shown = rooms.filter((r) => r.roomID.toLowerCase().includes(q));
    count.textContent = loaded
      ? `${rooms.length} ${rooms.length === 1 ? "room" : "rooms"}${q ? `, ${shown.length} shown` : ""}`
      : "Loading…";
    if (loaded && shown.length === 0) {
      const why =
        rooms.length === 0
          ? "No rooms yet. A room appears here when a client joins it or your backend creates it (POST /v1/admin/rooms)."
          : "No room matches the filter.";
      render(body, h("tr", {}, h("td", { colspan: 7, class: "muted" }, why)));
      return;
    }
    const now = Date.now();
    render(
      body,
      shown.map((r) =>
        h(
          "tr",
          { "data-testid": `room-${r.roomID}` },
          h("th", { scope: "row" }, h("a", { href: `#/room/${encodeURIComponent(r.roomID)}`, "data-key": `room-${r.roomID}` }, r.roomID)),
          h("td", {}, `${r.seated} / ${r.seatCount}`),
          h("td", {}, r.members),
          h("td", { class: r.applications > 0 ? "attention" : "" }, r.applications),
          h("td", {}, r.invitations),
          h("td", {}, r.seatMode === "freeToTake" ? "free to take" : "apply to take"),
          h(
            "td",
            r.lastChangeMs === null ? {} : { title: stamp(r.lastChangeMs) },
            r.lastChangeMs === null ? "—" : `${duration(now - r.lastChangeMs)} ago`,
          ),
        ),
      ),
    );
  };
  filter.addEventListener("input", draw);
  draw();

  let stopped = false;
  let off: (() => void) | null = null;
  session.rooms().then(
    (observer) => {
      if (stopped) return;
      loaded = true;
      rooms = observer.rooms.value;
      off = observer.rooms.subscribe((list) => {
        rooms = list;
        draw();
      });
      draw();
    },
    (e: unknown) => {
      loaded = true;
      error.textContent = `The rooms list is not available: ${refusal(e).describe()}`;
      draw();
    },
  );
  // "2 min ago" moves on by itself.
  const tick = setInterval(draw, 1000);
  return () => {
    stopped = true;
    off?.();
    clearInterval(tick);
  };
}
