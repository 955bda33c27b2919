//! The audit key (startup, before the first request; step 5 uses it): HMAC key for the
//! `mac` of every audit record. Read from the environment variable named by
//! `audit.key_env`, else from `<log path>.key`, else generated and stored there (mode 0600).

use super::AuditError;
use crate::config::{AuditConfig, Env};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The HMAC key of the audit log. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey(Vec<u8>);

impl AuditKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        AuditKey(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// Bytes of a generated key.
const GENERATED_KEY_LEN: usize = 32;

static WARNED: AtomicBool = AtomicBool::new(false);

/// `<log path>.key`, e.g. `veil-audit.jsonl.key`.
pub fn key_file_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_os_string();
    s.push(".key");
    PathBuf::from(s)
}

/// A key as given in the environment: an even number of hex digits is decoded as hex,
/// anything else is taken as the raw bytes of the string.
pub fn parse_key(value: &str) -> Vec<u8> {
    let t = value.trim();
    if !t.is_empty() && t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(bytes) = hex::decode(t) {
            return bytes;
        }
    }
    value.as_bytes().to_vec()
}

/// The key from `env` (non-empty variable `key_env`), if set.
pub(crate) fn key_from_env(key_env: &str, env: &dyn Env) -> Option<Vec<u8>> {
    env.get(key_env).filter(|v| !v.is_empty()).map(|v| parse_key(&v))
}

/// Reads a key file: hex, surrounding whitespace ignored.
pub(crate) fn read_key_file(path: &Path) -> Result<Vec<u8>, AuditError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AuditError::KeyFile { path: path.to_path_buf(), reason: format!("cannot read: {e}") })?;
    match hex::decode(text.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(AuditError::KeyFile { path: path.to_path_buf(), reason: "does not hold a hex key".to_string() }),
    }
}

/// The audit key: the environment variable `cfg.key_env` first, else the key file beside
/// the log (`<log path>.key`), else 32 random bytes stored in a new key file (mode 0600).
/// With the audit log turned off and no variable set, the key is random and kept nowhere.
/// Warns once per process when the key does not come from the environment.
pub fn load_or_create_key(cfg: &AuditConfig, env: &dyn Env) -> Result<Vec<u8>, AuditError> {
    if let Some(key) = key_from_env(&cfg.key_env, env) {
        if key.len() < 16 {
            tracing::warn!(key_env = %cfg.key_env, "the audit key is shorter than 16 bytes; use 32 random bytes in hex");
        }
        return Ok(key);
    }
    let Some(log) = &cfg.path else {
        warn_once(|| {
            tracing::warn!(key_env = %cfg.key_env, "{} is not set: using a random key for this run only", cfg.key_env);
        });
        return Ok(random_key());
    };
    let path = key_file_path(log);
    let key = match create_key_file(&path)? {
        Some(key) => key,
        None => {
            check_permissions(&path);
            read_key_file(&path)?
        }
    };
    warn_once(|| match git_work_tree(&path) {
        // `git add .` would commit the key with the code unless something ignores it.
        Some(tree) => tracing::warn!(
            key_file = %path.display(),
            git_work_tree = %tree.display(),
            "{} is not set: the audit key is stored beside the log, inside a git work tree; keep {} out of \
             commits (.gitignore) and set {} for tamper evidence",
            cfg.key_env,
            path.display(),
            cfg.key_env
        ),
        None => tracing::warn!(
            key_file = %path.display(),
            "{} is not set: the audit key is stored beside the log, so anyone who can read that file \
             can rewrite the log undetected; set {} for tamper evidence",
            cfg.key_env,
            cfg.key_env
        ),
    });
    Ok(key)
}

/// The git work tree `file` lies in: the nearest folder above it (its own folder first) with
/// a `.git` entry (a folder, or the file of a linked work tree or submodule).
pub fn git_work_tree(file: &Path) -> Option<PathBuf> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = std::path::absolute(dir).ok()?;
    dir.ancestors().find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok()).map(Path::to_path_buf)
}

fn warn_once(f: impl FnOnce()) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        f();
    }
}

fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; GENERATED_KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// Creates the key file with a fresh key; `None` if it already exists.
fn create_key_file(path: &Path) -> Result<Option<Vec<u8>>, AuditError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(AuditError::KeyFile { path: path.to_path_buf(), reason: format!("cannot create: {e}") }),
    };
    let key = random_key();
    let written = file.write_all(format!("{}\n", hex::encode(&key)).as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Do not leave a half-written key behind for the next start to trust.
        let _ = std::fs::remove_file(path);
        return Err(AuditError::KeyFile { path: path.to_path_buf(), reason: format!("cannot write: {e}") });
    }
    sync_parent_dir(path);
    tracing::info!(key_file = %path.display(), "created a new audit key file");
    Ok(Some(key))
}

/// Makes a new directory entry durable (best effort; not possible on every platform).
pub(crate) fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn check_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(key_file = %path.display(), "the audit key file is readable by others; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(path: Option<PathBuf>) -> AuditConfig {
        AuditConfig { path, key_env: "VEIL_AUDIT_KEY".to_string(), rotation: Default::default() }
    }

    #[test]
    fn env_key_hex_or_raw() {
        let c = cfg(None);
        let env = HashMap::from([("VEIL_AUDIT_KEY".to_string(), "00ff".repeat(8))]);
        assert_eq!(load_or_create_key(&c, &env).unwrap(), [0u8, 255].repeat(8));
        let env = HashMap::from([("VEIL_AUDIT_KEY".to_string(), "correct horse battery staple".to_string())]);
        assert_eq!(load_or_create_key(&c, &env).unwrap(), b"correct horse battery staple");
        assert_eq!(parse_key("abc"), b"abc");
        assert_eq!(parse_key(" 0a0b\n"), [10, 11]);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("veil-audit.jsonl");
        let c = cfg(Some(log.clone()));
        let env: HashMap<String, String> = HashMap::new();
        let k1 = load_or_create_key(&c, &env).unwrap();
        assert_eq!(k1.len(), 32);
        let kf = dir.path().join("veil-audit.jsonl.key");
        assert_eq!(key_file_path(&log), kf);
        assert_eq!(std::fs::read_to_string(&kf).unwrap().trim(), hex::encode(&k1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&kf).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let k2 = load_or_create_key(&c, &env).unwrap();
        assert_eq!(k1, k2);
        // An empty variable counts as unset.
        let env = HashMap::from([("VEIL_AUDIT_KEY".to_string(), String::new())]);
        assert_eq!(load_or_create_key(&c, &env).unwrap(), k1);
        // The environment wins over the file.
        let env = HashMap::from([("VEIL_AUDIT_KEY".to_string(), "ab".repeat(32))]);
        assert_eq!(load_or_create_key(&c, &env).unwrap(), vec![0xab; 32]);
    }

    #[test]
    fn bad_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.jsonl");
        std::fs::write(key_file_path(&log), "not hex").unwrap();
        let e = load_or_create_key(&cfg(Some(log)), &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("a.jsonl.key"), "{e}");
    }

    #[test]
    fn git_work_tree_is_found_above_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let deep = root.join("logs/2025");
        std::fs::create_dir_all(&deep).unwrap();
        // Outside any work tree (unless the temporary folder itself is in one).
        let outside = git_work_tree(&deep.join("a.jsonl.key"));
        assert!(outside.as_ref().is_none_or(|t| !t.starts_with(dir.path())), "{outside:?}");
        std::fs::create_dir(root.join(".git")).unwrap();
        assert_eq!(git_work_tree(&deep.join("a.jsonl.key")), Some(root.clone()));
        assert_eq!(git_work_tree(&root.join("veil-audit.jsonl.key")), Some(root.clone()));
        // A linked work tree or submodule has a `.git` file.
        let linked = deep.join("wt");
        std::fs::create_dir(&linked).unwrap();
        std::fs::write(linked.join(".git"), "gitdir: ../../.git/worktrees/wt\n").unwrap();
        assert_eq!(git_work_tree(&linked.join("x.key")), Some(linked));
        // A bare file name is looked up from the working directory.
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(git_work_tree(Path::new("veil-audit.jsonl.key")), git_work_tree(&cwd.join("veil-audit.jsonl.key")));
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", AuditKey::new(b"secret".to_vec())), "AuditKey(..)");
    }
}
