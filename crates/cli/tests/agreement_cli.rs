//! `deconflict agreement suspend|reactivate|terminate|status|statement` against the real
//! binary serving on loopback: two parties with fresh keys sign the template agreement, one
//! suspends, both reactivate (one with a statement signed offline), stale statements are
//! refused, the exported record verifies with the parties' keys and not with a swapped key, and
//! a store edited on disk is refused at restart naming the version.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{BIN, Server, TempDir as Scratch};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn failed(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A data directory with the template agreement, two fresh party keys and both signatures.
fn signed_data_dir(root: &Path) -> PathBuf {
    let data = root.join("data");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    let mut toml = deconflict_agreement::TEMPLATE_TOML.to_string();
    for (party, old) in [
        (
            "coalition",
            "ed25519:8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        ),
        (
            "russia",
            "ed25519:8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
        ),
    ] {
        let prefix = root.join(party);
        let public = ok(&["keygen", "--out", s(&prefix)]);
        toml = toml.replacen(old, public.trim(), 1);
    }
    let agreement = data.join("agreement.toml");
    std::fs::write(&agreement, toml).unwrap();
    for party in ["coalition", "russia"] {
        ok(&[
            "agreement",
            "sign",
            "--key",
            s(&root.join(format!("{party}.key"))),
            s(&agreement),
        ]);
    }
    data
}

fn connect<'a>(server: &'a Server, root: &'a Path, party: &'a str) -> Vec<String> {
    vec![
        "--service".into(),
        server.base.clone(),
        "--party".into(),
        party.into(),
        "--key".into(),
        s(&root.join(format!("{party}.key"))).into(),
    ]
}

fn agreement_cmd(sub: &str, conn: &[String], extra: &[&str]) -> Vec<String> {
    let mut v = vec!["agreement".to_string(), sub.to_string()];
    v.extend(conn.iter().cloned());
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn suspend_reactivate_by_both_one_offline_then_the_record_verifies_with_party_keys() {
    let scratch = Scratch::new("lifecycle");
    let root = scratch.0.as_path();
    let data = signed_data_dir(root);
    let agreement = data.join("agreement.toml");
    // Offline, from the signature files: both signed, in force.
    let out = ok(&[
        "agreement",
        "status",
        s(&agreement),
        "--signatures",
        s(&data),
    ]);
    assert!(out.contains("status    in_force"), "{out}");
    // Neither form, or half of one: a usage error.
    assert_eq!(run(&["agreement", "status"]).status.code(), Some(2));
    let mut server = Server::start(&data);
    let russia = connect(&server, root, "russia");
    let coalition = connect(&server, root, "coalition");

    let out = ok(&refs(&agreement_cmd("status", &russia, &[])));
    assert!(
        out.contains("status    in_force (basis_seq 2, 2 events"),
        "{out}"
    );
    assert!(
        out.contains("reachability (measured; separate from the status)"),
        "{out}"
    );

    let out = ok(&refs(&agreement_cmd(
        "suspend",
        &russia,
        &["--reason", "strike at Shayrat"],
    )));
    assert!(out.contains("status    suspended (basis_seq 3"), "{out}");
    assert!(
        out.contains("suspended by russia at event 3: strike at Shayrat"),
        "{out}"
    );

    let out = ok(&refs(&agreement_cmd(
        "reactivate",
        &coalition,
        &["--conditions", "one hour notice"],
    )));
    assert!(out.contains("status    suspended"), "{out}");
    assert!(
        out.contains("signed by coalition; waiting for russia"),
        "{out}"
    );

    // Russia signs its reactivation offline, then submits the file.
    let st = root.join("reactivate.json");
    ok(&[
        "agreement",
        "statement",
        "--key",
        s(&root.join("russia.key")),
        "--agreement",
        s(&agreement),
        "--basis-seq",
        "3",
        "--out",
        s(&st),
        "reactivate",
        "--conditions",
        "one hour notice",
    ]);
    // The wrong command for the file is refused before anything is sent.
    let err = failed(&refs(&agreement_cmd(
        "suspend",
        &russia,
        &["--statement", s(&st)],
    )));
    assert!(err.contains("is a reactivate, not a suspend"), "{err}");
    let out = ok(&refs(&agreement_cmd(
        "reactivate",
        &russia,
        &["--statement", s(&st)],
    )));
    assert!(
        out.contains("status    in_force (basis_seq 5, 5 events"),
        "{out}"
    );
    assert!(out.contains("conditions one hour notice"), "{out}");

    // A suspension signed on an old basis is refused, and says why.
    let stale = ok(&[
        "agreement",
        "statement",
        "--key",
        s(&root.join("coalition.key")),
        "--agreement",
        s(&agreement),
        "--basis-seq",
        "2",
        "suspend",
        "--reason",
        "old news",
    ]);
    std::fs::write(root.join("stale.json"), stale).unwrap();
    let err = failed(&refs(&agreement_cmd(
        "suspend",
        &coalition,
        &["--statement", s(&root.join("stale.json"))],
    )));
    assert!(
        err.contains("409 stale_basis (field statement.statement.basis_seq)")
            && err.contains("current basis_seq is 5"),
        "{err}"
    );
    // Another party's statement is not the caller's to submit.
    let err = failed(&refs(&agreement_cmd(
        "reactivate",
        &coalition,
        &["--statement", s(&st)],
    )));
    assert!(err.contains("403 party_mismatch"), "{err}");

    let out = ok(&refs(&agreement_cmd("status", &coalition, &[])));
    for line in [
        "russia       suspend    basis 2 reason \"strike at Shayrat\" → suspended",
        "coalition    reactivate basis 3 conditions \"one hour notice\" → suspended",
        "russia       reactivate basis 3 conditions \"one hour notice\" → in_force",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    server.stop();

    // The record: every lifecycle entry verifies with its party's key from the agreement.
    let export = root.join("log.export");
    ok(&["log", "export", "--data-dir", s(&data), "--out", s(&export)]);
    let service_pub = std::fs::read_to_string(data.join("keys/service.pub")).unwrap();
    let log_key = service_pub
        .trim()
        .trim_start_matches("ed25519:")
        .to_string();
    let out = ok(&[
        "verify",
        s(&export),
        "--agreement",
        s(&agreement),
        "--log-key",
        &log_key,
    ]);
    assert!(out.contains(": OK"), "{out}");
    // Two signatures, in force, a suspension, two reactivation signatures: each about this
    // agreement, each signature event with the party's own signature over it.
    assert!(
        out.contains("agreement events: 6, each about sha256:"),
        "{out}"
    );
    let lines = std::fs::read_to_string(&export).unwrap();
    let authored: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"agreement_event\""))
        .filter_map(|l| l.split("\"author\":\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        authored,
        [
            "service",
            "service",
            "service",
            "russia",
            "coalition",
            "russia"
        ],
        "{lines}"
    );
    // With Russia's key replaced by the Coalition's, Russia's suspension no longer verifies.
    let hex = |party: &str| {
        std::fs::read_to_string(root.join(format!("{party}.pub")))
            .unwrap()
            .trim()
            .trim_start_matches("ed25519:")
            .to_string()
    };
    let swapped = root.join("swapped-keys.json");
    std::fs::write(
        &swapped,
        format!(
            r#"{{"coalition":"{}","russia":"{}","service":"{log_key}"}}"#,
            hex("coalition"),
            hex("coalition")
        ),
    )
    .unwrap();
    let err = failed(&["verify", s(&export), "--agreement", s(&swapped)]);
    assert!(
        err.contains("verification FAILED") && err.contains("russia"),
        "{err}"
    );
}

#[test]
fn a_store_edited_on_disk_is_refused_at_restart_naming_the_version() {
    let scratch = Scratch::new("tamper");
    let root = scratch.0.as_path();
    let data = signed_data_dir(root);
    let mut server = Server::start(&data);
    let russia = connect(&server, root, "russia");
    ok(&refs(&agreement_cmd(
        "suspend",
        &russia,
        &["--reason", "strike at Shayrat"],
    )));
    server.stop();
    // Same length, so the database stays well-formed: only the signed text changes.
    let mut edited = 0;
    for name in ["store.sqlite", "store.sqlite-wal"] {
        let path = data.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let (from, to) = (b"strike at Shayrat", b"strike at Shayraq");
        let mut out = bytes.clone();
        let mut i = 0;
        while i + from.len() <= out.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                edited += 1;
                i += from.len();
            } else {
                i += 1;
            }
        }
        std::fs::write(&path, out).unwrap();
    }
    assert!(edited > 0, "the reason was not found in the store files");
    let o = Command::new(BIN)
        .args(["serve", "--data-dir", s(&data), "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err.contains("stored agreement version 4")
            && err.contains("russia")
            && err.contains("does not verify"),
        "{err}"
    );
}

/// The record's "signed" events carry each party's own signature over the agreement, and
/// `verify --agreement` checks it: a log whose service recorded a signature the party never
/// gave (here: the party's real signature, but over another agreement) fails, naming the entry,
/// although every log signature in it is valid.
#[test]
fn verify_checks_each_partys_signature_over_the_agreement_in_the_record() {
    use deconflict_service::datadir::{self, DataDir};
    use deconflict_service::log_entries::ServiceLog;
    let scratch = Scratch::new("agreement-events");
    let root = &scratch.0;
    let data = signed_data_dir(root);
    let agreement_path = data.join("agreement.toml");
    let loaded = datadir::load_agreement(&agreement_path).unwrap();
    // A record written by a service holding `terms`, exported and verified against the
    // agreement file.
    let verify = |terms: &deconflict_service::Terms, dir: &Path| {
        let log = ServiceLog::open(&DataDir::new(dir), terms, &loaded.signed_by, 0).unwrap();
        let key = log.public_key_hex();
        drop(log);
        let export = dir.join("log.export");
        ok(&["log", "export", "--data-dir", s(dir), "--out", s(&export)]);
        run(&[
            "verify",
            s(&export),
            "--agreement",
            s(&agreement_path),
            "--log-key",
            &key,
        ])
    };
    let good = verify(&loaded.terms, &data);
    assert!(good.status.success(), "{}", text(&good));
    assert!(
        String::from_utf8_lossy(&good.stdout).contains("agreement events: 3"),
        "{}",
        text(&good)
    );

    // The same service, but the Coalition's signature it records is over another agreement.
    let other_toml = std::fs::read_to_string(&agreement_path).unwrap().replacen(
        "horizontal_m = ",
        "horizontal_m = 1",
        1,
    );
    let other = deconflict_agreement::parse_toml(&other_toml).unwrap();
    assert_ne!(other.id(), loaded.agreement.id());
    let secret = datadir::read_secret_key(&root.join("coalition.key")).unwrap();
    let coalition = deconflict_agreement::PartyId::new("coalition").unwrap();
    let wrong =
        deconflict_agreement::AgreementSignature::sign(&other, &coalition, &secret).unwrap();
    let mut sigs: Vec<_> = loaded
        .terms
        .signatures
        .iter()
        .filter(|s| s.party() != &coalition)
        .cloned()
        .collect();
    sigs.insert(0, wrong);
    let forged = verify(
        &loaded.terms.clone().with_signatures(sigs),
        &root.join("forged"),
    );
    assert_eq!(forged.status.code(), Some(1), "{}", text(&forged));
    let err = String::from_utf8_lossy(&forged.stderr);
    assert!(
        err.contains("verification FAILED at entry 0 (line 3)")
            && err.contains("signature event of coalition")
            && err.contains("does not verify"),
        "{err}"
    );
}
