//! `ironkube snapshot save FILE` / `ironkube snapshot restore FILE`: a
//! backup of a running cluster as one file, and a data directory made from
//! one.
//!
//! `save` asks a running server (through its admin kubeconfig) for every
//! stored key at one revision (`GET /ironkube/v1/snapshot`, allowed to
//! `system:masters` only) and writes them to FILE, which is an embedded
//! store (a redb database, as `ironkube.redb`). It works whatever the
//! server's storage, so an etcd-backed cluster can be saved too (etcd's own
//! path is `etcdctl snapshot save`). `restore` checks FILE and installs it
//! as a new data directory's store, keeping every resourceVersion, as
//! `etcdctl snapshot restore` makes a new member's data directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::storage::embedded::RedbLog;
use crate::storage::mvcc::Persistence;
use crate::storage::{KeyValue, ListOptions, Revision, Storage};

/// The URL path of the snapshot endpoint.
pub const PATH: &str = "/ironkube/v1/snapshot";

/// One line of the snapshot stream: a header, then one line per key.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Line {
    Header {
        revision: Revision,
        keys: usize,
    },
    Key {
        key: String,
        value: String,
        create: Revision,
        #[serde(rename = "mod")]
        modified: Revision,
    },
}

/// The snapshot stream of everything in `storage`, at one revision.
pub async fn export(storage: &dyn Storage) -> Result<Bytes> {
    let all = storage
        .list("/registry/", &ListOptions::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let mut out = Vec::with_capacity(all.items.iter().map(|kv| kv.value.len() * 4 / 3 + 96).sum());
    let header = Line::Header {
        revision: all.revision,
        keys: all.items.len(),
    };
    serde_json::to_writer(&mut out, &header)?;
    out.push(b'\n');
    let b64 = base64::engine::general_purpose::STANDARD;
    for kv in all.items {
        let line = Line::Key {
            value: b64.encode(&kv.value),
            key: kv.key,
            create: kv.create_revision,
            modified: kv.mod_revision,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

fn parse(stream: &[u8]) -> Result<(Vec<KeyValue>, Revision)> {
    let mut lines = stream.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let first = lines.next().ok_or_else(|| anyhow!("empty snapshot"))?;
    let (revision, keys) = match serde_json::from_slice(first)? {
        Line::Header { revision, keys } => (revision, keys),
        Line::Key { .. } => bail!("snapshot stream without a header"),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut items = Vec::with_capacity(keys);
    for l in lines {
        match serde_json::from_slice(l)? {
            Line::Key {
                key,
                value,
                create,
                modified,
            } => items.push(KeyValue {
                key,
                value: Bytes::from(b64.decode(value)?),
                create_revision: create,
                mod_revision: modified,
            }),
            Line::Header { .. } => bail!("a second header in the snapshot stream"),
        }
    }
    if items.len() != keys {
        bail!("snapshot stream cut short: {} of {keys} keys", items.len());
    }
    Ok((items, revision))
}

/// Writes `items` at `revision` as a new embedded store at `file`.
fn write_store(file: &Path, items: Vec<KeyValue>, revision: Revision) -> Result<()> {
    if file.exists() {
        bail!("{} already exists", file.display());
    }
    let mut log = RedbLog::open(file).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    // Keys are in upstream's layout already.
    log.migrate_keys(crate::storage::embedded::LAYOUT, |_| None)
        .map_err(|e| anyhow!("{e}"))?;
    let changes: Vec<(String, Option<KeyValue>)> = items
        .into_iter()
        .map(|kv| (kv.key.clone(), Some(kv)))
        .collect();
    log.commit(&changes, revision).map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// `snapshot save`: fetches the snapshot from the server `kubeconfig`
/// points at and writes it to `file`.
pub async fn save(file: &Path, kubeconfig: &Path) -> Result<()> {
    let target = crate::bench::kubeconfig::load(kubeconfig)?;
    let client = crate::bench::client::Client::new(&target, false, 1)?;
    let resp = client.get(PATH).await?;
    if !resp.ok() {
        bail!(
            "the server answered {}: {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
    }
    let (items, revision) = parse(&resp.body)?;
    let n = items.len();
    write_store(file, items, revision)?;
    println!(
        "Snapshot saved at {}: {n} keys at revision {revision}",
        file.display()
    );
    Ok(())
}

/// `snapshot restore`: makes `data_dir` hold the store saved in `file`.
pub fn restore(file: &Path, data_dir: &Path) -> Result<()> {
    let store = data_dir.join("ironkube.redb");
    if store.exists() {
        bail!(
            "{} already holds a store; restore into a new data directory",
            data_dir.display()
        );
    }
    // Check it loads before installing a copy of it.
    let (n, revision) = {
        let mut log = RedbLog::open(file).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let (items, revision) = log.load().map_err(|e| anyhow!("{}: {e}", file.display()))?;
        (items.len(), revision)
    };
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let tmp: PathBuf = data_dir.join("ironkube.redb.restoring");
    std::fs::copy(file, &tmp).with_context(|| format!("cannot copy {}", file.display()))?;
    std::fs::rename(&tmp, &store)?;
    println!(
        "Restored {n} keys at revision {revision} into {}",
        data_dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn export_then_restore_keeps_every_key_and_revision() {
        let s = crate::storage::mvcc::MvccStore::memory().unwrap();
        s.create("/registry/configmaps/a/x", Bytes::from_static(b"{}"))
            .await
            .unwrap();
        s.create("/registry/pods/a/p", Bytes::from_static(b"{\"k\":1}"))
            .await
            .unwrap();
        s.update(
            "/registry/pods/a/p",
            crate::storage::Precondition::None,
            Bytes::from_static(b"{\"k\":2}"),
        )
        .await
        .unwrap();
        let stream = export(&s).await.unwrap();
        let (items, rev) = parse(&stream).unwrap();
        assert_eq!(rev, 3);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snap.db");
        write_store(&file, items, rev).unwrap();
        let data = dir.path().join("data");
        restore(&file, &data).unwrap();
        let (back, r) = RedbLog::open(&data.join("ironkube.redb"))
            .unwrap()
            .load()
            .unwrap();
        assert_eq!(r, 3);
        let got: Vec<_> = back
            .iter()
            .map(|kv| (kv.key.as_str(), kv.create_revision, kv.mod_revision))
            .collect();
        assert_eq!(
            got,
            [
                ("/registry/configmaps/a/x", 1, 1),
                ("/registry/pods/a/p", 2, 3)
            ]
        );
        // A second restore into the same directory is refused.
        assert!(restore(&file, &data).is_err());
        // A cut stream is refused.
        assert!(parse(&stream[..stream.len() - 5]).is_err());
    }
}
