//! Where a model's files are read from: a folder on disk (a local path, or a snapshot in the
//! Hugging Face cache, see [`super::hub`]) or the default model built into the binary
//! ([`embedded`]), used when `[detect] model` is not set. The loaders in [`super::model`],
//! [`super::tokenize`] and [`super::lexicon`] read through a [`ModelSource`] and do not care
//! which it is, so `veil` finds its default model from any working directory.

use anyhow::Context;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use sha2::Digest;
use std::borrow::Cow;
use std::path::PathBuf;

/// The default model, `models/veil-pii`, compiled into the library (about 10 MB).
pub mod embedded {
    /// Its name in the detector version (`ner/veil-pii@<weights>+names@<list>`) and in logs.
    pub const NAME: &str = "veil-pii";
    pub static CONFIG: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/veil-pii/config.json"));
    pub static TOKENIZER: &[u8] =
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/veil-pii/tokenizer.json"));
    pub static WEIGHTS: &[u8] =
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/veil-pii/model.safetensors"));
    /// The name list its config.json names (`veil_name_lexicon.file`).
    pub static NAMES: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/veil-pii/names.txt"));

    /// The files by the name they have in the model folder.
    pub(super) fn file(name: &str) -> Option<&'static [u8]> {
        match name {
            "config.json" => Some(CONFIG.as_bytes()),
            "tokenizer.json" => Some(TOKENIZER),
            "model.safetensors" => Some(WEIGHTS),
            "names.txt" => Some(NAMES.as_bytes()),
            _ => None,
        }
    }
}

/// The weights file every model source has.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// A model folder, or the copy of `models/veil-pii` built into the binary.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    Dir(PathBuf),
    Embedded,
}

impl ModelSource {
    /// The model's name for the detector version: the folder's name (`owner/name` for a
    /// Hugging Face cache snapshot), [`embedded::NAME`] for the built-in one.
    pub fn name(&self) -> String {
        match self {
            ModelSource::Dir(dir) => {
                // HF cache folders are .../models--owner--name/snapshots/<commit>.
                let parts: Vec<String> =
                    dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                if let Some(i) = parts.iter().rposition(|p| p == "snapshots") {
                    if let Some(repo) = i.checked_sub(1).and_then(|j| parts[j].strip_prefix("models--")) {
                        return repo.replace("--", "/");
                    }
                }
                parts.last().cloned().unwrap_or_default()
            }
            ModelSource::Embedded => embedded::NAME.to_string(),
        }
    }

    /// How messages name `file` of this model: a path, or `<built-in veil-pii>/file`.
    pub fn display(&self, file: &str) -> String {
        match self {
            ModelSource::Dir(dir) => dir.join(file).display().to_string(),
            ModelSource::Embedded => format!("<built-in {}>/{file}", embedded::NAME),
        }
    }

    /// The bytes of `file` (read from disk for a folder, borrowed for the built-in model).
    pub fn read(&self, file: &str) -> anyhow::Result<Cow<'static, [u8]>> {
        match self {
            ModelSource::Dir(dir) => {
                let path = dir.join(file);
                std::fs::read(&path).map(Cow::Owned).with_context(|| format!("{}: cannot be read", path.display()))
            }
            ModelSource::Embedded => embedded::file(file)
                .map(Cow::Borrowed)
                .ok_or_else(|| anyhow::anyhow!("{}: not built in", self.display(file))),
        }
    }

    /// `file` as UTF-8 text.
    pub fn read_text(&self, file: &str) -> anyhow::Result<Cow<'static, str>> {
        match self.read(file)? {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).ok(),
            Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).ok(),
        }
        .ok_or_else(|| anyhow::anyhow!("{}: is not UTF-8 text", self.display(file)))
    }

    /// Whether the source has `file`.
    pub fn has(&self, file: &str) -> bool {
        match self {
            ModelSource::Dir(dir) => dir.join(file).is_file(),
            ModelSource::Embedded => embedded::file(file).is_some(),
        }
    }

    /// First 12 hex digits of the SHA-256 of `file`: which exact weights (or name list)
    /// masked a request, wherever they were read from.
    pub fn digest(&self, file: &str) -> anyhow::Result<String> {
        let mut h = sha2::Sha256::new();
        match self {
            ModelSource::Dir(dir) => {
                let path = dir.join(file);
                let mut f =
                    std::fs::File::open(&path).with_context(|| format!("{}: cannot be read", path.display()))?;
                std::io::copy(&mut f, &mut h).with_context(|| format!("{}: cannot be read", path.display()))?;
            }
            ModelSource::Embedded => h.update(self.read(file)?),
        }
        Ok(hex::encode(&h.finalize()[..6]))
    }

    /// A `VarBuilder` over the safetensors weights, converting to `dtype` on `device`. The
    /// caller copies what it needs into tensors and drops it.
    pub fn weights(&self, dtype: DType, device: &Device) -> anyhow::Result<VarBuilder<'static>> {
        let file = self.display(WEIGHTS_FILE);
        match self {
            ModelSource::Dir(dir) => {
                let path = dir.join(WEIGHTS_FILE);
                if !path.is_file() {
                    anyhow::bail!("{file}: not found (only safetensors weights are read)");
                }
                // SAFETY: the file is memory-mapped only while the caller copies the weights
                // into tensors (`TokenClassifier::load` drops the VarBuilder, and with it the
                // mapping, before it returns). Veil does not write model files; an operator
                // replacing the file during these milliseconds is the only hazard, as with any
                // mmap-based loader.
                unsafe { VarBuilder::from_mmaped_safetensors(&[&path], dtype, device) }
            }
            ModelSource::Embedded => VarBuilder::from_slice_safetensors(embedded::WEIGHTS, dtype, device),
        }
        .with_context(|| format!("{file}: is not a safetensors file"))
    }
}

impl std::fmt::Display for ModelSource {
    /// `embedded`, or the folder's path (the `source` field of the start-up log line).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Dir(dir) => write!(f, "{}", dir.display()),
            ModelSource::Embedded => f.write_str("embedded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_folder_the_hf_cache_or_the_binary() {
        assert_eq!(ModelSource::Dir(PathBuf::from("models/veil-pii")).name(), "veil-pii");
        let snap = PathBuf::from("/c/hub/models--acme--tiny-ner/snapshots/0123abcd");
        assert_eq!(ModelSource::Dir(snap).name(), "acme/tiny-ner");
        assert_eq!(ModelSource::Embedded.name(), "veil-pii");
        assert_eq!(ModelSource::Embedded.to_string(), "embedded");
    }

    #[test]
    fn the_built_in_files_are_those_of_models_veil_pii() {
        let dir = ModelSource::Dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/veil-pii"));
        for f in ["config.json", "tokenizer.json", WEIGHTS_FILE, "names.txt"] {
            assert!(ModelSource::Embedded.has(f), "{f}");
            assert_eq!(ModelSource::Embedded.digest(f).unwrap(), dir.digest(f).unwrap(), "{f}");
        }
        let e = ModelSource::Embedded.read("vocab.txt").unwrap_err().to_string();
        assert_eq!(e, "<built-in veil-pii>/vocab.txt: not built in");
    }
}
