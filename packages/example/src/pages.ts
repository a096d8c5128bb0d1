import { escapeHtml } from "./html.js";

/** What the home page shows. */
export interface HomeView {
  user: string | undefined;
  views: number;
  backend: string;
  /** A one-off message, e.g. "Logged out of 3 sessions". */
  notice?: string | undefined;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1d2433; background: #f6f7fb; }
  main { background: #fff; border-radius: 10px; padding: 1.5rem 2rem; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  .count { font-size: 2.5rem; font-weight: 700; margin: 0; }
  .muted { color: #667085; font-size: .9rem; }
  .notice { background: #e8f4ec; border-left: 4px solid #2f9e55; padding: .5rem .8rem; }
  .error { background: #fdecec; border-left: 4px solid #d03b3b; padding: .5rem .8rem; }
  form { display: inline-block; margin: .25rem .5rem .25rem 0; }
  input[type=text] { font: inherit; padding: .35rem .5rem; border: 1px solid #c7ccd6; border-radius: 6px; }
  button, a.button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 0; background: #3b5bdb; color: #fff; cursor: pointer; text-decoration: none; }
  button.secondary { background: #e4e7ee; color: #1d2433; }
  button.danger { background: #d03b3b; }
  ul.sessions { list-style: none; padding: 0; }
  li.session { border: 1px solid #e4e7ee; border-radius: 8px; padding: .6rem .9rem; margin: .5rem 0; }
  li.session.current { border-color: #3b5bdb; }
  .device { font-weight: 600; }
  .tag { background: #3b5bdb; color: #fff; border-radius: 4px; padding: 0 .4rem; font-size: .8rem; margin-left: .4rem; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

export function homePage(view: HomeView): string {
  const who = view.user
    ? `<p>Logged in as <strong id="user">${escapeHtml(view.user)}</strong>.</p>
<p><a href="/sessions" id="sessions-link">Your sessions</a></p>
<form method="post" action="/logout"><button class="secondary" id="logout">Log out</button></form>
<form method="post" action="/logout-everywhere"><button class="danger" id="logout-everywhere">Log out everywhere</button></form>`
    : `<p id="anonymous">You are not logged in.</p>
<p><a class="button" href="/login" id="login-link">Log in</a></p>`;
  const notice = view.notice ? `<p class="notice" id="notice">${escapeHtml(view.notice)}</p>` : "";
  return layout(
    "sessionkit demo",
    `<h1>sessionkit demo</h1>
${notice}
<p class="muted">Visits in this session</p>
<p class="count" id="views">${view.views}</p>
${who}
<p class="muted">Sessions are stored by sessionkit on <strong>${escapeHtml(view.backend)}</strong>.</p>`,
  );
}

export function loginPage(error?: string, name = ""): string {
  const message = error ? `<p class="error" id="error">${escapeHtml(error)}</p>` : "";
  return layout(
    "Log in · sessionkit demo",
    `<h1>Log in</h1>
${message}
<form method="post" action="/login">
  <label>Your name <input type="text" name="name" id="name" value="${escapeHtml(name)}" maxlength="64" required autofocus></label>
  <button id="submit">Log in</button>
</form>
<p class="muted">No password: a name is enough for this demo. <a href="/">Back</a></p>`,
  );
}

export function errorPage(message: string): string {
  return layout("Error · sessionkit demo", `<h1>Something went wrong</h1><p class="error">${escapeHtml(message)}</p>`);
}

/** One of the user's sessions as the "Your sessions" page shows it. Never its id. */
export interface SessionRow {
  /** A non-secret name of the session (see `SessionHandles`), sent back by its "Log out" button. */
  handle: string;
  /** A short description of the device, e.g. "Firefox 128 on Linux". */
  device: string;
  /** The full user agent kept at login. */
  userAgent: string;
  createdAt: string;
  lastActiveAt: string;
  /** The session of the browser looking at the page. */
  current: boolean;
}

export interface SessionsView {
  user: string;
  sessions: readonly SessionRow[];
  notice?: string | undefined;
}

export function sessionsPage(view: SessionsView): string {
  const rows = view.sessions
    .map((row) => {
      const end = row.current
        ? `<form method="post" action="/logout"><button class="secondary">Log out</button></form>`
        : `<form method="post" action="/sessions/logout">
    <input type="hidden" name="session" value="${escapeHtml(row.handle)}">
    <button class="danger">Log out this session</button>
  </form>`;
      return `<li class="session${row.current ? " current" : ""}" data-handle="${escapeHtml(row.handle)}">
  <span class="device" title="${escapeHtml(row.userAgent)}">${escapeHtml(row.device)}</span>${row.current ? '<span class="tag">this device</span>' : ""}
  <br><span class="muted">Logged in <span class="created">${escapeHtml(row.createdAt)}</span> · last active <span class="active">${escapeHtml(row.lastActiveAt)}</span></span>
  <br>${end}
</li>`;
    })
    .join("\n");
  const others = view.sessions.filter((row) => !row.current).length;
  const notice = view.notice ? `<p class="notice" id="notice">${escapeHtml(view.notice)}</p>` : "";
  const count = view.sessions.length;
  return layout(
    "Your sessions · sessionkit demo",
    `<h1>Your sessions</h1>
${notice}
<p>Logged in as <strong id="user">${escapeHtml(view.user)}</strong> in ${count} session${count === 1 ? "" : "s"}.</p>
<ul class="sessions" id="sessions">
${rows}
</ul>
${
  others > 0
    ? `<form method="post" action="/sessions/logout-others"><button class="danger" id="logout-others">Log out all other sessions</button></form>`
    : ""
}
<p class="muted"><a href="/">Home</a></p>`,
  );
}
