//! Persistence for the service: SQLite by default, behind one trait.
