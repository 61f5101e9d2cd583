// An address nothing answers at, for the "connection refused" cases.
//
// A port freed by closing a server can be handed to another test's server a moment later (the
// suites run in parallel), which would then answer. Port 1 lies below the ephemeral range every
// test server is given a port from, so connecting to it is refused.

export const REFUSED_URL = 'http://127.0.0.1:1';
