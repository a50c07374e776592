//! Two [`TrustPersistence`] implementations: [`FilePersistence`] (one small JSON file in a
//! daemon's state directory, written atomically; the IdP's) and [`MemoryPersistence`]
//! (nothing survives the process; for tests and embedders that persist elsewhere). keywardd
//! implements the trait on its SQLite key store instead.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::store::{PersistError, PersistedTrust, TrustPersistence};

/// The largest state file read back (two certificates of at most 8 KiB, base64).
const MAX_STATE_FILE_LEN: u64 = 64 * 1024;

/// Keeps the state in memory only.
#[derive(Debug, Default)]
pub struct MemoryPersistence {
    state: Mutex<PersistedTrust>,
}

impl MemoryPersistence {
    /// Starts from `state` (e.g. what a previous store saved, to simulate a restart).
    pub fn with_state(state: PersistedTrust) -> Self {
        MemoryPersistence {
            state: Mutex::new(state),
        }
    }

    /// What was saved last.
    pub fn snapshot(&self) -> PersistedTrust {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TrustPersistence for MemoryPersistence {
    fn load(&self) -> Result<PersistedTrust, PersistError> {
        Ok(self.snapshot())
    }

    fn save(&self, state: &PersistedTrust) -> Result<(), PersistError> {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state.clone();
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    v: u8,
    root: Option<String>,
    intermediate: Option<String>,
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FilePersistenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_STATE_FILE_LEN} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} is not a trust state file")]
    Format {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Keeps the state in one JSON file (`{"v":1,"root":<base64 DER>,"intermediate":…}`, mode
/// 0600), replaced atomically (write a temporary file, fsync, rename, fsync the directory), so
/// a crash leaves the old state or the new one, never a mix. The directory is the daemon's own
/// state directory, whose ownership the daemon has checked.
#[derive(Debug, Clone)]
pub struct FilePersistence {
    path: PathBuf,
}

impl FilePersistence {
    /// Uses `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FilePersistence { path: path.into() }
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> FilePersistenceError {
        FilePersistenceError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn format(
        &self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> FilePersistenceError {
        FilePersistenceError::Format {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    fn read(&self) -> Result<PersistedTrust, FilePersistenceError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PersistedTrust::default())
            }
            Err(err) => return Err(self.io(err)),
        };
        let mut text = Vec::new();
        file.take(MAX_STATE_FILE_LEN + 1)
            .read_to_end(&mut text)
            .map_err(|e| self.io(e))?;
        if text.len() as u64 > MAX_STATE_FILE_LEN {
            return Err(FilePersistenceError::TooLarge {
                path: self.path.clone(),
            });
        }
        let file: StateFile = serde_json::from_slice(&text).map_err(|e| self.format(e))?;
        if file.v != 1 {
            return Err(self.format(std::io::Error::other(format!(
                "unsupported version {}",
                file.v
            ))));
        }
        let decode = |field: Option<String>| {
            field
                .map(|text| STANDARD.decode(text).map_err(|e| self.format(e)))
                .transpose()
        };
        Ok(PersistedTrust {
            root: decode(file.root)?,
            intermediate: decode(file.intermediate)?,
        })
    }

    fn write(&self, state: &PersistedTrust) -> Result<(), FilePersistenceError> {
        let file = StateFile {
            v: 1,
            root: state.root.as_ref().map(|der| STANDARD.encode(der)),
            intermediate: state.intermediate.as_ref().map(|der| STANDARD.encode(der)),
        };
        let text = serde_json::to_vec(&file).map_err(|e| self.format(e))?;
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|e| self.io(e))?;
        out.write_all(&text).map_err(|e| self.io(e))?;
        out.sync_all().map_err(|e| self.io(e))?;
        drop(out);
        fs::rename(&temporary, &self.path).map_err(|e| self.io(e))?;
        let directory = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(directory)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| self.io(e))
    }
}

impl TrustPersistence for FilePersistence {
    fn load(&self) -> Result<PersistedTrust, PersistError> {
        Ok(self.read()?)
    }

    fn save(&self, state: &PersistedTrust) -> Result<(), PersistError> {
        Ok(self.write(state)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_state_round_trips_atomically_with_private_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persistence = FilePersistence::new(dir.path().join("trust.json"));
        assert_eq!(
            persistence.load().expect("missing file"),
            PersistedTrust::default()
        );
        let state = PersistedTrust {
            root: Some(vec![0x30, 1, 2, 3]),
            intermediate: None,
        };
        persistence.save(&state).expect("save");
        assert_eq!(persistence.load().expect("load"), state);
        let next = PersistedTrust {
            root: state.root.clone(),
            intermediate: Some(vec![9; 700]),
        };
        persistence.save(&next).expect("save");
        assert_eq!(
            FilePersistence::new(persistence.path())
                .load()
                .expect("reload"),
            next
        );
        let mode = fs::metadata(persistence.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, ["trust.json"], "no temporary file left behind");
    }

    #[test]
    fn damaged_state_files_are_errors_not_empty_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trust.json");
        let persistence = FilePersistence::new(&path);
        let cases: &[(&str, &[u8])] = &[
            ("not json", b"garbage"),
            (
                "unknown field",
                br#"{"v":1,"root":null,"intermediate":null,"x":1}"#,
            ),
            ("bad version", br#"{"v":2,"root":null,"intermediate":null}"#),
            ("bad base64", br#"{"v":1,"root":"***","intermediate":null}"#),
        ];
        for (name, content) in cases {
            fs::write(&path, content).expect("write");
            let err = persistence.load().expect_err(name);
            assert!(err.to_string().contains("trust.json"), "{name}: {err}");
        }
        fs::write(&path, vec![b' '; MAX_STATE_FILE_LEN as usize + 1]).expect("write");
        let err = persistence.load().expect_err("too large");
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn saving_into_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let persistence = FilePersistence::new(dir.path().join("absent").join("trust.json"));
        let err = persistence
            .save(&PersistedTrust::default())
            .expect_err("no directory");
        assert!(std::error::Error::source(err.as_ref()).is_some(), "{err}");
    }

    #[test]
    fn memory_state_is_what_was_saved() {
        let memory = MemoryPersistence::default();
        let state = PersistedTrust {
            root: Some(vec![1]),
            intermediate: Some(vec![2]),
        };
        memory.save(&state).expect("save");
        assert_eq!(memory.load().expect("load"), state);
        assert_eq!(
            MemoryPersistence::with_state(state.clone()).snapshot(),
            state
        );
    }
}
