//! One module per command group. Each module owns its argument types and a `run` function
//! returning `anyhow::Result<ExitCode>`.

pub mod agreement;
pub mod bench;
pub mod connect;
pub mod daa;
pub mod desk;
pub mod events;
pub mod incidents;
pub mod ingest;
pub mod line;
pub mod log;
pub mod log_bench;
pub mod login;
pub mod notifications;
pub mod open;
pub mod probe;
pub mod replay;
pub mod report;
pub mod serve;
pub mod tracks;
pub mod verify_dir;
