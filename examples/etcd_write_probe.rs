//! Probe: raw etcd puts against EtcdStore creates (with the wait for the
//! watch cache) at the same concurrency. `cargo run --example etcd_write_probe -- URL N C`.
use std::time::{Duration, Instant};

use futures::StreamExt;
use ironkube::storage::Storage;
use ironkube::storage::etcd::{Client, EtcdConfig, EtcdStore, proto::PutRequest};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or("http://127.0.0.1:2379".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let c: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    let cfg = EtcdConfig {
        servers: vec![url],
        prefix: format!("/probe{}", std::process::id()),
        ..EtcdConfig::default()
    };
    let client = Client::new(&cfg).unwrap();
    let value = bytes::Bytes::from(vec![b'x'; 1500]);
    let t = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(c, |i| {
            let client = client.clone();
            let value = value.clone();
            async move {
                client
                    .put(PutRequest {
                        key: format!("/raw{}/{i}", std::process::id()).into_bytes(),
                        value,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        })
        .await;
    let raw = n as f64 / t.elapsed().as_secs_f64();
    let store = EtcdStore::open(cfg, Default::default(), Duration::from_secs(5))
        .await
        .unwrap();
    let t = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(c, |i| {
            let store = &store;
            let value = value.clone();
            async move {
                store
                    .create(&format!("/registry/pods/p/{i}"), value)
                    .await
                    .unwrap();
            }
        })
        .await;
    let created = n as f64 / t.elapsed().as_secs_f64();
    println!("raw puts {raw:.0}/s, store creates {created:.0}/s (n={n}, c={c})");
}
