//! Working-group members in the agreement: parsed with their keys, carried in the canonical
//! encoding (and back), absent without changing an agreement's id, and refused with the field
//! named when a key or id is reused.

use deconflict_agreement::parse::MEMBERS_MAX;
use deconflict_agreement::*;

/// The public key of seed `[n; 32]` (seeds 1 and 2 are the template's parties).
fn key(n: u8) -> String {
    SecretKey::from_seed([n; 32]).public_key().to_text()
}
const COALITION_KEY: &str =
    "ed25519:8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

/// The template with `members` inserted after the coalition's first contact.
fn with_members(coalition: &str, russia: &str) -> String {
    let t = TEMPLATE_TOML.replacen(
        "[[party.contact]]\nname = \"CAOC duty officer, night\"",
        &format!("{coalition}[[party.contact]]\nname = \"CAOC duty officer, night\""),
        1,
    );
    assert_ne!(t, TEMPLATE_TOML, "template changed");
    let r = t.replacen(
        "[[frequency]]\nname = \"Guard\"",
        &format!("{russia}[[frequency]]\nname = \"Guard\""),
        1,
    );
    assert!(russia.is_empty() || r != t, "template changed");
    r
}

fn member(id: &str, key: &str) -> String {
    format!(
        "[[party.member]]\nid = \"{id}\"\nname = \"Safety officer {id}\"\npublic_key = \"{key}\"\n\n"
    )
}

#[test]
fn members_are_parsed_and_survive_the_canonical_encoding() {
    let text = with_members(
        &member("coalition-wg", &key(3)),
        &member("russia-wg", &key(4)),
    );
    let a = parse_toml(&text).unwrap();
    let c = &a.parties()[0];
    assert_eq!(c.members().len(), 1);
    assert_eq!(c.members()[0].id(), "coalition-wg");
    assert_eq!(
        c.member("coalition-wg").unwrap().public_key().to_text(),
        key(3)
    );
    assert!(c.member("russia-wg").is_none());
    assert_eq!(a.parties()[1].members()[0].public_key().to_text(), key(4));
    let bytes = a.canonical_bytes();
    assert!(
        std::str::from_utf8(bytes)
            .unwrap()
            .contains("\"members\":[{\"id\":\"coalition-wg\"")
    );
    let back = Agreement::from_canonical_json(bytes).unwrap();
    assert_eq!(back, a);
    // Members are part of what is signed: the id differs from the template's.
    let template = parse_toml(TEMPLATE_TOML).unwrap();
    assert_ne!(template.id(), a.id());
    // Without members the encoding has no `members` at all (so earlier ids stand).
    assert!(
        !std::str::from_utf8(template.canonical_bytes())
            .unwrap()
            .contains("members")
    );
}

#[track_caller]
fn refused(text: &str, field: &str, reason: &str) {
    match parse_toml(text) {
        Err(e) => {
            assert_eq!(e.field(), Some(field), "{e}");
            assert!(e.to_string().contains(reason), "{e}");
            assert!(e.location().is_some(), "{e}");
        }
        Ok(_) => panic!("accepted; expected an error on {field}"),
    }
}

#[test]
fn reused_keys_and_ids_are_refused_naming_the_member() {
    refused(
        &with_members(&member("coalition-wg", COALITION_KEY), ""),
        "party[0].member[0].public_key",
        "the party's key",
    );
    // Another party's key (a party listed later).
    refused(
        &with_members(
            &member(
                "coalition-wg",
                "ed25519:8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
            ),
            "",
        ),
        "party[0].member[0].public_key",
        "a party's key",
    );
    refused(
        &with_members(&member("wg", &key(3)), &member("wg", &key(4))),
        "party[1].member[0].id",
        "used twice",
    );
    refused(
        &with_members(&member("c-wg", &key(3)), &member("r-wg", &key(3))),
        "party[1].member[0].public_key",
        "two working-group members",
    );
    refused(
        &with_members(&member("Coalition WG", &key(3)), ""),
        "party[0].member[0].id",
        "not an identifier",
    );
    refused(
        &with_members(&member("c-wg", "ed25519:00"), ""),
        "party[0].member[0].public_key",
        "",
    );
    let many: String = (0..=MEMBERS_MAX)
        .map(|i| member(&format!("wg{i}"), &key(u8::try_from(i + 10).unwrap())))
        .collect();
    refused(
        &with_members(&many, ""),
        "party[0].member",
        "more than 8 working-group members",
    );
}
