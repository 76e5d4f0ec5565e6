//! Sockets (tokio): the only module of this crate that does I/O or reads a clock.
