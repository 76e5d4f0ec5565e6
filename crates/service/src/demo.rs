//! The demo: the whole two-party story on embedded defaults, over real HTTP on loopback.
