//! The duty officer's web console: the page `serve` answers at `/`, and the sessions an officer
//! signs in with.
//!
//! What it owns:
//! - [`assets`]: every file the page loads (its HTML, script, style, interface strings, the
//!   vendored Leaflet and Natural Earth basemap, the region's towns and rivers), embedded in the
//!   binary, each with its content type. Nothing is fetched from elsewhere at run time.
//! - [`session`]: one-time sign-in tokens and the sessions they open, as a bounded table.
//!   Sans-IO: the time and the random bytes are parameters, so it is deterministic under test.
//!
//! What it never does: authorize. A session names a party and an officer; the service answers
//! the page's requests with its own handlers, as that party, exactly as it answers the party's
//! signed requests. HTTP (cookies, CSRF checks, the Content-Security-Policy) is the service's.

pub mod assets;
pub mod session;
