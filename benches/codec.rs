//! Criterion micro-benchmarks of the codec's hot paths (native; the wasm build runs the same code):
//!
//! - `data_encoder`: CRLF normalisation + dot-stuffing of message content for DATA (`codec::body::DataEncoder`),
//!   bytes per second over typical message shapes.
//! - `reply_parser`: replies per second through `codec::reply_parser::ReplyParser` (pipelined one-line replies
//!   and a long EHLO reply), fed whole and in small TCP-like pieces.
//! - `bdat_encoder`: BDAT chunking (`codec::bdat::BdatEncoder`), normalised and binary.
//!
//! Run: `cargo bench --bench codec` (full) or `cargo bench --bench codec -- --quick`. `bench/criterion.mjs` turns
//! Criterion's estimates into records of bench/results.json.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use smtp_wasm::codec::bdat::BdatEncoder;
use smtp_wasm::codec::body::DataEncoder;
use smtp_wasm::codec::reply_parser::{ReplyLimits, ReplyParser};

/// 1 MiB of message content.
const BODY_LEN: usize = 1 << 20;
/// How the content is handed to the encoder, like a stream's chunks.
const CHUNK: usize = 64 * 1024;

/// A deterministic pseudo-random generator (xorshift), so every run encodes the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Content of `len` bytes in lines of 76 printable ASCII characters (base64-like, as a MIME part), each ended by
/// `eol`; every 40th line starts with a dot (dot-stuffing work) when `dots`.
fn text_body(len: usize, eol: &[u8], dots: bool) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(len + 128);
    let mut line = 0usize;
    while out.len() < len {
        if dots && line % 40 == 0 {
            out.push(b'.');
        }
        for _ in 0..76 {
            out.push(ALPHABET[(rng.next() % 64) as usize]);
        }
        out.extend_from_slice(eol);
        line += 1;
    }
    out.truncate(len);
    out
}

/// Short lines of prose (average ~40 bytes), where line ends dominate: the slow path's worst ordinary case.
fn short_lines(len: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        let n = 10 + (rng.next() % 60) as usize;
        out.extend(std::iter::repeat_n(b'x', n));
        out.extend_from_slice(b"\r\n");
    }
    out.truncate(len);
    out
}

fn data_encoder(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_encoder");
    group.throughput(Throughput::Bytes(BODY_LEN as u64));
    let cases: [(&str, Vec<u8>, bool); 5] = [
        ("crlf_76col", text_body(BODY_LEN, b"\r\n", false), false),
        ("crlf_76col_dots", text_body(BODY_LEN, b"\r\n", true), false),
        ("lf_76col_normalise", text_body(BODY_LEN, b"\n", true), false),
        ("crlf_short_lines", short_lines(BODY_LEN), false),
        (
            "crlf_76col_8bit_allowed",
            text_body(BODY_LEN, b"\r\n", false),
            true,
        ),
    ];
    for (name, body, allow_8bit) in &cases {
        let mut out = Vec::with_capacity(BODY_LEN * 2);
        group.bench_with_input(BenchmarkId::from_parameter(name), body, |b, body| {
            b.iter(|| {
                out.clear();
                let mut encoder = DataEncoder::new(*allow_8bit);
                for chunk in body.chunks(CHUNK) {
                    encoder.encode(black_box(chunk), &mut out).unwrap();
                }
                encoder.finish(&mut out);
                black_box(out.len())
            });
        });
    }
    group.finish();
}

fn bdat_encoder(c: &mut Criterion) {
    let mut group = c.benchmark_group("bdat_encoder");
    group.throughput(Throughput::Bytes(BODY_LEN as u64));
    let body = text_body(BODY_LEN, b"\r\n", true);
    for (name, chunk_size, binary) in [
        ("chunk64k_normalised", 64 * 1024, false),
        ("chunk1m_normalised", 1 << 20, false),
        ("chunk64k_binary", 64 * 1024, true),
    ] {
        let mut out = Vec::with_capacity(BODY_LEN * 2);
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| {
                out.clear();
                let mut encoder = BdatEncoder::new(chunk_size, binary, false);
                for chunk in body.chunks(CHUNK) {
                    encoder.encode(black_box(chunk), &mut out).unwrap();
                }
                encoder.finish(&mut out);
                black_box(out.len())
            });
        });
    }
    group.finish();
}

/// Replies as a pipelining client receives them: `250 2.1.0 Ok`, `250 2.1.5 Ok`, `354 ...`/`250 2.0.0 Ok: queued`.
fn pipelined_replies(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        match i % 3 {
            0 => out.extend_from_slice(b"250 2.1.0 Ok\r\n"),
            1 => out.extend_from_slice(b"250 2.1.5 Ok\r\n"),
            _ => out.extend_from_slice(b"250 2.0.0 Ok: queued as 4XyZq12abc\r\n"),
        }
    }
    out
}

const EHLO: &[u8] = b"250-mx.example.org Hello client.example.org [192.0.2.1]\r\n250-PIPELINING\r\n\
250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n\
250-AUTH=PLAIN LOGIN CRAM-MD5\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n\
250 CHUNKING\r\n";

fn reply_parser(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply_parser");
    const REPLIES: usize = 3000;
    let input = pipelined_replies(REPLIES);
    for (name, piece) in [("pipelined_whole", input.len()), ("pipelined_pieces_7", 7)] {
        group.throughput(Throughput::Elements(REPLIES as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| {
                let mut parser = ReplyParser::new(ReplyLimits::default());
                let mut codes = 0u32;
                for part in input.chunks(piece) {
                    parser.push(black_box(part));
                    while let Some(reply) = parser.next_reply().unwrap() {
                        codes = codes.wrapping_add(u32::from(reply.code()));
                    }
                }
                black_box(codes)
            });
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("ehlo_13_lines", |b| {
        b.iter_batched_ref(
            || ReplyParser::new(ReplyLimits::default()),
            |parser| {
                parser.push(black_box(EHLO));
                black_box(parser.next_reply().unwrap().unwrap().raw_lines().len())
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, data_encoder, bdat_encoder, reply_parser);
criterion_main!(benches);
