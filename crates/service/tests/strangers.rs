//! What strangers can make the service hold, over real loopback sockets: slow headers and
//! idle connections are closed after the header timeout; an unsigned upload is refused before
//! its body is read; a party's slow upload times out; connections are capped per address; the
//! body bytes held stay within the budget and show in /metrics. Short limits keep the loops
//! bounded (the same code runs with the named defaults in `serve`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{harness, key};
use deconflict_client::auth;
use deconflict_service::limits::Limits;
use deconflict_service::listener;

const HEADER_TIMEOUT: Duration = Duration::from_millis(800);
const BODY_TIMEOUT: Duration = Duration::from_millis(800);
const PER_ADDRESS: usize = 40;
const BUDGET: u64 = 256 * 1024;

/// Reads until the server closes or `within` passes; true when it closed.
fn closed_within(s: &mut TcpStream, within: Duration) -> (bool, Vec<u8>) {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (true, got),
        }
    }
    (false, got)
}

fn status_of(response: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(response);
    text.split(' ').nth(1)?.parse().ok()
}

fn try_metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn metric(text: &str, name: &str) -> u64 {
    try_metric(text, name).unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// Where `/metrics` is asked from: another loopback address than the test's other connections,
/// so that the request's own connection never takes a place under their per-address cap,
/// however late the server sees it close.
const METRICS_FROM: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 2);

fn get_metrics(port: u16) -> String {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from((METRICS_FROM, 0)).into())
        .unwrap();
    socket
        .connect(&std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)).into())
        .unwrap();
    let mut s: TcpStream = socket.into();
    // A connection refused at accept may be reset under the write: that is an empty answer.
    if s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return String::new();
    }
    let (_, body) = closed_within(&mut s, Duration::from_secs(5));
    String::from_utf8(body).unwrap()
}

/// Headers of a signed POST of `len` bytes of spaces to /v1/tracks, without the body.
fn signed_head(body: &[u8], created: i64) -> Vec<u8> {
    let headers = auth::sign_request(
        "POST",
        "/v1/tracks",
        body,
        "coalition",
        &key("coalition"),
        created,
        &auth::new_nonce(),
    );
    let mut head = format!(
        "POST /v1/tracks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_hold_connections_time_or_memory() {
    let h = harness();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listener::serve(
        h.state.clone(),
        listener,
        false,
        async move {
            let _ = stopped.await;
        },
        Limits {
            connections_max: 1000,
            connections_per_address_max: PER_ADDRESS,
            header_read_timeout: HEADER_TIMEOUT,
            body_read_timeout: BODY_TIMEOUT,
            body_bytes_buffered_max: BUDGET,
        },
    ));
    let now = h.now_s();

    let result = tokio::task::spawn_blocking(move || {
        // 1. Slow headers and idle connections: closed after the header timeout.
        let mut slow: Vec<TcpStream> = (0..20)
            .map(|i| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                if i % 2 == 0 {
                    s.write_all(b"POST /v1/tracks HTTP/1.1\r\nhost: x\r\n")
                        .unwrap();
                }
                s
            })
            .collect();
        for (i, s) in slow.iter_mut().enumerate() {
            let (closed, _) = closed_within(s, HEADER_TIMEOUT * 4);
            assert!(closed, "connection {i} (slow headers or idle) still open");
        }
        drop(slow);

        // 2. An unsigned upload announcing a large body is answered at once, its body unread.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(
            b"POST /v1/tracks HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n{\"a\"",
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        assert_eq!(
            status_of(&buf[..n]),
            Some(401),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        drop(s);

        // 3. Many parties' slow uploads: each times out (408), bytes held stay within budget.
        let body = vec![b' '; 100_000];
        let mut uploads: Vec<TcpStream> = (0..10)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.write_all(&signed_head(&body, now)).unwrap();
                s.write_all(&body[..50_000]).unwrap();
                s
            })
            .collect();
        std::thread::sleep(BODY_TIMEOUT / 4);
        let m = get_metrics(port);
        let held = metric(&m, "deconflict_body_bytes_buffered");
        assert!(held <= BUDGET, "{held} bytes held, budget {BUDGET}");
        let mut statuses = Vec::new();
        for s in uploads.iter_mut() {
            let (closed, got) = closed_within(s, BODY_TIMEOUT * 4);
            assert!(closed, "a slow upload's connection stayed open");
            statuses.push(status_of(&got));
        }
        // Five fit in the budget and time out; the others are refused as over budget.
        assert!(
            statuses.iter().all(|s| matches!(s, Some(408) | Some(503))),
            "{statuses:?}"
        );
        assert!(statuses.contains(&Some(408)), "{statuses:?}");
        assert!(statuses.contains(&Some(503)), "{statuses:?}");
        drop(uploads);
        // The server sees those connections close in its own time; until it has, they still
        // count against the cap, and one of the connections below could take a slot that frees
        // meanwhile. Wait until only the metrics request's own connection is open.
        let deadline = Instant::now() + Duration::from_secs(5);
        while try_metric(&get_metrics(port), "deconflict_connections_open") != Some(1) {
            assert!(
                Instant::now() < deadline,
                "the uploads' connections stay open"
            );
            std::thread::sleep(Duration::from_millis(50));
        }

        // 4. Connections beyond the per-address cap are closed at accept.
        let held_open: Vec<TcpStream> = (0..PER_ADDRESS + 10)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let mut refused = 0;
        for mut s in held_open
            .iter()
            .skip(PER_ADDRESS)
            .map(|s| s.try_clone().unwrap())
        {
            if closed_within(&mut s, Duration::from_millis(500)).0 {
                refused += 1;
            }
        }
        assert_eq!(refused, 10);
        drop(held_open);

        // 5. Everything is given back: no body bytes held, connections closed.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // The request comes from its own address, so no cap refuses it; should it still
            // get no answer (a reset), we ask again.
            let m = get_metrics(port);
            let (Some(open), Some(held)) = (
                try_metric(&m, "deconflict_connections_open"),
                try_metric(&m, "deconflict_body_bytes_buffered"),
            ) else {
                assert!(Instant::now() < deadline, "no answer from /metrics: {m:?}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            // The metrics request's own connection is open while it is answered.
            if (open, held) == (1, 0) {
                assert!(
                    metric(
                        &m,
                        "deconflict_connections_total{outcome=\"refused_over_per_address\"}"
                    ) >= 10
                );
                assert!(metric(&m, "deconflict_bodies_refused_total{reason=\"timeout\"}") >= 1);
                assert!(
                    metric(
                        &m,
                        "deconflict_bodies_refused_total{reason=\"over_budget\"}"
                    ) >= 1
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "still {open} connections and {held} body bytes"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await;
    let _ = stop.send(());
    let _ = server.await;
    result.unwrap();
}
