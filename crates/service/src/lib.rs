//! The deconfliction service: HTTP API, authentication, streams, the fixed-rate cycle, metrics.
