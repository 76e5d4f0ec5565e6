//! The page's files, embedded in the binary. Paths are those under `/console/assets/`; the
//! page itself is [`INDEX_HTML`], served at `/`.

/// The page served at `/`.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $ct:literal) => {
        Asset {
            path: $path,
            content_type: $ct,
            bytes: include_bytes!(concat!("../assets/", $path)),
        }
    };
}

/// Every file the page may load. Nothing else is served under `/console/assets/`.
pub const ASSETS: &[Asset] = &[
    asset!("console.js", "text/javascript; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("i18n.json", "application/json"),
    asset!("region.geojson", "application/geo+json"),
    asset!(
        "vendor/leaflet/leaflet.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("vendor/leaflet/leaflet.css", "text/css; charset=utf-8"),
    asset!("vendor/leaflet/LICENSE", "text/plain; charset=utf-8"),
    asset!(
        "vendor/topojson-client/topojson-client.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "vendor/topojson-client/LICENSE",
        "text/plain; charset=utf-8"
    ),
    asset!("vendor/world-atlas/countries-50m.json", "application/json"),
    asset!("vendor/world-atlas/LICENSE", "text/plain; charset=utf-8"),
];

/// The embedded file at `path`, if there is one.
pub fn get(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_by_its_path_and_nothing_else_is() {
        for a in ASSETS {
            assert!(!a.bytes.is_empty(), "{} is empty", a.path);
            assert_eq!(get(a.path).map(|b| b.path), Some(a.path));
        }
        assert!(get("../Cargo.toml").is_none());
        assert!(get("vendor/leaflet").is_none());
    }

    #[test]
    fn the_page_loads_only_embedded_files_and_has_no_inline_script_or_style() {
        let html = INDEX_HTML;
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let target = part.split('"').next().unwrap_or("");
                if target == "data:," {
                    continue; // no icon: the browser asks for none
                }
                let path = target.strip_prefix("/console/assets/").unwrap_or_else(|| {
                    panic!("the page refers to {target}, outside the embedded assets")
                });
                assert!(get(path).is_some(), "{path} is not embedded");
            }
        }
        assert!(!html.contains("<style"), "inline style element");
        assert!(!html.contains(" style=\""), "inline style attribute");
        // No inline event handler (`onclick=` and the like).
        for part in html.split(" on").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            assert!(
                name.is_empty() || !part[name.len()..].starts_with('='),
                "inline handler on{name}"
            );
        }
        for part in html.split("<script").skip(1) {
            assert!(part.trim_start().starts_with("src=") || part.contains(" src="));
            assert!(
                part.split('>')
                    .nth(1)
                    .is_some_and(|s| s.starts_with("</script"))
            );
        }
    }

    #[test]
    fn the_interface_strings_have_the_same_keys_in_every_language() {
        let v: serde_json::Value =
            serde_json::from_slice(get("i18n.json").map(|a| a.bytes).unwrap_or_default())
                .expect("i18n.json parses");
        let langs = v.as_object().expect("an object of languages");
        assert!(langs.contains_key("en") && langs.contains_key("ru"));
        let keys = |l: &str| -> Vec<String> {
            let mut k: Vec<String> = langs[l].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        for l in langs.keys() {
            assert_eq!(keys(l), keys("en"), "{l} and en differ");
        }
    }

    #[test]
    fn vendored_code_ships_with_its_licence() {
        for dir in [
            "vendor/leaflet/",
            "vendor/topojson-client/",
            "vendor/world-atlas/",
        ] {
            assert!(
                get(&format!("{dir}LICENSE")).is_some(),
                "{dir} has no LICENSE"
            );
        }
    }
}
