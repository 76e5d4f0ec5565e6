//! Detached signatures: accepted only from the right party, over the right bytes.

use deconflict_agreement::*;

fn template() -> Agreement {
    parse_toml(TEMPLATE_TOML).unwrap()
}

fn coalition_key() -> SecretKey {
    SecretKey::from_seed([1; 32])
}

fn russia_key() -> SecretKey {
    SecretKey::from_seed([2; 32])
}

fn id(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}

#[test]
fn own_signature_verifies_and_survives_the_file_format() {
    let a = template();
    let sig = AgreementSignature::sign(&a, &id("coalition"), &coalition_key()).unwrap();
    sig.verify(&a).unwrap();
    let again = AgreementSignature::from_file_text(&sig.to_file_text()).unwrap();
    assert_eq!(again, sig);
    again.verify(&a).unwrap();
}

#[test]
fn signing_with_a_key_that_is_not_the_partys_is_refused() {
    let a = template();
    assert_eq!(
        AgreementSignature::sign(&a, &id("coalition"), &russia_key()),
        Err(SignatureError::KeyMismatch {
            party: id("coalition")
        })
    );
    assert_eq!(
        AgreementSignature::sign(&a, &id("nobody"), &russia_key()),
        Err(SignatureError::UnknownParty(id("nobody")))
    );
}

#[test]
fn wrong_key_signature_is_rejected() {
    // A signature made by a stranger's key but labelled as the coalition's.
    let a = template();
    let stranger = SecretKey::from_seed([9; 32]);
    let forged =
        AgreementSignature::from_parts(a.id(), id("coalition"), stranger.sign(a.canonical_bytes()));
    assert_eq!(
        forged.verify(&a),
        Err(SignatureError::BadSignature {
            party: id("coalition")
        })
    );
}

#[test]
fn other_partys_signature_is_rejected_under_this_partys_name() {
    let a = template();
    let r = AgreementSignature::sign(&a, &id("russia"), &russia_key()).unwrap();
    let relabelled = AgreementSignature::from_parts(a.id(), id("coalition"), *r.signature());
    assert_eq!(
        relabelled.verify(&a),
        Err(SignatureError::BadSignature {
            party: id("coalition")
        })
    );
}

#[test]
fn tampered_agreement_does_not_accept_the_old_signature() {
    let a = template();
    let sig = AgreementSignature::sign(&a, &id("coalition"), &coalition_key()).unwrap();
    // 9260 m → 9261 m: one metre less safety margin is a different agreement.
    let tampered =
        parse_toml(&TEMPLATE_TOML.replace("horizontal_m = 9260", "horizontal_m = 9261")).unwrap();
    assert_ne!(tampered.id(), a.id());
    assert_eq!(
        sig.verify(&tampered),
        Err(SignatureError::WrongAgreement {
            expected: tampered.id(),
            found: a.id()
        })
    );
    // Even relabelled with the new id, the signature is over the old bytes.
    let relabelled =
        AgreementSignature::from_parts(tampered.id(), id("coalition"), *sig.signature());
    assert!(matches!(
        relabelled.verify(&tampered),
        Err(SignatureError::BadSignature { .. })
    ));
}

#[test]
fn signature_file_errors_name_the_line() {
    let a = template();
    let good = AgreementSignature::sign(&a, &id("coalition"), &coalition_key())
        .unwrap()
        .to_file_text();
    let cases = [
        (good.replace("v1", "v2"), 1),
        (good.replace("agreement sha256:", "agreement sha1:"), 2),
        (good.replace("party coalition", "party Coalition"), 3),
        (
            good.replace("signature ed25519-sig:", "signature ed25519-sig:0"),
            4,
        ),
        (good.replace("party ", "parti "), 3),
    ];
    for (text, line) in cases {
        match AgreementSignature::from_file_text(&text) {
            Err(SignatureError::Format { line: l, .. }) => assert_eq!(l, line, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(AgreementSignature::from_file_text("").is_err());
    assert!(AgreementSignature::from_file_text(&format!("{good}extra\n")).is_err());
}

#[test]
fn python_cryptography_signature_verifies() {
    // testdata/template.coalition.sig was made with Python's `cryptography` package (an
    // independent Ed25519 implementation) over testdata/template.canonical.json; see
    // testdata/README.md.
    let a = template();
    let sig =
        AgreementSignature::from_file_text(include_str!("../testdata/template.coalition.sig"))
            .unwrap();
    sig.verify(&a).unwrap();
}
