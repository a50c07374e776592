//! The software provider's master key: 32 random bytes in a file readable only by its owner.
//! Every key the software provider creates is stored encrypted under a key derived from it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The software provider's master key. Never printed; zeroized on drop.
pub struct MasterKey(Zeroizing<[u8; MasterKey::LEN]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Why a master key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "master key file {path} has mode {mode:o}: group or others may access it; \
         it must be readable by its owner only (chmod 600)"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("master key file {path} holds {len} bytes; it must hold exactly 32 raw bytes")]
    WrongLength { path: PathBuf, len: u64 },
    #[error("master key path {path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("the random generator failed while creating a master key")]
    Random,
    #[error(
        "$CREDENTIALS_DIRECTORY is not set: the service was not started with systemd credentials"
    )]
    NoCredentialsDirectory,
}

impl MasterKey {
    /// Length of a master key in bytes.
    pub const LEN: usize = 32;

    /// Loads the master key from `path`, or creates it there (32 random bytes, mode 0600) if
    /// the file does not exist. Creation is atomic: the key is written to a private temporary
    /// file and hard-linked into place, which fails rather than overwrite a file another
    /// process created meanwhile (that file is then loaded instead). The parent directory must
    /// exist. An existing file must pass the same checks as [`MasterKey::from_file`].
    pub fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
        match Self::from_file(path) {
            Err(MasterKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        let key = Self::generate()?;
        let io = |source| MasterKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = temp_path(path);
        // create_new: O_CREAT|O_EXCL, which also refuses to follow a planted symlink.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        let written = file
            .write_all(&key.0[..])
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::hard_link(&tmp, path));
        // The temporary name is removed whatever happened; the key lives on under `path`.
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                sync_parent(path);
                tracing::info!(path = %path.display(), "created a new software provider master key");
                Ok(key)
            }
            // Another process won the race: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::from_file(path),
            Err(e) => Err(io(e)),
        }
    }

    /// Loads the master key from an existing file (a configured path, or a systemd credential
    /// in `$CREDENTIALS_DIRECTORY`). The file must be a regular file of exactly 32 bytes that
    /// neither group nor others can access.
    pub fn from_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        // Check the file we opened, not the path, so a swap between check and read is harmless.
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(MasterKeyError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(MasterKeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        if meta.len() != Self::LEN as u64 {
            return Err(MasterKeyError::WrongLength {
                path: path.to_path_buf(),
                len: meta.len(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        file.read_exact(&mut bytes[..]).map_err(io)?;
        Ok(MasterKey(bytes))
    }

    /// Loads the systemd credential `name` (`$CREDENTIALS_DIRECTORY/name`, as set up by
    /// `LoadCredential=` or `LoadCredentialEncrypted=`).
    pub fn from_credential(name: &str) -> Result<MasterKey, MasterKeyError> {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
            .ok_or(MasterKeyError::NoCredentialsDirectory)?;
        Self::from_file(&Path::new(&dir).join(name))
    }

    /// A fresh random master key held only in memory (tests, ephemeral deployments).
    pub fn generate() -> Result<MasterKey, MasterKeyError> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        // The kernel's CSPRNG (getrandom(2)) directly: aws-lc's generator seeds itself on first
        // use, which costs ~20 ms that would otherwise delay the very first start-up.
        getrandom::getrandom(&mut bytes[..]).map_err(|_| MasterKeyError::Random)?;
        Ok(MasterKey(bytes))
    }

    /// A master key from bytes the caller obtained elsewhere.
    pub fn from_bytes(bytes: Zeroizing<[u8; MasterKey::LEN]>) -> MasterKey {
        MasterKey(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0[..]
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Makes the new directory entry durable; failure only weakens crash safety, so it is ignored.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_a_0600_file_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let created = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
        let loaded = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(created.expose(), loaded.expose());
        let again = MasterKey::from_file(&path).unwrap();
        assert_eq!(created.expose(), again.expose());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn two_created_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let a = MasterKey::load_or_create(&dir.path().join("a")).unwrap();
        let b = MasterKey::load_or_create(&dir.path().join("b")).unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn refuses_a_group_or_world_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, [7u8; 32]).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::from_file(&path).unwrap_err();
            assert!(
                matches!(err, MasterKeyError::Permissions { mode: m, .. } if m == mode),
                "{err}"
            );
            // load_or_create must not silently replace it either.
            assert!(matches!(
                MasterKey::load_or_create(&path),
                Err(MasterKeyError::Permissions { .. })
            ));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(MasterKey::from_file(&path).unwrap().expose(), &[7u8; 32]);
    }

    #[test]
    fn refuses_wrong_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        for len in [0usize, 31, 33, 64] {
            std::fs::write(&path, vec![1u8; len]).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = MasterKey::from_file(&path).unwrap_err();
            assert!(
                matches!(err, MasterKeyError::WrongLength { len: l, .. } if l == len as u64),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_a_directory_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(matches!(
            MasterKey::from_file(&sub),
            Err(MasterKeyError::NotAFile { .. })
        ));
        let missing = dir.path().join("missing");
        assert!(matches!(
            MasterKey::from_file(&missing),
            Err(MasterKeyError::Io { .. })
        ));
        // load_or_create does not create missing directories.
        assert!(matches!(
            MasterKey::load_or_create(&dir.path().join("no/such/dir/key")),
            Err(MasterKeyError::Io { .. })
        ));
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = MasterKey::from_bytes(Zeroizing::new([0xAB; 32]));
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
    }
}
