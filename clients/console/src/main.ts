// The console's entry point: sign-in, the header, and the routes (`#/rooms`, `#/room/{id}`).

import { h, render } from "./dom.js";
import { roomPage } from "./room.js";
import { roomsPage } from "./rooms.js";
import { Refusal, Session, refusal } from "./session.js";

const main = document.getElementById("main") as HTMLElement;
const header = document.getElementById("header") as HTMLElement;

let session: Session | null = null;
let stopPage: (() => void) | null = null;

/** Shows the sign-in form (with `problem`, when the last attempt was refused). */
function showSignIn(problem: string | null): void {
  stopPage?.();
  stopPage = null;
  render(header, h("span", { class: "brand" }, "coguest console"));
  const input = h("input", {
    id: "credential",
    name: "credential",
    type: "password",
    required: true,
    autocomplete: "current-password",
    spellcheck: "false",
    "aria-describedby": "credential-help",
    "data-testid": "credential",
  });
  const error = h("p", { role: "alert", class: "error", id: "signin-error", "data-testid": "signin-error" }, problem ?? "");
  const button = h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("div", { class: "field" }, h("label", { for: "credential" }, "API key or admin token"), input),
    h(
      "p",
      { id: "credential-help", class: "muted small" },
      "The server's API key (serve --api-key) or a token minted with `coguest token --admin`. ",
      "It is kept for this tab only.",
    ),
    error,
    button,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const credential = input.value.trim();
    button.disabled = true;
    error.textContent = "";
    Session.signIn(credential).then(
      (s) => {
        session = s;
        signedIn();
      },
      (err: unknown) => {
        button.disabled = false;
        error.textContent = describeSignIn(err);
        input.focus();
        input.select();
      },
    );
  });
  render(main, form);
  input.focus();
}

function describeSignIn(e: unknown): string {
  const r = e instanceof Refusal ? e : refusal(e);
  return `Sign-in refused: ${r.describe()}`;
}

/** The header of a signed-in operator: navigation, connection status, sign out. */
function signedIn(): void {
  const s = session;
  if (!s) return;
  const status = h("span", { class: "status", role: "status", "data-testid": "status" });
  const showStatus = (v: string): void => {
    status.textContent = v;
    status.dataset.state = v;
  };
  showStatus(s.client.status.value);
  s.client.status.subscribe(showStatus);
  const signOut = h("button", { type: "button", class: "link", "data-testid": "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => {
    s.signOut();
    session = null;
    location.hash = "";
    showSignIn(null);
  });
  render(
    header,
    h("a", { class: "brand", href: "#/rooms" }, "coguest console"),
    h("nav", { "aria-label": "Main" }, h("a", { href: "#/rooms" }, "Rooms")),
    h("span", { class: "who muted small" }, `as ${s.client.userID}`),
    status,
    signOut,
  );
  route();
}

/** Shows the page the address names. */
function route(): void {
  const s = session;
  if (!s) return;
  stopPage?.();
  const m = /^#\/room\/(.+)$/.exec(location.hash);
  if (m?.[1] !== undefined) {
    const room = decodeURIComponent(m[1]);
    document.title = `${room} · coguest console`;
    stopPage = roomPage(main, s, room);
  } else {
    document.title = "Rooms · coguest console";
    stopPage = roomsPage(main, s);
  }
  main.focus();
}

window.addEventListener("hashchange", route);

const saved = Session.saved();
if (saved === null) {
  showSignIn(null);
} else {
  render(main, h("p", { class: "muted" }, "Signing in…"));
  Session.signIn(saved).then(
    (s) => {
      session = s;
      signedIn();
    },
    (e: unknown) => showSignIn(describeSignIn(e)),
  );
}

// The skip link moves focus without changing the route.
document.querySelector<HTMLAnchorElement>("a.skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
