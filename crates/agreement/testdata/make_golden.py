#!/usr/bin/env python3
"""Independent reference for the golden files in this directory.

Reads ../template.toml with Python's tomllib, maps it to the canonical JSON shape documented in
src/canonical.rs, serialises it the RFC 8785 way for integer-and-string JSON (sorted keys, no
whitespace, UTF-8), and signs it with the `cryptography` package's Ed25519. Written separately
from the Rust code so that the golden bytes are not the code's own output pasted back.

Run from this directory: python3 make_golden.py
"""
import hashlib
import json
import tomllib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

with open("../template.toml", "rb") as f:
    t = tomllib.load(f)


def e7(x):
    return int(round(x * 10_000_000))


def geometry(text, radius=None):
    g = json.loads(text)
    if g["type"] == "LineString":
        return {"type": "LineString", "coordinates_e7": [[e7(a), e7(b)] for a, b in g["coordinates"]]}
    if g["type"] == "Point":
        a, b = g["coordinates"]
        return {"type": "Point", "coordinates_e7": [e7(a), e7(b)], "radius_m": radius}
    return {"type": "Polygon", "coordinates_e7": [[[e7(a), e7(b)] for a, b in r] for r in g["coordinates"]]}


def opt(d, src, *keys):
    for k in keys:
        if k in src:
            d[k] = src[k]
    return d


doc = {
    "format": t["format"],
    "title": t["title"],
    "revision": t["revision"],
    "separation": opt({k: t["separation"][k] for k in ("horizontal_m", "vertical_m", "lookahead_s")},
                      t["separation"], "alerter"),
    "link_test": t["link_test"],
    "ack_deadline_s": t["ack_deadline_s"],
    "parties": [
        {
            "id": p["id"], "name": p["name"], "language": p["language"], "public_key": p["public_key"],
            "disclose_track": sorted(p["disclose_track"], key=["position", "altitude", "velocity", "callsign", "aircraft_type", "icao24", "squawk"].index),
            "disclose_notification": sorted(p["disclose_notification"], key=["area", "altitude_band", "time_window", "callsigns", "aircraft_count", "aircraft_type", "remarks"].index),
            "contacts": [opt({"name": c["name"], "role": c["role"], "shift_utc": c["shift_utc"]}, c, "channel")
                         for c in p["contact"]],
        }
        for p in t["party"]
    ],
    "frequencies": [opt({"name": f["name"], "hz": f["hz"]}, f, "purpose") for f in t.get("frequency", [])],
    "dividing_lines": [
        opt({"id": d["id"], "name": d["name"], "geometry": geometry(d["geometry"])}, d, "left_party", "right_party")
        for d in t.get("dividing_line", [])
    ],
    "zones": [
        opt({"id": z["id"], "name": z["name"], "excluded_parties": sorted(z.get("excluded_parties", [])),
             "geometry": geometry(z["geometry"], z.get("radius_m"))}, z, "floor_m", "ceiling_m")
        for z in t.get("zone", [])
    ],
}
canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
with open("template.canonical.json", "wb") as f:
    f.write(canonical)
with open("template.id", "w") as f:
    f.write("sha256:" + hashlib.sha256(canonical).hexdigest() + "\n")
key = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
sig = key.sign(canonical)
with open("template.coalition.sig", "w") as f:
    f.write("deconflict-agreement-signature v1\n")
    f.write("agreement sha256:" + hashlib.sha256(canonical).hexdigest() + "\n")
    f.write("party coalition\n")
    f.write("signature ed25519-sig:" + sig.hex() + "\n")
