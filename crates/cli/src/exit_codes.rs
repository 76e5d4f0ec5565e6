//! The process's exit codes, below both the error path ([`crate::failure`]) and the output
//! ([`crate::stdio`]), which each end the process with them.

/// Exit code of a reported failure (bad input, failed verification, a refusal).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error (a bad or missing flag: nothing was done).
pub const EXIT_USAGE: u8 = 2;
