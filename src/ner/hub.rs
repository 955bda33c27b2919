//! Finding a model: the built-in default when `[detect] model` is not set, a local path as
//! given, or `hf:owner/name[@revision]` resolved in the standard Hugging Face cache
//! (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`), the layout
//! `huggingface_hub` and the hf-hub crate share. `veil models pull` downloads ahead of time;
//! start-up downloads only when `[detect] download = true`.

use super::source::ModelSource;
use crate::config::ModelSetting;
use anyhow::Context;
use hf_hub::{Cache, Repo, RepoType};
use std::path::{Path, PathBuf};

/// The files Veil reads from a model folder.
pub const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

fn cache() -> Cache {
    match std::env::var_os("HF_HUB_CACHE") {
        Some(p) if !p.is_empty() => Cache::new(PathBuf::from(p)),
        _ => Cache::from_env(),
    }
}

fn repo(name: &str, revision: Option<&str>) -> Repo {
    Repo::with_revision(name.to_string(), RepoType::Model, revision.unwrap_or("main").to_string())
}

/// The snapshot folder holding all of [`FILES`] for `name@revision`, if cached.
pub fn cached(name: &str, revision: Option<&str>) -> Option<PathBuf> {
    let cache = cache();
    let r = repo(name, revision);
    // A full commit hash names a snapshot directly (no ref file).
    let dir = match revision {
        Some(rev) if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) => {
            cache.path().join(r.folder_name()).join("snapshots").join(rev)
        }
        _ => cache.repo(r).get(FILES[0])?.parent()?.to_path_buf(),
    };
    FILES.iter().all(|f| dir.join(f).is_file()).then_some(dir)
}

/// Downloads [`FILES`] of `name@revision` into the cache and returns the snapshot folder.
pub async fn pull(name: &str, revision: Option<&str>) -> anyhow::Result<PathBuf> {
    let mut builder = hf_hub::api::tokio::ApiBuilder::from_cache(cache()).with_progress(false);
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        builder = builder.with_endpoint(endpoint);
    }
    if let Ok(token) = std::env::var("HF_TOKEN") {
        builder = builder.with_token(Some(token));
    }
    let api = builder.build().context("cannot set up the Hugging Face client")?;
    let r = api.repo(repo(name, revision));
    let mut dir = None;
    for f in FILES {
        let path = r.get(f).await.with_context(|| format!("hf:{name}: cannot download {f}"))?;
        dir = path.parent().map(Path::to_path_buf);
    }
    dir.ok_or_else(|| anyhow::anyhow!("hf:{name}: no files"))
}

/// Where to read the model of `setting` from; downloads only if `download` is set.
pub fn resolve(setting: &ModelSetting, download: bool) -> anyhow::Result<ModelSource> {
    match setting {
        ModelSetting::None => anyhow::bail!("detect.model: no model configured"),
        ModelSetting::Embedded => Ok(ModelSource::Embedded),
        ModelSetting::Dir(dir) => {
            for f in FILES {
                let p = dir.join(f);
                if !p.is_file() {
                    anyhow::bail!("detect.model: {}: not found", p.display());
                }
            }
            Ok(ModelSource::Dir(dir.clone()))
        }
        ModelSetting::Hub { repo: name, revision } => {
            if let Some(dir) = cached(name, revision.as_deref()) {
                return Ok(ModelSource::Dir(dir));
            }
            let spec = match revision {
                Some(r) => format!("hf:{name}@{r}"),
                None => format!("hf:{name}"),
            };
            if !download {
                anyhow::bail!(
                    "detect.model: {spec} is not in the Hugging Face cache ({}); run `veil models pull {spec}` first or set detect.download = true",
                    cache().path().display()
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(pull(name, revision.as_deref())).map(ModelSource::Dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lays out `models--owner--name` as huggingface_hub does (refs + snapshots).
    fn fake_cache(root: &Path, commit: &str, files: &[&str]) -> PathBuf {
        let repo = root.join("models--acme--tiny-ner");
        std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
        std::fs::write(repo.join("refs/main"), commit).expect("write ref");
        let snap = repo.join("snapshots").join(commit);
        std::fs::create_dir_all(&snap).expect("mkdir");
        for f in files {
            std::fs::write(snap.join(f), "{}").expect("write");
        }
        snap
    }

    #[test]
    fn resolves_cached_snapshots_by_ref_and_commit_and_refuses_partial_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let snap = fake_cache(tmp.path(), commit, &FILES);
        // SAFETY of the test: this is the only test reading HF_HUB_CACHE.
        std::env::set_var("HF_HUB_CACHE", tmp.path());
        assert_eq!(cached("acme/tiny-ner", None), Some(snap.clone()));
        assert_eq!(cached("acme/tiny-ner", Some(commit)), Some(snap.clone()));
        assert_eq!(cached("acme/other", None), None);
        let setting = ModelSetting::Hub { repo: "acme/tiny-ner".into(), revision: None };
        assert_eq!(resolve(&setting, false).ok(), Some(ModelSource::Dir(snap.clone())));
        std::fs::remove_file(snap.join("model.safetensors")).expect("rm");
        let err = resolve(&setting, false).expect_err("partial snapshot").to_string();
        assert!(err.contains("veil models pull hf:acme/tiny-ner"), "{err}");
        std::env::remove_var("HF_HUB_CACHE");
    }

    #[test]
    fn local_folder_names_the_missing_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("config.json"), "{}").expect("write");
        let err = resolve(&ModelSetting::Dir(tmp.path().to_path_buf()), false).expect_err("missing").to_string();
        assert!(err.contains("tokenizer.json: not found"), "{err}");
    }
}
