//! Criterion micro-benchmarks of the client's hot paths, each reported in elements per
//! second: reading and validating a user list (`input::read` on a generated CSV of
//! 1,000,000 rows), `UserKey` validation, encoding a 20-item `$batch` body and decoding and
//! classifying a 20-item answer, the dispatcher packing 20,000 jobs into batches against an
//! in-memory transport that answers at once, and the pacer's `acquire` when the budget is
//! ample. No network.
//!
//! Run: `cargo bench --bench micro`. Without `--bench` on the command line (as
//! `cargo test --benches` runs it) criterion runs each benchmark once, on a 20,000-row file.
//! `MICRO_BENCH_ROWS` changes the file's size.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_reset::engine::dispatcher::{Dispatcher, DispatcherSettings, Job, JobResult};
use mfa_reset::engine::pacer::{Budget, Pacer, PacerSettings};
use mfa_reset::graph::batch::{self, Item};
use mfa_reset::graph::endpoints::ApiVersion;
use mfa_reset::graph::key::UserKey;
use mfa_reset::graph::request::{Cost, GraphRequest};
use mfa_reset::graph::transport::{SendFailure, Transport};
use mfa_reset::input::{self, InputOptions};
use mfa_reset::wire::{BatchRequest, BatchResponse, BatchResponseItem, MethodType};
use serde_json::json;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn guid(i: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i as u32,
        (i >> 32) as u16,
        i % 0xfff,
        (i * 7) % 0xfff,
        i.wrapping_mul(2_654_435_761) & 0xffff_ffff_ffff
    )
}

/// A CSV like an Entra export cut down: id, UPN, display name (some quoted, with a comma),
/// ticket; one row in a hundred has a crafted UPN and no id (invalid).
fn generate_csv(rows: usize) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mfa-reset-micro-{}.csv", std::process::id()));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
    writeln!(w, "id,userPrincipalName,displayName,ticket").unwrap();
    for i in 0..rows as u64 {
        if i % 100 == 99 {
            writeln!(w, ",user{i}@contoso.example/../x,Crafted {i},INC-{i}").unwrap();
        } else if i % 3 == 0 {
            writeln!(
                w,
                "{},user{i}@contoso.example,\"Doe, Jane {i}\",INC-{i}",
                guid(i)
            )
            .unwrap();
        } else {
            writeln!(
                w,
                "{},user{i}@contoso.example,Jane Doe {i},INC-{i}",
                guid(i)
            )
            .unwrap();
        }
    }
    w.flush().unwrap();
    path
}

fn input_parsing(c: &mut Criterion) {
    let rows: usize = std::env::var("MICRO_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full_run() { 1_000_000 } else { 20_000 });
    let path = generate_csv(rows);
    let mut group = c.benchmark_group("input");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(format!("read and validate {rows} rows"), |b| {
        b.iter(|| {
            let mut valid = 0usize;
            let summary =
                input::read::<input::InputError, _>(&path, &InputOptions::default(), |chunk| {
                    valid += chunk.iter().filter(|r| r.actionable().is_some()).count();
                    Ok(())
                })
                .expect("the generated file reads");
            assert_eq!(summary.rows, rows);
            // One row in a hundred is crafted to be invalid; every other one is valid.
            assert_eq!(valid, rows - rows / 100);
            black_box(valid)
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&path);

    let upns: Vec<String> = (0..1000)
        .map(|i| format!("jane.doe{i}@contoso.example"))
        .collect();
    let ids: Vec<String> = (0..1000).map(guid).collect();
    let mut group = c.benchmark_group("user key");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 UPNs", |b| {
        b.iter(|| upns.iter().filter(|u| UserKey::parse(u).is_ok()).count())
    });
    group.bench_function("1000 object ids", |b| {
        b.iter(|| ids.iter().filter(|u| UserKey::parse(u).is_ok()).count())
    });
    group.finish();
}

/// Twenty requests as a device refresh sends them: reads, deletes and a revocation.
fn twenty_requests() -> Vec<GraphRequest> {
    (0..20u64)
        .map(|i| {
            let key = UserKey::id(&guid(i)).expect("a GUID");
            match i % 4 {
                0 | 1 => GraphRequest::list_methods(&key).expect("an id key"),
                2 => GraphRequest::delete_method(&key, MethodType::Phone, &guid(i + 99))
                    .expect("an id key"),
                _ => GraphRequest::revoke_sessions(&key).expect("an id key"),
            }
        })
        .collect()
}

/// A 20-item answer: every read lists three methods, every write is 204 or 200.
fn twenty_answers() -> Vec<u8> {
    let responses: Vec<BatchResponseItem> = (0..20u64)
        .map(|i| BatchResponseItem {
            id: i.to_string(),
            status: if i % 4 < 2 { 200 } else { 204 },
            headers: [
                ("request-id".to_string(), guid(i + 7)),
                ("client-request-id".to_string(), guid(i + 8)),
            ]
            .into_iter()
            .collect(),
            body: (i % 4 < 2).then(|| {
                json!({
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/authentication/methods",
                    "value": [
                        {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": guid(i + 1), "password": null, "createdDateTime": null},
                        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": guid(i + 2), "phoneNumber": "+1 4255551234", "phoneType": "mobile", "smsSignInState": "notSupported"},
                        {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": guid(i + 3), "displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7", "createdDateTime": "2025-03-01T10:00:00Z"}
                    ]
                })
            }),
        })
        .collect();
    serde_json::to_vec(&BatchResponse { responses }).expect("serializes")
}

fn batch_codec(c: &mut Criterion) {
    let requests = twenty_requests();
    let answer = twenty_answers();
    let mut group = c.benchmark_group("$batch");
    group.throughput(Throughput::Elements(20));
    group.bench_function("encode 20 items to JSON", |b| {
        b.iter(|| {
            let items: Vec<Item<'_>> = requests
                .iter()
                .enumerate()
                .map(|(i, request)| Item {
                    id: i.to_string(),
                    request,
                    client_request_id: guid(i as u64),
                })
                .collect();
            serde_json::to_vec(&batch::encode(&items)).expect("serializes")
        })
    });
    group.bench_function("decode and classify 20 answers", |b| {
        b.iter(|| {
            let decoded: BatchResponse = serde_json::from_slice(&answer).expect("parses");
            decoded
                .responses
                .into_iter()
                .map(batch::classify)
                .filter(|a| a.request_id.is_some())
                .count()
        })
    });
    group.finish();
}

/// Answers every item 204 at once, in memory.
struct InstantGraph;

impl Transport for InstantGraph {
    async fn send_batch(
        &self,
        _version: ApiVersion,
        body: BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        Ok(body
            .requests
            .into_iter()
            .map(|r| BatchResponseItem {
                id: r.id,
                status: 204,
                headers: Default::default(),
                body: None,
            })
            .collect())
    }

    fn token_rejected(&self) {}
}

fn ample() -> PacerSettings {
    let budget = Budget {
        amount: 1_000_000_000,
        per: Duration::from_secs(1),
    };
    PacerSettings {
        resource_units: budget,
        writes: budget,
    }
}

fn packer_and_pacer(c: &mut Criterion) {
    const JOBS: usize = 20_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let keys: Vec<UserKey> = (0..JOBS as u64)
        .map(|i| UserKey::id(&guid(i)).expect("a GUID"))
        .collect();
    let mut group = c.benchmark_group("dispatcher");
    group.sample_size(10);
    group.throughput(Throughput::Elements(JOBS as u64));
    group.bench_function("pack and settle 20000 revocations", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let (done_tx, mut done_rx) = tokio::sync::mpsc::channel(1024);
                let dispatcher = Dispatcher::new(
                    InstantGraph,
                    Arc::new(Pacer::new(ample())),
                    DispatcherSettings::default(),
                    done_tx,
                );
                let (job_tx, job_rx) = tokio::sync::mpsc::channel(1024);
                let running = tokio::spawn(dispatcher.run(job_rx));
                let feeding = {
                    let keys = keys.clone();
                    tokio::spawn(async move {
                        for (i, key) in keys.iter().enumerate() {
                            let request = GraphRequest::revoke_sessions(key).expect("an id key");
                            if job_tx
                                .send(Job {
                                    user: i as u64,
                                    request,
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    })
                };
                let mut done = 0;
                while done < JOBS {
                    let completed = done_rx.recv().await.expect("a completion");
                    assert!(matches!(completed.result, JobResult::Done { .. }));
                    done += 1;
                }
                feeding.await.expect("fed");
                drop(done_rx);
                let _ = running.await;
                done
            })
        })
    });
    group.finish();

    let pacer = Pacer::new(ample());
    let mut group = c.benchmark_group("pacer");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 acquires of a write, budget ample", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..1000 {
                    pacer.acquire(Cost::WRITE).await;
                }
            })
        })
    });
    group.bench_function("1000 clean answers (on_success)", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                pacer.on_success(black_box(None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, input_parsing, batch_codec, packer_and_pacer);
criterion_main!(benches);
