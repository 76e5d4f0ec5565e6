//! The agreement: model, canonical encoding, signatures, lifecycle state machine.
