//! The recovery scan over random and truncated files (the parser the `scan` fuzz target
//! exercises): an error or a state, never a panic.

use deconflict_logfile::frame::{MAGIC, scan};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_files_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048), with_magic in any::<bool>()) {
        let mut data = if with_magic { MAGIC.to_vec() } else { Vec::new() };
        data.extend_from_slice(&body);
        let mut r = &data[..];
        let _ = scan(&mut r, data.len() as u64, 1 << 20, |_| Ok(()));
        let mut r = &data[..];
        let _ = scan(&mut r, data.len() as u64, 0, |_| Ok(()));
    }
}
