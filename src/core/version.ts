// The package version, sent in the User-Agent of Logout calls.
export const VERSION = '0.1.0';
