//! The layering of ARCHITECTURE.md, checked by reading the sources: the codec sits below both roles, the client and
//! the server never reach into each other, and only `src/wasm/` names wasm-bindgen or js-sys. A change that breaks
//! one of these rules fails here, with the file and line that broke it.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Every line under `dir` (recursively) that names one of `forbidden` as a path (`crate::client`, `wasm_bindgen::`),
/// comments excluded.
fn offending_lines(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut hits = Vec::new();
    for file in rust_files(&root) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for name in forbidden {
                if names_path(code, name) {
                    hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    hits
}

/// `name` used as a path segment: followed by `::`, `;`, `}`, `,` or whitespace, and not part of a longer name.
fn names_path(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before_ok = at == 0 || !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let rest = &code[at + name.len()..];
        let after_ok = rest.is_empty() || rest.starts_with(|c: char| !(c.is_alphanumeric() || c == '_'));
        before_ok && after_ok
    })
}

#[test]
fn the_codec_imports_neither_state_machine() {
    let hits = offending_lines("src/codec", &["crate::client", "crate::server", "crate::session"]);
    assert!(
        hits.is_empty(),
        "src/codec/ must sit below both roles:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_client_does_not_import_the_server() {
    let hits = offending_lines("src/client", &["crate::server"]);
    assert!(
        hits.is_empty(),
        "src/client/ must not import the server:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_server_does_not_import_the_client() {
    let hits = offending_lines(
        "src/server",
        &["crate::client", "crate::Connection", "crate::ClientSession"],
    );
    assert!(
        hits.is_empty(),
        "src/server/ must not import the client:\n{}",
        hits.join("\n")
    );
}

#[test]
fn shared_layers_import_neither_role() {
    for dir in ["src/tls", "src/sasl", "src/codec"] {
        let hits = offending_lines(
            dir,
            &["crate::client", "crate::server", "crate::blocking", "crate::wasm"],
        );
        assert!(
            hits.is_empty(),
            "{dir}/ serves both roles and must import neither:\n{}",
            hits.join("\n")
        );
    }
}

#[test]
fn only_src_wasm_names_wasm_bindgen() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wasm_dir = root.join("wasm");
    let mut hits = Vec::new();
    for file in rust_files(&root) {
        if file.starts_with(&wasm_dir) {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if names_path(code, "wasm_bindgen") || names_path(code, "js_sys") || names_path(code, "web_sys") {
                hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "only src/wasm/ may name wasm-bindgen/js-sys:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_fuzz_bodies_are_behind_the_fuzzing_feature() {
    let lib =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap_or_default();
    let at = lib
        .find("pub mod fuzzing;")
        .expect("src/lib.rs declares the fuzzing module");
    let before = &lib[..at];
    let gate = before
        .rfind("#[cfg(feature = \"fuzzing\")]")
        .expect("the fuzzing module has a cfg gate");
    assert!(
        !before[gate..].contains("pub mod ") && !before[gate..].contains("mod "),
        "the #[cfg(feature = \"fuzzing\")] gate must be on `pub mod fuzzing;` itself"
    );
}

#[test]
fn the_scanner_sees_what_it_should() {
    // The rule above must be able to fail: a path segment is found, a longer name is not.
    assert!(names_path("use crate::server::Session;", "crate::server"));
    assert!(names_path("crate::client;", "crate::client"));
    assert!(!names_path("use crate::server_name::X;", "crate::server"));
    assert!(!names_path("let my_wasm_bindgen_thing = 1;", "wasm_bindgen"));
}

#[test]
fn the_composer_and_the_signer_import_neither_role() {
    for dir in ["src/compose", "src/dkim"] {
        let hits = offending_lines(
            dir,
            &[
                "crate::client",
                "crate::server",
                "crate::Connection",
                "crate::ClientSession",
                "wasm_bindgen",
                "js_sys",
            ],
        );
        assert!(
            hits.is_empty(),
            "{dir}/ must stand alone (the compose wasm has no client):\n{}",
            hits.join("\n")
        );
    }
}
