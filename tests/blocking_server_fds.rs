//! The blocking server when the process runs out of file descriptors: a burst of clients past `ulimit -n` makes
//! `accept` fail with EMFILE; the server must pause and go on accepting once they leave, not return the error (the
//! listener would be gone for good: `examples/server.rs` exited). Its own test binary, because it lowers the
//! process's descriptor limit (Linux: `setrlimit`, no crate needed).
#![cfg(target_os = "linux")]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use smtp_wasm::blocking::{BlockingServer, Handler, SessionHandler};
use smtp_wasm::{PeerInfo, ServerConfig};

#[repr(C)]
struct Rlimit {
    cur: u64,
    max: u64,
}

extern "C" {
    fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
}

const RLIMIT_NOFILE: i32 = 7;

fn nofile() -> Rlimit {
    let mut limit = Rlimit { cur: 0, max: 0 };
    // SAFETY: getrlimit writes one struct rlimit (two rlim_t, 64-bit on Linux) into `limit`.
    assert_eq!(unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) }, 0);
    limit
}

fn set_nofile(cur: u64, max: u64) {
    let limit = Rlimit { cur, max };
    // SAFETY: setrlimit reads one struct rlimit from `limit`.
    assert_eq!(unsafe { setrlimit(RLIMIT_NOFILE, &limit) }, 0);
}

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

struct Accept;
struct Session;
impl SessionHandler for Session {}
impl Handler for Accept {
    type Session = Session;
    fn connect(&self, _peer: &PeerInfo) -> Option<Session> {
        Some(Session)
    }
}

fn greeting(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 128];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn accept_goes_on_after_the_process_ran_out_of_descriptors() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = BlockingServer::new(ServerConfig::new("mx.example.test"), Accept);
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.serve(listener, false));

    // A few descriptors to spare, then a burst of clients (each takes one here and one for the accepted side).
    let original = nofile();
    set_nofile(open_descriptors() + 16, original.max);
    let mut burst = Vec::new();
    for _ in 0..64 {
        match TcpStream::connect(address) {
            Ok(stream) => burst.push(stream),
            Err(_) => break, // this process is out of descriptors too
        }
    }
    // The handshakes the kernel completed wait in the backlog: accept fails with EMFILE for them.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !serving.is_finished(),
        "serve() returned while out of descriptors: {:?}",
        serving.join()
    );
    drop(burst);
    set_nofile(original.cur, original.max);

    // The burst is gone: a client is served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reply = loop {
        let reply = TcpStream::connect(address)
            .map(|mut s| greeting(&mut s))
            .unwrap_or_default();
        if reply.starts_with("220 ") || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(reply.starts_with("220 "), "{reply:?}");
    shutdown.shutdown();
    serving.join().unwrap().unwrap();
}
