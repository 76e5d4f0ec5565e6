//! Writes a small sample log: `cargo run -p deconflict-logfile --example sample_log -- DIR [N]`.
//! Parties `blue` and `red` and the log `service` have fixed sample keys (derived from their
//! names: public, for trying the commands, never for real use). Also writes `DIR/keys-pinned.json`,
//! a keys file for `deconflict verify --agreement`.

use deconflict_log::field::Salt;
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, SignedEntry, SigningKey, Text,
};
use deconflict_logfile::{LogFile, LogFileConfig};

fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&Hash::of(format!("deconflict sample key {name}").as_bytes()).0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: sample_log DIR [N]")?);
    let n: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let mut keys = KeyRing::new();
    for p in ["blue", "red", "service"] {
        keys.insert(KeyId::new(p)?, key(p).verifying_key())?;
    }
    let config = LogFileConfig::new(KeyId::new("service")?, key("service"), keys.clone());
    let j = LogFile::open(&dir, config)?;
    for i in 0..n {
        let (author, body) = match i % 3 {
            0 => {
                let (alt, _opening) =
                    FieldValue::commit(FieldValue::int(4500)?, Salt(Hash::of(&i.to_be_bytes()).0))?;
                let fields = Fields::new()
                    .with("alt_floor_m", alt)?
                    .with("area", FieldValue::text("circle 35.40N 35.95E r=20000 m")?)?;
                (
                    "blue",
                    EntryBody::Notification {
                        fields,
                        notification_id: Text::new(format!("n-{i}"))?,
                    },
                )
            }
            1 => (
                "service",
                EntryBody::Alert {
                    alert_id: Text::new(format!("a-{i}"))?,
                    fields: Fields::new().with("cpa_h_m", FieldValue::int(480)?)?,
                    level: Text::new("warning")?,
                    parties: vec![KeyId::new("blue")?, KeyId::new("red")?],
                },
            ),
            _ => (
                "red",
                EntryBody::Acknowledgement {
                    acknowledges: Text::new(format!("a-{}", i - 1))?,
                    fields: Fields::new(),
                },
            ),
        };
        let e = Entry::new(KeyId::new(author)?, 1_700_000_000_000 + i * 1000, body)?;
        j.append(SignedEntry::sign(e, &key(author))?)?;
    }
    // Blue countersigns the head it was handed.
    let head = j.latest_tree_head();
    let c = Entry::cosignature(
        KeyId::new("blue")?,
        1_700_000_000_000 + n * 1000,
        head.tree_head().clone(),
    )?;
    j.append(SignedEntry::sign(c, &key("blue"))?)?;
    let mut pinned = String::from("{\n");
    for (i, (id, k)) in keys.iter().enumerate() {
        let sep = if i + 1 < keys.len() { "," } else { "" };
        pinned.push_str(&format!(
            "  \"{id}\": \"{}\"{sep}\n",
            Hash(k.to_bytes()).to_hex()
        ));
    }
    pinned.push_str("}\n");
    std::fs::write(dir.join("keys-pinned.json"), pinned)?;
    println!("{} entries in {}", j.stats().entries, dir.display());
    Ok(())
}
