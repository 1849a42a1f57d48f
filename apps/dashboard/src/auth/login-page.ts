export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface LoginPageOptions {
  next: string;
  error?: string | undefined;
  /** Show the password fields (a password is configured). */
  password: boolean;
  /** Show the token field (a token is configured). */
  token: boolean;
}

/** The login form. Served with a CSP that forbids inline script, so it has none. */
export function renderLoginPage(options: LoginPageOptions): string {
  const fields: string[] = [];
  if (options.password) {
    fields.push(
      `<label>User <input name="username" autocomplete="username" required></label>`,
      `<label>Password <input name="password" type="password" autocomplete="current-password"${options.token ? "" : " required"}></label>`,
    );
  }
  if (options.token) {
    fields.push(
      `<label>${options.password ? "…or access token" : "Access token"} <input name="token" type="password" autocomplete="off"></label>`,
    );
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>wgp-farm — log in</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body class="login">
<main>
<h1>wgp-farm</h1>
<form method="post" action="/login">
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ""}
${fields.join("\n")}
<input type="hidden" name="next" value="${escapeHtml(options.next)}">
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}
