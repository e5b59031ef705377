//! Prints the Mozilla root store (webpki-roots) as the base64 blob that `tls::roots::load_mozilla_roots` reads: the
//! npm build (scripts/build-npm.sh) ships it as `dist/mozilla_roots.js`, outside the `.wasm`.
//!
//! ```sh
//! cargo run --release --example mozilla-roots > roots.b64
//! ```

use base64::Engine as _;
use smtp_wasm::tls::roots::{encode_anchors, mozilla_roots};

fn main() {
    let blob = encode_anchors(mozilla_roots());
    println!("{}", base64::engine::general_purpose::STANDARD.encode(blob));
}
