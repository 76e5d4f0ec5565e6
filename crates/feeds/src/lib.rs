//! ADS-B / Mode S receiver feeds: Beast, AVR, SBS framing, decoding, track building and fusion.
