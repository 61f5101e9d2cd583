// `sso-signout`: the Express entry (`sso-signout/express`) under the package's own name.

export * from './express.js';
