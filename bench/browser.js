// What a browser sends when a user presses "Sign out" on a page of the app: Chrome's headers for a
// same-origin form POST (fetch metadata, the navigation Accept, a form body naming where to go back
// to), and the cookies of a signed-in session.

/** The vetted destination the form asks for, which every route compared answers with. */
export const RETURN_TO = '/reports?id=7';

export function browserSignOut(origin, path) {
  return {
    method: 'POST',
    path,
    headers: {
      host: new URL(origin).host,
      connection: 'keep-alive',
      'cache-control': 'max-age=0',
      'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"',
      'sec-ch-ua-mobile': '?0',
      'sec-ch-ua-platform': '"Linux"',
      origin,
      'content-type': 'application/x-www-form-urlencoded',
      'upgrade-insecure-requests': '1',
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      accept:
        'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-user': '?1',
      'sec-fetch-dest': 'document',
      referer: `${origin}/reports?id=7`,
      'accept-encoding': 'gzip, deflate, br, zstd',
      'accept-language': 'en-GB,en;q=0.9',
    },
    body: `return_to=${encodeURIComponent(RETURN_TO)}`,
  };
}

/** The cookie header of a signed-in browser: the session and the app's other cookies. */
export function browserCookies(sessionCookie) {
  return `theme=dark; ${sessionCookie}; _consent=analytics%3Dno`;
}
