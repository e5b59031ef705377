//! Replays every seed and crash file under `fuzz/corpus/<target>/` through the same code as the cargo-fuzz target
//! of that name, so a plain `cargo test` keeps every corpus entry passing without cargo-fuzz or nightly.

use std::fs;
use std::path::{Path, PathBuf};

use smtp_wasm::fuzzing;

/// Every file under `dir`, recursively, in a stable order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let files = files_under(&dir);
    assert!(!files.is_empty(), "no corpus for {target} in {}", dir.display());
    for file in files {
        let data = fs::read(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        // A failing entry names itself before the harness's own panic message.
        eprintln!("replaying {}", file.display());
        run(&data);
    }
}

#[test]
fn reply_parser_corpus() {
    replay("reply_parser", fuzzing::reply_parser);
}

#[test]
fn ehlo_corpus() {
    replay("ehlo", fuzzing::ehlo);
}

#[test]
fn body_encoders_corpus() {
    replay("body_encoders", fuzzing::body_encoders);
}

#[test]
fn server_command_corpus() {
    replay("server_command", fuzzing::server_command);
}

#[test]
fn server_content_corpus() {
    replay("server_content", fuzzing::server_content);
}

#[test]
fn server_session_corpus() {
    replay("server_session", fuzzing::run_server_session);
}

#[test]
fn tls_server_corpus() {
    replay("tls_server", fuzzing::tls_server);
}

#[test]
fn session_corpus() {
    replay("session", fuzzing::run_session);
}

/// The hand-made session seeds reach the states their names promise (a harness change that made them meaningless
/// would show here, not just as lost fuzzing coverage).
#[test]
fn session_seeds_reach_their_states() {
    let log = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus/session")
            .join(name);
        let data = fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        fuzzing::describe_session(&data).join("\n")
    };
    let postfix = log("postfix_transaction");
    assert!(postfix.contains("C: .\r\n"), "{postfix}");
    assert!(postfix.contains("result: Ok(Transaction("), "{postfix}");
    assert!(postfix.contains("Closed { error: None }"), "{postfix}");
    let bdat = log("bdat_small_chunks");
    assert!(
        bdat.contains("BDAT 2 LAST") && bdat.contains("result: Ok(Transaction("),
        "{bdat}"
    );
    let lmtp = log("lmtp_data");
    assert!(
        lmtp.contains("LHLO") && lmtp.contains("result: Ok(Recipients("),
        "{lmtp}"
    );
    let tls = log("starttls_auth");
    assert!(
        tls.contains("C: AUTH PLAIN") && tls.contains("result: Ok(Transaction("),
        "{tls}"
    );
    assert!(log("starttls_injection").contains("Err(StartTlsInjection)"));
    assert!(log("abort_mid_data").contains("Closed { error: Some(Aborted("));
    let stale = log("regression_stale_reply_after_354");
    assert!(
        stale.contains("Err(Protocol(") && !stale.contains("Ok(Transaction("),
        "{stale}"
    );
}
