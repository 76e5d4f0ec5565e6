//! `deconflict demo`, `serve`, `keygen`, `bench service`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use deconflict_service::datadir;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Keep the agreement, keys and store here (an empty or new directory), so that
    /// `deconflict serve --data-dir DIR` serves them again.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Days on the virtual clock (1 to 31): after the first day's story the parties keep the
    /// agreement hour by hour — link tests, the day's operations and flights, strike warnings,
    /// withdrawals, incidents — leaving a record of that length for `deconflict report`.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub days: u32,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The data directory: the store, and the agreement unless --agreement is given.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The agreement file (TOML); its signatures are read from `<FILE>.<party>.sig` beside
    /// it. Default: DIR/agreement.toml.
    #[arg(long, value_name = "FILE")]
    pub agreement: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8440")]
    pub listen: SocketAddr,
    /// Period of the conflict cycle, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub cycle_ms: u64,
    /// Serve HTTPS with this certificate chain (PEM: the server's certificate first, then any
    /// intermediates); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A party's receiver feed, repeatable: PARTY=FORMAT:ADDR, FORMAT beast, avr or sbs, ADDR
    /// host:port to connect to (reconnecting with backoff) or listen:IP:PORT for the receiver
    /// to connect to. Its aircraft become the party's tracks, fused with its pushes by icao24.
    #[arg(long, value_name = "PARTY=FORMAT:ADDR", value_parser = parse_feed)]
    pub feed: Vec<deconflict_service::feed::FeedSpec>,
}

fn parse_feed(text: &str) -> Result<deconflict_service::feed::FeedSpec, String> {
    deconflict_service::feed::FeedSpec::parse_live(text).map_err(|e| e.message)
}

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Writes PREFIX.key (secret, mode 0600) and PREFIX.pub (`ed25519:…`, for the agreement).
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let summary = deconflict_drive::demo::run(args.data_dir.as_deref(), args.days)?;
    print!("{summary}");
    if let Some(d) = &args.data_dir {
        println!(
            "\nKept in {}: serve it again with `deconflict serve --data-dir {}`",
            d.display(),
            d.display()
        );
        println!(
            "Check its record: deconflict log export --data-dir {} --out log.export && deconflict verify log.export --agreement {}/agreement.toml --log-key {}",
            d.display(),
            d.display(),
            summary.log_key_hex
        );
        println!(
            "The working group's report of it: deconflict report --data-dir {} --out report.html",
            d.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let served = deconflict_service::server::run(deconflict_service::server::ServeOptions {
        data_dir: args.data_dir,
        agreement: args.agreement,
        listen: args.listen,
        cycle_interval_ms: args.cycle_ms,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(deconflict_service::tls::TlsFiles { cert, key }),
            _ => None,
        },
        feeds: args.feed,
    });
    match served {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A --feed the agreement refuses (an unknown party) is a usage error, as clap's are.
        Err(deconflict_service::server::ServeError::Feed(e)) => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let key = datadir::generate_key();
    let (k, p) = datadir::write_key_pair(&args.out, &key)?;
    println!("{}", key.public_key().to_text());
    eprintln!("wrote {} and {}", k.display(), p.display());
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Live track counts to measure at.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub tracks: Vec<usize>,
    /// Seconds of pushing at each count.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let report = deconflict_drive::bench::run(&deconflict_drive::bench::BenchOptions {
        tracks: args.tracks,
        seconds: args.seconds,
    })?;
    print!("{}", report.text);
    Ok(if report.met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
